/*
 * clock: the two clocks mdflow uses, and a replaceable monotonic source.
 *
 * Rates, timeouts and staleness are measured on the monotonic clock, never on
 * wall time, so a wall-clock step (NTP) cannot stall or burst a service.  Wall
 * time is used only for what leaves the process (event `ts`, log lines).
 *
 * Modules that do time arithmetic (token buckets, staleness, backoff) take an
 * mdf_clock_t so unit tests can drive them with a fake clock instead of sleeping.
 */
#ifndef MDF_CLOCK_H
#define MDF_CLOCK_H

#include <stdint.h>

/* A monotonic time source in nanoseconds; `arg` is the source's own state. */
typedef struct {
    int64_t (*now_ns) (void *arg);
    void *arg;
} mdf_clock_t;

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mdf_mono_ns (void);

/* Milliseconds on the monotonic clock. */
int64_t mdf_mono_ms (void);

/* Wall time (CLOCK_REALTIME) in seconds since the Unix epoch, with fraction. */
double mdf_wall_s (void);

/* Wall time in nanoseconds since the Unix epoch. */
int64_t mdf_wall_ns (void);

/* The real monotonic clock as an mdf_clock_t. */
mdf_clock_t mdf_clock_system (void);

/* Read a clock: c->now_ns (c->arg). */
static inline int64_t
mdf_clock_now (const mdf_clock_t *c)
{
    return c->now_ns (c->arg);
}

/* A fake clock for tests: time moves only when the test advances it. */
typedef struct {
    int64_t now_ns;
} mdf_fake_clock_t;

/* An mdf_clock_t reading `fake`; the caller keeps `fake` alive. */
mdf_clock_t mdf_clock_fake (mdf_fake_clock_t *fake);

#endif
