/*
 * Two stores, one pipeline: the level that drives the provider is the worst
 * over the stores it listens to.
 *
 * Store A has a healthy sink and sends a heartbeat every 100 ms (level ok).
 * Store B's sink cannot open its database (the path is a directory), so B's
 * queue fills to the high watermark and stays HARD, heartbeating once a second.
 * Phase 1: while A keeps saying "ok" ten times a second, the pipeline stays at
 * HARD (state 2, scale 0): it follows the worst store, not the latest event.
 * Phase 2: B is killed; once it has been silent for stale_after_ms it counts as
 * the failsafe level (soft), so the pipeline goes to 1 with A still ok.
 * Phase 3: B starts again with a working sink; both stores are ok and the
 * pipeline returns to 0.  Finally every bar produced is in exactly one of the
 * two databases (B's unacked batches were resent after their ack timeout).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define B_QUEUE                                                                                    \
    "[queue]\ncapacity = 2000\nhigh_watermark = 1000\nlow_watermark = 500\nhysteresis = 0\n"

typedef struct {
    int pipe_port, a_port, b_port;
    int samples, bad;
    double ok_events_first, ok_events_last;
} s_follow_t;

/* One sample of phase 1: B hard, A ok, pipeline at 2. */
static bool
s_sample (void *arg)
{
    s_follow_t *f = arg;
    double state = h_scrape (f->pipe_port, "pipeline_backpressure_state");
    double a_ok = h_scrape (f->a_port, "coordinator_backpressure_ok");
    double b_hard = h_scrape (f->b_port, "coordinator_backpressure_hard");
    double ok_events = h_scrape (f->pipe_port, "mdp_feedback_events_total{level=\"ok\"}");
    if (f->samples++ == 0)
        f->ok_events_first = ok_events;
    f->ok_events_last = ok_events;
    if (state != 2 || a_ok != 1 || b_hard != 1)
        f->bad++;
    return false; /* sample until the deadline */
}

static bool
s_pipeline_ok (void *arg)
{
    return h_scrape (*(int *)arg, "pipeline_backpressure_state") == 0;
}

START_TEST (the_pipeline_follows_the_worst_of_two_stores)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t a, b;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 20000;
    o.max_inflight = 8;
    o.ack_timeout_ms = 2000;
    o.stale_after_ms = 1000;
    e2e_store_t *stores[] = { &a, &b };
    E2E_CHECK (e2e_store_init (&a, dir, "store-a", 0, 100, NULL) == 0, "store A config");
    E2E_CHECK (e2e_store_init (&b, dir, "store-b", 0, 1000, B_QUEUE) == 0, "store B config");
    E2E_CHECK (mkdir (b.db, 0755) == 0, "cannot make B's database path a directory");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 2) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&a, NULL) == 0, "md-store A did not start");
    E2E_CHECK (e2e_store_start (&b, NULL) == 0, "md-store B did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");

    double hard = h_wait_metric_ge (b.http_port, "coordinator_backpressure_hard", 1, 15000);
    E2E_CHECK (hard == 1, "store B never went HARD");
    double state = h_wait_metric_ge (pipe.http_port, "pipeline_backpressure_state", 2, 5000);
    E2E_CHECK (state == 2, "the pipeline did not follow B to HARD (state %.0f)", state);
    s_follow_t f = { pipe.http_port, a.http_port, b.http_port, 0, 0, 0, 0 };
    h_wait_until (s_sample, &f, 1500);
    fprintf (stderr,
             "two stores: %d samples, %d not (pipeline 2, A ok, B hard); A's ok events "
             "seen by the pipeline meanwhile: %.0f\n",
             f.samples, f.bad, f.ok_events_last - f.ok_events_first);
    E2E_CHECK (f.samples >= 5 && f.bad == 0, "%d of %d samples broke pipeline=2/A ok/B hard", f.bad,
               f.samples);
    E2E_CHECK (f.ok_events_last - f.ok_events_first >= 5,
               "A's ok heartbeats did not reach the pipeline during the window");
    double scale = h_scrape (pipe.http_port, "pipeline_rate_scale_factor");
    E2E_CHECK (scale == 0, "scale %.2f while a store is HARD", scale);

    E2E_CHECK (e2e_store_kill (&b) == 128 + 9, "store B did not die of SIGKILL");
    E2E_CHECK (h_wait_metric_ge (pipe.http_port, "mdp_feedback_stale_coordinators", 1, 5000) == 1,
               "B never counted as stale");
    state = h_scrape (pipe.http_port, "pipeline_backpressure_state");
    double a_ok = h_scrape (a.http_port, "coordinator_backpressure_ok");
    fprintf (stderr, "two stores: B stale, pipeline state %.0f, A ok %.0f\n", state, a_ok);
    E2E_CHECK (state == 1 && a_ok == 1,
               "with B stale (failsafe soft) and A ok the pipeline should be at 1, is %.0f", state);

    /* B comes back with a working sink: both ok, so the pipeline is back at 0. */
    E2E_CHECK (rmdir (b.db) == 0, "cannot remove the directory in B's database path");
    E2E_CHECK (e2e_store_start (&b, NULL) == 0, "md-store B did not start again");
    E2E_CHECK (h_wait_until (s_pipeline_ok, &pipe.http_port, 5000) == 0,
               "with both stores ok the pipeline did not return to 0");
    double b_written = h_wait_metric_ge (b.http_port, "mds_bars_written_total", 1, 5000);
    E2E_CHECK (b_written >= 1, "B took no bars after coming back");

    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (&pipe, 30000, &ingested) == 0,
               "after pause, the pipeline's batches were not all acked");
    double a_hard = h_scrape (a.http_port, "mds_feedback_events_total{level=\"hard\"}");
    E2E_CHECK (a_hard == 0, "store A went HARD: the test assumes it stays ok");
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&a, 20000) == 0, "md-store A did not exit 0");
    E2E_CHECK (e2e_store_stop (&b, 20000) == 0, "md-store B did not exit 0");
    long rows_a = e2e_db_rows (a.db), rows_b = e2e_db_rows (b.db);
    fprintf (stderr, "two stores: ingested %.0f, rows A %ld + B %ld\n", ingested, rows_a, rows_b);
    E2E_CHECK (rows_a + rows_b == (long)ingested, "A %ld + B %ld rows, the pipeline produced %.0f",
               rows_a, rows_b, ingested);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_two_stores");
    TCase *tc = tcase_create ("two_stores");
    tcase_set_timeout (tc, 80);
    tcase_add_test (tc, the_pipeline_follows_the_worst_of_two_stores);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
