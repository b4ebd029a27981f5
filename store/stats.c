/*
 * stats: registration of md-store's metrics (see stats.h).
 */
#include "store/stats.h"

#include <stdbool.h>

/* mds_ingest_commit_seconds: receipt -> commit is queueing time, so it spans
 * milliseconds (an idle store) to seconds (a full queue).  Finer than the
 * common latency buckets: at most 25 % apart from 100 ms to 5 s, so a p99
 * interpolated inside a bucket tells controllers apart (bench/controllers). */
static const double s_ingest_commit_bounds[]
    = { 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2,
        0.25,  0.3,    0.35,  0.4,  0.5,  0.6,  0.7,  0.8,   0.9, 1,     1.25, 1.5,   1.75,
        2,     2.5,    3,     3.5,  4,    5,    6,    7.5,   10,  15,    30,   60 };

int
stats_init (stats_t *self, mdf_metrics_t *reg, const char *id)
{
    static const char *const levels[3] = { "ok", "soft", "hard" };
    static const char *const bp_names[3]
        = { "coordinator_backpressure_ok", "coordinator_backpressure_soft",
            "coordinator_backpressure_hard" };
    self->queue_depth = mdf_metrics_gauge (reg, "coordinator_queue_depth",
                                           "Bars in the queue (waiting or being written)",
                                           "coordinator_id", id, NULL);
    self->queue_capacity = mdf_metrics_gauge (reg, "coordinator_queue_capacity",
                                              "Queue capacity in bars", "coordinator_id", id, NULL);
    self->queue_high_wm
        = mdf_metrics_gauge (reg, "coordinator_queue_high_watermark",
                             "Queue depth in bars at and above which the store is at level hard",
                             "coordinator_id", id, NULL);
    self->queue_low_wm
        = mdf_metrics_gauge (reg, "coordinator_queue_low_watermark",
                             "Queue depth in bars at and below which the store returns to level ok",
                             "coordinator_id", id, NULL);
    self->queue_batches
        = mdf_metrics_gauge (reg, "mds_queue_batches", "Batches waiting for a worker", NULL);
    bool ok = self->queue_depth && self->queue_capacity && self->queue_high_wm && self->queue_low_wm
              && self->queue_batches;
    for (int i = 0; i < 3; i++) {
        self->backpressure[i] = mdf_metrics_gauge (
            reg, bp_names[i], "1 when the store is at this level", "coordinator_id", id, NULL);
        self->events[i]
            = mdf_metrics_counter (reg, "mds_feedback_events_total",
                                   "Feedback events published, by level", "level", levels[i], NULL);
        ok = ok && self->backpressure[i] && self->events[i];
    }
    self->subscribers
        = mdf_metrics_gauge (reg, "mds_feedback_subscribers",
                             "Current feedback subscriptions (XPUB)", "coordinator_id", id, NULL);
    self->bars_written
        = mdf_metrics_counter (reg, "mds_bars_written_total", "Bars committed to the sink", NULL);
    const char *bh = "Batches answered, by status";
    self->batches_ok = mdf_metrics_counter (reg, "mds_batches_total", bh, "status", "ok", NULL);
    self->batches_retry
        = mdf_metrics_counter (reg, "mds_batches_total", bh, "status", "retry", NULL);
    self->batches_rejected
        = mdf_metrics_counter (reg, "mds_batches_total", bh, "status", "rejected", NULL);
    const char *mh = "Ingest messages that were not a v1 batch, by reason";
    self->malformed_empty
        = mdf_metrics_counter (reg, "mds_ingest_malformed_total", mh, "reason", "empty", NULL);
    self->malformed_frames
        = mdf_metrics_counter (reg, "mds_ingest_malformed_total", mh, "reason", "frames", NULL);
    self->malformed_decode
        = mdf_metrics_counter (reg, "mds_ingest_malformed_total", mh, "reason", "decode", NULL);
    self->ingest_duplicates = mdf_metrics_counter (
        reg, "mds_ingest_duplicates_total",
        "Resent batches already queued or being written: not queued again, answered at the "
        "first copy's commit",
        NULL);
    self->sink_write
        = mdf_metrics_histogram (reg, "mds_sink_write_seconds", "Duration of one sink transaction",
                                 mdf_buckets_latency, mdf_buckets_latency_n, NULL);
    self->ingest_commit = mdf_metrics_histogram (
        reg, "mds_ingest_commit_seconds", "From batch receipt to its commit",
        s_ingest_commit_bounds, sizeof s_ingest_commit_bounds / sizeof s_ingest_commit_bounds[0],
        NULL);
    self->sink_errors = mdf_metrics_counter (reg, "mds_sink_errors_total",
                                             "Failed sink transactions (retried)", NULL);
    self->breaker = mdf_metrics_gauge (reg, "mds_sink_breaker_state",
                                       "Sink circuit breaker: 0 closed, 1 open, 2 half-open", NULL);
    self->workers_alive
        = mdf_metrics_gauge (reg, "mds_workers_alive", "Worker threads running", NULL);
    const char *wh = "Webhook POSTs, by result";
    self->webhook_ok
        = mdf_metrics_counter (reg, "mds_webhook_posts_total", wh, "result", "ok", NULL);
    self->webhook_error
        = mdf_metrics_counter (reg, "mds_webhook_posts_total", wh, "result", "error", NULL);
    self->webhook_dropped
        = mdf_metrics_counter (reg, "mds_webhook_posts_total", wh, "result", "dropped", NULL);
    self->draining = mdf_metrics_gauge (reg, "mds_draining", "1 while draining for shutdown", NULL);
    self->drain_rate = mdf_metrics_gauge (reg, "mds_sink_drain_rate",
                                          "Rows per second committed over the last second", NULL);
    self->service_rate = mdf_metrics_gauge (
        reg, "mds_sink_service_rate",
        "Rows per second the sink commits while it has work (-1: not known yet)", NULL);
    self->producers = mdf_metrics_gauge (reg, "mds_producers",
                                         "Producers counted in the feedback events (pacing)", NULL);
    self->credit = mdf_metrics_gauge (reg, "mds_credit_bars",
                                      "Bars each producer may have in flight here", NULL);
    ok = ok && self->subscribers && self->bars_written && self->batches_ok && self->batches_retry
         && self->batches_rejected && self->malformed_empty && self->malformed_frames
         && self->malformed_decode && self->ingest_duplicates && self->sink_write
         && self->ingest_commit && self->sink_errors && self->breaker && self->workers_alive
         && self->webhook_ok && self->webhook_error && self->webhook_dropped && self->draining
         && self->drain_rate && self->service_rate && self->producers && self->credit;
    return ok ? 0 : -1;
}

void
stats_set_queue_limits (stats_t *self, int64_t capacity, int64_t low_watermark,
                        int64_t high_watermark)
{
    mdf_gauge_set (self->queue_capacity, (double)capacity);
    mdf_gauge_set (self->queue_low_wm, (double)low_watermark);
    mdf_gauge_set (self->queue_high_wm, (double)high_watermark);
}

void
stats_set_level (stats_t *self, mdf_level_t level)
{
    for (int i = 0; i < 3; i++)
        mdf_gauge_set (self->backpressure[i], (int)level == i ? 1.0 : 0.0);
}
