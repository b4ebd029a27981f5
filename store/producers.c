/*
 * producers: see producers.h.  A flat array searched linearly: a store has a
 * handful of producers, and the last one found is checked first (batches of
 * one producer come in runs).
 */
#include "store/producers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

typedef struct {
    char id[MDF_ID_MAX + 1];
    int64_t seen_ns; /* last batch (0: none yet) */
    int subs;        /* subscriptions to its "producer.<id>" topic */
    bool bye;        /* its last subscription ended: not counted by its batches */
    int64_t bye_ns;  /* when */
} s_entry_t;

struct _producers_t {
    mdf_clock_t clock;
    s_entry_t *entries;
    size_t n, last;
};

producers_t *
producers_new (const mdf_clock_t *clock)
{
    producers_t *self = calloc (1, sizeof *self);
    if (self)
        self->entries = calloc (PRODUCERS_MAX, sizeof *self->entries);
    if (!self || !self->entries) {
        free (self);
        return NULL;
    }
    self->clock = clock ? *clock : mdf_clock_system ();
    return self;
}

void
producers_destroy (producers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

/* The entry of `id`, made (replacing the one seen longest ago that is not
 * subscribed, when full) if it is new. */
static s_entry_t *
s_entry (producers_t *self, const char *id)
{
    if (self->n && strcmp (self->entries[self->last].id, id) == 0)
        return &self->entries[self->last];
    size_t oldest = SIZE_MAX;
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp (self->entries[i].id, id) == 0) {
            self->last = i;
            return &self->entries[i];
        }
        if (self->entries[i].subs == 0
            && (oldest == SIZE_MAX || self->entries[i].seen_ns < self->entries[oldest].seen_ns))
            oldest = i;
    }
    size_t slot = self->n < PRODUCERS_MAX ? self->n++ : oldest != SIZE_MAX ? oldest : self->last;
    s_entry_t *e = &self->entries[slot];
    memset (e, 0, sizeof *e);
    snprintf (e->id, sizeof e->id, "%s", id);
    self->last = slot;
    return e;
}

void
producers_seen (producers_t *self, const char *id)
{
    s_entry_t *e = s_entry (self, id);
    e->seen_ns = mdf_clock_now (&self->clock);
    /* still sending well after its goodbye: its connection was dropped (a
     * peer too busy to answer the heartbeats), not gone */
    if (e->bye && e->seen_ns - e->bye_ns > (int64_t)PRODUCERS_ACTIVE_MS * 1000000)
        e->bye = false;
}

void
producers_subscribed (producers_t *self, const char *id, bool on)
{
    s_entry_t *e = s_entry (self, id);
    if (on) {
        e->subs++;
        e->bye = false;
    } else if (e->subs > 0 && --e->subs == 0) {
        e->bye = true;
        e->bye_ns = mdf_clock_now (&self->clock);
    }
}

size_t
producers_count (producers_t *self)
{
    int64_t since = mdf_clock_now (&self->clock) - (int64_t)PRODUCERS_ACTIVE_MS * 1000000;
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++) {
        const s_entry_t *e = &self->entries[i];
        n += e->subs > 0 || (!e->bye && e->seen_ns > 0 && e->seen_ns > since);
    }
    return n;
}

size_t
producers_active_within (producers_t *self, int64_t ms)
{
    int64_t since = mdf_clock_now (&self->clock) - ms * 1000000;
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++)
        n += self->entries[i].seen_ns > 0 && self->entries[i].seen_ns > since;
    return n;
}

size_t
producers_active (producers_t *self)
{
    return producers_active_within (self, PRODUCERS_ACTIVE_MS);
}

int64_t
producers_credit (int64_t high_watermark, int64_t producers, double service_rate)
{
    int64_t n = producers > 0 ? producers : 1;
    int64_t credit = (high_watermark - 1) / n;
    if (service_rate >= 0 && isfinite (service_rate)) {
        double by_rate = service_rate * PRODUCERS_CREDIT_DELAY_MS / 1000.0 / (double)n;
        if (by_rate < (double)credit)
            credit = (int64_t)by_rate;
    }
    return credit > 0 ? credit : 1;
}
