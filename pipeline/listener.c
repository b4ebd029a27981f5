/*
 * listener: SUB sockets + roster + policy -> coordinator.  See listener.h.
 *
 * Only the actor thread touches the SUB sockets.  The roster is shared with
 * the sender under its lock; everything the policy needs is copied out under
 * the lock, and the policy and the buckets are called after it is released.
 * Other threads see the actor through atomics: the status snapshot, and the
 * pending failsafe settings of a reload (`reload_gen` bumped after they are
 * written).
 */
#include "pipeline/listener.h"

#include <czmq.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/actor.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sockset.h"
#include "proto/feedback.h"

#define S_TICK_MS 50

struct _listener_t {
    roster_t *roster;
    char producer_topic[MDF_ID_MAX + 32]; /* "producer.<id>" */
    bool gone;                            /* goodbye said: producer topics off */
    mdp_curve_t curve;                    /* copy of cfg->curve */
    size_t *driven;
    size_t ndriven;
    coordinator_t *coord;
    policy_t *policy;
    mdf_metrics_t *metrics;
    mdf_clock_t clock;
    uint64_t seen_gen;

    zactor_t *actor;

    atomic_int pend_failsafe;
    atomic_llong pend_stale_ms;
    atomic_uint reload_gen;
    unsigned seen_reload;

    atomic_int st_level, st_failsafe, st_live, st_stale, st_leaving, st_candidate;
    atomic_ullong st_events;

    mdf_gauge_t *const *scale_g, *const *state_g; /* borrowed, by provider index */
    mdf_gauge_t *depth_g[MEMBERS_MAX];            /* pipeline_feedback_queue_depth, per store */
    uint32_t depth_gen[MEMBERS_MAX];
    uint64_t reverts_seen[MEMBERS_MAX]; /* member_t.reverts already logged */
    bool unlisted_seen[MEMBERS_MAX];    /* member_t.unlisted already logged */
    uint64_t unlisted_left_seen;        /* members_unlisted_left already counted */
    mdf_counter_t *unlisted_kept, *unlisted_left;
    mdf_gauge_t *unlisted_g;
    mdf_counter_t *ev_level[3], *malformed, *gaps, *restarts, *resyncs;
    mdf_counter_t *ignored[MEMBERS_UNKNOWN_SLOT + 1];
    mdf_gauge_t *stale_g, *failsafe_g, *stores_g[4];
    mdf_histogram_t *delay;
    mdf_ratelimit_t rl;
    mdf_beat_t loop; /* each turn (liveness: listener_loop_ms_ago) */
    uint64_t (*live_bars) (void *arg);
    void *live_arg;
    uint64_t live_last;   /* live_bars at live_last_ns */
    int64_t live_last_ns; /* 0: not read yet */
    double live_rate;     /* bars/s, smoothed */
};

_Static_assert(MEMBERS_MAX <= MDF_SOCKSET_MAX, "a socket per store");

static void
s_add (mdf_counter_t *c, uint64_t n)
{
    if (c)
        mdf_counter_add (c, n);
}

static void
s_gauge (mdf_gauge_t *g, double v)
{
    if (g)
        mdf_gauge_set (g, v);
}

/* ---- evaluation ---------------------------------------------------------- */

typedef struct {
    policy_member_t m[MEMBERS_MAX];
    size_t n;
    mdf_level_t worst, failsafe_level;
    size_t live, stale, leaving, candidate;
} s_view_t;

/* Copy what the policy needs out of the roster (held locked). */
static void
s_view (members_t *mb, s_view_t *v)
{
    memset (v, 0, sizeof *v);
    v->failsafe_level = members_failsafe (mb);
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *m = members_get (mb, i);
        if (!m || !members_routable (mb, i))
            continue;
        policy_member_t *p = &v->m[v->n++];
        p->slot = i;
        p->generation = m->generation;
        p->stale = m->state == MEMBER_STALE;
        p->level = p->stale ? v->failsafe_level : m->level;
        p->queue_size = (double)m->queue_size;
        p->capacity = (double)m->capacity;
        p->service_rate = m->service_rate;
        p->producers = (double)m->producers;
        if (p->level > v->worst)
            v->worst = p->level;
    }
    members_count (mb, &v->live, &v->stale, &v->leaving, &v->candidate);
}

static double
s_demand (listener_t *self)
{
    double d = 0;
    for (size_t i = 0; i < self->ndriven; i++)
        d += coordinator_refill_rate (self->coord, self->driven[i]);
    return d;
}

/* The live providers' bars/s, smoothed over about a second (0 without any). */
static double
s_live_rate (listener_t *self, int64_t now)
{
    if (!self->live_bars)
        return 0;
    uint64_t n = self->live_bars (self->live_arg);
    if (self->live_last_ns > 0 && now > self->live_last_ns) {
        double dt = (double)(now - self->live_last_ns) / 1e9;
        double r = (double)(n - self->live_last) / dt;
        double a = dt >= 1 ? 1 : dt; /* time constant 1 s */
        self->live_rate += a * (r - self->live_rate);
    }
    self->live_last = n;
    self->live_last_ns = now;
    return self->live_rate;
}

/* Turn the view into a scale and set it on every driven provider. */
static void
s_apply (listener_t *self, const s_view_t *v)
{
    bool failsafe = v->n == 0 || v->stale > 0;
    mdf_level_t level = v->n == 0 ? v->failsafe_level : v->worst;
    int64_t now = mdf_clock_now (&self->clock);
    policy_input_t in = { v->m, v->n, s_demand (self), s_live_rate (self, now) };
    double scale = policy_scale_members (self->policy, &in, now);
    for (size_t i = 0; i < self->ndriven; i++) {
        size_t idx = self->driven[i];
        double applied = coordinator_set_budget_scale (self->coord, idx, scale);
        coordinator_set_global_pressure (self->coord, idx, (int)level);
        if (self->scale_g)
            s_gauge (self->scale_g[idx], applied);
        if (self->state_g)
            s_gauge (self->state_g[idx], (double)level);
    }
    s_gauge (self->stale_g, (double)v->stale);
    s_gauge (self->failsafe_g, failsafe ? 1 : 0);
    const size_t counts[4] = { v->candidate, v->live, v->stale, v->leaving };
    for (int s = 0; s < 4; s++)
        s_gauge (self->stores_g[s], (double)counts[s]);
    atomic_store (&self->st_level, (int)level);
    atomic_store (&self->st_failsafe, failsafe ? 1 : 0);
    atomic_store (&self->st_live, (int)v->live);
    atomic_store (&self->st_stale, (int)v->stale);
    atomic_store (&self->st_leaving, (int)v->leaving);
    atomic_store (&self->st_candidate, (int)v->candidate);
}

/* ---- the stores' sockets -------------------------------------------------- */

static int
s_setup_sub (zsock_t *sock, void *arg)
{
    listener_t *self = arg;
    zsock_set_linger (sock, 0);
    zsock_set_ipv6 (sock, 1);
    zsock_set_subscribe (sock, MDF_FEEDBACK_TOPIC_PREFIX);
    if (!self->gone) { /* counted as a producer at once; by id: its goodbye is seen */
        zsock_set_subscribe (sock, MDF_PRODUCER_TOPIC);
        zsock_set_subscribe (sock, self->producer_topic);
    }
    mdp_curve_apply (&self->curve, sock);
    return 0;
}

/* A SUB per store with a feedback endpoint, none for a store removed. */
static void
s_follow_roster (listener_t *self, mdf_sockset_t *subs)
{
    uint64_t gen = roster_generation (self->roster);
    if (gen == self->seen_gen)
        return;
    self->seen_gen = gen;
    char feedback[MEMBERS_MAX][256];
    members_t *m = roster_lock (self->roster);
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *mb = members_get (m, i);
        snprintf (feedback[i], sizeof feedback[i], "%s", mb ? mb->feedback : "");
    }
    roster_unlock (self->roster, false);
    for (int i = 0; i < MEMBERS_MAX; i++) {
        char err[300];
        if (mdf_sockset_set (subs, (size_t)i, feedback[i], err, sizeof err) < 0)
            mdf_warn ("cannot subscribe to a store's feedback", "error=\"%s\"", err);
    }
}

/* Log the stores whose bogus newer incarnation members_tick gave up (the
 * roster held locked). */
static bool
s_log_reverts (listener_t *self, members_t *m)
{
    bool any = false;
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *mb = members_get (m, i);
        if (!mb || mb->reverts == self->reverts_seen[i])
            continue;
        self->reverts_seen[i] = mb->reverts;
        any = true;
        mdf_warn ("a newer incarnation went silent; back to the previous one",
                  "coordinator=%s ingest=%s epoch=%lld", mb->coordinator_id, mb->ingest,
                  (long long)mb->epoch);
    }
    return any;
}

/* Stores gone from the DNS answer: kept while heard, leaving once silent
 * (members_unlist, members_tick); logged and counted here, roster held. */
static void
s_log_unlisted (listener_t *self, members_t *m)
{
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *mb = members_get (m, i);
        bool u = mb && mb->unlisted;
        if (u && !self->unlisted_seen[i]) {
            s_add (self->unlisted_kept, 1);
            mdf_warn ("store gone from the DNS answer but still heard: kept until it falls "
                      "silent or says goodbye",
                      "coordinator=%s ingest=%s", mb->coordinator_id, mb->ingest);
        } else if (!u && self->unlisted_seen[i] && mb && mb->retired)
            mdf_warn ("store gone from the DNS answer is leaving (silent, or it said goodbye)",
                      "ingest=%s", mb->ingest);
        else if (!u && self->unlisted_seen[i] && mb && !mb->retired)
            mdf_info ("store back in the DNS answer", "ingest=%s", mb->ingest);
        self->unlisted_seen[i] = u;
    }
    uint64_t left = members_unlisted_left (m);
    s_add (self->unlisted_left, left - self->unlisted_left_seen);
    self->unlisted_left_seen = left;
    s_gauge (self->unlisted_g, (double)members_unlisted (m));
}

/* A store removed or forgotten leaves no queue depth behind in /metrics. */
static void
s_hide_gone (listener_t *self, members_t *m)
{
    for (int i = 0; i < MEMBERS_MAX; i++) {
        if (!self->depth_g[i])
            continue;
        const member_t *mb = members_get (m, i);
        if (!mb || mb->generation != self->depth_gen[i]) {
            mdf_gauge_hide (self->depth_g[i]);
            self->depth_g[i] = NULL;
        }
    }
}

/* Reload, staleness and forgetting; then the scale. */
static void
s_tick (listener_t *self)
{
    unsigned gen = atomic_load (&self->reload_gen);
    int removed[MEMBERS_MAX];
    s_view_t v;
    members_t *m = roster_lock (self->roster);
    if (gen != self->seen_reload) {
        self->seen_reload = gen;
        members_set_failsafe (m, (mdf_level_t)atomic_load (&self->pend_failsafe),
                              atomic_load (&self->pend_stale_ms) * 1000000);
    }
    size_t before[4], after[4];
    members_count (m, &before[1], &before[2], &before[3], &before[0]);
    size_t nremoved = members_tick (m, removed, MEMBERS_MAX);
    members_count (m, &after[1], &after[2], &after[3], &after[0]);
    bool reverted = s_log_reverts (self, m);
    s_log_unlisted (self, m);
    s_hide_gone (self, m);
    s_view (m, &v);
    bool changed = nremoved > 0 || reverted || memcmp (before, after, sizeof before) != 0;
    roster_unlock (self->roster, changed);
    s_apply (self, &v);
}

/* ---- events --------------------------------------------------------------- */

static void
s_depth_gauge (listener_t *self, int slot, const member_t *m)
{
    if (!self->metrics)
        return;
    if (!self->depth_g[slot] || self->depth_gen[slot] != m->generation) {
        mdf_gauge_hide (self->depth_g[slot]); /* the store it was (shown again if the same) */
        self->depth_g[slot] = mdf_metrics_gauge (self->metrics, "pipeline_feedback_queue_depth",
                                                 "Queue depth the store last reported", "source",
                                                 m->coordinator_id, NULL);
        self->depth_gen[slot] = m->generation;
    }
    s_gauge (self->depth_g[slot], (double)m->queue_size);
}

static void
s_log_result (const mdf_feedback_t *ev, const member_t *m, const members_result_t *r)
{
    if (r->first)
        mdf_info ("store joined", "coordinator=%s ingest=%s epoch=%lld", ev->coordinator_id,
                  m->ingest, (long long)ev->epoch);
    else if (r->restart)
        mdf_info ("store restarted", "coordinator=%s ingest=%s epoch=%lld", ev->coordinator_id,
                  m->ingest, (long long)ev->epoch);
    else if (r->reverted)
        mdf_warn ("a newer incarnation went silent; back to the previous one",
                  "coordinator=%s ingest=%s epoch=%lld", ev->coordinator_id, m->ingest,
                  (long long)ev->epoch);
    if (r->shutdown)
        mdf_info ("store leaving (shutdown)", "coordinator=%s ingest=%s", ev->coordinator_id,
                  m->ingest);
}

static void
s_on_event (listener_t *self, int slot, const mdf_feedback_t *ev)
{
    atomic_fetch_add (&self->st_events, 1);
    if (ev->level <= MDF_LEVEL_HARD)
        s_add (self->ev_level[ev->level], 1);
    members_result_t r;
    s_view_t v;
    member_t copy;
    members_t *m = roster_lock (self->roster);
    members_observe (m, slot, ev, mdf_wall_s (), &r);
    const member_t *mb = members_get (m, slot);
    if (mb)
        copy = *mb;
    s_view (m, &v);
    roster_unlock (self->roster, r.first || r.restart || r.reverted || r.shutdown);
    if (r.verdict != MEMBERS_APPLIED) {
        s_add (self->ignored[r.verdict], 1);
        return;
    }
    s_add (self->gaps, r.gap);
    s_add (self->restarts, r.restart ? 1 : 0);
    s_add (self->resyncs, r.resync ? 1 : 0);
    if (mb) {
        s_log_result (ev, &copy, &r);
        s_depth_gauge (self, slot, &copy);
    }
    s_apply (self, &v);
    if (self->delay && isfinite (ev->ts)) {
        double d = mdf_wall_s () - ev->ts;
        mdf_histogram_observe (self->delay, d > 0 ? d : 0);
    }
}

static void
s_recv (listener_t *self, int slot, zsock_t *sub)
{
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg)
        return;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    mdf_feedback_t ev;
    char err[256] = "expected 2 frames";
    if (topic && body && zmsg_size (msg) == 2
        && mdf_feedback_decode (zframe_data (body), zframe_size (body), &ev, err, sizeof err)
               == 0) {
        s_on_event (self, slot, &ev);
    } else {
        s_add (self->malformed, 1);
        uint64_t sup = 0;
        char q[300];
        if (mdf_ratelimit_allow (&self->rl, &sup))
            mdf_warn ("malformed feedback event ignored", "error=%s suppressed=%llu",
                      mdf_log_quote (q, sizeof q, err), (unsigned long long)sup);
    }
    zmsg_destroy (&msg);
}

/* ---- the loop ------------------------------------------------------------- */

/* listener_goodbye, on the actor: the producer topics off everywhere. */
static void
s_goodbye (listener_t *self, mdf_sockset_t *subs, zsock_t *pipe)
{
    self->gone = true;
    for (size_t i = 0; i < MDF_SOCKSET_MAX; i++) {
        zsock_t *sock = mdf_sockset_get (subs, i);
        if (!sock)
            continue;
        zsock_set_unsubscribe (sock, MDF_PRODUCER_TOPIC);
        zsock_set_unsubscribe (sock, self->producer_topic);
    }
    zsock_signal (pipe, 0);
}

static void
s_actor (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    listener_t *self = arg;
    pthread_setname_np (pthread_self (), "mdp-listener");
    mdf_sockset_t *subs = mdf_sockset_new (ZMQ_SUB, s_setup_sub, self);
    if (!subs) {
        mdf_actor_fail (start, "out of memory");
        return;
    }
    self->seen_gen = roster_generation (self->roster) + 1;
    s_follow_roster (self, subs);
    s_tick (self); /* before any event: failsafe */
    mdf_actor_ready (start);
    int64_t next_tick = mdf_mono_ms () + S_TICK_MS;
    for (;;) {
        zmq_pollitem_t items[2 + MDF_SOCKSET_MAX];
        int slots[MDF_SOCKSET_MAX];
        items[0] = (zmq_pollitem_t){ zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
        items[1]
            = (zmq_pollitem_t){ NULL, roster_fd (self->roster, ROSTER_LISTENER), ZMQ_POLLIN, 0 };
        size_t n = mdf_sockset_poll (subs, items + 2, slots, MDF_SOCKSET_MAX);
        int64_t wait = next_tick - mdf_mono_ms ();
        if (zmq_poll (items, (int)(2 + n), wait > 0 ? wait : 0) < 0 && zmq_errno () != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || streq (cmd, "$TERM");
            if (cmd && streq (cmd, "BYE"))
                s_goodbye (self, subs, pipe);
            zstr_free (&cmd);
            if (term)
                break;
        }
        for (size_t i = 0; i < n; i++)
            if (items[2 + i].revents & ZMQ_POLLIN)
                s_recv (self, slots[i], mdf_sockset_get (subs, (size_t)slots[i]));
        if (items[1].revents & ZMQ_POLLIN)
            roster_clear (self->roster, ROSTER_LISTENER);
        s_follow_roster (self, subs);
        int64_t now = mdf_mono_ns ();
        mdf_beat (&self->loop, now);
        if (now / 1000000 >= next_tick) {
            s_tick (self);
            next_tick = now / 1000000 + S_TICK_MS;
        }
    }
    mdf_sockset_destroy (&subs);
}

/* ---- construction --------------------------------------------------------- */

static void
s_metrics (listener_t *self)
{
    mdf_metrics_t *m = self->metrics;
    if (!m)
        return;
    for (int l = 0; l < 3; l++)
        self->ev_level[l] = mdf_metrics_counter (m, "mdp_feedback_events_total",
                                                 "Feedback events received, by level", "level",
                                                 mdf_level_name ((mdf_level_t)l), NULL);
    self->malformed = mdf_metrics_counter (m, "mdp_feedback_malformed_total",
                                           "Feedback events that did not decode", NULL);
    static const char *reasons[]
        = { NULL, "duplicate", "old_epoch", "foreign", "implausible", "unknown_store" };
    for (int r = MEMBERS_DUPLICATE; r <= MEMBERS_UNKNOWN_SLOT; r++)
        self->ignored[r] = mdf_metrics_counter (m, "mdp_feedback_ignored_total",
                                                "Events the sanity rules refused, by reason",
                                                "reason", reasons[r], NULL);
    self->gaps = mdf_metrics_counter (m, "mdp_feedback_gaps_total",
                                      "Feedback events missed (seq gaps)", NULL);
    self->restarts = mdf_metrics_counter (m, "mdp_feedback_restarts_total",
                                          "Store restarts or replacements seen (new epoch)", NULL);
    self->resyncs = mdf_metrics_counter (m, "mdp_feedback_resyncs_total",
                                         "Seq jumps beyond the window, taken as a new start", NULL);
    self->stale_g = mdf_metrics_gauge (m, "mdp_feedback_stale_coordinators",
                                       "Member stores silent for longer than stale_after_ms", NULL);
    self->failsafe_g = mdf_metrics_gauge (
        m, "mdp_feedback_failsafe", "1 while no store is a member, or a member is stale", NULL);
    for (int s = 0; s < 4; s++)
        self->stores_g[s] = mdf_metrics_gauge (m, "mdp_stores", "Stores known, by state", "state",
                                               member_state_name ((member_state_t)s), NULL);
    const char *uh = "Heard stores gone from the DNS answer: kept, then left (silent or goodbye)";
    self->unlisted_kept
        = mdf_metrics_counter (m, "mdp_stores_unlisted_total", uh, "outcome", "kept", NULL);
    self->unlisted_left
        = mdf_metrics_counter (m, "mdp_stores_unlisted_total", uh, "outcome", "left", NULL);
    self->unlisted_g = mdf_metrics_gauge (
        m, "mdp_stores_unlisted", "Stores gone from the DNS answer, still heard and used", NULL);
    static const double bounds[]
        = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
    self->delay = mdf_metrics_histogram (m, "mdp_feedback_apply_delay_seconds",
                                         "From a feedback event's ts to its scale being applied",
                                         bounds, sizeof bounds / sizeof bounds[0], NULL);
}

listener_t *
listener_new (const listener_config_t *cfg, char *err, size_t errlen)
{
    listener_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->roster = cfg->roster;
    snprintf (self->producer_topic, sizeof self->producer_topic, "%s%s", MDF_PRODUCER_TOPIC,
              cfg->producer_id ? cfg->producer_id : "");
    if (cfg->curve)
        self->curve = *cfg->curve;
    self->driven = calloc (cfg->ndriven ? cfg->ndriven : 1, sizeof *self->driven);
    if (self->driven)
        memcpy (self->driven, cfg->driven, cfg->ndriven * sizeof *self->driven);
    self->ndriven = cfg->ndriven;
    self->coord = cfg->coord;
    self->policy = cfg->policy;
    self->metrics = cfg->metrics;
    self->clock = mdf_clock_system ();
    mdf_beat (&self->loop, mdf_mono_ns ());
    self->scale_g = cfg->scale_g;
    self->state_g = cfg->state_g;
    self->live_bars = cfg->live_bars;
    self->live_arg = cfg->live_arg;
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl = rl;
    if (!self->driven) {
        snprintf (err, errlen, "out of memory");
        listener_destroy (&self);
        return NULL;
    }
    s_metrics (self);
    self->actor = mdf_actor_new (s_actor, self, err, errlen);
    if (!self->actor) {
        listener_destroy (&self);
        return NULL;
    }
    return self;
}

void
listener_goodbye (listener_t *self)
{
    if (!self || !self->actor)
        return;
    zstr_send (self->actor, "BYE");
    zsock_wait (self->actor);
}

int64_t
listener_loop_ms_ago (listener_t *self)
{
    return mdf_beat_age_ms (&self->loop);
}

void
listener_destroy (listener_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    listener_t *self = *self_p;
    zactor_destroy (&self->actor);
    free (self->driven);
    free (self);
    *self_p = NULL;
}

void
listener_set_failsafe (listener_t *self, mdf_level_t failsafe, int64_t stale_after_ms)
{
    atomic_store (&self->pend_failsafe, (int)failsafe);
    atomic_store (&self->pend_stale_ms, (long long)stale_after_ms);
    atomic_fetch_add (&self->reload_gen, 1);
}

void
listener_status (listener_t *self, listener_status_t *out)
{
    out->level = atomic_load (&self->st_level);
    out->failsafe = atomic_load (&self->st_failsafe) != 0;
    out->live = atomic_load (&self->st_live);
    out->stale = atomic_load (&self->st_stale);
    out->leaving = atomic_load (&self->st_leaving);
    out->candidate = atomic_load (&self->st_candidate);
    out->events = atomic_load (&self->st_events);
}
