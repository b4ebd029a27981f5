/*
 * standin: see standin.h.  The record of distinct bars is an open-addressing
 * set of 64-bit hashes of (provider, symbol, ts), guarded by a mutex.
 */
#include "standin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "proto/batch.h"
#include "proto/feedback.h"

#define SET_SLOTS (1u << 20)

struct _standin_t {
    int ingest_port, feedback_port, heartbeat_ms;
    pthread_t thread;
    bool running;
    atomic_int stop;
    atomic_int level, silent, mode, mode_n;
    atomic_long received, batches;
    int64_t epoch;
    uint64_t seq;
    void *ctx, *router, *xpub;
    pthread_mutex_t lock;
    uint64_t *set;
    long distinct;
};

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
s_hash (const char *provider, const mdf_bar_t *bar)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = provider; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = bar->symbol; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(bar->ts >> (8 * i))) * 1099511628211ULL;
    return h ? h : 1;
}

static void
s_record (standin_t *self, const mdf_batch_t *b)
{
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < b->nbars; i++) {
        uint64_t h = s_hash (b->provider, &b->bars[i]);
        size_t slot = h & (SET_SLOTS - 1);
        while (self->set[slot] && self->set[slot] != h)
            slot = (slot + 1) & (SET_SLOTS - 1);
        if (!self->set[slot]) {
            self->set[slot] = h;
            self->distinct++;
        }
    }
    pthread_mutex_unlock (&self->lock);
}

static void
s_publish (standin_t *self, const char *reason)
{
    if (atomic_load (&self->silent))
        return;
    mdf_feedback_t ev;
    memset (&ev, 0, sizeof ev);
    ev.v = 1;
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "standin");
    ev.epoch = self->epoch;
    ev.seq = ++self->seq;
    ev.level = (mdf_level_t)atomic_load (&self->level);
    ev.queue_size = ev.level * 4000;
    ev.capacity = 10000;
    snprintf (ev.reason, sizeof ev.reason, "%s", reason);
    snprintf (ev.source, sizeof ev.source, "store");
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    ev.ts = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    mdf_buf_t buf = { NULL, 0 };
    if (mdf_feedback_encode (&ev, &buf) == 0) {
        zmq_send (self->xpub, "feedback.standin", 16, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send (self->xpub, buf.data, buf.size, ZMQ_DONTWAIT);
    }
    mdf_buf_free (&buf);
}

/* Decide whether to answer this batch, and how; consumes drop/retry counts. */
static int
s_answer (standin_t *self, mdf_ack_status_t *status)
{
    int mode = atomic_load (&self->mode);
    *status = MDF_ACK_OK;
    if (mode == STANDIN_MUTE)
        return 0;
    if (mode == STANDIN_DROP || mode == STANDIN_RETRY) {
        if (atomic_fetch_sub (&self->mode_n, 1) > 0) {
            if (mode == STANDIN_DROP)
                return 0;
            *status = MDF_ACK_RETRY;
        } else {
            atomic_store (&self->mode, STANDIN_ACK);
        }
    }
    return 1;
}

static void
s_on_batch (standin_t *self)
{
    zmq_msg_t id, body;
    zmq_msg_init (&id);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&id, self->router, 0) < 0 || !zmq_msg_more (&id)
        || zmq_msg_recv (&body, self->router, 0) < 0) {
        zmq_msg_close (&id);
        zmq_msg_close (&body);
        return;
    }
    mdf_batch_t b;
    memset (&b, 0, sizeof b);
    char err[256];
    mdf_decode_t rc
        = mdf_batch_decode (zmq_msg_data (&body), zmq_msg_size (&body), &b, 0, err, sizeof err);
    mdf_ack_status_t status;
    if (rc == MDF_DECODE_OK && s_answer (self, &status)) {
        atomic_fetch_add (&self->batches, 1);
        atomic_fetch_add (&self->received, (long)b.nbars);
        if (status == MDF_ACK_OK)
            s_record (self, &b);
        mdf_ack_t ack;
        memset (&ack, 0, sizeof ack);
        ack.batch_seq = b.batch_seq;
        ack.status = status;
        ack.count = status == MDF_ACK_OK ? b.nbars : 0;
        ack.level = (mdf_level_t)atomic_load (&self->level);
        ack.has_level = true;
        mdf_buf_t buf = { NULL, 0 };
        if (mdf_ack_encode (&ack, &buf) == 0) {
            zmq_send (self->router, zmq_msg_data (&id), zmq_msg_size (&id), ZMQ_SNDMORE);
            zmq_send (self->router, buf.data, buf.size, 0);
        }
        mdf_buf_free (&buf);
    } else if (rc == MDF_DECODE_OK) {
        /* Not answered; a database would still have committed it. */
        atomic_fetch_add (&self->batches, 1);
        atomic_fetch_add (&self->received, (long)b.nbars);
        s_record (self, &b);
    }
    mdf_batch_clear (&b);
    zmq_msg_close (&id);
    zmq_msg_close (&body);
}

static void *
s_run (void *arg)
{
    standin_t *self = arg;
    int last_level = atomic_load (&self->level), last_silent = atomic_load (&self->silent);
    int64_t next_hb = s_now_ms () + self->heartbeat_ms;
    while (!atomic_load (&self->stop)) {
        zmq_pollitem_t items[2]
            = { { self->router, 0, ZMQ_POLLIN, 0 }, { self->xpub, 0, ZMQ_POLLIN, 0 } };
        zmq_poll (items, 2, 10);
        if (items[0].revents & ZMQ_POLLIN)
            s_on_batch (self);
        if (items[1].revents & ZMQ_POLLIN) {
            char sub[64];
            int n = zmq_recv (self->xpub, sub, sizeof sub, 0);
            if (n > 0 && sub[0] == 1)
                s_publish (self, "subscribe");
        }
        int level = atomic_load (&self->level), silent = atomic_load (&self->silent);
        if (level != last_level || silent != last_silent) {
            last_level = level;
            last_silent = silent;
            s_publish (self, "watermark");
            next_hb = s_now_ms () + self->heartbeat_ms;
        }
        if (s_now_ms () >= next_hb) {
            s_publish (self, "heartbeat");
            next_hb = s_now_ms () + self->heartbeat_ms;
        }
    }
    return NULL;
}

static int
s_start (standin_t *self)
{
    char ep[64];
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    int64_t epoch = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    self->epoch = epoch > self->epoch ? epoch : self->epoch + 1; /* always a new epoch */
    self->seq = 0;
    self->ctx = zmq_ctx_new ();
    self->router = zmq_socket (self->ctx, ZMQ_ROUTER);
    self->xpub = zmq_socket (self->ctx, ZMQ_XPUB);
    int zero = 0;
    zmq_setsockopt (self->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (self->xpub, ZMQ_LINGER, &zero, sizeof zero);
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", self->ingest_port);
    int rc = zmq_bind (self->router, ep);
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", self->feedback_port);
    if (rc == 0)
        rc = zmq_bind (self->xpub, ep);
    if (rc != 0) {
        zmq_close (self->router);
        zmq_close (self->xpub);
        zmq_ctx_term (self->ctx);
        return -1;
    }
    atomic_store (&self->stop, 0);
    pthread_create (&self->thread, NULL, s_run, self);
    self->running = true;
    return 0;
}

static void
s_stop (standin_t *self)
{
    if (!self->running)
        return;
    atomic_store (&self->stop, 1);
    pthread_join (self->thread, NULL);
    zmq_close (self->router);
    zmq_close (self->xpub);
    zmq_ctx_term (self->ctx);
    self->running = false;
}

standin_t *
standin_new (int ingest_port, int feedback_port, int heartbeat_ms)
{
    standin_t *self = calloc (1, sizeof *self);
    self->ingest_port = ingest_port;
    self->feedback_port = feedback_port;
    self->heartbeat_ms = heartbeat_ms;
    self->set = calloc (SET_SLOTS, sizeof *self->set);
    pthread_mutex_init (&self->lock, NULL);
    if (s_start (self) < 0) {
        free (self->set);
        free (self);
        return NULL;
    }
    return self;
}

void
standin_destroy (standin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    standin_t *self = *self_p;
    s_stop (self);
    pthread_mutex_destroy (&self->lock);
    free (self->set);
    free (self);
    *self_p = NULL;
}

int
standin_restart (standin_t *self)
{
    s_stop (self);
    return s_start (self);
}

void
standin_set_level (standin_t *self, mdf_level_t level)
{
    atomic_store (&self->level, (int)level);
}

void
standin_set_silent (standin_t *self, bool silent)
{
    atomic_store (&self->silent, silent ? 1 : 0);
}

void
standin_set_mode (standin_t *self, standin_mode_t mode, int n)
{
    atomic_store (&self->mode_n, n);
    atomic_store (&self->mode, (int)mode);
}

long
standin_distinct (standin_t *self)
{
    pthread_mutex_lock (&self->lock);
    long n = self->distinct;
    pthread_mutex_unlock (&self->lock);
    return n;
}

long
standin_received (standin_t *self)
{
    return atomic_load (&self->received);
}

long
standin_batches (standin_t *self)
{
    return atomic_load (&self->batches);
}
