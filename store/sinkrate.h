/*
 * sinkrate: how fast the store's sink takes bars, for the feedback events.
 *
 * Workers report each transaction: sinkrate_begin when it starts (after the
 * take: throttle waits and retries are part of it, as they are part of what
 * the sink can do), sinkrate_end when it commits (rows) or gives up (0 rows).
 * From that, over a sliding window of SINKRATE_WINDOW_MS:
 *  - the drain rate: rows committed per second of wall time (what the sink
 *    did);
 *  - the service rate: rows committed per second during which at least one
 *    write was in progress (what the sink can do while it has work); a
 *    throttled sink (sink.max_rows_per_sec) counts each write as taking at
 *    least its share of the throttle, so its rate is the throttle's.  A
 *    write blocked on a lock or an unreachable database counts as busy time
 *    with no rows, so the service rate falls towards 0 during an outage, as
 *    it should: producers then stop adding to a queue that does not move.
 *    An idle sink (no write in the window) keeps the last estimate, so a
 *    producer coming back after a pause finds the sink's speed at once.
 *    A window whose writes took less than SINKRATE_MIN_BUSY_MS in all (a null
 *    sink, a fast sink lightly used) gives a lower bound, rows / that
 *    minimum, which only ever raises the estimate.  Before the first write
 *    the rate is unknown (-1).
 *
 * Thread-safe (a mutex; two calls per transaction).  Time comes from the
 * mdf_clock_t, so unit tests drive it with a fake clock.
 */
#ifndef STORE_SINKRATE_H
#define STORE_SINKRATE_H

#include <stdint.h>

#include "common/clock.h"

#define SINKRATE_WINDOW_MS 500
#define SINKRATE_SLOT_MS 50
/* less busy time than this in the window: keep the last estimate */
#define SINKRATE_MIN_BUSY_MS 1

typedef struct _sinkrate_t sinkrate_t;

/* `clock` copied (its arg borrowed), NULL for the system clock. */
sinkrate_t *sinkrate_new (const mdf_clock_t *clock);
void sinkrate_destroy (sinkrate_t **self_p);

/* A write starts; returns its start time, for sinkrate_end. */
int64_t sinkrate_begin (sinkrate_t *self);
/* The write that sinkrate_begin started at `started` committed `rows` (0: it
 * failed).  `min_busy_ns`: the sink time the write stands for at least (a
 * throttle of R rows/s makes n rows cost n / R seconds even when they are
 * written faster); the part not spent is counted as busy too. */
void sinkrate_end (sinkrate_t *self, int64_t started, int64_t rows, int64_t min_busy_ns);

/* Rows/s committed over the last second of wall time. */
double sinkrate_rate (sinkrate_t *self);

/* Rows/s while busy (see above); -1 while unknown. */
double sinkrate_service_rate (sinkrate_t *self);

#endif
