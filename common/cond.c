/*
 * cond: monotonic condition variables (see cond.h).  The deadline is computed
 * as an absolute CLOCK_MONOTONIC time, saturated so a very long wait cannot
 * overflow it.
 */
#include "common/cond.h"

#include <time.h>

int
mdf_cond_init_monotonic (pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init (cond, &attr);
    pthread_condattr_destroy (&attr);
    return rc;
}

int
mdf_cond_wait_ns (pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ns)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    int64_t abs_ns = ns > INT64_MAX - now ? INT64_MAX : now + (ns > 0 ? ns : 0);
    ts.tv_sec = abs_ns / 1000000000LL;
    ts.tv_nsec = abs_ns % 1000000000LL;
    return pthread_cond_timedwait (cond, lock, &ts);
}
