/*
 * sender: the actor that owns the DEALER; batching lives in batcher.c.
 * See sender.h.
 *
 * `flights` (max_inflight slots) holds the batches taken from the batcher
 * and not yet released: only the sender thread touches it.  Each slot keeps
 * the encoded body for resends, the deadline of its next (re)send and its
 * retry count.
 */
#include "pipeline/sender.h"

#include <czmq.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/strv.h"
#include "pipeline/batcher.h"

typedef struct {
    batch_t *b; /* NULL: free slot */
    mdf_buf_t buf;
    int64_t deadline_ns;
    int retries;
    bool waiting_retry, sent_once;
} s_flight_t;

typedef struct {
    mdf_counter_t *sent, *acked, *rej_bars, *rej_batches;
} s_prov_metrics_t;

struct _sender_t {
    char *producer_id;
    char **endpoints;
    size_t nendpoints;
    mdp_curve_t curve; /* copy of cfg->curve */
    char **providers;
    size_t nproviders;
    size_t max_inflight;
    int64_t ack_timeout_ns, backoff_ns, backoff_max_ns;

    batcher_t *batcher;
    s_flight_t *flights;
    zactor_t *actor;
    atomic_int start_rc; /* written by the actor before it signals */
    char start_err[256];

    mdf_counter_t **ingested;
    s_prov_metrics_t *pm;
    mdf_counter_t *resent_timeout, *resent_retry, *unknown_acks, *bad_acks;
    mdf_gauge_t *inflight_gauge;
    mdf_histogram_t *ack_latency;
    mdf_ratelimit_t rl;
};

static void
s_add (mdf_counter_t *c, uint64_t n)
{
    if (c)
        mdf_counter_add (c, n);
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

int64_t
sender_oldest_ms (sender_t *self)
{
    return batcher_oldest_ns (self->batcher) / 1000000;
}

/* ---- sender thread ---------------------------------------------------- */

static void
s_send (sender_t *self, void *dealer, s_flight_t *f, int64_t now)
{
    if (zmq_send (dealer, f->buf.data, f->buf.size, ZMQ_DONTWAIT) < 0) {
        /* No store connected (ZMQ_IMMEDIATE) or HWM: try again shortly. */
        f->deadline_ns = now + self->backoff_ns;
        f->waiting_retry = true;
        return;
    }
    if (!f->sent_once) {
        f->sent_once = true;
        s_add (self->pm[f->b->prov].sent, f->b->n);
    }
    f->deadline_ns = now + self->ack_timeout_ns;
    f->waiting_retry = false;
}

/* Encode the slot's batch once; frees its bars.  -1: try again later. */
static int
s_encode (sender_t *self, s_flight_t *f)
{
    if (f->buf.data)
        return 0;
    mdf_batch_t mb;
    memset (&mb, 0, sizeof mb);
    snprintf (mb.producer_id, sizeof mb.producer_id, "%s", self->producer_id);
    snprintf (mb.provider, sizeof mb.provider, "%s", self->providers[f->b->prov]);
    mb.batch_seq = f->b->seq;
    mb.has_batch_seq = true;
    mb.bars = f->b->bars;
    mb.nbars = f->b->n;
    if (mdf_batch_encode (&mb, &f->buf) < 0)
        return -1;
    free (f->b->bars);
    f->b->bars = NULL;
    return 0;
}

/* Take newly sealed batches into free slots and send them. */
static void
s_send_new (sender_t *self, void *dealer)
{
    batch_t *taken[self->max_inflight];
    size_t n = batcher_take (self->batcher, taken, self->max_inflight);
    int64_t now = mdf_mono_ns ();
    size_t slot = 0;
    for (size_t i = 0; i < n; i++) {
        while (self->flights[slot].b) /* the window guarantees a free slot */
            slot++;
        s_flight_t *f = &self->flights[slot];
        memset (f, 0, sizeof *f);
        f->b = taken[i];
        if (s_encode (self, f) < 0) {
            f->deadline_ns = now + self->backoff_ns;
            continue;
        }
        s_send (self, dealer, f, now);
    }
}

static void
s_resend_due (sender_t *self, void *dealer)
{
    int64_t now = mdf_mono_ns ();
    for (size_t s = 0; s < self->max_inflight; s++) {
        s_flight_t *f = &self->flights[s];
        if (!f->b || f->deadline_ns > now)
            continue;
        if (s_encode (self, f) < 0) {
            f->deadline_ns = now + self->backoff_ns;
            continue;
        }
        if (f->sent_once)
            s_add (f->waiting_retry ? self->resent_retry : self->resent_timeout, 1);
        s_send (self, dealer, f, now);
    }
}

static void
s_release (sender_t *self, s_flight_t *f)
{
    mdf_buf_free (&f->buf);
    batcher_release (self->batcher, f->b);
    memset (f, 0, sizeof *f);
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
                  self->providers[f->b->prov], (unsigned long long)f->b->seq, f->b->n,
                  mdf_log_quote (q, sizeof q, ack->error), (unsigned long long)sup);
}

static void
s_handle_ack (sender_t *self, const mdf_ack_t *ack)
{
    s_flight_t *f = NULL;
    for (size_t s = 0; s < self->max_inflight && !f; s++)
        if (self->flights[s].b && self->flights[s].b->seq == ack->batch_seq)
            f = &self->flights[s];
    if (!f) {
        s_add (self->unknown_acks, 1);
        return;
    }
    int64_t now = mdf_mono_ns ();
    if (ack->status == MDF_ACK_RETRY) {
        int64_t wait = self->backoff_ns << (f->retries < 16 ? f->retries : 16);
        f->retries++;
        f->deadline_ns = now + (wait < self->backoff_max_ns ? wait : self->backoff_max_ns);
        f->waiting_retry = true;
        return;
    }
    if (self->ack_latency)
        mdf_histogram_observe (self->ack_latency, (double)(now - f->b->sealed_ns) / 1e9);
    if (ack->status == MDF_ACK_OK)
        s_add (self->pm[f->b->prov].acked, f->b->n);
    else
        s_rejected (self, f, ack);
    s_release (self, f);
}

static void
s_recv_acks (sender_t *self, void *dealer)
{
    while (true) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&msg);
            return;
        }
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

/* Milliseconds until the next linger or (re)send deadline, at most 100. */
static long
s_next_timeout (sender_t *self)
{
    int64_t now = mdf_mono_ns (), next = now + 100000000;
    int64_t linger = batcher_next_linger (self->batcher);
    next = linger < next ? linger : next;
    for (size_t s = 0; s < self->max_inflight; s++)
        if (self->flights[s].b && self->flights[s].deadline_ns < next)
            next = self->flights[s].deadline_ns;
    return next <= now ? 0 : (long)((next - now + 999999) / 1000000);
}

static zsock_t *
s_connect (sender_t *self)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer) {
        snprintf (self->start_err, sizeof self->start_err, "cannot create DEALER socket");
        return NULL;
    }
    zsock_set_linger (dealer, 0);
    zsock_set_immediate (dealer, 1);
    mdp_curve_apply (&self->curve, dealer);
    zsock_set_sndhwm (dealer, (int)self->max_inflight * 4 + 16);
    for (size_t i = 0; i < self->nendpoints; i++)
        if (zsock_connect (dealer, "%s", self->endpoints[i]) < 0) {
            snprintf (self->start_err, sizeof self->start_err,
                      "store.ingest: cannot connect to \"%s\": %s", self->endpoints[i],
                      zmq_strerror (zmq_errno ()));
            zsock_destroy (&dealer);
            return NULL;
        }
    return dealer;
}

/* One round: wait for something to do, then do it.  false on $TERM. */
static bool
s_round (sender_t *self, zsock_t *pipe, void *dealer)
{
    zmq_pollitem_t items[3] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
                                { NULL, batcher_fd (self->batcher), ZMQ_POLLIN, 0 },
                                { dealer, 0, ZMQ_POLLIN, 0 } };
    if (zmq_poll (items, 3, s_next_timeout (self)) < 0 && zmq_errno () != EINTR)
        return false;
    if (items[0].revents & ZMQ_POLLIN) {
        char *cmd = zstr_recv (pipe);
        bool term = !cmd || streq (cmd, "$TERM");
        zstr_free (&cmd);
        if (term)
            return false;
    }
    if (items[1].revents & ZMQ_POLLIN)
        batcher_clear_wake (self->batcher);
    if (items[2].revents & ZMQ_POLLIN)
        s_recv_acks (self, dealer);
    s_send_new (self, dealer);
    s_resend_due (self, dealer);
    return true;
}

/* Failed start: sender_new destroys the actor at once; wait for its $TERM. */
static void
s_wait_term (zsock_t *pipe)
{
    while (true) {
        char *cmd = zstr_recv (pipe);
        bool term = !cmd || streq (cmd, "$TERM");
        zstr_free (&cmd);
        if (term)
            return;
    }
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    sender_t *self = arg;
    zsock_t *dealer = s_connect (self);
    atomic_store (&self->start_rc, dealer ? 0 : -1);
    zsock_signal (pipe, 0);
    if (dealer)
        while (s_round (self, pipe, zsock_resolve (dealer)))
            ;
    else
        s_wait_term (pipe);
    zsock_destroy (&dealer);
}

/* ---- construction ----------------------------------------------------- */

static void
s_prov_metrics (sender_t *self, mdf_metrics_t *m, size_t i)
{
    const char *p = self->providers[i];
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

static void
s_metrics (sender_t *self, mdf_metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < self->nproviders; i++)
        s_prov_metrics (self, m, i);
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
    self->ack_latency = mdf_metrics_histogram (m, "mdp_ack_latency_seconds",
                                               "From sealing a batch to its final ack",
                                               mdf_buckets_latency, mdf_buckets_latency_n, NULL);
    if (self->inflight_gauge)
        mdf_gauge_set (self->inflight_gauge, 0);
}

static int
s_init (sender_t *self, const sender_config_t *cfg)
{
    self->producer_id = strdup (cfg->producer_id);
    self->endpoints = mdf_strv_dup ((const char *const *)cfg->endpoints, cfg->nendpoints);
    self->nendpoints = cfg->nendpoints;
    if (cfg->curve)
        self->curve = *cfg->curve;
    self->providers = mdf_strv_dup (cfg->providers, cfg->nproviders);
    self->nproviders = cfg->nproviders;
    self->max_inflight = cfg->max_inflight ? cfg->max_inflight : 1;
    self->ack_timeout_ns = cfg->ack_timeout_ms * 1000000;
    self->backoff_ns = cfg->retry_backoff_ms * 1000000;
    self->backoff_max_ns = cfg->retry_backoff_max_ms * 1000000;
    self->flights = calloc (self->max_inflight, sizeof *self->flights);
    self->pm = calloc (self->nproviders + 1, sizeof *self->pm);
    self->ingested = calloc (self->nproviders + 1, sizeof *self->ingested);
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl = rl;
    if (!self->producer_id || !self->endpoints || !self->providers || !self->flights || !self->pm
        || !self->ingested)
        return -1;
    s_metrics (self, cfg->metrics);
    /* batch_seq starts at the wall time in us: unique across restarts. */
    self->batcher = batcher_new (self->nproviders, cfg->batch_max, self->max_inflight,
                                 cfg->linger_ms * 1000000, (uint64_t)(mdf_wall_ns () / 1000),
                                 self->ingested, self->inflight_gauge);
    return self->batcher ? 0 : -1;
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
    self->actor = zactor_new (s_actor, self);
    if (!self->actor || atomic_load (&self->start_rc) < 0) {
        snprintf (err, errlen, "%s", self->actor ? self->start_err : "cannot start sender");
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
    for (size_t s = 0; self->flights && s < self->max_inflight; s++)
        mdf_buf_free (&self->flights[s].buf); /* batches are freed by the batcher */
    batcher_destroy (&self->batcher);
    free (self->flights);
    free (self->pm);
    free (self->ingested);
    mdf_strv_free (self->endpoints, self->nendpoints);
    mdf_strv_free (self->providers, self->nproviders);
    free (self->producer_id);
    free (self);
    *self_p = NULL;
}
