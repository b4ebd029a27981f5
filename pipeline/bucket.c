/*
 * bucket: token bucket with a base rate and a clamped scale.  See bucket.h.
 *
 * Invariants: 0 <= tokens <= capacity; rate == refill_rate * scale, computed
 * from the base each time either changes; `last_ns` is the clock time up to
 * which tokens have been credited.
 */
#include "pipeline/bucket.h"

#include <math.h>
#include <stdlib.h>

struct _bucket_t {
    double capacity;
    double refill_rate; /* base, tokens/s at scale 1.0 */
    double scale;       /* [0, 1] */
    double rate;        /* refill_rate * scale */
    double tokens;
    double window; /* burst window, s (0: off) */
    int64_t last_ns;
    mdf_clock_t clock;
};

bucket_t *
bucket_new (double capacity, double refill_rate, const mdf_clock_t *clock)
{
    if (!clock || !(capacity >= 1) || !(refill_rate >= 0) || isinf (capacity))
        return NULL;
    bucket_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->refill_rate = refill_rate;
    self->scale = 1.0;
    self->rate = refill_rate;
    self->tokens = capacity;
    self->clock = *clock;
    self->last_ns = mdf_clock_now (&self->clock);
    return self;
}

void
bucket_destroy (bucket_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
bucket_empty (bucket_t *self)
{
    self->tokens = 0;
    self->last_ns = mdf_clock_now (&self->clock);
}

double
bucket_burst (const bucket_t *self)
{
    if (!(self->window > 0))
        return self->capacity;
    return fmin (self->capacity, fmax (1, self->rate * self->window));
}

/* Credit the time since last_ns at the current rate. */
static void
s_refill (bucket_t *self)
{
    int64_t now = mdf_clock_now (&self->clock);
    if (now > self->last_ns) {
        double add = self->rate * (double)(now - self->last_ns) / 1e9;
        self->tokens += add;
    }
    self->tokens = fmin (bucket_burst (self), self->tokens);
    self->last_ns = now > self->last_ns ? now : self->last_ns;
}

void
bucket_set_burst_window (bucket_t *self, double seconds)
{
    s_refill (self);
    self->window = seconds > 0 && isfinite (seconds) ? seconds : 0;
    self->tokens = fmin (bucket_burst (self), self->tokens);
}

int64_t
bucket_take (bucket_t *self, double n)
{
    s_refill (self);
    if (self->tokens >= n) {
        self->tokens -= n;
        return 0;
    }
    if (self->rate <= 0 || n > bucket_burst (self))
        return INT64_MAX;
    double wait_ns = ceil ((n - self->tokens) / self->rate * 1e9);
    if (wait_ns < 1)
        wait_ns = 1;
    if (wait_ns > 9e18)
        return INT64_MAX;
    return (int64_t)wait_ns;
}

double
bucket_tokens (bucket_t *self)
{
    s_refill (self);
    return self->tokens;
}

double
bucket_set_scale (bucket_t *self, double scale)
{
    s_refill (self);
    if (!(scale > 0))
        scale = 0; /* also NaN */
    if (scale > 1)
        scale = 1;
    self->scale = scale;
    self->rate = self->refill_rate * scale;
    return scale;
}

double
bucket_scale (const bucket_t *self)
{
    return self->scale;
}

void
bucket_set_refill_rate (bucket_t *self, double refill_rate)
{
    s_refill (self);
    if (!(refill_rate > 0))
        refill_rate = 0;
    self->refill_rate = refill_rate;
    self->rate = refill_rate * self->scale;
}

double
bucket_refill_rate (const bucket_t *self)
{
    return self->refill_rate;
}

double
bucket_rate (const bucket_t *self)
{
    return self->rate;
}

double
bucket_capacity (const bucket_t *self)
{
    return self->capacity;
}
