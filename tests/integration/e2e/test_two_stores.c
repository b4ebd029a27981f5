/*
 * Two stores, one pipeline: it routes around a store at HARD, follows the
 * aggregate headroom rather than the worst store, forgets a store that went
 * silent, and takes it back when it returns.
 *
 * Store A has a healthy sink and sends a heartbeat every 100 ms (level ok).
 * Store B's sink cannot open its database (the path is a directory), so B's
 * queue fills to the high watermark and stays HARD.
 * Phase 1: while B is HARD, it gets no new batch (its queue does not move)
 * and A takes every bar: the pipeline's rate stays up although the worst
 * level it reports is HARD.
 * Phase 2: B is killed; after stale_after_ms it is stale (the failsafe level
 * for it alone), after forget_after_ms it is forgotten: no longer counted,
 * failsafe off, A still taking bars.
 * Phase 3: B starts again with a working sink; it is a member again and takes
 * bars.  Finally every bar produced is in exactly one of the two databases
 * (B's unacked batches were resent after their ack timeout).
 */
#include <check.h>
#include <math.h>
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
    double b_depth, a_written_first, a_written_last;
} s_follow_t;

/* One sample of phase 1: B hard with its queue unchanged, A ok (and A
 * taking bars, checked over the whole window). */
static bool
s_sample (void *arg)
{
    s_follow_t *f = arg;
    double a_ok = h_scrape (f->a_port, "coordinator_backpressure_ok");
    double b_hard = h_scrape (f->b_port, "coordinator_backpressure_hard");
    double b_depth = h_scrape (f->b_port, "coordinator_queue_depth");
    double a_written = h_scrape (f->a_port, "mds_bars_written_total");
    if (f->samples++ == 0) {
        f->b_depth = b_depth;
        f->a_written_first = a_written;
    }
    f->a_written_last = a_written;
    if (a_ok != 1 || b_hard != 1 || b_depth != f->b_depth)
        f->bad++;
    return false; /* sample until the deadline */
}

/* `mdctl send` 1,200 bars to B in the background: B's broken sink keeps
 * them queued (one batch: it waits for each ack), past the high watermark. */
static int
s_fill (h_proc_t *proc, const char *dir, int port)
{
    char *csv = h_strf ("%s/fill.csv", dir);
    FILE *f = fopen (csv, "w");
    if (!f)
        return -1;
    fprintf (f, "symbol,ts,open,high,low,close,volume\n");
    for (int i = 0; i < 1200; i++)
        fprintf (f, "FILL,%d,1,2,0.5,1.5,10\n", 1700000000 + i);
    fclose (f);
    char *mdctl = h_build_path ("tools/mdctl");
    char *ep = h_strf ("tcp://127.0.0.1:%d", port);
    char *log = h_strf ("%s/fill.log", dir);
    char *argv[] = { mdctl, "send", ep, csv, "--batch", "1200", "--timeout-ms", "60000", NULL };
    int rc = h_spawn (proc, argv, NULL, log);
    free (log);
    free (ep);
    free (mdctl);
    free (csv);
    return rc;
}

static bool
s_b_forgotten (void *arg)
{
    int port = *(int *)arg;
    /* forgotten: a candidate again, no failsafe, and no queue depth left
     * behind in /metrics */
    return h_scrape (port, "mdp_stores{state=\"candidate\"}") == 1
           && h_scrape (port, "mdp_feedback_failsafe") == 0
           && isnan (h_scrape (port, "pipeline_feedback_queue_depth{source=\"store-b\"}"));
}

static bool
s_b_member (void *arg)
{
    return h_scrape (*(int *)arg, "mdp_stores{state=\"live\"}") == 2;
}

START_TEST (the_pipeline_routes_around_a_hard_store_and_forgets_a_dead_one)
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
    /* fill B to HARD before the pipeline starts (the pipeline itself would
     * not: it sends to the store with the most headroom, A) */
    h_proc_t filler;
    E2E_CHECK (s_fill (&filler, dir, b.ingest_port) == 0, "mdctl send did not start");
    double hard = h_wait_metric_ge (b.http_port, "coordinator_backpressure_hard", 1, 15000);
    E2E_CHECK (hard == 1, "store B never went HARD");
    h_stop (&filler, 2000);
    char *env[] = { "MDP_FEEDBACK_FORGET_AFTER_MS=2000", NULL };
    E2E_CHECK (e2e_pipe_start (&pipe, env) == 0, "md-pipeline did not start");

    double state = h_wait_metric_ge (pipe.http_port, "pipeline_backpressure_state", 2, 5000);
    E2E_CHECK (state == 2, "the pipeline does not report B's HARD as its worst level (%.0f)",
               state);
    s_follow_t f = { pipe.http_port, a.http_port, b.http_port, 0, 0, 0, 0, 0 };
    h_wait_until (s_sample, &f, 1500);
    fprintf (stderr,
             "two stores: %d samples, %d not (A ok, B hard and its queue still); "
             "A wrote %.0f bars meanwhile\n",
             f.samples, f.bad, f.a_written_last - f.a_written_first);
    E2E_CHECK (f.samples >= 5 && f.bad == 0, "%d of %d samples broke A ok/B hard and still", f.bad,
               f.samples);
    E2E_CHECK (f.a_written_last - f.a_written_first >= 1000, "A took %.0f bars while B was HARD",
               f.a_written_last - f.a_written_first);

    E2E_CHECK (e2e_store_kill (&b) == 128 + 9, "store B did not die of SIGKILL");
    E2E_CHECK (h_wait_metric_ge (pipe.http_port, "mdp_feedback_stale_coordinators", 1, 5000) == 1,
               "B never counted as stale");
    E2E_CHECK (h_wait_until (s_b_forgotten, &pipe.http_port, 5000) == 0,
               "B was not forgotten after forget_after_ms (2 s)");
    double a_before = h_scrape (a.http_port, "mds_bars_written_total");
    E2E_CHECK (h_wait_metric_ge (a.http_port, "mds_bars_written_total", a_before + 1000, 5000)
                   >= a_before + 1000,
               "A stopped taking bars without B");

    /* B comes back with a working sink: a member again, and it takes bars. */
    E2E_CHECK (rmdir (b.db) == 0, "cannot remove the directory in B's database path");
    E2E_CHECK (e2e_store_start (&b, NULL) == 0, "md-store B did not start again");
    E2E_CHECK (h_wait_until (s_b_member, &pipe.http_port, 5000) == 0,
               "B did not become a member again");
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
    long rows_a = h_db_rows (a.db), rows_b = h_db_rows (b.db);
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
    tcase_add_test (tc, the_pipeline_routes_around_a_hard_store_and_forgets_a_dead_one);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
