/*
 * bucket: a token bucket with a scalable refill rate.
 *
 * A bucket holds up to `capacity` tokens (the burst) and gains
 * `refill_rate * scale` tokens per second.  The base `refill_rate` is kept
 * apart from `scale`, so the effective rate is always recomputed from the base:
 * scale 0 pauses the bucket, and scale 1.0 afterwards restores the base rate
 * exactly (no drift from repeated multiplications).  Scale is clamped to [0, 1].
 *
 * Time comes from an mdf_clock_t (monotonic, nanoseconds), so unit tests drive
 * the bucket with a fake clock.  Before the rate or the scale changes, the
 * bucket first refills up to "now" at the old rate: a change mid-flight never
 * credits or debits the time that already passed.
 *
 * A burst window (bucket_set_burst_window) makes the burst follow the rate:
 * the bucket then holds at most max(1, rate * window) tokens (and never more
 * than `capacity`), so a slow bucket reacts to a new scale as fast as a fast
 * one instead of spending a burst of `capacity` tokens first (a provider at
 * 100 bars/s with capacity 1,000 took 64 at a time: 0.64 s behind a 100 ms
 * feedback loop, and 200 such pipelines swung in step).
 *
 * Not thread-safe: the coordinator serialises access with its mutex.
 */
#ifndef PIPELINE_BUCKET_H
#define PIPELINE_BUCKET_H

#include <stdint.h>

#include "common/clock.h"

typedef struct _bucket_t bucket_t;

/* New bucket, full, at scale 1.0.  `clock` is copied (its arg is borrowed and
 * must outlive the bucket).  capacity >= 1, refill_rate >= 0.  NULL on bad input. */
bucket_t *bucket_new (double capacity, double refill_rate, const mdf_clock_t *clock);

void bucket_destroy (bucket_t **self_p);

/* Take `n` tokens if they are there now: returns 0 when taken.  Otherwise
 * takes nothing and returns the nanoseconds until `n` tokens will be there at
 * the current rate (>= 1), or INT64_MAX when the rate is 0.  `n` larger than
 * the capacity can never be taken whole: callers ask for at most capacity. */
int64_t bucket_take (bucket_t *self, double n);

/* No token now: the bucket refills from empty, at its current rate. */
void bucket_empty (bucket_t *self);

/* Tokens available now (after refilling up to now). */
double bucket_tokens (bucket_t *self);

/* Set the scale, clamped to [0, 1] (NaN counts as 0).  Returns the applied scale. */
double bucket_set_scale (bucket_t *self, double scale);
double bucket_scale (const bucket_t *self);

/* Change the base rate (bars/s at scale 1.0), e.g. on reload.  Negative is 0. */
void bucket_set_refill_rate (bucket_t *self, double refill_rate);
double bucket_refill_rate (const bucket_t *self);

/* refill_rate * scale. */
double bucket_rate (const bucket_t *self);

double bucket_capacity (const bucket_t *self);

/* Burst window in seconds (0: off, the burst is `capacity`); tokens above
 * the new burst are dropped at once. */
void bucket_set_burst_window (bucket_t *self, double seconds);

/* The most tokens the bucket holds now, and so the most one take can get:
 * capacity, or with a burst window min(capacity, max(1, rate * window)). */
double bucket_burst (const bucket_t *self);

#endif
