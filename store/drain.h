/*
 * drain: how fast the store's sink takes bars, for the feedback events.
 *
 * Workers report each transaction: drain_begin when it starts (after the
 * take: throttle waits and retries are part of it, as they are part of what
 * the sink can do), drain_end when it commits (rows) or gives up (0 rows).
 * From that, over a sliding window of DRAIN_WINDOW_MS:
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
 *    A window whose writes took less than DRAIN_MIN_BUSY_MS in all (a null
 *    sink, a fast sink lightly used) gives a lower bound, rows / that
 *    minimum, which only ever raises the estimate.  Before the first write
 *    the rate is unknown (-1).
 *
 * Thread-safe (a mutex; two calls per transaction).  Time comes from the
 * mdf_clock_t, so unit tests drive it with a fake clock.
 */
#ifndef STORE_DRAIN_H
#define STORE_DRAIN_H

#include <stdint.h>

#include "common/clock.h"

#define DRAIN_WINDOW_MS 500
#define DRAIN_SLOT_MS 50
#define DRAIN_MIN_BUSY_MS 1 /* less busy time than this in the window: keep the last estimate */

typedef struct _drain_t drain_t;

/* `clock` copied (its arg borrowed), NULL for the system clock. */
drain_t *drain_new (const mdf_clock_t *clock);
void drain_destroy (drain_t **self_p);

/* A write starts; returns its start time, for drain_end. */
int64_t drain_begin (drain_t *self);
/* The write that drain_begin started at `started` committed `rows` (0: it
 * failed).  `min_busy_ns`: the sink time the write stands for at least (a
 * throttle of R rows/s makes n rows cost n / R seconds even when they are
 * written faster); the part not spent is counted as busy too. */
void drain_end (drain_t *self, int64_t started, int64_t rows, int64_t min_busy_ns);

/* Rows/s committed over the last second of wall time. */
double drain_rate (drain_t *self);

/* Rows/s while busy (see above); -1 while unknown. */
double drain_service_rate (drain_t *self);

#endif
