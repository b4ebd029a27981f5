/*
 * coordinator: buckets + pause + cooldown/breaker behind one mutex and one
 * condition variable.  See coordinator.h.
 *
 * Invariant: a waiter re-checks everything after every wake-up, so a broadcast
 * for any change (scale, pause, shutdown) is always safe.
 */
#include "pipeline/coordinator.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cond.h"
#include "pipeline/bucket.h"

typedef struct {
    char name[128];
    bucket_t *bucket;
    int pressure;
    int64_t cooldown_ns, breaker_timeout_ns, breaker_threshold;
    int64_t failures;      /* consecutive */
    int64_t blocked_until; /* clock ns; cooldown or open breaker */
    coordinator_state_t state;
    uint64_t breaker_opens;
} s_prov_t;

struct _coordinator_t {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mdf_clock_t clock;
    s_prov_t provs[COORDINATOR_MAX_PROVIDERS];
    size_t n;
    bool paused, shutdown;
    size_t busy; /* providers between a successful acquire and done */
};

coordinator_t *
coordinator_new (const mdf_clock_t *clock)
{
    coordinator_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clock = clock ? *clock : mdf_clock_system ();
    pthread_mutex_init (&self->lock, NULL);
    mdf_cond_init_monotonic (&self->cond);
    return self;
}

void
coordinator_destroy (coordinator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    coordinator_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        bucket_destroy (&self->provs[i].bucket);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
coordinator_add (coordinator_t *self, const coordinator_provider_t *p)
{
    pthread_mutex_lock (&self->lock);
    int idx = -1;
    if (self->n < COORDINATOR_MAX_PROVIDERS) {
        s_prov_t *pr = &self->provs[self->n];
        memset (pr, 0, sizeof *pr);
        pr->bucket = bucket_new (p->capacity, p->refill_rate, &self->clock);
        if (pr->bucket) {
            bucket_set_burst_window (pr->bucket, COORDINATOR_BURST_S);
            snprintf (pr->name, sizeof pr->name, "%s", p->name ? p->name : "");
            pr->cooldown_ns = p->cooldown_ms * 1000000;
            pr->breaker_timeout_ns = p->breaker_timeout_ms * 1000000;
            pr->breaker_threshold = p->breaker_threshold;
            idx = (int)self->n++;
        }
    }
    pthread_mutex_unlock (&self->lock);
    return idx;
}

/* Wait on the condvar for at most wait_ns (INT64_MAX: until signalled). */
static void
s_wait (coordinator_t *self, int64_t wait_ns)
{
    if (wait_ns == INT64_MAX) {
        pthread_cond_wait (&self->cond, &self->lock);
        return;
    }
    mdf_cond_wait_ns (&self->cond, &self->lock, wait_ns);
}

/* Nanoseconds the provider must still wait for cooldown/breaker, 0 if none.
 * Moves an expired open breaker to half-open (running, one attempt). */
static int64_t
s_blocked_ns (coordinator_t *self, s_prov_t *p)
{
    if (p->state == COORD_RUNNING)
        return 0;
    int64_t now = mdf_clock_now (&self->clock);
    if (now < p->blocked_until)
        return p->blocked_until - now;
    p->state = COORD_RUNNING;
    return 0;
}

int64_t
coordinator_acquire (coordinator_t *self, size_t idx, double n)
{
    if (idx >= self->n)
        return -1;
    s_prov_t *p = &self->provs[idx];
    if (!(n >= 1))
        n = 1;
    pthread_mutex_lock (&self->lock);
    int64_t got = -1;
    while (!self->shutdown) {
        if (self->paused) {
            s_wait (self, INT64_MAX);
            continue;
        }
        int64_t blocked = s_blocked_ns (self, p);
        if (blocked > 0) {
            s_wait (self, blocked);
            continue;
        }
        /* at most the burst now: it follows the rate, so a slow provider
         * takes few tokens at a time and sees a new scale at once */
        double take = floor (fmin (n, bucket_burst (p->bucket)));
        take = take < 1 ? 1 : take;
        int64_t wait = bucket_take (p->bucket, take);
        if (wait == 0) {
            got = (int64_t)take;
            self->busy++;
            break;
        }
        s_wait (self, wait);
    }
    pthread_mutex_unlock (&self->lock);
    return got;
}

void
coordinator_empty (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return;
    pthread_mutex_lock (&self->lock);
    bucket_empty (self->provs[idx].bucket);
    pthread_mutex_unlock (&self->lock);
}

double
coordinator_set_budget_scale (coordinator_t *self, size_t idx, double scale)
{
    if (idx >= self->n)
        return 0;
    pthread_mutex_lock (&self->lock);
    double before = bucket_scale (self->provs[idx].bucket);
    double applied = bucket_set_scale (self->provs[idx].bucket, scale);
    if (applied != before)
        pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    return applied;
}

double
coordinator_scale (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return 0;
    pthread_mutex_lock (&self->lock);
    double s = bucket_scale (self->provs[idx].bucket);
    pthread_mutex_unlock (&self->lock);
    return s;
}

void
coordinator_set_global_pressure (coordinator_t *self, size_t idx, int level)
{
    if (idx >= self->n)
        return;
    pthread_mutex_lock (&self->lock);
    self->provs[idx].pressure = level;
    pthread_mutex_unlock (&self->lock);
}

int
coordinator_pressure (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return 0;
    pthread_mutex_lock (&self->lock);
    int l = self->provs[idx].pressure;
    pthread_mutex_unlock (&self->lock);
    return l;
}

void
coordinator_set_refill_rate (coordinator_t *self, size_t idx, double rate)
{
    if (idx >= self->n)
        return;
    pthread_mutex_lock (&self->lock);
    bucket_set_refill_rate (self->provs[idx].bucket, rate);
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

double
coordinator_refill_rate (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return 0;
    pthread_mutex_lock (&self->lock);
    double r = bucket_refill_rate (self->provs[idx].bucket);
    pthread_mutex_unlock (&self->lock);
    return r;
}

int
coordinator_pause (coordinator_t *self, bool paused, int64_t wait_ms)
{
    pthread_mutex_lock (&self->lock);
    self->paused = paused;
    pthread_cond_broadcast (&self->cond);
    int64_t end = mdf_mono_ns () + wait_ms * 1000000;
    while (paused && self->busy > 0 && !self->shutdown) {
        int64_t left = end - mdf_mono_ns ();
        if (left <= 0)
            break;
        s_wait (self, left);
    }
    int rc = paused && self->busy > 0 ? -1 : 0;
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void
coordinator_done (coordinator_t *self, size_t idx)
{
    (void)idx;
    pthread_mutex_lock (&self->lock);
    if (self->busy > 0)
        self->busy--;
    if (self->busy == 0)
        pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

bool
coordinator_paused (coordinator_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool p = self->paused;
    pthread_mutex_unlock (&self->lock);
    return p;
}

void
coordinator_report_failure (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return;
    pthread_mutex_lock (&self->lock);
    s_prov_t *p = &self->provs[idx];
    int64_t now = mdf_clock_now (&self->clock);
    p->failures++;
    if (p->breaker_threshold > 0 && p->failures >= p->breaker_threshold) {
        p->state = COORD_BREAKER_OPEN;
        p->blocked_until = now + p->breaker_timeout_ns;
        p->breaker_opens++;
    } else {
        p->state = COORD_COOLDOWN;
        p->blocked_until = now + p->cooldown_ns;
    }
    pthread_mutex_unlock (&self->lock);
}

void
coordinator_report_success (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return;
    pthread_mutex_lock (&self->lock);
    s_prov_t *p = &self->provs[idx];
    p->failures = 0;
    p->state = COORD_RUNNING;
    pthread_mutex_unlock (&self->lock);
}

coordinator_state_t
coordinator_state (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return COORD_RUNNING;
    pthread_mutex_lock (&self->lock);
    s_blocked_ns (self, &self->provs[idx]);
    coordinator_state_t s = self->provs[idx].state;
    pthread_mutex_unlock (&self->lock);
    return s;
}

uint64_t
coordinator_breaker_opens (coordinator_t *self, size_t idx)
{
    if (idx >= self->n)
        return 0;
    pthread_mutex_lock (&self->lock);
    uint64_t n = self->provs[idx].breaker_opens;
    pthread_mutex_unlock (&self->lock);
    return n;
}

void
coordinator_shutdown (coordinator_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->shutdown = true;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}
