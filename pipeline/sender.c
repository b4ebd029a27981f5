/*
 * sender: the actor that owns one DEALER per store; batching lives in
 * batcher.c, the stores in roster.h.  See sender.h.
 *
 * `flights` (max_inflight x MEMBERS_MAX slots) holds the batches taken from
 * the batcher and not yet released: only the sender thread touches it.  Each
 * keeps the encoded body for resends (a zmq_msg_t owning the encoder's
 * buffer: a send passes libzmq a reference, zmq_msg_copy, and the buffer is
 * freed when the flight and every send are done with it, on whichever thread
 * drops the last reference), the store it was last sent to (`slot`, -1 while
 * it waits for a store with room), the deadline of its next (re)send and its
 * retry count.
 *
 * Invariant: a flight with slot >= 0 is counted in that store's in-flight
 * batches and bars (members_sent) exactly until it is answered, rerouted or
 * released (members_answered), so members_pick sees every store's window.
 *
 * The loop sleeps in poll(2) on the DEALERs' and the pipe's ZMQ_FD, which
 * only signal new activity, so it sleeps only when each DEALER's last
 * operation was a receive that found nothing (`clean`) and the pipe's
 * ZMQ_EVENTS were read since the last send on it (zmq_poll would ask every
 * socket's ZMQ_EVENTS twice per sleep, a getpid and a poll system call
 * each).  `nused` flights are in use; the scans stop once they saw them all.
 */
#include "pipeline/sender.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/actor.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sockset.h"
#include "common/strv.h"
#include "pipeline/batcher.h"

#define S_WAIT_NS 20000000 /* a batch with no store to take it looks again after 20 ms */

typedef struct {
    batch_t *b;          /* NULL: free slot */
    zmq_msg_t body;      /* the encoded batch, once `encoded` */
    bool encoded;        /* body holds it (the bars went back to the batcher) */
    int slot;            /* store it is in flight to, or -1 */
    int64_t deadline_ns; /* next (re)send */
    int retries;
    bool waiting_retry, sent_once;
    bool waiting_room; /* no store had room: send as soon as one has */
} s_flight_t;

typedef struct {
    mdf_counter_t *sent, *acked, *rej_bars, *rej_batches;
    mdf_histogram_t *live_commit; /* live providers: first bar in -> acked ok */
} s_prov_metrics_t;

struct _sender_t {
    char *producer_id;
    roster_t *roster;
    mdp_curve_t curve;       /* copy of cfg->curve */
    mdf_strlist_t providers; /* names, by provider index */
    size_t nproviders;
    size_t max_inflight, nflights;
    int64_t ack_timeout_ns, backoff_ns, backoff_max_ns;

    batcher_t *batcher;
    s_flight_t *flights;
    size_t nused;                /* flights holding a batch */
    bool clean[MDF_SOCKSET_MAX]; /* by slot: see the header comment */
    bool pipe_clean;
    zactor_t *actor;
    uint64_t seen_gen; /* roster generation the DEALERs follow */
    bool room;         /* an answer freed room in some store's window */
    int64_t next_tick_ns;
    mdf_beat_t loop; /* each round (liveness: sender_loop_ms_ago) */

    mdf_counter_t **ingested;
    s_prov_metrics_t *pm;
    mdf_counter_t *resent_timeout, *resent_retry, *unknown_acks, *bad_acks;
    mdf_gauge_t *inflight_gauge, *routable_g;
    mdf_histogram_t *ack_latency;
    mdf_ratelimit_t rl;
};

_Static_assert(MEMBERS_MAX <= MDF_SOCKSET_MAX, "a socket per store");

static void
s_add (mdf_counter_t *c, uint64_t n)
{
    if (c)
        mdf_counter_add (c, n);
}

size_t
sender_reserve (sender_t *self, size_t idx, size_t want, mdf_bar_t **bars)
{
    return batcher_reserve (self->batcher, idx, want, bars);
}

int
sender_commit (sender_t *self, size_t idx, size_t n)
{
    return batcher_commit (self->batcher, idx, n);
}

int
sender_push (sender_t *self, size_t idx, const mdf_bar_t *bars, size_t n)
{
    return batcher_push (self->batcher, idx, bars, n);
}

void
sender_close_input (sender_t *self)
{
    batcher_close (self->batcher);
}

int
sender_drain (sender_t *self, int64_t timeout_ms)
{
    return batcher_drain (self->batcher, timeout_ms);
}

int64_t
sender_loop_ms_ago (sender_t *self)
{
    return mdf_beat_age_ms (&self->loop);
}

size_t
sender_inflight (sender_t *self)
{
    return batcher_pending (self->batcher);
}

size_t
sender_unacked_bars (sender_t *self)
{
    return batcher_pending_bars (self->batcher);
}

uint64_t
sender_ingested (sender_t *self, size_t idx)
{
    return idx < self->nproviders && self->ingested[idx] ? mdf_counter_value (self->ingested[idx])
                                                         : 0;
}

int
sender_try_push (sender_t *self, size_t idx, const mdf_bar_t *bars, size_t n, size_t *taken)
{
    return batcher_try_push (self->batcher, idx, bars, n, taken);
}

uint64_t
sender_settled (sender_t *self, size_t idx)
{
    return batcher_settled (self->batcher, idx);
}

int64_t
sender_oldest_ms (sender_t *self)
{
    return batcher_oldest_ns (self->batcher) / 1000000;
}

/* ---- the stores ----------------------------------------------------------- */

static int
s_setup_dealer (zsock_t *sock, void *arg)
{
    sender_t *self = arg;
    zsock_set_linger (sock, 0);
    zsock_set_immediate (sock, 1); /* no queueing for a store not connected */
    zsock_set_ipv6 (sock, 1);
    zsock_set_sndhwm (sock, (int)self->max_inflight * 4 + 16);
    mdp_curve_apply (&self->curve, sock);
    return 0;
}

/* The bars a batch may hold so that it fits any store's credit: a store
 * always takes one batch, so with batches within the credit all its
 * producers' windows stay below its high watermark, however many start at
 * once.  0 when no store gives a credit (batches of batch_max).  Roster held. */
static size_t
s_credit_fill (members_t *m)
{
    int64_t fill = 0;
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *mb = members_get (m, i);
        if (mb && members_routable (m, i) && mb->credit > 0 && (fill == 0 || mb->credit < fill))
            fill = mb->credit;
    }
    return (size_t)fill;
}

/* Follow the roster: a DEALER per store, none for a store removed; the
 * batcher's window is max_inflight per store that can take batches. */
static void
s_follow_roster (sender_t *self, mdf_sockset_t *dealers)
{
    uint64_t gen = roster_generation (self->roster);
    if (gen == self->seen_gen)
        return;
    self->seen_gen = gen;
    self->room = true; /* a store may have joined */
    char ingest[MEMBERS_MAX][256];
    size_t routable = 0;
    members_t *m = roster_lock (self->roster);
    for (int i = 0; i < MEMBERS_MAX; i++) {
        const member_t *mb = members_get (m, i);
        snprintf (ingest[i], sizeof ingest[i], "%s", mb ? mb->ingest : "");
        routable += members_routable (m, i);
    }
    size_t fill = s_credit_fill (m);
    roster_unlock (self->roster, false);
    batcher_set_fill (self->batcher, fill);
    for (int i = 0; i < MEMBERS_MAX; i++) {
        char err[300];
        if (mdf_sockset_set (dealers, (size_t)i, ingest[i], err, sizeof err) < 0)
            mdf_warn ("cannot connect to a store", "error=\"%s\"", err);
        self->clean[i] = false; /* maybe a new socket: read it before sleeping */
    }
    batcher_set_window (self->batcher, self->max_inflight * (routable ? routable : 1));
    if (self->routable_g)
        mdf_gauge_set (self->routable_g, (double)routable);
}

/* Stores that left and have nothing in flight any more are removed (the
 * listener does the same; without feedback it is the only one). */
static void
s_tick (sender_t *self)
{
    int64_t now = mdf_mono_ns ();
    mdf_beat (&self->loop, now); /* every round passes here */
    if (now < self->next_tick_ns)
        return;
    self->next_tick_ns = now + 100000000;
    int removed[MEMBERS_MAX];
    size_t before[4], after[4];
    members_t *m = roster_lock (self->roster);
    members_count (m, &before[0], &before[1], &before[2], &before[3]);
    size_t n = members_tick (m, removed, MEMBERS_MAX);
    members_count (m, &after[0], &after[1], &after[2], &after[3]);
    size_t fill = s_credit_fill (m); /* credits change with every event */
    roster_unlock (self->roster, n > 0 || memcmp (before, after, sizeof before) != 0);
    batcher_set_fill (self->batcher, fill);
}

/* ---- sending -------------------------------------------------------------- */

/* libzmq's free function for an encoded body: the last reference is gone
 * (called on the sender thread or on libzmq's I/O thread). */
static void
s_free_body (void *data, void *hint)
{
    (void)hint;
    free (data);
}

/* Encode the flight's batch once, into f->body; its bars go back to the
 * batcher.  -1: try again later. */
static int
s_encode (sender_t *self, s_flight_t *f)
{
    if (f->encoded)
        return 0;
    mdf_batch_t mb;
    memset (&mb, 0, sizeof mb);
    snprintf (mb.producer_id, sizeof mb.producer_id, "%s", self->producer_id);
    snprintf (mb.provider, sizeof mb.provider, "%s", self->providers.items[f->b->prov]);
    mb.live = f->b->live; /* the store queues it ahead of history */
    mb.batch_seq = f->b->seq;
    mb.has_batch_seq = true;
    mb.bars = f->b->bars;
    mb.nbars = f->b->n;
    mdf_buf_t buf = { 0 };
    if (mdf_batch_encode (&mb, &buf) < 0)
        return -1;
    if (zmq_msg_init_data (&f->body, buf.data, buf.size, s_free_body, NULL) != 0) {
        mdf_buf_free (&buf);
        return -1;
    }
    f->encoded = true;
    batcher_recycle (self->batcher, f->b);
    return 0;
}

/* Send a reference to the flight's body (no copy of the bytes). */
static bool
s_send_body (s_flight_t *f, zsock_t *dealer)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_copy (&msg, &f->body) == 0
        && zmq_msg_send (&msg, zsock_resolve (dealer), ZMQ_DONTWAIT) >= 0)
        return true;
    zmq_msg_close (&msg);
    return false;
}

/* The flight is no longer in flight where it was (answered, rerouted). */
static void
s_unassign (sender_t *self, s_flight_t *f)
{
    if (f->slot < 0)
        return;
    self->room = true;
    members_t *m = roster_lock (self->roster);
    members_answered (m, f->slot, (int64_t)f->b->n);
    roster_unlock (self->roster, false);
    f->slot = -1;
}

/* Send the flight to the store with the most headroom, now. */
static void
s_send (sender_t *self, mdf_sockset_t *dealers, s_flight_t *f, int64_t now)
{
    s_unassign (self, f);
    if (s_encode (self, f) < 0) {
        f->deadline_ns = now + self->backoff_ns;
        return;
    }
    members_t *m = roster_lock (self->roster);
    int slot = members_pick (m, (int64_t)f->b->n, self->max_inflight);
    zsock_t *dealer = slot >= 0 ? mdf_sockset_get (dealers, (size_t)slot) : NULL;
    if (dealer)
        self->clean[slot] = false; /* a send may take the socket's signal */
    if (dealer && s_send_body (f, dealer)) {
        members_sent (m, slot, (int64_t)f->b->n);
        f->slot = slot;
    }
    roster_unlock (self->roster, false);
    if (f->slot < 0) {
        /* no store with room (or connected): as soon as an answer frees
         * room, or shortly */
        f->deadline_ns = now + S_WAIT_NS;
        f->waiting_room = true;
        return;
    }
    f->waiting_room = false;
    if (f->sent_once)
        s_add (f->waiting_retry ? self->resent_retry : self->resent_timeout, 1);
    else {
        f->sent_once = true;
        s_add (self->pm[f->b->prov].sent, f->b->n);
    }
    f->deadline_ns = now + self->ack_timeout_ns;
    f->waiting_retry = false;
}

/* Take newly sealed batches into free flights and send them. */
static void
s_send_new (sender_t *self, mdf_sockset_t *dealers)
{
    batch_t *taken[64];
    int64_t now = mdf_mono_ns ();
    size_t slot = 0;
    for (;;) {
        size_t n = batcher_take (self->batcher, taken, 64);
        for (size_t i = 0; i < n; i++) {
            while (slot < self->nflights && self->flights[slot].b) /* the window leaves room */
                slot++;
            if (slot == self->nflights) {
                mdf_error ("sender: more sealed batches than flights", "batches=%zu", n);
                return;
            }
            s_flight_t *f = &self->flights[slot];
            memset (f, 0, sizeof *f);
            self->nused++;
            f->b = taken[i];
            f->slot = -1;
            s_send (self, dealers, f, now);
        }
        if (n < 64)
            return;
    }
}

static void
s_resend_due (sender_t *self, mdf_sockset_t *dealers)
{
    int64_t now = mdf_mono_ns ();
    bool room = self->room;
    self->room = false;
    /* live batches first: they take the room an answer freed before history */
    for (int pass = 0; pass < 2; pass++)
        for (size_t s = 0, seen = 0; s < self->nflights && seen < self->nused; s++) {
            s_flight_t *f = &self->flights[s];
            if (f->b && (seen++, f->b->live == (pass == 0))
                && (f->deadline_ns <= now || (room && f->waiting_room)))
                s_send (self, dealers, f, now);
        }
}

/* ---- acks ----------------------------------------------------------------- */

static void
s_release (sender_t *self, s_flight_t *f)
{
    s_unassign (self, f);
    if (f->encoded)
        zmq_msg_close (&f->body); /* sends still queued in libzmq keep their reference */
    batcher_release (self->batcher, f->b);
    memset (f, 0, sizeof *f);
    f->slot = -1;
    self->nused--;
}

static void
s_rejected (sender_t *self, const s_flight_t *f, const mdf_ack_t *ack)
{
    s_add (self->pm[f->b->prov].rej_batches, 1);
    s_add (self->pm[f->b->prov].rej_bars, f->b->n);
    uint64_t sup = 0;
    char q[MDF_ERROR_MAX * 2];
    if (mdf_ratelimit_allow (&self->rl, &sup))
        mdf_warn ("batch rejected by the store",
                  "provider=%s batch_seq=%llu bars=%zu error=%s suppressed=%llu",
                  self->providers.items[f->b->prov], (unsigned long long)f->b->seq, f->b->n,
                  mdf_log_quote (q, sizeof q, ack->error), (unsigned long long)sup);
}

static void
s_handle_ack (sender_t *self, const mdf_ack_t *ack)
{
    s_flight_t *f = NULL;
    for (size_t s = 0, seen = 0; s < self->nflights && seen < self->nused && !f; s++)
        if (self->flights[s].b && (seen++, self->flights[s].b->seq == ack->batch_seq))
            f = &self->flights[s];
    if (!f) {
        s_add (self->unknown_acks, 1);
        return;
    }
    int64_t now = mdf_mono_ns ();
    if (ack->status == MDF_ACK_RETRY) {
        s_unassign (self, f); /* it is not queued there */
        int64_t wait = self->backoff_ns << (f->retries < 16 ? f->retries : 16);
        f->retries++;
        f->deadline_ns = now + (wait < self->backoff_max_ns ? wait : self->backoff_max_ns);
        f->waiting_retry = true;
        return;
    }
    if (self->ack_latency)
        mdf_histogram_observe (self->ack_latency, (double)(now - f->b->sealed_ns) / 1e9);
    if (ack->status == MDF_ACK_OK) {
        s_add (self->pm[f->b->prov].acked, f->b->n);
        if (self->pm[f->b->prov].live_commit)
            mdf_histogram_observe (self->pm[f->b->prov].live_commit,
                                   (double)(now - f->b->first_ns) / 1e9);
    } else
        s_rejected (self, f, ack);
    s_release (self, f);
}

/* Every ack waiting on the DEALER of `slot`. */
static void
s_recv_acks (sender_t *self, void *dealer, int slot)
{
    while (true) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, dealer, ZMQ_DONTWAIT) < 0) {
            self->clean[slot] = true; /* EAGAIN (or an error no retry would cure) */
            zmq_msg_close (&msg);
            return;
        }
        self->clean[slot] = false;
        while (zmq_msg_more (&msg)) { /* keep the last frame */
            zmq_msg_close (&msg);
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, dealer, 0) < 0)
                break;
        }
        mdf_ack_t ack;
        char err[256];
        if (mdf_ack_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), &ack, err, sizeof err) == 0)
            s_handle_ack (self, &ack);
        else
            s_add (self->bad_acks, 1);
        zmq_msg_close (&msg);
    }
}

/* ---- the loop ------------------------------------------------------------- */

/* Milliseconds until the next linger or (re)send deadline, at most 100. */
static long
s_next_timeout (sender_t *self)
{
    int64_t now = mdf_mono_ns (), next = now + 100000000;
    for (size_t s = 0, seen = 0; s < self->nflights && seen < self->nused; s++)
        if (self->flights[s].b && (seen++, self->flights[s].deadline_ns < next))
            next = self->flights[s].deadline_ns;
    next = batcher_sleep_until (self->batcher, next); /* earlier if a batch lingers out */
    return next <= now ? 0 : (long)((next - now + 999999) / 1000000);
}

/* A socket's ZMQ_FD (a plain socket or a zsock_t). */
static int
s_fd (void *sock)
{
    int fd = -1;
    size_t len = sizeof fd;
    zmq_getsockopt (zsock_resolve (sock), ZMQ_FD, &fd, &len);
    return fd;
}

/* One round: wait for something to do, then do it.  false on $TERM. */
static bool
s_round (sender_t *self, zsock_t *pipe, mdf_sockset_t *dealers)
{
    zmq_pollitem_t items[MDF_SOCKSET_MAX];
    int slots[MDF_SOCKSET_MAX];
    size_t n = mdf_sockset_poll (dealers, items, slots, MDF_SOCKSET_MAX);
    struct pollfd fds[3 + MDF_SOCKSET_MAX];
    bool ready = !self->pipe_clean || self->room; /* work left: do not sleep */
    fds[0] = (struct pollfd){ s_fd (pipe), POLLIN, 0 };
    fds[1] = (struct pollfd){ batcher_fd (self->batcher), POLLIN, 0 };
    fds[2] = (struct pollfd){ roster_fd (self->roster, ROSTER_SENDER), POLLIN, 0 };
    for (size_t i = 0; i < n; i++) {
        fds[3 + i] = (struct pollfd){ s_fd (items[i].socket), POLLIN, 0 };
        ready = ready || !self->clean[slots[i]];
    }
    long timeout = ready ? 0 : s_next_timeout (self);
    if (poll (fds, (nfds_t)(3 + n), (int)timeout) < 0) {
        if (errno != EINTR)
            return false;
        memset (fds, 0, sizeof fds);
    }
    if ((fds[0].revents & POLLIN) || !self->pipe_clean) {
        self->pipe_clean = true;
        if (zsock_events (pipe) & ZMQ_POLLIN) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || streq (cmd, "$TERM");
            zstr_free (&cmd);
            if (term)
                return false;
            self->pipe_clean = false; /* another command may wait */
        }
    }
    if (fds[1].revents & POLLIN)
        batcher_clear_wake (self->batcher);
    if (fds[2].revents & POLLIN)
        roster_clear (self->roster, ROSTER_SENDER);
    for (size_t i = 0; i < n; i++)
        if ((fds[3 + i].revents & POLLIN) || !self->clean[slots[i]])
            s_recv_acks (self, items[i].socket, slots[i]);
    s_tick (self);
    s_follow_roster (self, dealers);
    s_send_new (self, dealers);
    s_resend_due (self, dealers);
    /* the sends above may have taken a DEALER's signal: read it now rather
     * than in a round of its own (an ack read here sets `room`) */
    n = mdf_sockset_poll (dealers, items, slots, MDF_SOCKSET_MAX);
    for (size_t i = 0; i < n; i++)
        if (!self->clean[slots[i]])
            s_recv_acks (self, items[i].socket, slots[i]);
    return true;
}

static void
s_actor (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    sender_t *self = arg;
    pthread_setname_np (pthread_self (), "mdp-sender"); /* top -H, perf, a test's ptrace */
    mdf_sockset_t *dealers = mdf_sockset_new (ZMQ_DEALER, s_setup_dealer, self);
    if (!dealers) {
        mdf_actor_fail (start, "out of memory");
        return;
    }
    self->seen_gen = roster_generation (self->roster) + 1; /* follow it at once */
    s_follow_roster (self, dealers);
    mdf_actor_ready (start);
    while (s_round (self, pipe, dealers))
        ;
    mdf_sockset_destroy (&dealers);
}

/* ---- construction --------------------------------------------------------- */

static void
s_prov_metrics (sender_t *self, mdf_metrics_t *m, size_t i)
{
    const char *p = self->providers.items[i];
    s_prov_metrics_t *pm = &self->pm[i];
    self->ingested[i] = mdf_metrics_counter (m, "mdp_bars_ingested_total",
                                             "Bars taken from the provider", "provider", p, NULL);
    pm->sent = mdf_metrics_counter (m, "mdp_bars_sent_total", "Bars sent to the store (first send)",
                                    "provider", p, NULL);
    pm->acked = mdf_metrics_counter (m, "mdp_bars_acked_total",
                                     "Bars the store acked ok (committed)", "provider", p, NULL);
    pm->rej_bars = mdf_metrics_counter (m, "mdp_bars_rejected_total",
                                        "Bars in batches the store rejected", "provider", p, NULL);
    pm->rej_batches = mdf_metrics_counter (m, "mdp_batches_rejected_total",
                                           "Batches the store rejected", "provider", p, NULL);
}

/* Fine around the 200 ms a live bar may take from close to commit. */
static const double s_live_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175,
                                         0.2,   0.25, 0.3,   0.4,  0.5,   1,   2.5,   5,    10 };

static void
s_metrics (sender_t *self, mdf_metrics_t *m, const bool *live)
{
    if (!m)
        return;
    for (size_t i = 0; i < self->nproviders; i++) {
        s_prov_metrics (self, m, i);
        if (live && live[i])
            self->pm[i].live_commit = mdf_metrics_histogram (
                m, "mdp_live_commit_seconds",
                "Live bars: from the bar entering the pipeline (closed) to its commit",
                s_live_buckets, sizeof s_live_buckets / sizeof s_live_buckets[0], "provider",
                self->providers.items[i], NULL);
    }
    self->resent_timeout = mdf_metrics_counter (m, "mdp_batches_resent_total", "Batches sent again",
                                                "reason", "timeout", NULL);
    self->resent_retry = mdf_metrics_counter (m, "mdp_batches_resent_total", "Batches sent again",
                                              "reason", "retry", NULL);
    self->unknown_acks = mdf_metrics_counter (
        m, "mdp_acks_unknown_total", "Acks for no batch in flight (late duplicates)", NULL);
    self->bad_acks = mdf_metrics_counter (m, "mdp_acks_malformed_total",
                                          "Ack bodies that did not decode", NULL);
    self->inflight_gauge = mdf_metrics_gauge (
        m, "mdp_batches_inflight", "Batches holding bars not yet acked (open ones included)", NULL);
    self->routable_g = mdf_metrics_gauge (m, "mdp_stores_routable",
                                          "Stores that can take new batches (members)", NULL);
    self->ack_latency = mdf_metrics_histogram (m, "mdp_ack_latency_seconds",
                                               "From sealing a batch to its final ack",
                                               mdf_buckets_latency, mdf_buckets_latency_n, NULL);
    if (self->inflight_gauge)
        mdf_gauge_set (self->inflight_gauge, 0);
}

static int
s_init (sender_t *self, const sender_config_t *cfg)
{
    mdf_beat (&self->loop, mdf_mono_ns ());
    self->producer_id = strdup (cfg->producer_id);
    self->roster = cfg->roster;
    if (cfg->curve)
        self->curve = *cfg->curve;
    int names = mdf_strlist_set (&self->providers, cfg->providers, cfg->nproviders);
    self->nproviders = cfg->nproviders;
    self->max_inflight = cfg->max_inflight ? cfg->max_inflight : 1;
    self->nflights = self->max_inflight * MEMBERS_MAX;
    self->ack_timeout_ns = cfg->ack_timeout_ms * 1000000;
    self->backoff_ns = cfg->retry_backoff_ms * 1000000;
    self->backoff_max_ns = cfg->retry_backoff_max_ms * 1000000;
    self->flights = calloc (self->nflights, sizeof *self->flights);
    self->pm = calloc (self->nproviders + 1, sizeof *self->pm);
    self->ingested = calloc (self->nproviders + 1, sizeof *self->ingested);
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl = rl;
    if (!self->producer_id || names != 0 || !self->flights || !self->pm || !self->ingested)
        return -1;
    for (size_t s = 0; s < self->nflights; s++)
        self->flights[s].slot = -1;
    s_metrics (self, cfg->metrics, cfg->live);
    /* batch_seq starts at the wall time in us: unique across restarts. */
    self->batcher = batcher_new (self->nproviders, cfg->batch_max, self->max_inflight,
                                 cfg->linger_ms * 1000000, (uint64_t)(mdf_wall_ns () / 1000),
                                 self->ingested, self->inflight_gauge);
    if (!self->batcher)
        return -1;
    for (size_t i = 0; cfg->live && i < self->nproviders; i++)
        batcher_set_live (self->batcher, i, cfg->live[i]);
    return 0;
}

sender_t *
sender_new (const sender_config_t *cfg, char *err, size_t errlen)
{
    sender_t *self = calloc (1, sizeof *self);
    if (!self || s_init (self, cfg) < 0) {
        snprintf (err, errlen, "out of memory");
        sender_destroy (&self);
        return NULL;
    }
    self->actor = mdf_actor_new (s_actor, self, err, errlen);
    if (!self->actor) {
        sender_destroy (&self);
        return NULL;
    }
    return self;
}

void
sender_destroy (sender_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sender_t *self = *self_p;
    if (self->batcher)
        batcher_close (self->batcher);
    zactor_destroy (&self->actor);
    for (size_t s = 0; self->flights && s < self->nflights; s++)
        if (self->flights[s].encoded) /* batches are freed by the batcher */
            zmq_msg_close (&self->flights[s].body);
    batcher_destroy (&self->batcher);
    free (self->flights);
    free (self->pm);
    free (self->ingested);
    mdf_strlist_free (&self->providers);
    free (self->producer_id);
    free (self);
    *self_p = NULL;
}
