/*
 * listener: SUB socket + fbstate + policy -> coordinator.  See listener.h.
 *
 * Only the actor thread touches the SUB socket and fbstate.  Other threads see
 * the actor through atomics: the status snapshot, and the pending failsafe
 * settings of a reload (`reload_gen` bumped after they are written).
 */
#include "pipeline/listener.h"

#include <czmq.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/strv.h"
#include "pipeline/fbstate.h"
#include "proto/feedback.h"

#define S_TICK_MS 50

struct _listener_t {
    char **endpoints;
    size_t nendpoints;
    mdp_curve_t curve; /* copy of cfg->curve */
    size_t *driven;
    size_t ndriven;
    char **providers;
    size_t nproviders;
    coordinator_t *coord;
    policy_t *policy;
    mdf_metrics_t *metrics;
    fbstate_t *state;
    mdf_clock_t clock;

    zactor_t *actor;
    atomic_int start_rc; /* written by the actor before it signals */
    char start_err[256];

    atomic_int pend_failsafe;
    atomic_llong pend_stale_ms;
    atomic_uint reload_gen;
    unsigned seen_gen;

    atomic_int st_level, st_failsafe, st_stale, st_unheard;
    atomic_ullong st_events;

    mdf_gauge_t **scale_g, **state_g;
    mdf_counter_t *ev_level[3], *malformed, *ignored, *gaps, *restarts;
    mdf_gauge_t *stale_g, *failsafe_g;
    mdf_histogram_t *delay;
    mdf_ratelimit_t rl;
};

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

/* Evaluate the driving level and set every driven provider's scale. */
static void
s_apply (listener_t *self)
{
    unsigned gen = atomic_load (&self->reload_gen);
    if (gen != self->seen_gen) {
        self->seen_gen = gen;
        fbstate_set_failsafe (self->state, (mdf_level_t)atomic_load (&self->pend_failsafe),
                              atomic_load (&self->pend_stale_ms) * 1000000);
    }
    fbstate_view_t v;
    fbstate_view (self->state, &v);
    /* also called every S_TICK_MS without events: aimd/target step on time */
    double scale = policy_scale_ex (self->policy, (int)v.level, v.fill, v.failsafe ? 1 : 0,
                                    mdf_clock_now (&self->clock));
    for (size_t i = 0; i < self->ndriven; i++) {
        size_t idx = self->driven[i];
        double applied = coordinator_set_budget_scale (self->coord, idx, scale);
        coordinator_set_global_pressure (self->coord, idx, (int)v.level);
        s_gauge (self->scale_g[idx], applied);
        s_gauge (self->state_g[idx], (double)v.level);
    }
    s_gauge (self->stale_g, (double)v.stale);
    s_gauge (self->failsafe_g, v.failsafe ? 1 : 0);
    atomic_store (&self->st_level, (int)v.level);
    atomic_store (&self->st_failsafe, v.failsafe ? 1 : 0);
    atomic_store (&self->st_stale, (int)v.stale);
    atomic_store (&self->st_unheard, (int)v.unheard);
}

static void
s_on_event (listener_t *self, const mdf_feedback_t *ev)
{
    fbstate_result_t r;
    fbstate_observe (self->state, ev, &r);
    atomic_fetch_add (&self->st_events, 1);
    if (ev->level <= MDF_LEVEL_HARD)
        s_add (self->ev_level[ev->level], 1);
    if (r.verdict == FBSTATE_IGNORED) {
        s_add (self->ignored, 1);
        return;
    }
    if (r.gap) {
        s_add (self->gaps, r.gap);
        mdf_info ("feedback gap", "coordinator=%s missed=%llu", ev->coordinator_id,
                  (unsigned long long)r.gap);
    }
    if (r.restart) {
        s_add (self->restarts, 1);
        mdf_info ("store restarted", "coordinator=%s epoch=%lld", ev->coordinator_id,
                  (long long)ev->epoch);
    }
    if (self->metrics) {
        mdf_gauge_t *g = mdf_metrics_gauge (self->metrics, "pipeline_feedback_queue_depth",
                                            "Queue depth the store last reported", "source",
                                            ev->coordinator_id, NULL);
        s_gauge (g, (double)ev->queue_size);
    }
    s_apply (self);
    if (self->delay && isfinite (ev->ts)) {
        double d = mdf_wall_s () - ev->ts;
        mdf_histogram_observe (self->delay, d > 0 ? d : 0);
    }
}

static void
s_recv (listener_t *self, zsock_t *sub)
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
        s_on_event (self, &ev);
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

static zsock_t *
s_connect (listener_t *self)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (!sub) {
        snprintf (self->start_err, sizeof self->start_err, "cannot create SUB socket");
        return NULL;
    }
    zsock_set_linger (sub, 0);
    zsock_set_subscribe (sub, MDF_FEEDBACK_TOPIC_PREFIX);
    mdp_curve_apply (&self->curve, sub);
    for (size_t i = 0; i < self->nendpoints; i++)
        if (zsock_connect (sub, "%s", self->endpoints[i]) < 0) {
            snprintf (self->start_err, sizeof self->start_err,
                      "store.feedback: cannot connect to \"%s\": %s", self->endpoints[i],
                      zmq_strerror (zmq_errno ()));
            zsock_destroy (&sub);
            return NULL;
        }
    return sub;
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    listener_t *self = arg;
    zsock_t *sub = s_connect (self);
    atomic_store (&self->start_rc, sub ? 0 : -1);
    if (sub)
        s_apply (self); /* before any event: failsafe */
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, sub, NULL);
    int64_t next_tick = mdf_mono_ms () + S_TICK_MS;
    while (poller) {
        int64_t wait = next_tick - mdf_mono_ms ();
        void *which = zpoller_wait (poller, wait > 0 ? (int)wait : 0);
        if (which == pipe) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || streq (cmd, "$TERM");
            zstr_free (&cmd);
            if (term)
                break;
        } else if (which && which == sub) {
            s_recv (self, sub);
        } else if (zpoller_terminated (poller)) {
            break;
        }
        if (sub && mdf_mono_ms () >= next_tick) {
            s_apply (self);
            next_tick = mdf_mono_ms () + S_TICK_MS;
        }
    }
    zpoller_destroy (&poller);
    zsock_destroy (&sub);
}

static void
s_metrics (listener_t *self)
{
    mdf_metrics_t *m = self->metrics;
    if (!m)
        return;
    for (size_t i = 0; i < self->ndriven; i++) {
        size_t idx = self->driven[i];
        const char *p = self->providers[idx];
        self->scale_g[idx] = mdf_metrics_gauge (
            m, "pipeline_rate_scale_factor", "Token bucket scale in [0, 1]", "provider", p, NULL);
        self->state_g[idx] = mdf_metrics_gauge (m, "pipeline_backpressure_state",
                                                "Level driving the provider: 0 ok, 1 soft, 2 hard",
                                                "provider", p, NULL);
    }
    for (int l = 0; l < 3; l++)
        self->ev_level[l] = mdf_metrics_counter (m, "mdp_feedback_events_total",
                                                 "Feedback events received, by level", "level",
                                                 mdf_level_name ((mdf_level_t)l), NULL);
    self->malformed = mdf_metrics_counter (m, "mdp_feedback_malformed_total",
                                           "Feedback events that did not decode", NULL);
    self->ignored = mdf_metrics_counter (m, "mdp_feedback_ignored_total",
                                         "Duplicate, reordered or old-epoch events", NULL);
    self->gaps = mdf_metrics_counter (m, "mdp_feedback_gaps_total",
                                      "Feedback events missed (seq gaps)", NULL);
    self->restarts = mdf_metrics_counter (m, "mdp_feedback_restarts_total",
                                          "Store restarts seen (new epoch)", NULL);
    self->stale_g = mdf_metrics_gauge (m, "mdp_feedback_stale_coordinators",
                                       "Stores silent for longer than stale_after_ms", NULL);
    self->failsafe_g = mdf_metrics_gauge (m, "mdp_feedback_failsafe",
                                          "1 while a store counts as the failsafe level", NULL);
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
    self->endpoints = mdf_strv_dup ((const char *const *)cfg->endpoints, cfg->nendpoints);
    self->nendpoints = cfg->nendpoints;
    if (cfg->curve)
        self->curve = *cfg->curve;
    self->providers = mdf_strv_dup (cfg->providers, cfg->nproviders);
    self->nproviders = cfg->nproviders;
    self->driven = calloc (cfg->ndriven ? cfg->ndriven : 1, sizeof *self->driven);
    if (self->driven)
        memcpy (self->driven, cfg->driven, cfg->ndriven * sizeof *self->driven);
    self->ndriven = cfg->ndriven;
    self->coord = cfg->coord;
    self->policy = cfg->policy;
    self->metrics = cfg->metrics;
    self->clock = mdf_clock_system ();
    self->scale_g = calloc (self->nproviders + 1, sizeof *self->scale_g);
    self->state_g = calloc (self->nproviders + 1, sizeof *self->state_g);
    self->state
        = fbstate_new (cfg->nendpoints, cfg->stale_after_ms * 1000000, cfg->failsafe, &self->clock);
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl = rl;
    if (!self->endpoints || !self->providers || !self->driven || !self->scale_g || !self->state_g
        || !self->state) {
        snprintf (err, errlen, "out of memory");
        listener_destroy (&self);
        return NULL;
    }
    s_metrics (self);
    self->actor = zactor_new (s_actor, self);
    if (!self->actor || atomic_load (&self->start_rc) < 0) {
        snprintf (err, errlen, "%s", self->actor ? self->start_err : "cannot start feedback");
        listener_destroy (&self);
        return NULL;
    }
    return self;
}

void
listener_destroy (listener_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    listener_t *self = *self_p;
    zactor_destroy (&self->actor);
    fbstate_destroy (&self->state);
    mdf_strv_free (self->endpoints, self->nendpoints);
    mdf_strv_free (self->providers, self->nproviders);
    free (self->driven);
    free (self->scale_g);
    free (self->state_g);
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
    out->stale = atomic_load (&self->st_stale);
    out->unheard = atomic_load (&self->st_unheard);
    out->events = atomic_load (&self->st_events);
}
