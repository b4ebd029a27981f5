/*
 * breaker: the circuit breaker the store's sink workers share.
 *
 * Closed, every writer writes.  After `failures` consecutive failed writes it
 * opens: nobody writes for `cooldown_ms`.  Then it is half-open: the first
 * writer to ask is let through as the one probe and every other keeps
 * waiting; a probe that commits closes the breaker, a probe that fails opens
 * it again for another cooldown.  A success from any writer closes it and
 * forgets the failures (a write that was already under way when it opened
 * proves the sink as well as a probe does); a failure while not closed only
 * counts.
 *
 * Time comes from an mdf_clock_t (monotonic, nanoseconds), so unit tests
 * drive the breaker with a fake clock; breaker_acquire never sleeps, it says
 * how long to wait before asking again.
 *
 * Not thread-safe: workers.c serialises access with its mutex (the way the
 * pipeline's coordinator guards its buckets).
 */
#ifndef STORE_BREAKER_H
#define STORE_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"

typedef enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 } breaker_state_t;

/* How often a writer asks again while another one probes. */
#define BREAKER_PROBE_POLL_NS 20000000LL

typedef struct _breaker_t breaker_t;

/* Closed, no failure counted.  failures >= 1 (smaller counts as 1), cooldown_ms
 * >= 0.  `clock` is copied (its arg borrowed); NULL for the system clock.  NULL
 * when out of memory. */
breaker_t *breaker_new (int64_t failures, int64_t cooldown_ms, const mdf_clock_t *clock);
void breaker_destroy (breaker_t **self_p);

/* May a writer write now?  0: yes, and *probe says whether it is the
 * half-open probe (it must report its result).  Otherwise the nanoseconds to
 * wait before asking again (> 0): until the cooldown ends while open, or
 * BREAKER_PROBE_POLL_NS while another writer probes. */
int64_t breaker_acquire (breaker_t *self, bool *probe);

/* What a result changed (for the log). */
typedef enum {
    BREAKER_UNCHANGED = 0,
    BREAKER_OPENED,       /* was closed, opens now */
    BREAKER_REOPENED,     /* a probe failed: open for another cooldown */
    BREAKER_CLOSED_AGAIN, /* was open or half-open, a write committed */
} breaker_change_t;

/* The result of a write let through by breaker_acquire (`probe` as it said). */
breaker_change_t breaker_result (breaker_t *self, bool ok, bool probe);

breaker_state_t breaker_state (const breaker_t *self);

/* Consecutive failures counted (0 after a success). */
int64_t breaker_failures (const breaker_t *self);

/* "closed", "open", "half_open". */
const char *breaker_state_name (breaker_state_t state);

#endif
