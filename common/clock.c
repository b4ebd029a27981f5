/*
 * clock: monotonic and wall time, and the fake clock tests use.  See clock.h.
 */
#include "common/clock.h"

#include <time.h>

static int64_t
s_ts_ns (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t
mdf_mono_ns (void)
{
    return s_ts_ns (CLOCK_MONOTONIC);
}

int64_t
mdf_mono_ms (void)
{
    return s_ts_ns (CLOCK_MONOTONIC) / 1000000LL;
}

int64_t
mdf_wall_ns (void)
{
    return s_ts_ns (CLOCK_REALTIME);
}

double
mdf_wall_s (void)
{
    return (double)s_ts_ns (CLOCK_REALTIME) / 1e9;
}

static int64_t
s_system_now (void *arg)
{
    (void)arg;
    return mdf_mono_ns ();
}

mdf_clock_t
mdf_clock_system (void)
{
    return (mdf_clock_t){ s_system_now, NULL };
}

static int64_t
s_fake_now (void *arg)
{
    return ((mdf_fake_clock_t *)arg)->now_ns;
}

mdf_clock_t
mdf_clock_fake (mdf_fake_clock_t *fake)
{
    return (mdf_clock_t){ s_fake_now, fake };
}
