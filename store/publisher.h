/*
 * publisher: the store's XPUB publisher of backpressure events (proto/README.md).
 *
 * Owned and used by the ingest thread only.  Each event is two frames, topic
 * "feedback.<coordinator_id>" then the msgpack body (proto/feedback.h).
 * `epoch` is the wall-clock start time in ms (new per incarnation); `seq` is
 * 1, 2, 3 ... over every event this publisher sends.
 *
 * The socket is XPUB with XPUB_VERBOSER, so every subscribe message (also a
 * re-subscription to a topic already known) and every unsubscribe reaches
 * publisher_recv: the caller answers a new subscription with an event
 * (reason "subscribe") so a late joiner learns the level at once.  The
 * subscriber gauge is subscriptions minus unsubscriptions (a SUB socket that
 * subscribes to two prefixes counts twice).  Subscriptions to "producer."
 * are counted apart (publisher_producers), and those to "producer.<id>" go
 * to the producers table (publisher_set_producers): the end of a
 * producer's last one is its goodbye.  ZMTP heartbeats (every
 * PUBLISHER_HEARTBEAT_MS, a peer silent for PUBLISHER_HEARTBEAT_TIMEOUT_MS
 * is dropped, its subscriptions ended) make a producer that died without a
 * word stop counting within about a second.  A slow subscriber loses events
 * past its send high-water mark (sndhwm); ZeroMQ does not report those drops,
 * so they are not counted.
 */
#ifndef STORE_PUBLISHER_H
#define STORE_PUBLISHER_H

#include <stdint.h>

#include "proto/proto.h"
#include "store/auth.h"
#include "store/producers.h"
#include "store/stats.h"

#define PUBLISHER_HEARTBEAT_MS 250
#define PUBLISHER_HEARTBEAT_TIMEOUT_MS 1000

typedef struct _publisher_t publisher_t;

/* Bind XPUB on `endpoint`, a CURVE server if `auth` is not NULL.  `stats`
 * and `auth` borrowed.  NULL with err ("tcp://...:
 * Address already in use"). */
publisher_t *publisher_new (const char *endpoint, const char *coordinator_id, int64_t capacity,
                            int sndhwm, stats_t *stats, store_auth_t *auth, char *err,
                            size_t errlen);

void publisher_destroy (publisher_t **self_p);

/* Where subscriptions to "producer.<id>" go (borrowed; NULL: nowhere). */
void publisher_set_producers (publisher_t *self, producers_t *producers);

/* What producers need to pace themselves (proto/README.md, "Feedback
 * event"): published in every event from the next one on. */
typedef struct {
    double drain_rate;   /* rows/s committed over the last second */
    double service_rate; /* rows/s while busy; < 0 unknown (the key is left out) */
    int64_t producers;   /* producers sending lately, or announced (subscribed) if more */
    int64_t credit;      /* bars each producer may have unacked here */
} publisher_pacing_t;

void publisher_set_pacing (publisher_t *self, const publisher_pacing_t *pacing);

/* Publish one event.  0, or -1 if it could not be encoded or sent. */
int publisher_publish (publisher_t *self, mdf_level_t level, int64_t queue_size,
                       const char *reason);

/* Read one (un)subscription message from the socket (call when it is
 * readable).  Returns 1 for a new subscription, 0 otherwise. */
int publisher_recv (publisher_t *self);

/* The underlying zsock_t, for polling. */
void *publisher_socket (publisher_t *self);

int64_t publisher_epoch (const publisher_t *self);
uint64_t publisher_seq (const publisher_t *self); /* seq of the last event sent */
int64_t publisher_subscribers (const publisher_t *self);
/* Producers subscribed to MDF_PRODUCER_TOPIC now (ingest thread only). */
int64_t publisher_producers (const publisher_t *self);

#endif
