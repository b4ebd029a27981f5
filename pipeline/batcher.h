/*
 * batcher: the providers' open batches and the bounded window of sealed ones.
 *
 * Providers call batcher_push from their own threads.  Each provider has an
 * open batch; it is sealed when it holds batch_max bars (by the pushing
 * thread) or, by the sender thread in batcher_take, once its first bar is
 * linger old (or at once while draining).  Sealing gives the batch the next
 * batch_seq and counts it in the window until batcher_release.  At most
 * max_inflight batches are sealed and unreleased; a provider whose open batch
 * is full blocks in batcher_push until the window has room.  So at most
 * (max_inflight + providers) * batch_max bars are held, however long the
 * store stalls.
 *
 * `pending` counts the batches that hold bars not yet acked: the sealed ones
 * plus the non-empty open ones.  It is kept under the lock and mirrored into
 * the mdp_batches_inflight gauge at every change, so once it reads 0 every
 * bar taken in so far has been acked (or rejected).
 *
 * Providers write their bars straight into their open batch: batcher_reserve
 * hands out room in it and batcher_commit takes the bars written there, so a
 * bar is written once between its source and the encoder.  While a provider
 * writes, the sender leaves that open batch alone (the commit seals it if it
 * lingered out meanwhile).  The bar arrays of batches the sender has encoded
 * come back with batcher_recycle and are reused, so the steady state
 * allocates no bar array.
 *
 * The sender thread polls an eventfd (batcher_fd), so nothing waits for a
 * timer tick.  It is written when a batch is sealed, and when an open batch
 * gets its first bar and would linger out before the time the sender said it
 * sleeps until (batcher_sleep_until); never twice before the sender clears it
 * (batcher_clear_wake), so a busy sender costs the providers no system call.
 * Live first: a provider marked live (batcher_set_live: the tick providers,
 * which the market paces, not a token bucket) has its batches sealed before
 * the others' when room frees and handed over first by batcher_take.  While
 * any live provider exists, history (the other providers) may fill the
 * window only up to max_inflight - 1 (when the window has 2 slots or more),
 * so the last slot is always the live bars' and they never queue behind a
 * full window of history.
 *
 * Thread-safe: one mutex, one condition variable (broadcast when the window
 * shrinks or input closes).
 */
#ifndef PIPELINE_BATCHER_H
#define PIPELINE_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "proto/batch.h"

/* A sealed batch; owned by the batcher until batcher_release. */
typedef struct _batch_t {
    uint64_t seq;
    size_t prov;
    mdf_bar_t *bars; /* owned; the taker hands it back early with batcher_recycle */
    size_t n;
    int64_t sealed_ns; /* monotonic */
    int64_t first_ns;  /* monotonic: when its first bar came in */
    bool live;         /* from a live (tick) provider: goes first */
    uint64_t first;    /* position of its first bar among its provider's bars (0-based) */
    /* private: the batcher's lists */
    struct _batch_t *next, *prev, *ready_next;
} batch_t;

typedef struct _batcher_t batcher_t;

/* `ingested` (may be NULL, else one counter per provider, borrowed) counts the
 * bars taken in; `pending_gauge` (may be NULL, borrowed) mirrors
 * batcher_pending.  first_seq: the first batch_seq.  NULL when out of memory. */
batcher_t *batcher_new (size_t nproviders, size_t batch_max, size_t max_inflight, int64_t linger_ns,
                        uint64_t first_seq, mdf_counter_t *const *ingested,
                        mdf_gauge_t *pending_gauge);
void batcher_destroy (batcher_t **self_p);

/* Room for up to `want` (>= 1) bars of provider idx in its open batch: sets
 * *bars to where they go and returns how many fit (1 .. want).  Blocks while
 * that provider's open batch is full and the window is full.  0 once closed
 * (or out of memory).  The provider writes them, then calls batcher_commit;
 * it must not reserve again before. */
size_t batcher_reserve (batcher_t *self, size_t idx, size_t want, mdf_bar_t **bars);

/* The first n bars of the room reserved (n may be 0) join the open batch and
 * are counted in `ingested`.  0, or -1 once closed (the bars are dropped and
 * not counted). */
int batcher_commit (batcher_t *self, size_t idx, size_t n);

/* Take n bars (copied) of provider idx: batcher_reserve and batcher_commit
 * until all are in.  0, or -1 once closed (the bars not yet taken are
 * dropped and not counted). */
int batcher_push (batcher_t *self, size_t idx, const mdf_bar_t *bars, size_t n);

/* Take as many of the n bars of provider idx as fit without waiting (into
 * its open batch, sealing a full one while the window has room): *taken of
 * them, the first ones.  0, or -1 once closed. */
int batcher_try_push (batcher_t *self, size_t idx, const mdf_bar_t *bars, size_t n, size_t *taken);

/* Make batcher_push fail from now on and wake providers blocked in it. */
void batcher_close (batcher_t *self);

/* Sender thread: seal lingering open batches (all of them while draining) as
 * far as the window allows, and hand over every sealed batch not yet taken:
 * up to `max` into out[].  Returns how many. */
size_t batcher_take (batcher_t *self, batch_t **out, size_t max);

/* The taker is done with the batch's bars (encoded): they are reused for
 * the next open batch; batch->bars becomes NULL. */
void batcher_recycle (batcher_t *self, batch_t *batch);

/* The store answered ok or rejected: free the batch and shrink the window.
 * A provider's full open batch that waited for that room is sealed now, for
 * the taker's next batcher_take, without waiting for its provider to run. */
void batcher_release (batcher_t *self, batch_t *batch);

/* Monotonic ns when the next open batch lingers out (INT64_MAX: none, or the
 * window is full).  An open batch a provider is writing is left out: its
 * commit seals it, or wakes the sender. */
int64_t batcher_next_linger (batcher_t *self);

/* The sender is about to sleep until `until_ns` (monotonic) unless woken:
 * returns the earlier of that and batcher_next_linger, and remembers it, so
 * that an open batch that would linger out before the sender wakes wakes it
 * through batcher_fd. */
int64_t batcher_sleep_until (batcher_t *self, int64_t until_ns);

/* Seal everything from now on and wait until every batch is released or
 * timeout_ms passes.  0 when nothing is left, -1 on timeout. */
int batcher_drain (batcher_t *self, int64_t timeout_ms);

/* Mark provider idx live (or not): see "Live first" above. */
void batcher_set_live (batcher_t *self, size_t idx, bool live);

/* Change the window (the sender: max_inflight per store times the stores it
 * can route to).  A smaller window lets no new batch seal until enough are
 * released; nothing already sealed is dropped. */
void batcher_set_window (batcher_t *self, size_t max_inflight);

/* Seal batches at `bars` (at most batch_max; 0: batch_max) from now on:
 * the sender keeps each batch within the stores' credit, so the one batch
 * a store always takes cannot pass its high watermark.  An open batch
 * already larger is sealed as it is. */
void batcher_set_fill (batcher_t *self, size_t bars);

/* Sealed, unreleased batches now. */
size_t batcher_window (batcher_t *self);

/* Batches holding bars not yet acked: sealed + non-empty open ones. */
size_t batcher_pending (batcher_t *self);

/* How many of provider idx's bars, counted from its first, are settled: every
 * bar before that position is in a released batch (acked ok or rejected).
 * The journal trims by it (pipeline/live_journal.c). */
uint64_t batcher_settled (batcher_t *self, size_t idx);

/* Bars in those batches (what would be lost if the pipeline stopped now). */
size_t batcher_pending_bars (batcher_t *self);

/* Nanoseconds the oldest unreleased batch has waited (0 when none). */
int64_t batcher_oldest_ns (batcher_t *self);

/* The eventfd to poll, and clearing it once woken (before batcher_take). */
int batcher_fd (const batcher_t *self);
void batcher_clear_wake (batcher_t *self);

#endif
