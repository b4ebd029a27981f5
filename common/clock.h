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

#include <stdatomic.h>
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

/* A loop's heartbeat, for liveness probes: the loop's thread calls
 * mdf_beat at every turn with the monotonic time it read anyway (no clock
 * read of its own on the loop's path), any thread reads how long ago that
 * was.  A loop that sleeps at most T between turns is wedged once the age is
 * well above T. */
typedef struct {
    atomic_llong ns; /* monotonic, the last turn */
} mdf_beat_t;

static inline void
mdf_beat (mdf_beat_t *b, int64_t now_ns)
{
    atomic_store_explicit (&b->ns, (long long)now_ns, memory_order_relaxed);
}

/* Milliseconds since the last mdf_beat. */
static inline int64_t
mdf_beat_age_ms (mdf_beat_t *b)
{
    return (mdf_mono_ns () - (int64_t)atomic_load_explicit (&b->ns, memory_order_relaxed))
           / 1000000;
}

/* A fake clock for tests: time moves only when the test advances it. */
typedef struct {
    int64_t now_ns;
} mdf_fake_clock_t;

/* An mdf_clock_t reading `fake`; the caller keeps `fake` alive. */
mdf_clock_t mdf_clock_fake (mdf_fake_clock_t *fake);

#endif
