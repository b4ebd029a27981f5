/*
 * sender: sends the batches the batcher seals to the stores, and follows acks.
 *
 * Providers write bars into the batcher through sender_reserve and
 * sender_commit (batcher.h: open batches per provider, a window of sealed
 * batches, providers blocking when it is full).
 * The sender thread, an actor, owns one DEALER per store of the roster
 * (roster.h; common/sockset.h keeps them in step with the stores as they
 * come and go).  It polls its pipe, the batcher's eventfd, the roster's
 * eventfd and every DEALER; takes sealed batches, encodes them (proto/) and
 * sends each to the store members_pick chooses (the most headroom, within
 * the store's window of max_inflight batches and its credit); resends a batch
 * whose ack has not come within ack_timeout_ms, to whichever store is best
 * then (a store that left gets no new batch, so its unacked ones move to the
 * others); resends a "retry" batch after a backoff (retry_backoff_ms
 * doubling up to retry_backoff_max_ms).  A batch is encoded once, into a
 * ZeroMQ message that owns the bytes; every (re)send hands libzmq a reference
 * to them, so neither a send nor a resend copies the body.  Resends keep the batch_seq; the
 * stores' upserts make duplicates harmless.  A batch is released only on
 * "ok" or "rejected", so a store that goes away loses no bar.  Acks for an
 * unknown batch_seq (late duplicates) are counted and ignored.  The
 * batcher's window is max_inflight times the stores that can take batches
 * (at least one), so more stores mean more in flight, never more per store.
 *
 * Live providers' batches (sender_config_t.live) are taken, sent and, when
 * they wait for a store's room, re-sent before history's.
 *
 * Metrics (label provider unless noted): mdp_bars_ingested_total,
 * mdp_bars_sent_total, mdp_bars_acked_total, mdp_bars_rejected_total,
 * mdp_batches_rejected_total, mdp_batches_resent_total{reason=timeout|retry},
 * mdp_batches_inflight, mdp_acks_unknown_total, mdp_acks_malformed_total,
 * mdp_ack_latency_seconds, mdp_stores_routable (gauge).
 */
#ifndef PIPELINE_SENDER_H
#define PIPELINE_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/curve.h"
#include "pipeline/roster.h"
#include "proto/batch.h"

typedef struct {
    const char *producer_id;
    roster_t *roster;             /* borrowed: the stores */
    const char *const *providers; /* provider names, index = provider idx */
    size_t nproviders;
    const bool *live; /* NULL, or per provider: live (tick) providers go first (batcher.h) */
    size_t batch_max;
    int64_t linger_ms;
    size_t max_inflight; /* per store */
    int64_t ack_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    mdf_metrics_t *metrics;   /* borrowed */
    const mdp_curve_t *curve; /* NULL or off: plain TCP (copied) */
} sender_config_t;

typedef struct _sender_t sender_t;

/* Start the sender thread (config copied).  NULL with err. */
sender_t *sender_new (const sender_config_t *cfg, char *err, size_t errlen);

/* Stop the thread and free every batch still held; *self_p = NULL. */
void sender_destroy (sender_t **self_p);

/* Room for up to `want` bars of provider idx, written in place then handed
 * over with sender_commit (batcher_reserve, batcher_commit): blocks while
 * that provider's open batch is full and the window is full; 0 once
 * sender_close_input was called.  sender_commit: 0, or -1 once closed (the
 * bars are not taken). */
size_t sender_reserve (sender_t *self, size_t idx, size_t want, mdf_bar_t **bars);
int sender_commit (sender_t *self, size_t idx, size_t n);

/* n bars of provider idx copied in through sender_reserve / sender_commit,
 * for a caller that holds them already: 0, or -1 once closed. */
int sender_push (sender_t *self, size_t idx, const mdf_bar_t *bars, size_t n);

/* The same without waiting: *taken of them, the first ones, as many as the
 * window takes now (batcher_try_push).  0, or -1 once closed. */
int sender_try_push (sender_t *self, size_t idx, const mdf_bar_t *bars, size_t n, size_t *taken);

/* Make sender_reserve / sender_commit fail from now on and wake providers
 * blocked in them. */
void sender_close_input (sender_t *self);

/* Seal every open batch now and wait until every batch is acked (ok or
 * rejected) or timeout_ms passes.  0 when nothing is left, -1 on timeout. */
int sender_drain (sender_t *self, int64_t timeout_ms);

/* Milliseconds since the sender thread last turned its loop, which it does
 * at least every 100 ms: far more means it is wedged (/health/live). */
int64_t sender_loop_ms_ago (sender_t *self);

/* Batches holding bars not yet acked (sealed + non-empty open), as the
 * mdp_batches_inflight gauge shows. */
size_t sender_inflight (sender_t *self);

/* Bars in those batches. */
size_t sender_unacked_bars (sender_t *self);

/* Bars provider idx has handed over so far (mdp_bars_ingested_total). */
uint64_t sender_ingested (sender_t *self, size_t idx);

/* Provider idx's bars settled (acked ok or rejected), as a prefix of the
 * bars it handed over: batcher_settled. */
uint64_t sender_settled (sender_t *self, size_t idx);

/* Milliseconds the oldest unacked batch has waited (0 when none). */
int64_t sender_oldest_ms (sender_t *self);

#endif
