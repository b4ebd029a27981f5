/*
 * throttle: a shared reservation schedule (see throttle.h).
 *
 * The rate is an atomic (read by every take, written by a reload); `lock`
 * guards only the end of the schedule.
 */
#include "store/throttle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct _throttle_t {
    mdf_clock_t clock;
    atomic_llong rate; /* rows per second, <= 0 unthrottled */
    pthread_mutex_t lock;
    int64_t next_ns; /* end of the last reservation (clock time) */
};

throttle_t *
throttle_new (int64_t max_rows_per_sec, const mdf_clock_t *clock)
{
    throttle_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clock = clock ? *clock : mdf_clock_system ();
    atomic_init (&self->rate, (long long)max_rows_per_sec);
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
throttle_destroy (throttle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy (&(*self_p)->lock);
    free (*self_p);
    *self_p = NULL;
}

void
throttle_set_rate (throttle_t *self, int64_t max_rows_per_sec)
{
    atomic_store (&self->rate, (long long)max_rows_per_sec);
}

int64_t
throttle_rate (throttle_t *self)
{
    return atomic_load (&self->rate);
}

int64_t
throttle_reserve (throttle_t *self, int64_t rows)
{
    int64_t rate = throttle_rate (self);
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_clock_now (&self->clock);
    int64_t start = now;
    if (rate > 0) {
        start = self->next_ns > now ? self->next_ns : now;
        self->next_ns = start + rows * 1000000000LL / rate;
    }
    pthread_mutex_unlock (&self->lock);
    return start;
}

int64_t
throttle_take_max (throttle_t *self, int64_t batch_max)
{
    int64_t rate = throttle_rate (self);
    if (rate > 0 && rate / 10 < batch_max)
        return rate / 10 > 0 ? rate / 10 : 1;
    return batch_max;
}

int64_t
throttle_cost_ns (throttle_t *self, int64_t rows)
{
    int64_t rate = throttle_rate (self);
    return rate > 0 ? rows * 1000000000LL / rate : 0;
}
