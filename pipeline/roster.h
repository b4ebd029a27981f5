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
 * no longer listed are retired.  0, or -1 when the table is full (the stores
 * that fit are added). */
int roster_set (roster_t *self, const char *const *ingest, const char *const *feedback, size_t n);

/* What a DNS answer did to the table. */
typedef struct {
    size_t added;    /* new candidates */
    size_t left_out; /* addresses of the answer the table has no room for */
    size_t unlisted; /* heard stores not in the answer, kept (members_unlist) */
    char left_out_example[80];
} roster_offer_t;

/* A DNS answer (n pairs, any n; sorted, no duplicates): DNS only adds
 * stores.  Stores in the answer are kept or added, stores not in it are
 * unlisted (members_unlist: kept while heard).  Past MEMBERS_MAX, the stores
 * the table holds come first (heard or not); a candidate never heard for
 * stale_after gives its slot to an address not tried yet, and the new
 * addresses are taken in turn from one answer to the next, so every address
 * is tried.  *out (may be NULL) says what happened. */
void roster_offer (roster_t *self, const char *const *ingest, const char *const *feedback, size_t n,
                   roster_offer_t *out);

#endif
