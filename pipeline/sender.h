/*
 * sender: sends the batches the batcher seals to the store, and follows acks.
 *
 * sender_push hands bars to the batcher (batcher.h: open batches per
 * provider, a window of at most max_inflight sealed batches, providers
 * blocking when it is full).  The sender thread, a czmq actor, owns the
 * DEALER connected to every ingest endpoint.  It polls the DEALER, its pipe
 * and the batcher's eventfd; takes sealed batches, encodes (proto/) and sends
 * them at once; resends a batch whose ack has not come within ack_timeout_ms;
 * resends a "retry" batch after a backoff (retry_backoff_ms doubling up to
 * retry_backoff_max_ms).  Resends keep the batch_seq; the store's upserts make
 * duplicates harmless.  A batch is released only on "ok" or "rejected", so a
 * store that goes away and comes back (new epoch) loses no bar.  Acks for an
 * unknown batch_seq (late duplicates) are counted and ignored.
 *
 * Metrics (label provider unless noted): mdp_bars_ingested_total,
 * mdp_bars_sent_total, mdp_bars_acked_total, mdp_bars_rejected_total,
 * mdp_batches_rejected_total, mdp_batches_resent_total{reason=timeout|retry},
 * mdp_batches_inflight, mdp_acks_unknown_total, mdp_acks_malformed_total,
 * mdp_ack_latency_seconds.
 */
#ifndef PIPELINE_SENDER_H
#define PIPELINE_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/curve.h"
#include "proto/batch.h"

typedef struct {
    const char *producer_id;
    char *const *endpoints; /* ingest endpoints */
    size_t nendpoints;
    const char *const *providers; /* provider names, index = provider idx */
    size_t nproviders;
    size_t batch_max;
    int64_t linger_ms;
    size_t max_inflight;
    int64_t ack_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    mdf_metrics_t *metrics;   /* borrowed */
    const mdp_curve_t *curve; /* NULL or off: plain TCP (copied) */
} sender_config_t;

typedef struct _sender_t sender_t;

/* Start the sender thread (config copied).  NULL with err (bad endpoint, ...). */
sender_t *sender_new (const sender_config_t *cfg, char *err, size_t errlen);

/* Stop the thread and free every batch still held; *self_p = NULL. */
void sender_destroy (sender_t **self_p);

/* Hand n bars (copied) of provider idx to the sender.  Blocks while that
 * provider's open batch is full and the window is full.  0, or -1 once
 * sender_close_input was called (bars not taken). */
int sender_push (sender_t *self, size_t idx, const mdf_bar_t *bars, size_t n);

/* Make sender_push fail from now on and wake providers blocked in it. */
void sender_close_input (sender_t *self);

/* Seal every open batch now and wait until every batch is acked (ok or
 * rejected) or timeout_ms passes.  0 when nothing is left, -1 on timeout. */
int sender_drain (sender_t *self, int64_t timeout_ms);

/* Batches holding bars not yet acked (sealed + non-empty open), as the
 * mdp_batches_inflight gauge shows. */
size_t sender_inflight (sender_t *self);

/* Bars in those batches. */
size_t sender_unacked_bars (sender_t *self);

/* Milliseconds the oldest unacked batch has waited (0 when none). */
int64_t sender_oldest_ms (sender_t *self);

#endif
