/*
 * producers: which producers sent this store a batch lately.
 *
 * The ingest thread notes every batch's producer_id; producers_active counts
 * the ids seen within PRODUCERS_ACTIVE_MS, the `producers` key of the
 * feedback events (proto/README.md), from which each producer takes its
 * share of the drain and its credit.  At most PRODUCERS_MAX ids are kept;
 * beyond that the one seen longest ago is replaced (the count is then a
 * lower bound; the credit still bounds each window).
 *
 * Not thread-safe (the ingest thread owns it).  Time from an mdf_clock_t.
 */
#ifndef STORE_PRODUCERS_H
#define STORE_PRODUCERS_H

#include <stddef.h>

#include "common/clock.h"

#define PRODUCERS_MAX 1024
#define PRODUCERS_ACTIVE_MS 10000

typedef struct _producers_t producers_t;

producers_t *producers_new (const mdf_clock_t *clock);
void producers_destroy (producers_t **self_p);

/* A batch from `id` arrived now. */
void producers_seen (producers_t *self, const char *id);

/* Ids seen within PRODUCERS_ACTIVE_MS. */
size_t producers_active (producers_t *self);

/* Ids seen within the last `ms`. */
size_t producers_active_within (producers_t *self, int64_t ms);

/* The credit each of `producers` (at least 1 counted) gets: the bars it may
 * have sent and not had answered.  All windows together stay below
 * high_watermark, so producers filling their credit never make the store
 * HARD (HARD is size >= high_watermark): (high_watermark - 1) / producers,
 * at least 1. */
int64_t producers_credit (int64_t high_watermark, int64_t producers);

#endif
