/*
 * fbstate: what the pipeline believes about each store (coordinator).
 *
 * Pure logic, no sockets and no threads: the feedback actor feeds it decoded
 * events and asks it for the level that drives the providers.
 *
 * Per coordinator (keyed by coordinator_id) it keeps the last level, epoch,
 * seq, queue fill and the monotonic time it was last heard.  Rules:
 *  - a new, higher epoch is a restart: counted, seq tracking starts over;
 *  - an event from an older epoch, or a seq not above the last one, is stale
 *    or duplicated: counted and ignored (it must not roll the level back);
 *  - seq jumping by more than one counts the missing events as a gap;
 *  - a coordinator silent for stale_after counts as the failsafe level until
 *    it is heard again;
 *  - until `expected` coordinators have been heard from (one per feedback
 *    endpoint), the unheard ones count as failsafe too.
 * The driving level is the worst (ok < soft < hard) over all of them.
 *
 * Time comes from the mdf_clock_t, so tests use a fake clock.  Not thread-safe.
 */
#ifndef PIPELINE_FBSTATE_H
#define PIPELINE_FBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "proto/feedback.h"

typedef struct _fbstate_t fbstate_t;

typedef enum {
    FBSTATE_APPLIED = 0, /* the event updated the coordinator's state */
    FBSTATE_IGNORED = 1, /* duplicate, reordered or from an older epoch */
} fbstate_verdict_t;

/* What observing one event found. */
typedef struct {
    fbstate_verdict_t verdict;
    uint64_t gap; /* events missed before this one (0 when none) */
    bool restart; /* a new epoch of a known coordinator */
    bool first;   /* first event ever from this coordinator */
} fbstate_result_t;

/* The driving level and why. */
typedef struct {
    mdf_level_t level; /* worst over coordinators, failsafe resolved */
    bool failsafe;     /* at least one coordinator counted as failsafe */
    size_t stale;      /* coordinators heard before but silent too long */
    size_t unheard;    /* expected coordinators never heard from */
    double fill;       /* highest queue_size / capacity seen, in [0, 1] */
} fbstate_view_t;

/* `expected`: coordinators to wait for (number of feedback endpoints, >= 1);
 * stale_after_ns > 0; `failsafe` the level assumed for silent ones.  The clock
 * is copied (its arg borrowed). */
fbstate_t *fbstate_new (size_t expected, int64_t stale_after_ns, mdf_level_t failsafe,
                        const mdf_clock_t *clock);
void fbstate_destroy (fbstate_t **self_p);

/* Take one decoded event into account; fills *out.  0, or -1 when out of memory
 * or when more than 64 coordinators are tracked (the event is ignored). */
int fbstate_observe (fbstate_t *self, const mdf_feedback_t *ev, fbstate_result_t *out);

/* The driving level now. */
void fbstate_view (fbstate_t *self, fbstate_view_t *out);

/* Change the failsafe level or staleness (reload). */
void fbstate_set_failsafe (fbstate_t *self, mdf_level_t failsafe, int64_t stale_after_ns);

/* Coordinators known so far, and the one at index i (NULL past the end). */
size_t fbstate_count (const fbstate_t *self);
const char *fbstate_id (const fbstate_t *self, size_t i);
/* Last queue_size of coordinator i (0 past the end). */
int64_t fbstate_queue_size (const fbstate_t *self, size_t i);

#endif
