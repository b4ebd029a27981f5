/*
 * producers: which producers sent this store a batch lately.
 *
 * The ingest thread notes every batch's producer_id, and the publisher every
 * producer's subscription to "producer.<id>" on the feedback socket
 * (MDF_PRODUCER_ID_TOPIC).  producers_count is the `producers` key of the
 * feedback events (proto/README.md), from which each producer takes its
 * share of the drain and its credit: the ids subscribed, plus the ids that
 * sent a batch within PRODUCERS_ACTIVE_MS (1 s) and did not say goodbye.
 * A producer says goodbye when its last subscription to its id ends (it
 * unsubscribed, or closed its socket: the XPUB is verbose, so libzmq tells,
 * and its heartbeats drop a peer that went silent), and stops counting at
 * once, even while its last batches still arrive (one whose batches still
 * come more than PRODUCERS_ACTIVE_MS after it counts again: a connection
 * dropped under load, not a goodbye); a producer that is not
 * subscribed stops counting 1 s after its last batch.  At most
 * PRODUCERS_MAX ids are kept; beyond that the one seen longest ago and not
 * subscribed is replaced (the count is then a lower bound; the credit still
 * bounds each window).
 *
 * Not thread-safe (the ingest thread owns it).  Time from an mdf_clock_t.
 */
#ifndef STORE_PRODUCERS_H
#define STORE_PRODUCERS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/clock.h"

#define PRODUCERS_MAX 1024
#define PRODUCERS_ACTIVE_MS 1000

typedef struct _producers_t producers_t;

producers_t *producers_new (const mdf_clock_t *clock);
void producers_destroy (producers_t **self_p);

/* A batch from `id` arrived now. */
void producers_seen (producers_t *self, const char *id);

/* The producer `id` subscribed to its topic (on) or ended a subscription
 * (off: the last one is its goodbye). */
void producers_subscribed (producers_t *self, const char *id, bool on);

/* Producers now: subscribed, or seen within PRODUCERS_ACTIVE_MS and not gone. */
size_t producers_count (producers_t *self);

/* Ids seen within PRODUCERS_ACTIVE_MS (batches only). */
size_t producers_active (producers_t *self);

/* Ids seen within the last `ms`. */
size_t producers_active_within (producers_t *self, int64_t ms);

/* A credit also holds all windows together within this much of the sink's
 * service rate. */
#define PRODUCERS_CREDIT_DELAY_MS 1000

/* The credit each of `producers` (at least 1 counted) gets: the bars it may
 * have sent and not had answered.  All windows together stay below
 * high_watermark, so producers filling their credit never make the store
 * HARD (HARD is size >= high_watermark): (high_watermark - 1) / producers;
 * and, with a known service_rate (>= 0; < 0 unknown), within
 * PRODUCERS_CREDIT_DELAY_MS of sink time: service_rate x 1 s / producers,
 * so a sink that falls 100 x does not leave tens of seconds of queue behind.
 * At least 1. */
int64_t producers_credit (int64_t high_watermark, int64_t producers, double service_rate);

#endif
