/*
 * The same 10 x overload as test_overload.c, with `[feedback] enabled = false`
 * in the pipeline: nothing slows the provider down, the in-flight window
 * (16,000 bars) overruns the queue (10,000) and the store has to answer
 * "retry".  Together with test_overload.c (same load, feedback on: no retry,
 * queue below capacity) this shows that feedback is what prevents it.  Retries
 * lose nothing: after a pause and the last acks, rows == bars ingested.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define C_ROWS 5000

START_TEST (without_feedback_the_same_overload_fills_the_queue_and_gets_retries)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 10 * C_ROWS;
    o.feedback = false;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", C_ROWS, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");

    e2e_watch_t w;
    E2E_CHECK (e2e_watch_store (&store, 15000, 0, true, &w) == 0, "md-store stopped answering");
    double scale = h_scrape (pipe.http_port, "pipeline_rate_scale_factor");
    fprintf (stderr,
             "no feedback: max depth %.0f of %.0f, retries %.0f, hard events %.0f, "
             "scale %.2f\n",
             w.max_depth, w.capacity, w.retries, w.hard_events, scale);
    E2E_CHECK (w.retries > 0 || w.max_depth >= w.capacity,
               "no retry and queue below capacity without feedback (max %.0f): the test does "
               "not overload the store",
               w.max_depth);
    E2E_CHECK (w.hard_events >= 1, "the store never went HARD");

    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (&pipe, 60000, &ingested) == 0,
               "after pause, the pipeline's batches were not all acked");
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not drain and exit 0");
    long rows = h_db_rows (store.db);
    fprintf (stderr, "no feedback: ingested %.0f, rows %ld\n", ingested, rows);
    E2E_CHECK (rows == (long)ingested, "rows %ld != mdp_bars_ingested_total %.0f", rows, ingested);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_no_feedback");
    TCase *tc = tcase_create ("no_feedback");
    tcase_set_timeout (tc, 110);
    tcase_add_test (tc, without_feedback_the_same_overload_fills_the_queue_and_gets_retries);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
