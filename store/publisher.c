/*
 * publisher: XPUB publisher; see publisher.h.
 */
#include "store/publisher.h"

#include <czmq.h>
#include <stdatomic.h>
#include <string.h>

#include "common/clock.h"
#include "proto/feedback.h"

struct _publisher_t {
    zsock_t *xpub;
    char id[MDF_ID_MAX + 1];
    char topic[MDF_ID_MAX + 32];
    int64_t capacity;
    int64_t epoch;
    uint64_t seq;
    atomic_llong subscribers; /* read by the HTTP thread */
    int64_t producer_subs;    /* subscriptions to MDF_PRODUCER_TOPIC */
    producers_t *producers;   /* borrowed: "producer.<id>" subscriptions */
    stats_t *stats;
    publisher_pacing_t pacing; /* carried by every event from now on */
};

publisher_t *
publisher_new (const char *endpoint, const char *coordinator_id, int64_t capacity, int sndhwm,
               stats_t *stats, store_auth_t *auth, char *err, size_t errlen)
{
    publisher_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->xpub = zsock_new (ZMQ_XPUB);
    if (!self->xpub) {
        free (self);
        snprintf (err, errlen, "cannot create XPUB socket");
        return NULL;
    }
    int on = 1;
    zmq_setsockopt (zsock_resolve (self->xpub), ZMQ_XPUB_VERBOSER, &on, sizeof on);
    /* a peer that stops answering pings is dropped with its subscriptions */
    int ivl = PUBLISHER_HEARTBEAT_MS, timeout = PUBLISHER_HEARTBEAT_TIMEOUT_MS;
    zmq_setsockopt (zsock_resolve (self->xpub), ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (zsock_resolve (self->xpub), ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zsock_set_sndhwm (self->xpub, sndhwm);
    zsock_set_linger (self->xpub, 1000);
    if (auth && store_auth_apply (auth, self->xpub, "feedback", err, errlen) != 0) {
        store_auth_release (self->xpub);
        zsock_destroy (&self->xpub);
        free (self);
        return NULL;
    }
    if (zsock_bind (self->xpub, "%s", endpoint) < 0) {
        snprintf (err, errlen, "feedback.endpoint %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        store_auth_release (self->xpub);
        zsock_destroy (&self->xpub);
        free (self);
        return NULL;
    }
    snprintf (self->id, sizeof self->id, "%s", coordinator_id);
    mdf_feedback_topic (coordinator_id, self->topic, sizeof self->topic);
    self->capacity = capacity;
    self->epoch = mdf_wall_ns () / 1000000;
    self->stats = stats;
    self->pacing.service_rate = -1;
    return self;
}

void
publisher_destroy (publisher_t **self_p)
{
    publisher_t *self = *self_p;
    if (!self)
        return;
    store_auth_release (self->xpub); /* before the auth actor goes (auth.h) */
    zsock_destroy (&self->xpub);
    free (self);
    *self_p = NULL;
}

int
publisher_publish (publisher_t *self, mdf_level_t level, int64_t queue_size, const char *reason)
{
    mdf_feedback_t ev = { 0 };
    ev.v = MDF_PROTO_VERSION;
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "%s", self->id);
    ev.epoch = self->epoch;
    ev.seq = self->seq + 1;
    ev.level = level;
    ev.queue_size = queue_size;
    ev.capacity = self->capacity;
    snprintf (ev.reason, sizeof ev.reason, "%s", reason ? reason : "");
    snprintf (ev.source, sizeof ev.source, "store");
    ev.ts = mdf_wall_s ();
    ev.has_pacing = true;
    ev.drain_rate = self->pacing.drain_rate;
    ev.service_rate = self->pacing.service_rate;
    ev.has_service_rate = self->pacing.service_rate >= 0;
    ev.producers = self->pacing.producers;
    ev.credit = self->pacing.credit;
    mdf_buf_t body = { 0 };
    if (mdf_feedback_encode (&ev, &body) != 0)
        return -1;
    void *sock = zsock_resolve (self->xpub);
    int rc = zmq_send (sock, self->topic, strlen (self->topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0)
        rc = zmq_send (sock, body.data, body.size, ZMQ_DONTWAIT);
    mdf_buf_free (&body);
    if (rc < 0)
        return -1;
    self->seq++;
    mdf_counter_inc (self->stats->events[level]);
    return 0;
}

void
publisher_set_producers (publisher_t *self, producers_t *producers)
{
    self->producers = producers;
}

int64_t
publisher_producers (const publisher_t *self)
{
    return self->producer_subs;
}

void
publisher_set_pacing (publisher_t *self, const publisher_pacing_t *pacing)
{
    self->pacing = *pacing;
}

int
publisher_recv (publisher_t *self)
{
    zframe_t *frame = zframe_recv (self->xpub);
    if (!frame)
        return 0;
    int fresh = 0;
    size_t n = zframe_size (frame);
    const byte *d = zframe_data (frame);
    size_t plen = strlen (MDF_PRODUCER_TOPIC);
    if (n == 1 + plen && memcmp (d + 1, MDF_PRODUCER_TOPIC, plen) == 0) {
        /* a producer announcing itself: counted, not a subscriber of events */
        if (d[0] == 1)
            self->producer_subs++;
        else if (d[0] == 0 && self->producer_subs > 0)
            self->producer_subs--;
    } else if (n > 1 + plen && n <= 1 + plen + MDF_ID_MAX && d[0] <= 1
               && memcmp (d + 1, MDF_PRODUCER_TOPIC, plen) == 0) {
        /* "producer.<id>": this producer is here, or its goodbye */
        char id[MDF_ID_MAX + 1];
        memcpy (id, d + 1 + plen, n - 1 - plen);
        id[n - 1 - plen] = '\0';
        if (self->producers && strlen (id) == n - 1 - plen)
            producers_subscribed (self->producers, id, d[0] == 1);
    } else if (n >= 1) {
        byte kind = d[0];
        if (kind == 1) {
            atomic_fetch_add (&self->subscribers, 1);
            fresh = 1;
        } else if (kind == 0 && atomic_load (&self->subscribers) > 0)
            atomic_fetch_sub (&self->subscribers, 1);
        mdf_gauge_set (self->stats->subscribers, (double)atomic_load (&self->subscribers));
    }
    zframe_destroy (&frame);
    return fresh;
}

void *
publisher_socket (publisher_t *self)
{
    return self->xpub;
}

int64_t
publisher_epoch (const publisher_t *self)
{
    return self->epoch;
}

uint64_t
publisher_seq (const publisher_t *self)
{
    return self->seq;
}

int64_t
publisher_subscribers (const publisher_t *self)
{
    return (int64_t)atomic_load (&self->subscribers);
}
