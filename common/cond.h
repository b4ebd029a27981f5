/*
 * cond: condition variables timed on the monotonic clock.
 *
 * pthread_cond_timedwait measures its deadline on CLOCK_REALTIME unless the
 * condvar was made otherwise, so a wall-clock step (NTP) would stretch or cut
 * a wait.  Every timed wait in mdflow goes through these two helpers instead
 * (see clock.h: timeouts are monotonic, never wall time).
 */
#ifndef MDF_COND_H
#define MDF_COND_H

#include <pthread.h>
#include <stdint.h>

/* pthread_cond_init with CLOCK_MONOTONIC; returns its result (0 on success). */
int mdf_cond_init_monotonic (pthread_cond_t *cond);

/* Wait on `cond` (made by mdf_cond_init_monotonic; `lock` held) until it is
 * signalled or `ns` nanoseconds have passed on the monotonic clock.  Returns
 * pthread_cond_timedwait's result (ETIMEDOUT after the full wait).  Callers
 * re-check their condition either way: wake-ups may be spurious. */
int mdf_cond_wait_ns (pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ns);

#endif
