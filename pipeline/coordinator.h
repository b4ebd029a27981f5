/*
 * coordinator: the RateCoordinator, one token bucket per provider.
 *
 * Provider threads call coordinator_acquire (c, idx, n), which blocks until
 * the provider may emit n bars: its bucket holds n tokens, the pipeline is not
 * paused, and the provider is neither cooling down nor behind an open circuit
 * breaker.  Waiting is a timed wait on a condition variable (CLOCK_MONOTONIC)
 * sized to when the tokens will be there; scale changes, resume, reload and
 * shutdown broadcast it, so nothing busy-waits and nothing oversleeps a change.
 *
 * Feedback drives set_budget_scale (clamped to [0, 1]; the base rate is kept)
 * and set_global_pressure (the level, for metrics and health).  Failures a
 * provider reports put it in cooldown (cooldown_ms); `breaker_threshold`
 * consecutive failures open its breaker for breaker_timeout_ms, after which one
 * attempt is let through (half-open): success closes it, failure reopens it.
 *
 * Thread-safe: one mutex guards all buckets and states.  Bucket arithmetic
 * uses the clock given at creation; timed waits use the real monotonic clock.
 */
#ifndef PIPELINE_COORDINATOR_H
#define PIPELINE_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

typedef struct _coordinator_t coordinator_t;

/* Providers a pipeline can have (coordinator_add refuses more; the settings
 * check says so first). */
#define COORDINATOR_MAX_PROVIDERS 64

/* A provider's burst, and so its largest acquire, is this much of its
 * current rate (at least 1 token, at most its capacity): its reaction to a
 * new scale does not depend on how slow it is (bucket.h).  One feedback
 * report (100 ms): shorter bursts made smaller batches and cost 2-4 x the
 * CPU for no better pacing (pipeline/README.md, "Token buckets"). */
#define COORDINATOR_BURST_S 0.100

typedef struct {
    const char *name;           /* copied */
    double capacity;            /* burst, >= 1 */
    double refill_rate;         /* tokens/s at scale 1.0 */
    int64_t cooldown_ms;        /* pause after a failure */
    int64_t breaker_threshold;  /* consecutive failures that open the breaker */
    int64_t breaker_timeout_ms; /* how long it stays open */
} coordinator_provider_t;

typedef enum {
    COORD_RUNNING = 0,
    COORD_COOLDOWN = 1,
    COORD_BREAKER_OPEN = 2,
} coordinator_state_t;

/* `clock` copied (arg borrowed), NULL for the system clock. */
coordinator_t *coordinator_new (const mdf_clock_t *clock);
void coordinator_destroy (coordinator_t **self_p);

/* Add a provider before any acquire; returns its index or -1. */
int coordinator_add (coordinator_t *self, const coordinator_provider_t *p);

/* Block until `n` tokens are taken for provider idx, n clamped to the
 * bucket's burst (COORDINATOR_BURST_S of its current rate, at least 1, at
 * most its capacity) when they are taken.  Returns the number taken (> 0,
 * whole tokens), or -1 once coordinator_shutdown was called.
 * A successful acquire marks the provider busy until coordinator_done: the
 * bars it pays for are being made and handed on. */
int64_t coordinator_acquire (coordinator_t *self, size_t idx, double n);

/* The bars of the last acquire have been handed on (or dropped). */
void coordinator_done (coordinator_t *self, size_t idx);

/* Empty provider idx's bucket: it earns its first tokens at the rate the
 * scale gives (a pipeline driven by feedback starts so, and does not burst a
 * bucket's worth into stores it has not heard yet). */
void coordinator_empty (coordinator_t *self, size_t idx);

/* Scale in [0, 1] (clamped); returns the applied value. */
double coordinator_set_budget_scale (coordinator_t *self, size_t idx, double scale);
double coordinator_scale (coordinator_t *self, size_t idx);

/* Record the backpressure level driving the provider (0 ok, 1 soft, 2 hard). */
void coordinator_set_global_pressure (coordinator_t *self, size_t idx, int level);
int coordinator_pressure (coordinator_t *self, size_t idx);

void coordinator_set_refill_rate (coordinator_t *self, size_t idx, double rate);
double coordinator_refill_rate (coordinator_t *self, size_t idx);

/* Pause / resume every provider (POST /control/pause, /control/resume).
 * Pausing then waits (up to wait_ms) until no provider is busy, so once it
 * returns 0 no bar is taken in until resume.  -1 if providers were still
 * busy at the deadline (e.g. blocked on a full send window). */
int coordinator_pause (coordinator_t *self, bool paused, int64_t wait_ms);
bool coordinator_paused (coordinator_t *self);

/* A provider's own failure / success (cooldown and breaker). */
void coordinator_report_failure (coordinator_t *self, size_t idx);
void coordinator_report_success (coordinator_t *self, size_t idx);
coordinator_state_t coordinator_state (coordinator_t *self, size_t idx);
/* Times the breaker opened. */
uint64_t coordinator_breaker_opens (coordinator_t *self, size_t idx);

/* Wake every waiter; acquire returns -1 from now on. */
void coordinator_shutdown (coordinator_t *self);

#endif
