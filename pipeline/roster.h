/*
 * roster: the members table (members.h) shared by the pipeline's threads.
 *
 * The listener writes it (events, ticks), discovery and the start-up list
 * change its stores, the sender reads it to route and counts batches in it.
 * One mutex guards it; every change to the set of stores bumps a generation
 * and signals an eventfd, so the sender (which polls the fd beside its
 * sockets) connects and closes its per-store sockets at once, and the
 * listener does the same through its own wake-up.
 */
#ifndef PIPELINE_ROSTER_H
#define PIPELINE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/members.h"

typedef struct _roster_t roster_t;

/* Takes ownership of `members`.  NULL when out of memory. */
roster_t *roster_new (members_t *members);
void roster_destroy (roster_t **self_p);

/* Lock and get the table; unlock, saying whether the set of stores changed
 * (added, retired, removed, a store's state changed). */
members_t *roster_lock (roster_t *self);
void roster_unlock (roster_t *self, bool changed);

/* Generation of the set (bumped by each changed unlock). */
uint64_t roster_generation (roster_t *self);

/* Readable after a change: two independent fds, one per reader ("sender",
 * "listener"), each cleared by its reader. */
int roster_fd (roster_t *self, int reader);
void roster_clear (roster_t *self, int reader);

#define ROSTER_SENDER 0
#define ROSTER_LISTENER 1

/* Make the listed stores those of `ingest[i]` / `feedback[i]` (n pairs;
 * feedback may be NULL when feedback is off): new ones are added, the ones
 * of `origin` no longer listed are retired.  0, or -1 when the table is full
 * (the stores that fit are added). */
int roster_set (roster_t *self, const char *const *ingest, const char *const *feedback, size_t n);

#endif
