/*
 * stats: every metric md-store exports, registered once at start-up so the
 * hot paths only touch lock-free handles (common/metrics.h).  The
 * coordinator_* series (and mds_feedback_subscribers) carry the store's
 * coordinator_id, so dashboards and alerts can tell stores apart; the
 * watermark gauges let them draw each store's own thresholds.
 * store/README.md lists every series.
 */
#ifndef STORE_STATS_H
#define STORE_STATS_H

#include <stdint.h>

#include "common/metrics.h"
#include "proto/proto.h"

typedef struct {
    mdf_gauge_t *queue_depth;     /* coordinator_queue_depth{coordinator_id} */
    mdf_gauge_t *queue_capacity;  /* coordinator_queue_capacity{coordinator_id} */
    mdf_gauge_t *queue_high_wm;   /* coordinator_queue_high_watermark{coordinator_id} */
    mdf_gauge_t *queue_low_wm;    /* coordinator_queue_low_watermark{coordinator_id} */
    mdf_gauge_t *queue_batches;   /* mds_queue_batches: batches waiting for a worker */
    mdf_gauge_t *backpressure[3]; /* coordinator_backpressure_ok|soft|hard{coordinator_id} */
    mdf_counter_t *events[3];     /* mds_feedback_events_total{level} */
    mdf_gauge_t *subscribers;     /* mds_feedback_subscribers{coordinator_id} */
    mdf_counter_t *bars_written;  /* mds_bars_written_total */
    mdf_counter_t *batches_ok, *batches_retry, *batches_rejected; /* mds_batches_total{status} */
    mdf_counter_t *malformed_empty, *malformed_frames, *malformed_decode;
    /* mds_ingest_malformed_total{reason} */
    mdf_counter_t *ingest_duplicates; /* mds_ingest_duplicates_total: resends of queued batches */
    mdf_histogram_t *sink_write;      /* mds_sink_write_seconds: one transaction */
    mdf_histogram_t *ingest_commit;   /* mds_ingest_commit_seconds: receipt -> commit */
    mdf_counter_t *sink_errors;       /* mds_sink_errors_total */
    mdf_gauge_t *breaker;             /* mds_sink_breaker_state: 0 closed, 1 open, 2 half-open */
    mdf_gauge_t *workers_alive;       /* mds_workers_alive */
    mdf_counter_t *webhook_ok, *webhook_error, *webhook_dropped; /* mds_webhook_posts_total */
    mdf_gauge_t *draining;                                       /* mds_draining: 1 after SIGTERM */
    mdf_gauge_t *drain_rate;   /* mds_sink_drain_rate: rows/s committed, last second */
    mdf_gauge_t *service_rate; /* mds_sink_service_rate: rows/s while busy (-1 unknown) */
    mdf_gauge_t *producers;    /* mds_producers: as published in the events */
    mdf_gauge_t *credit;       /* mds_credit_bars: bars each producer may have in flight */
} stats_t;

/* Register every series in `reg` (borrowed).  0, or -1 if one failed. */
int stats_init (stats_t *self, mdf_metrics_t *reg, const char *coordinator_id);

/* Set the queue's fixed sizes: capacity and the two watermarks, in bars. */
void stats_set_queue_limits (stats_t *self, int64_t capacity, int64_t low_watermark,
                             int64_t high_watermark);

/* Set the three backpressure gauges for `level`. */
void stats_set_level (stats_t *self, mdf_level_t level);

#endif
