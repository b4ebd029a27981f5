/*
 * feed: feedback events from one or more stores, decoded.
 *
 * One SUB socket per endpoint (subscribed to "feedback."), all owned by the
 * calling thread, so a view can tell which endpoint an event came from and
 * which endpoints have never answered.  Bodies are decoded by proto/; a body
 * that does not decode is counted and reported, never fatal.
 *
 * Each SUB also has a socket monitor, read while waiting for events, so a
 * silent endpoint can be explained (feed_conn): nothing accepted the
 * connection, or it did and the handshake failed (a CurveZMQ store refusing a
 * client without keys or with a key it does not admit), or the connection
 * is up and simply carries no event.
 */
#ifndef MDCTL_FEED_H
#define MDCTL_FEED_H

#include "proto/feedback.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct _feed_t feed_t;

/* Connect a SUB to each of the n endpoints.  NULL with err on failure (bad
 * endpoint).  The endpoint strings are borrowed: they must outlive the feed. */
feed_t *feed_new (char *const *endpoints, size_t n, char *err, size_t errlen);

/* The same, the SUBs being CURVE clients when curve_secret / curve_server
 * (see mdctl_curve_apply) are not NULL. */
feed_t *feed_new_curve (char *const *endpoints, size_t n, const char *curve_secret,
                        const char *curve_server, char *err, size_t errlen);

/* Close the sockets and the context; nulls *self_p. */
void feed_destroy (feed_t **self_p);

/* Wait up to timeout_ms for one event.  1: *ev is filled and *source gets the
 * endpoint's index; 0: nothing arrived (timeout or a signal); -1: a message
 * arrived that is not a valid event (err says why; keep going). */
int feed_recv (feed_t *self, int timeout_ms, mdf_feedback_t *ev, size_t *source, char *err,
               size_t errlen);

/* Number of endpoints and the i-th one. */
size_t feed_size (const feed_t *self);
const char *feed_endpoint (const feed_t *self, size_t i);

/* What the connection to one endpoint has gone through so far. */
typedef struct {
    unsigned long events;   /* feedback events received (decoded) */
    bool connected;         /* a TCP connection was made at least once */
    bool retried;           /* a connection attempt failed (nothing listening?) */
    bool handshake_ok;      /* a ZMTP handshake (CURVE or plain) completed */
    int handshake_failed;   /* 0, or the ZMQ_EVENT_HANDSHAKE_FAILED_* of the last failure */
    int handshake_fail_val; /* its value: ZAP status code (auth) or ZMQ protocol error */
} feed_conn_t;

/* Connection state of endpoint i (NULL when i is out of range). */
const feed_conn_t *feed_conn (const feed_t *self, size_t i);

#endif
