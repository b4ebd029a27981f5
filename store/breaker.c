/*
 * breaker: the state machine of breaker.h under an mdf_clock_t.
 *
 * Invariant: opened_ns is the clock time the breaker last opened; it matters
 * only while the state is OPEN.
 */
#include "store/breaker.h"

#include <stdlib.h>

struct _breaker_t {
    mdf_clock_t clock;
    int64_t threshold;
    int64_t cooldown_ns;
    breaker_state_t state;
    int64_t failures; /* consecutive */
    int64_t opened_ns;
};

breaker_t *
breaker_new (int64_t failures, int64_t cooldown_ms, const mdf_clock_t *clock)
{
    breaker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clock = clock ? *clock : mdf_clock_system ();
    self->threshold = failures > 1 ? failures : 1;
    self->cooldown_ns = (cooldown_ms > 0 ? cooldown_ms : 0) * 1000000;
    return self;
}

void
breaker_destroy (breaker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

int64_t
breaker_acquire (breaker_t *self, bool *probe)
{
    *probe = false;
    if (self->state == BREAKER_CLOSED)
        return 0;
    if (self->state == BREAKER_HALF_OPEN)
        return BREAKER_PROBE_POLL_NS;
    int64_t left = self->opened_ns + self->cooldown_ns - mdf_clock_now (&self->clock);
    if (left > 0)
        return left;
    self->state = BREAKER_HALF_OPEN;
    *probe = true;
    return 0;
}

breaker_change_t
breaker_result (breaker_t *self, bool ok, bool probe)
{
    breaker_state_t was = self->state;
    if (ok) {
        self->failures = 0;
        self->state = BREAKER_CLOSED;
        return was == BREAKER_CLOSED ? BREAKER_UNCHANGED : BREAKER_CLOSED_AGAIN;
    }
    self->failures++;
    if (probe || (was == BREAKER_CLOSED && self->failures >= self->threshold)) {
        self->opened_ns = mdf_clock_now (&self->clock);
        self->state = BREAKER_OPEN;
        return was == BREAKER_CLOSED ? BREAKER_OPENED : BREAKER_REOPENED;
    }
    return BREAKER_UNCHANGED;
}

breaker_state_t
breaker_state (const breaker_t *self)
{
    return self->state;
}

int64_t
breaker_failures (const breaker_t *self)
{
    return self->failures;
}

const char *
breaker_state_name (breaker_state_t state)
{
    return state == BREAKER_CLOSED ? "closed" : state == BREAKER_OPEN ? "open" : "half_open";
}
