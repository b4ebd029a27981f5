/*
 * members: the stores a pipeline knows, and which of them it routes to.
 *
 * Pure logic, no sockets and no threads (the link actor owns both and feeds
 * this module): unit tests drive it with a fake clock.
 *
 * A store is an endpoint pair (ingest, feedback) from [store] ingest/feedback
 * or from discovery.  Its state:
 *   candidate  connected, never heard (or forgotten): gets no batches and
 *              does not count in the rate;
 *   live       heard within stale_after: a member;
 *   stale      a member silent for stale_after: counts at the failsafe level
 *              and is routed to only after every live one;
 *   leaving    announced `shutdown` (or `draining`), left the list
 *              (`retired`), or is gone from the DNS answer and silent for
 *              stale_after: no new batches, does not count in the rate; its
 *              unacked batches go elsewhere once their ack timeout passes.
 * DNS only adds stores (members_unlist): a store gone from the answer that
 * is still heard stays what it is (`unlisted`), a full member with its
 * batches, until it says goodbye or falls silent for stale_after; one never
 * heard is dropped at once.
 * A store silent for forget_after is forgotten with its coordinator state:
 * back to candidate while it is still listed, removed once retired.
 * Without feedback ([feedback] enabled = false) every listed store is live.
 *
 * Events arrive per store (one SUB per feedback endpoint), so an event's
 * origin is known.  Per store, the current incarnation is (coordinator_id,
 * epoch, seq).  The sanity rules (proto/README.md, "Feedback event"):
 *  - an event whose epoch is not plausible (after its own ts, or ts more than
 *    MEMBERS_TS_SKEW_S from this host's clock) is ignored;
 *  - same coordinator, same epoch: seq must grow; a seq at or a little below
 *    the last one (within MEMBERS_SEQ_WINDOW) is a duplicate and ignored; a
 *    jump beyond the window, up or down, is a resync: applied, tracking
 *    starts over there (so one seq of 2^64-1 cannot hide later events);
 *  - a newer epoch, from the same coordinator_id or another one (a store
 *    replaced at the same address), replaces the state: a restart;
 *  - an older epoch, or another coordinator_id with an epoch not newer, is
 *    not this store's current incarnation: counted and ignored;
 *  - a replaced incarnation is kept as the previous one, with its last event:
 *    once the new one has been silent for stale_after while the previous one
 *    still talks (heard within stale_after), the previous one is current
 *    again, at the next tick (50 ms), from that last event.  So no single
 *    event can freeze the state for longer than stale_after (plus a tick).
 *
 * Routing (members_pick): among live and stale members that are not leaving
 * and have room (fewer than max_inflight batches unacked there, and the
 * store's credit in bars not exceeded, though one batch may always be
 * in flight), the one with the most headroom: lowest level first (a stale
 * one counts at the failsafe level, after the live ones at that level), then
 * the shortest delay its queue means, (queue_size + this pipeline's bars
 * unanswered there) / service_rate (capacity per second while the rate is
 * not known; a store whose sink takes nothing now comes last), then fewest
 * batches in flight.  A store at HARD gets no batch while another member is
 * below HARD, even one whose window is full for now (the batch waits for its
 * room); equal stores share evenly, and a slow
 * store gets less: weighing by fill instead held a store at a fifth of the
 * others' speed at 0.56 s of queue in the plant model (tests/unit/pipeline,
 * test_share.c), against 0.17 s by delay.
 *
 * Not thread-safe: the link actor owns it.
 */
#ifndef PIPELINE_MEMBERS_H
#define PIPELINE_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "proto/feedback.h"

#define MEMBERS_MAX 256           /* stores a pipeline follows, from a list or from DNS */
#define MEMBERS_SEQ_WINDOW 100000 /* events; a longer jump is a resync */
#define MEMBERS_TS_SKEW_S 3600.0  /* largest plausible clock difference */

typedef enum {
    MEMBER_CANDIDATE = 0,
    MEMBER_LIVE = 1,
    MEMBER_STALE = 2,
    MEMBER_LEAVING = 3,
} member_state_t;

/* What the link, the policy and /health read of one store. */
typedef struct {
    char ingest[256], feedback[256]; /* endpoints ("" when feedback is off) */
    member_state_t state;
    bool retired;  /* no longer listed, or gone from DNS and silent: leaving */
    bool unlisted; /* gone from the DNS answer, still heard: kept */
    char coordinator_id[MDF_ID_MAX + 1];
    int64_t epoch;
    uint64_t seq;
    mdf_level_t level;
    int64_t queue_size, capacity;
    double service_rate; /* rows/s the sink takes while busy; -1 unknown */
    int64_t producers;   /* 0 unknown */
    int64_t credit;      /* bars; 0 no bound */
    int64_t heard_ns;    /* clock time of the last applied event (0 never) */
    size_t inflight;     /* batches sent there, not yet answered */
    int64_t inflight_bars;
    uint32_t generation; /* changes when its coordinator state is replaced or forgotten */
    uint64_t reverts;    /* times a newer incarnation was given up for the previous one */
} member_t;

typedef enum {
    MEMBERS_APPLIED = 0,  /* the store's state moved on */
    MEMBERS_DUPLICATE,    /* seq at or just below the last: ignored */
    MEMBERS_OLD_EPOCH,    /* an older incarnation: ignored */
    MEMBERS_FOREIGN,      /* another coordinator, not newer: ignored */
    MEMBERS_IMPLAUSIBLE,  /* epoch after its ts, or ts far from our clock: ignored */
    MEMBERS_UNKNOWN_SLOT, /* no such store */
} members_verdict_t;

typedef struct {
    members_verdict_t verdict;
    bool first;    /* first event of this store (it became a member) */
    bool restart;  /* a new incarnation replaced the state */
    bool resync;   /* seq jumped beyond the window */
    bool reverted; /* the previous incarnation is current again */
    bool shutdown; /* the event announced a drain or a shutdown */
    uint64_t gap;  /* events missed before this one */
} members_result_t;

typedef struct _members_t members_t;

/* stale_after_ns > 0, forget_after_ns >= stale_after_ns; `failsafe` the
 * level a stale store counts at; feedback_on false: every store is live at
 * once and never stale.  The clock is copied (its arg borrowed). */
members_t *members_new (int64_t stale_after_ns, int64_t forget_after_ns, mdf_level_t failsafe,
                        bool feedback_on, const mdf_clock_t *clock);
void members_destroy (members_t **self_p);

/* Reload. */
void members_set_failsafe (members_t *self, mdf_level_t failsafe, int64_t stale_after_ns);

/* Add store (ingest, feedback) or, when listed already, un-retire it.
 * Returns its slot (0 .. MEMBERS_MAX-1, stable while it exists), or -1 when
 * full.  *added is set when it is new (the caller connects its sockets). */
int members_add (members_t *self, const char *ingest, const char *feedback, bool *added);

/* The store left the list or discovery: no new batches; removed once it is
 * silent for forget_after (or at once if never heard and nothing in flight). */
void members_retire (members_t *self, int slot);

typedef enum {
    MEMBERS_UNLIST_NONE = 0, /* no such store, or unlisted / retired already */
    MEMBERS_UNLIST_KEPT,     /* live: kept until silent for stale_after or goodbye */
    MEMBERS_UNLIST_DROPPED,  /* never heard and nothing in flight: removed now */
    MEMBERS_UNLIST_RETIRED,  /* stale or leaving already, never heard with batches in
                                flight, or no feedback: retired */
} members_unlist_t;

/* The store is gone from the discovery answer (DNS only adds stores, see
 * above).  A slot dropped is free at once (the sockets follow the roster). */
members_unlist_t members_unlist (members_t *self, int slot);

/* Make room for another address of a DNS answer longer than the table:
 * removes the store at `slot` if it is a candidate never heard for
 * stale_after since it was added, with nothing in flight.  True if removed. */
bool members_evict (members_t *self, int slot);

/* Heard stores gone from the DNS answer (kept), and how many such stores so
 * far left (silent for stale_after, or said goodbye). */
size_t members_unlisted (const members_t *self);
uint64_t members_unlisted_left (const members_t *self);

/* Slot of the store with this ingest endpoint, or -1. */
int members_find (const members_t *self, const char *ingest);

/* One decoded event from store `slot`'s feedback socket; `wall_now_s` is this
 * host's wall clock (plausibility of ts).  Fills *out. */
void members_observe (members_t *self, int slot, const mdf_feedback_t *ev, double wall_now_s,
                      members_result_t *out);

/* Move silent stores to stale, forget those silent for forget_after.  Writes
 * the slots removed for good (retired and forgotten: close their sockets)
 * into removed[] (at most max) and returns how many. */
size_t members_tick (members_t *self, int *removed, size_t max);

/* The store for a batch of `bars` (see above), or -1 when none has room. */
int members_pick (const members_t *self, int64_t bars, size_t max_inflight);

/* Bookkeeping of batches in flight to a store. */
void members_sent (members_t *self, int slot, int64_t bars);
void members_answered (members_t *self, int slot, int64_t bars);

/* True when `slot` may still get new batches (live or stale, not leaving). */
bool members_routable (const members_t *self, int slot);

/* The store at slot (NULL for a free slot). */
const member_t *members_get (const members_t *self, int slot);

/* Counts by state: live, stale, leaving, candidate (any may be NULL). */
void members_count (const members_t *self, size_t *live, size_t *stale, size_t *leaving,
                    size_t *candidate);

mdf_level_t members_failsafe (const members_t *self);

const char *member_state_name (member_state_t state);

#endif
