/*
 * sinkrate: see sinkrate.h.
 *
 * Time is cut into SINKRATE_SLOT_MS slots in a ring covering a little more than
 * a second; each slot holds the rows committed and the busy nanoseconds
 * (time with at least one write in progress) that fell in it.  `active` is
 * the number of writes in progress and `busy_since` when the current busy
 * stretch began (or the last time it was accounted up to).
 */
#include "store/sinkrate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOT_NS ((int64_t)SINKRATE_SLOT_MS * 1000000)
#define S_SLOTS (1000 / SINKRATE_SLOT_MS + 2)

typedef struct {
    int64_t index; /* slot number (time / S_SLOT_NS) this entry holds */
    int64_t rows, busy_ns;
} s_slot_t;

struct _sinkrate_t {
    pthread_mutex_t lock;
    mdf_clock_t clock;
    s_slot_t ring[S_SLOTS];
    int active;
    int64_t busy_since;
    double last_service; /* -1: unknown */
};

sinkrate_t *
sinkrate_new (const mdf_clock_t *clock)
{
    sinkrate_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clock = clock ? *clock : mdf_clock_system ();
    pthread_mutex_init (&self->lock, NULL);
    self->last_service = -1;
    for (int i = 0; i < S_SLOTS; i++)
        self->ring[i].index = -1;
    return self;
}

void
sinkrate_destroy (sinkrate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy (&(*self_p)->lock);
    free (*self_p);
    *self_p = NULL;
}

static s_slot_t *
s_slot (sinkrate_t *self, int64_t t)
{
    int64_t index = t / S_SLOT_NS;
    s_slot_t *s = &self->ring[index % S_SLOTS];
    if (s->index != index) {
        s->index = index;
        s->rows = 0;
        s->busy_ns = 0;
    }
    return s;
}

/* Account busy time from busy_since up to now, slot by slot. */
static void
s_account (sinkrate_t *self, int64_t now)
{
    if (self->active == 0) {
        self->busy_since = now;
        return;
    }
    int64_t t = self->busy_since;
    if (now - t > (int64_t)S_SLOTS * S_SLOT_NS) /* older than the ring: only the ring matters */
        t = now - (int64_t)S_SLOTS * S_SLOT_NS;
    while (t < now) {
        int64_t end = (t / S_SLOT_NS + 1) * S_SLOT_NS;
        if (end > now)
            end = now;
        s_slot (self, t)->busy_ns += end - t;
        t = end;
    }
    self->busy_since = now;
}

/* Rows and busy time in the slots covering the last `ms` (the current slot
 * in part). */
static void
s_sum (sinkrate_t *self, int64_t now, int64_t ms, int64_t *rows, int64_t *busy)
{
    *rows = *busy = 0;
    int64_t last = (now - 1) / S_SLOT_NS, first = last - ms / SINKRATE_SLOT_MS + 1;
    for (int64_t i = first; i <= last; i++) {
        const s_slot_t *s = &self->ring[i % S_SLOTS];
        if (s->index == i) {
            *rows += s->rows;
            *busy += s->busy_ns;
        }
    }
}

int64_t
sinkrate_begin (sinkrate_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_clock_now (&self->clock);
    s_account (self, now);
    self->active++;
    pthread_mutex_unlock (&self->lock);
    return now;
}

/* Spread `rows` over the slots of [start, now] in proportion to the time
 * in each, so a transaction that spans a slot boundary counts where it ran. */
static void
s_spread (sinkrate_t *self, int64_t start, int64_t now, int64_t rows)
{
    if (now <= start) {
        s_slot (self, now)->rows += rows;
        return;
    }
    int64_t oldest = now - (int64_t)(S_SLOTS - 1) * S_SLOT_NS;
    int64_t t = start > oldest ? start : oldest, left = rows;
    while (t < now && left > 0) {
        int64_t end = (t / S_SLOT_NS + 1) * S_SLOT_NS;
        if (end >= now) {
            s_slot (self, t)->rows += left;
            return;
        }
        int64_t part = (int64_t)((double)rows * (double)(end - t) / (double)(now - start) + 0.5);
        part = part < left ? part : left;
        s_slot (self, t)->rows += part;
        left -= part;
        t = end;
    }
    if (left > 0)
        s_slot (self, now - 1)->rows += left;
}

static void
s_update_service (sinkrate_t *self, int64_t now)
{
    int64_t rows, busy;
    s_sum (self, now, SINKRATE_WINDOW_MS, &rows, &busy);
    const int64_t min_busy = (int64_t)SINKRATE_MIN_BUSY_MS * 1000000;
    if (busy >= min_busy) {
        self->last_service = (double)rows / ((double)busy / 1e9);
    } else if (rows > 0) {
        /* rows written in less than the measurable busy time (a null sink, or
         * a fast one lightly used): the sink takes at least rows / min_busy;
         * without this floor its speed would stay unknown and a producer
         * pacing on it would never learn it may go faster */
        double floor = (double)rows / ((double)min_busy / 1e9);
        if (floor > self->last_service)
            self->last_service = floor;
    }
}

void
sinkrate_end (sinkrate_t *self, int64_t started, int64_t rows, int64_t min_busy_ns)
{
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_clock_now (&self->clock);
    s_account (self, now);
    if (min_busy_ns > now - started) /* time the write stands for, not spent */
        s_slot (self, now)->busy_ns += min_busy_ns - (now - started);
    if (self->active > 0)
        self->active--;
    s_spread (self, started, now, rows > 0 ? rows : 0);
    s_update_service (self, now);
    pthread_mutex_unlock (&self->lock);
}

double
sinkrate_rate (sinkrate_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_clock_now (&self->clock), rows, busy;
    s_account (self, now);
    s_sum (self, now, 1000, &rows, &busy);
    pthread_mutex_unlock (&self->lock);
    return (double)rows;
}

double
sinkrate_service_rate (sinkrate_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_clock_now (&self->clock);
    s_account (self, now);
    s_update_service (self, now);
    double r = self->last_service;
    pthread_mutex_unlock (&self->lock);
    return r;
}
