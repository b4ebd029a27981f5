/*
 * Overload with feedback: the sink is throttled to C rows/s and the provider
 * asks 10 x C for 20 s, with an in-flight window (max_inflight x batch_max =
 * 16,000 bars) larger than the queue (10,000), so only the feedback loop can
 * keep the queue bounded.  Proves, with the default policy (share):
 *   - it is an overload: the pipeline is held to about a tenth of what its
 *     provider asks;
 *   - the queue never reaches the high watermark (no HARD at all) and no
 *     batch is answered "retry";
 *   - the committed rate stays >= 0.95 x C once warmed up (the loop throttles
 *     the producer without starving the sink);
 *   - after /control/pause and the last acks, the rows in the database equal
 *     mdp_bars_ingested_total (nothing lost, nothing duplicated: the primary key
 *     is (provider, symbol, ts) and the synthetic provider never repeats one).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define C_ROWS 5000
#define RUN_MS 20000
#define WARMUP_MS 5000

START_TEST (feedback_keeps_the_queue_below_capacity_at_10x_overload)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 10 * C_ROWS;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", C_ROWS, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");

    e2e_watch_t w;
    E2E_CHECK (e2e_watch_store (&store, RUN_MS, WARMUP_MS, false, &w) == 0,
               "md-store stopped answering");
    fprintf (stderr,
             "overload 10x: max depth %.0f of %.0f, committed %.0f rows/s of %d, "
             "retries %.0f, hard events %.0f, %d samples\n",
             w.max_depth, w.capacity, w.rate, C_ROWS, w.retries, w.hard_events, w.samples);
    double scale = h_scrape (pipe.http_port, "pipeline_rate_scale_factor");
    fprintf (stderr, "overload 10x: the pipeline's scale %.3f\n", scale);
    E2E_CHECK (scale < 0.2, "scale %.3f: the provider was not held back, not an overload", scale);
    E2E_CHECK (w.hard_events == 0, "the store went HARD %.0f times", w.hard_events);
    E2E_CHECK (w.max_depth < w.capacity, "queue reached capacity: %.0f of %.0f", w.max_depth,
               w.capacity);
    E2E_CHECK (w.retries == 0, "%.0f batches were answered retry", w.retries);
    E2E_CHECK (w.rate >= 0.95 * C_ROWS, "committed %.0f rows/s, below 0.95 x %d", w.rate, C_ROWS);

    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (&pipe, 30000, &ingested) == 0,
               "after pause, the pipeline's batches were not all acked");
    double retries = h_scrape (store.http_port, "mds_batches_total{status=\"retry\"}");
    E2E_CHECK (retries == 0, "%.0f retries while draining", retries);
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not drain and exit 0");
    long rows = h_db_rows (store.db);
    fprintf (stderr, "overload 10x: ingested %.0f, rows %ld\n", ingested, rows);
    E2E_CHECK (ingested > RUN_MS / 1000 * C_ROWS * 0.9, "only %.0f bars ingested", ingested);
    E2E_CHECK (rows == (long)ingested, "rows %ld != mdp_bars_ingested_total %.0f", rows, ingested);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_overload");
    TCase *tc = tcase_create ("overload");
    tcase_set_timeout (tc, 90);
    tcase_add_test (tc, feedback_keeps_the_queue_below_capacity_at_10x_overload);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
