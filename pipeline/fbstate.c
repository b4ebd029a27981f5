/*
 * fbstate: per-coordinator level, epoch, seq and liveness.  See fbstate.h.
 *
 * A small fixed array of coordinators (a deployment has a handful of stores);
 * lookups are linear.  Invariant: for each coordinator, (epoch, seq) only moves
 * forward, and `last_seen_ns` is the monotonic time of the last applied event.
 */
#include "pipeline/fbstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_COORD 64

typedef struct {
    char id[MDF_ID_MAX + 1];
    int64_t epoch;
    uint64_t seq;
    mdf_level_t level;
    int64_t queue_size, capacity;
    int64_t last_seen_ns;
} s_coord_t;

struct _fbstate_t {
    size_t expected;
    int64_t stale_after_ns;
    mdf_level_t failsafe;
    mdf_clock_t clock;
    s_coord_t coords[S_MAX_COORD];
    size_t ncoords;
};

fbstate_t *
fbstate_new (size_t expected, int64_t stale_after_ns, mdf_level_t failsafe,
             const mdf_clock_t *clock)
{
    if (!clock || stale_after_ns <= 0)
        return NULL;
    fbstate_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->expected = expected ? expected : 1;
    self->stale_after_ns = stale_after_ns;
    self->failsafe = failsafe;
    self->clock = *clock;
    return self;
}

void
fbstate_destroy (fbstate_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

static s_coord_t *
s_find (fbstate_t *self, const char *id)
{
    for (size_t i = 0; i < self->ncoords; i++)
        if (strcmp (self->coords[i].id, id) == 0)
            return &self->coords[i];
    return NULL;
}

static void
s_apply (s_coord_t *c, const mdf_feedback_t *ev, int64_t now)
{
    c->epoch = ev->epoch;
    c->seq = ev->seq;
    c->level = ev->level;
    c->queue_size = ev->queue_size;
    c->capacity = ev->capacity;
    c->last_seen_ns = now;
}

int
fbstate_observe (fbstate_t *self, const mdf_feedback_t *ev, fbstate_result_t *out)
{
    memset (out, 0, sizeof *out);
    int64_t now = mdf_clock_now (&self->clock);
    s_coord_t *c = s_find (self, ev->coordinator_id);
    if (!c) {
        if (self->ncoords >= S_MAX_COORD) {
            out->verdict = FBSTATE_IGNORED;
            return -1;
        }
        c = &self->coords[self->ncoords++];
        memset (c, 0, sizeof *c);
        snprintf (c->id, sizeof c->id, "%s", ev->coordinator_id);
        out->first = true;
        s_apply (c, ev, now);
        return 0;
    }
    if (ev->epoch > c->epoch) {
        out->restart = true;
    } else if (ev->epoch < c->epoch || ev->seq <= c->seq) {
        out->verdict = FBSTATE_IGNORED;
        return 0;
    } else if (ev->seq > c->seq + 1) {
        out->gap = ev->seq - c->seq - 1;
    }
    s_apply (c, ev, now);
    return 0;
}

static mdf_level_t
s_worse (mdf_level_t a, mdf_level_t b)
{
    return a > b ? a : b;
}

void
fbstate_view (fbstate_t *self, fbstate_view_t *out)
{
    memset (out, 0, sizeof *out);
    int64_t now = mdf_clock_now (&self->clock);
    mdf_level_t worst = MDF_LEVEL_OK;
    for (size_t i = 0; i < self->ncoords; i++) {
        const s_coord_t *c = &self->coords[i];
        if (now - c->last_seen_ns >= self->stale_after_ns) {
            out->stale++;
            out->failsafe = true;
            worst = s_worse (worst, self->failsafe);
            continue;
        }
        worst = s_worse (worst, c->level);
        if (c->capacity > 0) {
            double fill = (double)c->queue_size / (double)c->capacity;
            fill = fill < 0 ? 0 : fill > 1 ? 1 : fill;
            if (fill > out->fill)
                out->fill = fill;
        }
    }
    if (self->ncoords < self->expected) {
        out->unheard = self->expected - self->ncoords;
        out->failsafe = true;
        worst = s_worse (worst, self->failsafe);
    }
    out->level = worst;
}

void
fbstate_set_failsafe (fbstate_t *self, mdf_level_t failsafe, int64_t stale_after_ns)
{
    self->failsafe = failsafe;
    if (stale_after_ns > 0)
        self->stale_after_ns = stale_after_ns;
}

size_t
fbstate_count (const fbstate_t *self)
{
    return self->ncoords;
}

const char *
fbstate_id (const fbstate_t *self, size_t i)
{
    return i < self->ncoords ? self->coords[i].id : NULL;
}

int64_t
fbstate_queue_size (const fbstate_t *self, size_t i)
{
    return i < self->ncoords ? self->coords[i].queue_size : 0;
}
