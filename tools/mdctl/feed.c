/*
 * feed: SUB sockets that yield decoded feedback events (see feed.h).
 *
 * Each event is two frames, topic then body (proto/README.md); a message with a
 * different shape is drained whole and reported, so one bad publisher cannot
 * desynchronise the frames of the next event.  Sockets are polled together;
 * the scan starts after the socket served last so a busy store cannot starve
 * a quiet one.
 */
#include "tools/mdctl/feed.h"
#include "tools/mdctl/mdctl.h"

#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct _feed_t {
    void *ctx;
    void **subs;
    void **mons;           /* PAIR sockets reading each SUB's monitor */
    zmq_pollitem_t *items; /* n SUBs, then n monitors */
    feed_conn_t *conns;
    char *const *endpoints;
    size_t n;
    size_t next; /* where the next scan starts */
    unsigned long bad;
};

/* Monitor SUB i through an inproc PAIR (before it connects, so no event is
 * missed).  0 or -1. */
static int
s_monitor (feed_t *self, size_t i)
{
    char addr[64];
    snprintf (addr, sizeof addr, "inproc://mdctl-feed-monitor-%zu", i);
    if (zmq_socket_monitor (
            self->subs[i], addr,
            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        != 0)
        return -1;
    self->mons[i] = zmq_socket (self->ctx, ZMQ_PAIR);
    if (!self->mons[i])
        return -1;
    int linger = 0;
    zmq_setsockopt (self->mons[i], ZMQ_LINGER, &linger, sizeof linger);
    return zmq_connect (self->mons[i], addr);
}

/* Read every pending monitor event of endpoint i into its feed_conn_t.  A
 * monitor message is two frames: 6 bytes (uint16 event, uint32 value), then
 * the endpoint. */
static void
s_drain_monitor (feed_t *self, size_t i)
{
    feed_conn_t *c = &self->conns[i];
    while (true) {
        zmq_msg_t head;
        zmq_msg_init (&head);
        if (zmq_msg_recv (&head, self->mons[i], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&head);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&head) >= 6) {
            const uint8_t *d = zmq_msg_data (&head);
            memcpy (&event, d, sizeof event);
            memcpy (&value, d + 2, sizeof value);
        }
        while (zmq_msg_more (&head)) { /* the endpoint frame */
            zmq_msg_close (&head);
            zmq_msg_init (&head);
            if (zmq_msg_recv (&head, self->mons[i], ZMQ_DONTWAIT) < 0)
                break;
        }
        zmq_msg_close (&head);
        switch (event) {
        case ZMQ_EVENT_CONNECTED:
            c->connected = true;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            c->retried = true;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            c->handshake_ok = true;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            c->handshake_failed = event;
            c->handshake_fail_val = (int)value;
            break;
        default:
            break;
        }
    }
}

feed_t *
feed_new (char *const *endpoints, size_t n, char *err, size_t errlen)
{
    return feed_new_curve (endpoints, n, NULL, NULL, err, errlen);
}

feed_t *
feed_new_curve (char *const *endpoints, size_t n, const char *curve_secret,
                const char *curve_server, char *err, size_t errlen)
{
    feed_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx_new ();
    self->subs = calloc (n ? n : 1, sizeof *self->subs);
    self->mons = calloc (n ? n : 1, sizeof *self->mons);
    self->items = calloc (n ? 2 * n : 1, sizeof *self->items);
    self->conns = calloc (n ? n : 1, sizeof *self->conns);
    self->endpoints = endpoints;
    if (!self->ctx || !self->subs || !self->mons || !self->items || !self->conns) {
        snprintf (err, errlen, "out of memory");
        feed_destroy (&self);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        void *sub = zmq_socket (self->ctx, ZMQ_SUB);
        int linger = 0;
        if (!sub) {
            snprintf (err, errlen, "zmq_socket: %s", zmq_strerror (zmq_errno ()));
            feed_destroy (&self);
            return NULL;
        }
        self->subs[i] = sub;
        self->n = i + 1;
        zmq_setsockopt (sub, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt (sub, ZMQ_SUBSCRIBE, MDF_FEEDBACK_TOPIC_PREFIX,
                        strlen (MDF_FEEDBACK_TOPIC_PREFIX));
        if (mdctl_curve_apply ("watch", sub, curve_secret, curve_server, false) != 0) {
            snprintf (err, errlen, "bad CURVE options");
            feed_destroy (&self);
            return NULL;
        }
        if (s_monitor (self, i) != 0) {
            snprintf (err, errlen, "cannot monitor the socket for '%s': %s", endpoints[i],
                      zmq_strerror (zmq_errno ()));
            feed_destroy (&self);
            return NULL;
        }
        if (zmq_connect (sub, endpoints[i]) != 0) {
            snprintf (err, errlen, "cannot connect to '%s': %s", endpoints[i],
                      zmq_strerror (zmq_errno ()));
            feed_destroy (&self);
            return NULL;
        }
        self->items[i].socket = sub;
        self->items[i].events = ZMQ_POLLIN;
    }
    for (size_t i = 0; i < n; i++) {
        self->items[n + i].socket = self->mons[i];
        self->items[n + i].events = ZMQ_POLLIN;
    }
    return self;
}

void
feed_destroy (feed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    feed_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        if (self->subs[i])
            zmq_socket_monitor (self->subs[i], NULL, 0);
        if (self->mons[i])
            zmq_close (self->mons[i]);
        if (self->subs[i])
            zmq_close (self->subs[i]);
    }
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    free (self->subs);
    free (self->mons);
    free (self->items);
    free (self->conns);
    free (self);
    *self_p = NULL;
}

/* Read one whole message from sock: the topic frame into topic, the body into
 * a malloc'd buffer.  Returns the number of frames (0 on error). */
static int
s_recv_message (void *sock, char *topic, size_t topic_size, zmq_msg_t *body)
{
    int frames = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            return frames;
        }
        frames++;
        more = zmq_msg_more (&part);
        if (frames == 1) {
            size_t len = zmq_msg_size (&part);
            if (len >= topic_size)
                len = topic_size - 1;
            memcpy (topic, zmq_msg_data (&part), len);
            topic[len] = '\0';
            zmq_msg_close (&part);
        } else if (frames == 2) {
            zmq_msg_move (body, &part);
            zmq_msg_close (&part);
        } else {
            zmq_msg_close (&part);
        }
    }
    return frames;
}

static int
s_read (feed_t *self, size_t i, mdf_feedback_t *ev, char *err, size_t errlen)
{
    char topic[MDF_ID_MAX + 32];
    zmq_msg_t body;
    zmq_msg_init (&body);
    int frames = s_recv_message (self->subs[i], topic, sizeof topic, &body);
    int rc = -1;
    if (frames == 0)
        rc = 0;
    else if (frames != 2)
        snprintf (err, errlen, "%s: message with %d frame(s), expected 2 (topic, body)",
                  self->endpoints[i], frames);
    else {
        char derr[256] = "";
        if (mdf_feedback_decode (zmq_msg_data (&body), zmq_msg_size (&body), ev, derr, sizeof derr)
            == 0)
            rc = 1;
        else
            snprintf (err, errlen, "%s: bad event on topic '%s': %s", self->endpoints[i], topic,
                      derr);
    }
    zmq_msg_close (&body);
    if (rc < 0)
        self->bad++;
    return rc;
}

int
feed_recv (feed_t *self, int timeout_ms, mdf_feedback_t *ev, size_t *source, char *err,
           size_t errlen)
{
    if (self->n == 0)
        return 0;
    int64_t deadline = mdf_mono_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    while (true) {
        for (size_t i = 0; i < 2 * self->n; i++)
            self->items[i].revents = 0;
        int64_t left = deadline - mdf_mono_ms ();
        int ready = zmq_poll (self->items, (int)(2 * self->n), left > 0 ? (long)left : 0);
        if (ready <= 0)
            return 0; /* timeout, or a signal (EINTR) */
        for (size_t i = 0; i < self->n; i++)
            if (self->items[self->n + i].revents & ZMQ_POLLIN)
                s_drain_monitor (self, i);
        for (size_t k = 0; k < self->n; k++) {
            size_t i = (self->next + k) % self->n;
            if (!(self->items[i].revents & ZMQ_POLLIN))
                continue;
            self->next = (i + 1) % self->n;
            *source = i;
            int rc = s_read (self, i, ev, err, errlen);
            if (rc == 1)
                self->conns[i].events++;
            return rc;
        }
        if (left <= 0)
            return 0; /* only monitor events, and no time left */
    }
}

size_t
feed_size (const feed_t *self)
{
    return self->n;
}

const char *
feed_endpoint (const feed_t *self, size_t i)
{
    return i < self->n ? self->endpoints[i] : "";
}

const feed_conn_t *
feed_conn (const feed_t *self, size_t i)
{
    return i < self->n ? &self->conns[i] : NULL;
}
