/*
 * Restart: md-store is killed with SIGKILL in the middle of a loaded run (bars
 * in its queue, batches in flight, acks not sent) and started again on the
 * same database and endpoints.  The pipeline keeps every batch until it is
 * acked and resends those whose ack does not come, and the store upserts on
 * (provider, symbol, ts), so after a pause and the last acks the rows in the
 * database equal the bars the pipeline produced: zero loss and no duplicates
 * (a duplicate would need two rows with one primary key, so count(*) equal to
 * the bars produced means each was stored exactly once).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define C_ROWS 10000
#define QUEUE                                                                                      \
    "[queue]\ncapacity = 4000\nhigh_watermark = 3000\nlow_watermark = 2000\nhysteresis = 200\n"

START_TEST (kill_9_of_the_store_loses_and_duplicates_nothing)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2 * C_ROWS;
    o.max_inflight = 16; /* 8,000 bars: twice the queue */
    o.ack_timeout_ms = 2000;
    o.stale_after_ms = 1000;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", C_ROWS, 200, QUEUE) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");

    double w = h_wait_metric_ge (store.http_port, "mds_bars_written_total", 20000, 20000);
    E2E_CHECK (w >= 20000, "the first store wrote only %.0f bars", w);
    double depth = h_wait_metric_ge (store.http_port, "coordinator_queue_depth", 500, 10000);
    E2E_CHECK (depth >= 500, "no bars in the queue to lose (depth %.0f)", depth);
    E2E_CHECK (e2e_store_kill (&store) == 128 + 9, "md-store did not die of SIGKILL");
    long rows_at_kill = h_db_rows (store.db);
    fprintf (stderr, "restart: killed with %.0f bars queued, %ld rows committed\n", depth,
             rows_at_kill);

    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start again");
    w = h_wait_metric_ge (store.http_port, "mds_bars_written_total", 20000, 30000);
    E2E_CHECK (w >= 20000, "the second store wrote only %.0f bars", w);
    double restarts = h_wait_metric_ge (pipe.http_port, "mdp_feedback_restarts_total", 1, 5000);
    E2E_CHECK (restarts >= 1, "the pipeline did not see the store's new epoch");
    double resent = h_scrape (pipe.http_port, "mdp_batches_resent_total{reason=\"timeout\"}");

    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (&pipe, 30000, &ingested) == 0,
               "after pause, the pipeline's batches were not all acked");
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not drain and exit 0");
    long rows = h_db_rows (store.db);
    fprintf (stderr, "restart: %.0f batches resent after timeouts, ingested %.0f, rows %ld\n",
             resent, ingested, rows);
    E2E_CHECK (rows > rows_at_kill, "nothing written after the restart");
    E2E_CHECK (rows == (long)ingested, "rows %ld != bars produced %.0f (%s)", rows, ingested,
               rows < (long)ingested ? "lost bars" : "rows the pipeline never produced");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_restart");
    TCase *tc = tcase_create ("restart");
    tcase_set_timeout (tc, 110);
    tcase_add_test (tc, kill_9_of_the_store_loses_and_duplicates_nothing);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
