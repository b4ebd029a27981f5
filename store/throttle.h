/*
 * throttle: the one schedule that holds every sink worker of a store to
 * sink.max_rows_per_sec together.
 *
 * A write of n rows reserves n / rate seconds of the schedule: it may start
 * at the end of the last reservation, or now if that is past, and moves the
 * end on by its own length.  So k workers asking at once get k consecutive
 * slots, and the rows committed per second stay at the rate however many
 * workers there are.  The rate changes live (SIGHUP); reservations already
 * made keep their slots, the next ones are sized at the new rate.  Rate 0
 * means unthrottled: every write may start at once.
 *
 * A throttled worker also takes at most a tenth of a second's worth of rows
 * per transaction (throttle_take_max), so a slow rate is spread over small
 * commits instead of one long wait and one big transaction.
 *
 * Time comes from an mdf_clock_t (monotonic, nanoseconds), so unit tests
 * drive it with a fake clock; the throttle never sleeps, it says when a
 * write may start.  Thread-safe: the workers share one.
 */
#ifndef STORE_THROTTLE_H
#define STORE_THROTTLE_H

#include <stdint.h>

#include "common/clock.h"

typedef struct _throttle_t throttle_t;

/* `max_rows_per_sec` 0 (or negative): unthrottled.  `clock` is copied (its arg
 * borrowed); NULL for the system clock.  NULL when out of memory. */
throttle_t *throttle_new (int64_t max_rows_per_sec, const mdf_clock_t *clock);
void throttle_destroy (throttle_t **self_p);

/* Change the rate (any thread). */
void throttle_set_rate (throttle_t *self, int64_t max_rows_per_sec);
int64_t throttle_rate (throttle_t *self);

/* Reserve `rows` and return the clock time at which their write may start
 * (not after now when unthrottled or the schedule is idle). */
int64_t throttle_reserve (throttle_t *self, int64_t rows);

/* Rows one transaction may take: batch_max, or when throttled a tenth of the
 * rate if that is smaller (at least 1). */
int64_t throttle_take_max (throttle_t *self, int64_t batch_max);

/* Nanoseconds `rows` take at the current rate (0 when unthrottled). */
int64_t throttle_cost_ns (throttle_t *self, int64_t rows);

#endif
