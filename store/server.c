/*
 * server: the ingest thread's loop (server.h); store/app.c builds its parts.
 *
 * Invariants:
 *   - only this thread touches `router` and the feedback XPUB, and only this
 *     thread takes the queue's answers (the workers' done_t);
 *   - `pending` counts batches pushed to the queue whose done_t has not been
 *     handled yet: it is 0 exactly when every accepted batch has been answered;
 *   - `inflight` holds the key of every pushed batch marked `tracked` until its
 *     done_t is handled: a resend of one of them (same producer, batch_seq and
 *     bars) is counted as a duplicate and dropped, never queued twice, and the
 *     one "ok" at the commit goes to the identity that sent it last;
 *   - `published` is the level of the last watermark event (what subscribers
 *     believe), compared with the queue's level after every change;
 *   - the loop sleeps in poll(2) on the sockets' ZMQ_FD, which only signals
 *     new activity: so it sleeps only when the last operation on the ROUTER
 *     was a receive that found nothing (`router_clean`) and the XPUB's
 *     ZMQ_EVENTS were read after its last send (`pub_clean`).  zmq_poll
 *     would ask every socket's ZMQ_EVENTS twice per sleep, each a getpid and
 *     a poll system call inside libzmq.
 */
#include "store/server.h"

#include <czmq.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "proto/batch.h"
#include "store/sinkrate.h"
#include "store/producers.h"
#include "store/publisher.h"
#include "store/inflight.h"
#include "store/queue.h"
#include "store/stats.h"
#include "store/webhook.h"
#include "store/workers.h"

_Static_assert(INFLIGHT_IDENTITY_MAX >= WORK_IDENTITY_MAX, "identities must fit");

struct _server_t {
    const store_settings_t *settings;
    stats_t *stats;
    queue_t *queue;
    inflight_t *inflight;   /* batches queued, not yet answered (resends): owned */
    sinkrate_t *sinkrate;   /* the sink's speed, from the workers */
    producers_t *producers; /* who sent lately */
    int64_t last_reported;  /* queue size of the last event */
    workers_t *workers;
    publisher_t *publisher;
    webhook_t *webhook;
    zsock_t *router;
    bool router_clean; /* see the invariants */
    bool pub_clean;
    int64_t unwoken; /* bars queued since the workers were last woken */
    int64_t next_heartbeat_ns;
    int64_t next_report_ns; /* [feedback] report_ms: queue_size while not idle */
    mdf_level_t published;
    bool sink_down_reported;
    atomic_bool draining;
    mdf_beat_t loop; /* each turn of the ingest loop (liveness) */
    size_t pending;
    mdf_ratelimit_t hostile_rl, reject_rl, duplicate_rl;
};

/* ---- level, heartbeat, breaker ---- */

/* What producers pace themselves by (proto/README.md, "Feedback event"):
 * the sink's speed, how many share it, and each one's bound on bars in
 * flight here (producers_credit: all their windows together stay below the
 * high watermark). */
static void
s_pacing (server_t *self)
{
    int64_t producers = (int64_t)producers_count (self->producers);
    int64_t announced = publisher_producers (self->publisher); /* not by id: older pipelines */
    producers = producers > announced ? producers : announced;
    double service = sinkrate_service_rate (self->sinkrate);
    publisher_pacing_t p
        = { sinkrate_rate (self->sinkrate), service, producers,
            producers_credit (self->settings->high_watermark, producers, service) };
    publisher_set_pacing (self->publisher, &p);
    mdf_gauge_set (self->stats->drain_rate, p.drain_rate);
    mdf_gauge_set (self->stats->service_rate, p.service_rate);
    mdf_gauge_set (self->stats->producers, (double)p.producers);
    mdf_gauge_set (self->stats->credit, (double)p.credit);
}

static void
s_publish (server_t *self, mdf_level_t level, const char *reason)
{
    self->pub_clean = false; /* a send may take the XPUB's signal */
    s_pacing (self);
    self->last_reported = queue_size (self->queue);
    if (publisher_publish (self->publisher, level, queue_size (self->queue), reason) != 0)
        mdf_warn ("feedback event not sent", "reason=%s", reason);
}

/* Publish a watermark event if the queue's level differs from the last one. */
static void
s_check_level (server_t *self)
{
    queue_snapshot_t q;
    queue_snapshot (self->queue, &q); /* one lock: the workers share it */
    mdf_gauge_set (self->stats->queue_depth, (double)q.size);
    mdf_gauge_set (self->stats->queue_batches, (double)q.batches);
    mdf_level_t level = q.level;
    if (level == self->published)
        return;
    mdf_level_t previous = self->published;
    self->published = level;
    stats_set_level (self->stats, level);
    s_publish (self, level, "watermark");
    mdf_info ("level changed", "level=%s previous=%s queue_size=%lld", mdf_level_name (level),
              mdf_level_name (previous), (long long)queue_size (self->queue));
    webhook_event_t ev = { self->settings->store_id,
                           publisher_epoch (self->publisher),
                           publisher_seq (self->publisher),
                           level,
                           previous,
                           queue_size (self->queue),
                           self->settings->capacity,
                           "watermark" };
    webhook_notify (self->webhook, &ev);
}

static void
s_timers (server_t *self)
{
    int64_t now = mdf_mono_ns ();
    mdf_beat (&self->loop, now);
    if (self->settings->heartbeat_ms > 0 && now >= self->next_heartbeat_ns) {
        s_publish (self, self->published, "heartbeat");
        self->next_heartbeat_ns = now + self->settings->heartbeat_ms * 1000000;
    }
    if (self->settings->report_ms > 0 && now >= self->next_report_ns) {
        /* while the queue holds bars, once more when it emptied, and while
         * producers send (a sink that got faster is seen at once) */
        if (queue_size (self->queue) > 0 || self->last_reported > 0
            || producers_active_within (self->producers, 1000) > 0)
            s_publish (self, self->published, "report");
        self->next_report_ns = now + self->settings->report_ms * 1000000;
    }
    bool down = workers_breaker (self->workers) == BREAKER_OPEN;
    if (down && !self->sink_down_reported)
        s_publish (self, self->published, "sink_down");
    if (down || workers_breaker (self->workers) == BREAKER_CLOSED)
        self->sink_down_reported = down;
}

/* ---- acks ---- */

static void
s_reply (server_t *self, const uint8_t *id, size_t id_len, uint64_t batch_seq,
         mdf_ack_status_t status, uint64_t count, const char *error)
{
    mdf_ack_t ack = { 0 };
    ack.batch_seq = batch_seq;
    ack.status = status;
    ack.count = count;
    snprintf (ack.error, sizeof ack.error, "%s", error ? error : "");
    ack.level = self->published;
    ack.has_level = true;
    mdf_buf_t body = { 0 };
    if (mdf_ack_encode (&ack, &body) != 0)
        return;
    /* count first: whoever reads the ack may scrape the counter next */
    mdf_counter_inc (status == MDF_ACK_OK      ? self->stats->batches_ok
                     : status == MDF_ACK_RETRY ? self->stats->batches_retry
                                               : self->stats->batches_rejected);
    void *sock = zsock_resolve (self->router);
    self->router_clean = false; /* a send may take the ROUTER's signal */
    if (zmq_send (sock, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (sock, body.data, body.size, ZMQ_DONTWAIT);
    mdf_buf_free (&body);
}

/* One finished transaction: ack its batches (if committed) and forget them. */
static void
s_on_done (server_t *self, done_t *done)
{
    for (size_t i = 0; i < done->n; i++) {
        work_item_t *it = done->items[i];
        const uint8_t *to = it->identity;
        size_t to_len = it->identity_len;
        uint8_t latest[INFLIGHT_IDENTITY_MAX];
        size_t latest_len = 0;
        inflight_sender_t from = { it->identity, it->identity_len };
        if (it->tracked
            && inflight_finish (self->inflight, &it->batch, &from, latest, &latest_len) == 0) {
            to = latest; /* a resend may have come from a reconnected DEALER */
            to_len = latest_len;
        }
        if (done->committed)
            s_reply (self, to, to_len, it->batch.batch_seq, MDF_ACK_OK, it->batch.nbars, NULL);
        self->pending--;
    }
    if (!done->committed)
        mdf_error ("batches dropped unacked at shutdown", "batches=%zu bars=%lld", done->n,
                   (long long)done->bars);
    done_destroy (&done);
}

/* Every transaction the workers finished since the last call, in order. */
static void
s_on_answers (server_t *self)
{
    queue_answer_t *a = queue_answers_take (self->queue);
    if (!a)
        return;
    s_check_level (self); /* the workers released the bars: acks carry the fresh level */
    while (a) {
        queue_answer_t *next = a->next;
        s_on_done (self, done_from_answer (a));
        a = next;
    }
}

/* ---- ingest ---- */

static void
s_hostile (server_t *self, mdf_counter_t *counter, const char *what, const char *detail)
{
    mdf_counter_inc (counter);
    uint64_t suppressed = 0;
    if (mdf_ratelimit_allow (&self->hostile_rl, &suppressed)) {
        char q[600];
        mdf_warn ("malformed ingest message dropped", "reason=%s detail=%s suppressed=%llu", what,
                  mdf_log_quote (q, sizeof q, detail), (unsigned long long)suppressed);
    }
}

static void
s_reject (server_t *self, work_item_t *it, const char *error)
{
    uint64_t suppressed = 0;
    if (mdf_ratelimit_allow (&self->reject_rl, &suppressed)) {
        char q1[300], q2[600];
        mdf_warn ("batch rejected", "producer=%s batch_seq=%llu error=%s suppressed=%llu",
                  mdf_log_quote (q1, sizeof q1, it->batch.producer_id),
                  (unsigned long long)it->batch.batch_seq, mdf_log_quote (q2, sizeof q2, error),
                  (unsigned long long)suppressed);
    }
    s_reply (self, it->identity, it->identity_len, it->batch.batch_seq, MDF_ACK_REJECTED, 0, error);
}

/* A resend of a batch still queued or being written: not queued again and not
 * answered now; the first copy's commit answers it. */
static void
s_duplicate (server_t *self, const work_item_t *it)
{
    mdf_counter_inc (self->stats->ingest_duplicates);
    uint64_t suppressed = 0;
    if (mdf_ratelimit_allow (&self->duplicate_rl, &suppressed)) {
        char q[300];
        mdf_debug ("resent batch already queued, answered at its commit",
                   "producer=%s batch_seq=%llu bars=%zu suppressed=%llu",
                   mdf_log_quote (q, sizeof q, it->batch.producer_id),
                   (unsigned long long)it->batch.batch_seq, it->batch.nbars,
                   (unsigned long long)suppressed);
    }
}

static void
s_wake_workers (server_t *self)
{
    if (self->unwoken > 0)
        queue_wake (self->queue);
    self->unwoken = 0;
}

/* Decide about one decoded, valid batch; takes ownership of `it`. */
static void
s_accept (server_t *self, work_item_t *it)
{
    int64_t bars = (int64_t)it->batch.nbars;
    const store_settings_t *s = self->settings;
    inflight_sender_t from = { it->identity, it->identity_len };
    inflight_found_t found = INFLIGHT_ABSENT;
    producers_seen (self->producers, it->batch.producer_id);
    if (bars > 0 && bars <= s->max_bars && bars <= s->capacity) /* could be queued */
        found = inflight_find (self->inflight, &it->batch, &from);
    if (found == INFLIGHT_DUPLICATE) /* even while draining: the drain answers it */
        s_duplicate (self, it);
    else if (atomic_load (&self->draining))
        s_reply (self, it->identity, it->identity_len, it->batch.batch_seq, MDF_ACK_RETRY, 0, NULL);
    else if (bars == 0)
        s_reply (self, it->identity, it->identity_len, it->batch.batch_seq, MDF_ACK_OK, 0, NULL);
    else if (bars > s->max_bars) {
        char err[MDF_ERROR_MAX];
        snprintf (err, sizeof err, "batch of %lld bars exceeds ingest.max_bars (%lld)",
                  (long long)bars, (long long)s->max_bars);
        s_reject (self, it, err);
    } else if (bars > s->capacity) {
        char err[MDF_ERROR_MAX];
        snprintf (err, sizeof err, "batch of %lld bars exceeds the queue capacity (%lld)",
                  (long long)bars, (long long)s->capacity);
        s_reject (self, it, err);
    } else {
        /* a key already held by other bars (INFLIGHT_CONFLICT) is queued
         * untracked: its own commit answers it */
        it->tracked = found == INFLIGHT_ABSENT;
        if (queue_push_quiet (self->queue, it, bars, it->batch.live) == 0) {
            /* the workers are woken after the round's batches, or once a
             * take's worth is waiting (s_wake_workers) */
            self->unwoken += bars;
            if (self->unwoken >= s->batch_max)
                s_wake_workers (self);
            /* the worker only reads the item, so registering it after the push
             * is safe; if that fails, inflight_finish finds nothing and the ok
             * goes to it->identity */
            if (it->tracked && inflight_add (self->inflight, &it->batch, &from) != 0)
                mdf_warn ("out of memory: a resend of this batch will be queued again",
                          "batch_seq=%llu", (unsigned long long)it->batch.batch_seq);
            self->pending++;
            s_check_level (self);
            return; /* the queue owns it now */
        }
        s_reply (self, it->identity, it->identity_len, it->batch.batch_seq, MDF_ACK_RETRY, 0, NULL);
    }
    work_item_destroy (&it);
}

/* The frames after the identity: the body in *body, how many in the return
 * value (the rest are read and dropped).  Parts of a message arrive
 * together, so once the first is in, the others are there. */
static size_t
s_recv_rest (void *sock, const zmq_msg_t *id, zmq_msg_t *body)
{
    size_t frames = 0;
    bool more = zmq_msg_more (id);
    if (more && zmq_msg_recv (body, sock, ZMQ_DONTWAIT) >= 0) {
        frames = 1;
        more = zmq_msg_more (body);
    }
    while (more) {
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        more = zmq_msg_recv (&extra, sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more (&extra);
        zmq_msg_close (&extra);
        frames++;
    }
    return frames;
}

/* Receive one message from the ROUTER, if one is there, and answer or queue
 * it.  The body is decoded where libzmq received it (proto reads the bytes in
 * place) straight into the work item the queue will hold.  false when none
 * was waiting. */
static bool
s_on_ingest (server_t *self)
{
    void *sock = zsock_resolve (self->router);
    zmq_msg_t id, body;
    zmq_msg_init (&id);
    if (zmq_msg_recv (&id, sock, ZMQ_DONTWAIT) < 0) {
        self->router_clean = true; /* EAGAIN (or an error no retry would cure) */
        zmq_msg_close (&id);
        return false;
    }
    self->router_clean = false; /* more may be waiting */
    zmq_msg_init (&body);
    size_t frames = s_recv_rest (sock, &id, &body);
    work_item_t *it = zmq_msg_size (&id) <= WORK_IDENTITY_MAX ? work_item_new () : NULL;
    if (!it) {
        zmq_msg_close (&body);
        zmq_msg_close (&id);
        return true;
    }
    it->received_ns = mdf_mono_ns ();
    it->identity_len = zmq_msg_size (&id);
    memcpy (it->identity, zmq_msg_data (&id), it->identity_len);
    zmq_msg_close (&id);
    char err[MDF_ERROR_MAX + 1] = "";
    size_t size = zmq_msg_size (&body);
    mdf_decode_t rc = MDF_DECODE_MALFORMED;
    if (frames == 1 && size > 0)
        rc = mdf_batch_decode (zmq_msg_data (&body), size, &it->batch, 0, err, sizeof err);
    zmq_msg_close (&body); /* the bars are in the item now */
    if (rc == MDF_DECODE_OK) {
        s_accept (self, it);
        return true;
    }
    if (frames != 1) {
        snprintf (err, sizeof err, "%zu frames, expected 1", frames);
        s_hostile (self, self->stats->malformed_frames, "frames", err);
    } else if (size == 0)
        s_hostile (self, self->stats->malformed_empty, "empty", "empty body");
    else if (rc == MDF_DECODE_INVALID || it->batch.has_batch_seq)
        s_reject (self, it, err);
    else
        s_hostile (self, self->stats->malformed_decode, "decode", err);
    work_item_destroy (&it);
    return true;
}

/* ---- loop ---- */

static void
s_poll_once (server_t *self, int max_wait_ms)
{
    int64_t wait = max_wait_ms;
    if (self->settings->heartbeat_ms > 0) {
        int64_t to_hb = (self->next_heartbeat_ns - mdf_mono_ns ()) / 1000000;
        wait = to_hb < wait ? (to_hb < 0 ? 0 : to_hb) : wait;
    }
    if (self->settings->report_ms > 0) {
        int64_t to_rep = (self->next_report_ns - mdf_mono_ns ()) / 1000000;
        wait = to_rep < wait ? (to_rep < 0 ? 0 : to_rep) : wait;
    }
    bool ready = !self->router_clean || !self->pub_clean; /* work left: do not sleep */
    struct pollfd fds[] = { { queue_answers_fd (self->queue), POLLIN, 0 },
                            { zsock_fd (self->router), POLLIN, 0 },
                            { zsock_fd (publisher_socket (self->publisher)), POLLIN, 0 } };
    if (poll (fds, 3, ready ? 0 : (int)wait) < 0)
        memset (fds, 0, sizeof fds); /* EINTR: a signal; the caller looks at its flag */
    /* answers first: room a commit freed counts before new batches are
     * judged; then batches until none is waiting (at most 256 a round, so
     * timers and answers are not starved) */
    if (fds[0].revents & POLLIN)
        s_on_answers (self);
    if ((fds[1].revents & POLLIN) || !self->router_clean) {
        for (int i = 0; i < 256 && s_on_ingest (self); i++)
            ;
        s_wake_workers (self);
    }
    if ((fds[2].revents & POLLIN) || !self->pub_clean) {
        zsock_t *pub = publisher_socket (self->publisher);
        self->pub_clean = true;
        while (zsock_events (pub) & ZMQ_POLLIN)
            if (publisher_recv (self->publisher) == 1)
                s_publish (self, self->published, "subscribe");
        self->pub_clean = true; /* the ZMQ_EVENTS above came after the last send */
    }
    s_check_level (self);
    s_timers (self); /* beats the loop */
}

int
server_run (server_t *self, volatile sig_atomic_t *signal_flag)
{
    while (*signal_flag == 0)
        s_poll_once (self, 100);
    int sig = *signal_flag;
    *signal_flag = 0;
    return sig;
}

/* ---- drain (shutdown) ---- */

int
server_drain (server_t *self)
{
    atomic_store (&self->draining, true);
    mdf_gauge_set (self->stats->draining, 1);
    mdf_info ("draining", "batches=%zu bars=%lld", self->pending,
              (long long)queue_size (self->queue));
    queue_stop (self->queue, true);
    /* pipelines stop sending at once (they would get "retry" until the
     * "shutdown" event at the end) and keep listening for the acks */
    s_publish (self, self->published, "draining");
    int64_t deadline = mdf_mono_ns () + self->settings->drain_timeout_ms * 1000000;
    while (self->pending > 0 && mdf_mono_ns () < deadline)
        s_poll_once (self, 50);
    int rc = 0;
    if (self->pending > 0) {
        mdf_error ("drain timed out", "batches=%zu drain_timeout_ms=%lld", self->pending,
                   (long long)self->settings->drain_timeout_ms);
        workers_abort (self->workers);
        queue_stop (self->queue, false);
        rc = -1;
    }
    workers_join (self->workers); /* every done_t is handed back by now */
    s_on_answers (self);
    s_check_level (self);
    s_publish (self, self->published, "shutdown");
    mdf_info ("drained", "unacked_batches=%zu", self->pending);
    return rc;
}

/* ---- reload ---- */

void
server_apply_live (server_t *self)
{
    /* periods may have changed: count them from now */
    self->next_heartbeat_ns = mdf_mono_ns () + self->settings->heartbeat_ms * 1000000;
    self->next_report_ns = mdf_mono_ns () + self->settings->report_ms * 1000000;
}

/* ---- views for other threads ---- */

bool
server_draining (server_t *self)
{
    return atomic_load (&self->draining);
}

int64_t
server_loop_age_ms (server_t *self)
{
    return mdf_beat_age_ms (&self->loop);
}

/* ---- life ---- */

server_t *
server_new (const server_parts_t *p)
{
    server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->inflight = inflight_new ();
    if (!self->inflight) {
        free (self);
        return NULL;
    }
    self->settings = p->settings;
    self->stats = p->stats;
    self->queue = p->queue;
    self->sinkrate = p->sinkrate;
    self->producers = p->producers;
    self->workers = p->workers;
    self->publisher = p->publisher;
    publisher_set_producers (self->publisher, self->producers);
    self->webhook = p->webhook;
    self->router = p->router;
    self->hostile_rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (5000, 5);
    self->reject_rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (5000, 5);
    self->duplicate_rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (5000, 5);
    mdf_beat (&self->loop, mdf_mono_ns ()); /* live from the start */
    server_apply_live (self);               /* the first timers */
    return self;
}

void
server_destroy (server_t **self_p)
{
    server_t *self = *self_p;
    if (!self)
        return;
    inflight_destroy (&self->inflight);
    free (self);
    *self_p = NULL;
}
