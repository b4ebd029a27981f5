/*
 * feedback: the store's XPUB publisher of backpressure events (DESIGN.md).
 *
 * Owned and used by the ingest thread only.  Each event is two frames, topic
 * "feedback.<coordinator_id>" then the msgpack body (proto/feedback.h).
 * `epoch` is the wall-clock start time in ms (new per incarnation); `seq` is
 * 1, 2, 3 ... over every event this publisher sends.
 *
 * The socket is XPUB with XPUB_VERBOSER, so every subscribe message (also a
 * re-subscription to a topic already known) and every unsubscribe reaches
 * feedback_recv: the caller answers a new subscription with an event
 * (reason "subscribe") so a late joiner learns the level at once.  The
 * subscriber gauge is subscriptions minus unsubscriptions (a SUB socket that
 * subscribes to two prefixes counts twice).  A slow subscriber loses events
 * past its send high-water mark (sndhwm); ZeroMQ does not report those drops,
 * so they are not counted.
 */
#ifndef STORE_FEEDBACK_H
#define STORE_FEEDBACK_H

#include <stdint.h>

#include "proto/proto.h"
#include "store/auth.h"
#include "store/stats.h"

typedef struct _feedback_t feedback_t;

/* Bind XPUB on `endpoint`, a CURVE server if `auth` is not NULL.  `stats`
 * and `auth` borrowed.  NULL with err ("tcp://...:
 * Address already in use"). */
feedback_t *feedback_new (const char *endpoint, const char *coordinator_id, int64_t capacity,
                          int sndhwm, stats_t *stats, store_auth_t *auth, char *err, size_t errlen);

void feedback_destroy (feedback_t **self_p);

/* Publish one event.  0, or -1 if it could not be encoded or sent. */
int feedback_publish (feedback_t *self, mdf_level_t level, int64_t queue_size, const char *reason);

/* Read one (un)subscription message from the socket (call when it is
 * readable).  Returns 1 for a new subscription, 0 otherwise. */
int feedback_recv (feedback_t *self);

/* The underlying zsock_t, for polling. */
void *feedback_socket (feedback_t *self);

int64_t feedback_epoch (const feedback_t *self);
uint64_t feedback_seq (const feedback_t *self); /* seq of the last event sent */
int64_t feedback_subscribers (const feedback_t *self);

#endif
