/*
 * md-pipeline's delivery guarantees against a stand-in store: a dropped ack is
 * resent, "retry" answers are resent after a backoff, a store restart loses no
 * bar, a store that stops acking bounds the in-flight window, a pause drains
 * to inflight 0 with acked == ingested, the csv provider replays a file, and
 * SIGTERM exits 0 only when every bar was acked: 1, naming how many batches
 * and bars were not, when the drain timeout ran out first.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define INGESTED "mdp_bars_ingested_total{provider=\"syn\"}"
#define ACKED "mdp_bars_acked_total{provider=\"syn\"}"
#define INFLIGHT "mdp_batches_inflight"
#define RESENT_TIMEOUT "mdp_batches_resent_total{reason=\"timeout\"}"
#define RESENT_RETRY "mdp_batches_resent_total{reason=\"retry\"}"

/* Pause, wait for the window to empty, and check acked == ingested; returns
 * the ingested count. */
static double
s_pause_and_settle (fx_t *fx)
{
    ck_assert_int_eq (fx_post (fx, "/control/pause"), 200);
    ck_assert (fx_wait_metric (fx, INFLIGHT, 0, 0, 5000));
    double ingested = fx_metric (fx, INGESTED);
    double acked = fx_metric (fx, ACKED);
    if (ingested != acked)
        h_dump_log (&fx->proc);
    ck_assert_msg (ingested > 0 && ingested == acked, "ingested %.0f acked %.0f", ingested, acked);
    return ingested;
}

START_TEST (a_dropped_ack_is_resent_and_nothing_is_lost)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 100, 5000), 100);
    standin_set_mode (fx.store, STANDIN_DROP, 2);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, RESENT_TIMEOUT, 1, 5000), 1);
    double ingested = s_pause_and_settle (&fx);
    ck_assert_int_eq ((long)ingested, standin_distinct (fx.store));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (retry_answers_are_resent_after_a_backoff)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 100, 5000), 100);
    standin_set_mode (fx.store, STANDIN_RETRY, 5);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, RESENT_RETRY, 1, 5000), 1);
    double ingested = s_pause_and_settle (&fx);
    ck_assert_int_eq ((long)ingested, standin_distinct (fx.store));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (no_bar_is_lost_when_the_store_restarts)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 200, 5000), 200);
    standin_set_mode (fx.store, STANDIN_MUTE, 0); /* bars in flight when it dies */
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, INFLIGHT, 2, 5000), 2);
    ck_assert_int_eq (standin_restart (fx.store), 0);
    standin_set_mode (fx.store, STANDIN_ACK, 0);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, "mdp_feedback_restarts_total", 1, 5000),
                         1);
    double before = fx_metric (&fx, ACKED);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, before + 200, 5000), before + 200);
    double ingested = s_pause_and_settle (&fx);
    ck_assert_int_eq ((long)ingested, standin_distinct (fx.store));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (in_flight_stays_bounded_when_the_store_stops_acking)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 100, 5000), 100);
    standin_set_mode (fx.store, STANDIN_MUTE, 0);
    /* max_inflight = 4 sealed batches, plus the provider's full open one. */
    ck_assert (fx_wait_metric (&fx, INFLIGHT, 5, 0, 5000));
    double ingested = fx_metric (&fx, INGESTED);
    /* Two rounds of timeouts later (ack_timeout 300 ms) the window has not
     * grown, and at most the rest of the open batch (batch_max 100) was
     * taken in: the provider is blocked. */
    double resent = fx_metric (&fx, RESENT_TIMEOUT);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, RESENT_TIMEOUT, resent + 8, 5000),
                         resent + 8);
    ck_assert_double_eq (fx_metric (&fx, INFLIGHT), 5);
    ck_assert_double_le (fx_metric (&fx, INGESTED), ingested + 100);
    standin_set_mode (fx.store, STANDIN_ACK, 0);
    double settled = s_pause_and_settle (&fx);
    ck_assert_int_eq ((long)settled, standin_distinct (fx.store));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (pause_drains_then_resume_continues)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 100, 5000), 100);
    double paused_at = s_pause_and_settle (&fx);
    ck_assert_double_eq (fx_metric (&fx, "mdp_paused"), 1);
    int status = 0;
    char *health = h_http ("GET", fx.http_port, "/health", NULL, &status, 2000);
    ck_assert_int_eq (status, 200);
    ck_assert_ptr_nonnull (strstr (health, "\"paused\":true"));
    ck_assert_ptr_nonnull (strstr (health, "\"providers\""));
    ck_assert_ptr_nonnull (strstr (health, "\"feedback\""));
    ck_assert_ptr_nonnull (strstr (health, "\"sender\""));
    free (health);
    ck_assert_int_eq (fx_post (&fx, "/control/resume"), 200);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, paused_at + 100, 5000),
                         paused_at + 100);
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (csv_provider_replays_the_file_and_skips_bad_rows)
{
    char *sample = h_source_path ("pipeline/sample.csv");
    char *dir = h_tmpdir ();
    char *bad = h_write_file (dir, "bad.csv",
                              "symbol,ts,open,high,low,close,volume\n"
                              "X,1795185000,1,2,0.5,1.5,1\n"
                              "X,not-a-time,1,2,0.5,1.5,1\n"
                              "X,1795185001,1,2,0.5,1.5,1\n");
    char *providers = h_strf ("[[providers]]\nname = \"csv\"\ntype = \"csv\"\npath = \"%s\"\n"
                              "refill_rate = 1000\ncapacity = 10\n\n"
                              "[[providers]]\nname = \"bad\"\ntype = \"csv\"\npath = \"%s\"\n",
                              sample, bad);
    fx_t fx;
    fx_start (&fx, NULL, NULL, providers, NULL);
    ck_assert (fx_wait_metric (&fx, "mdp_bars_acked_total{provider=\"csv\"}", 8, 0, 5000));
    ck_assert (fx_wait_metric (&fx, "mdp_bars_acked_total{provider=\"bad\"}", 2, 0, 5000));
    ck_assert_double_eq (fx_metric (&fx, "mdp_csv_bad_rows_total{provider=\"bad\"}"), 1);
    ck_assert (h_log_contains (&fx.proc, "line=3"));
    ck_assert (fx_wait_metric (&fx, "mdp_provider_state{provider=\"csv\"}", 3, 0, 2000)); /* done */
    ck_assert_int_eq (standin_distinct (fx.store), 10);
    ck_assert_int_eq (fx_stop (&fx), 0);
    h_rmtree (dir);
    free (dir);
    free (bad);
    free (providers);
    free (sample);
}
END_TEST

START_TEST (a_missing_csv_file_cools_down_then_opens_the_breaker)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL,
              "[[providers]]\nname = \"gone\"\ntype = \"csv\"\npath = \"/nonexistent.csv\"\n"
              "cooldown_ms = 20\nbreaker_threshold = 3\nbreaker_timeout_ms = 60000\n",
              NULL);
    ck_assert (fx_wait_metric (&fx, "mdp_provider_state{provider=\"gone\"}", 2, 0, 5000));
    ck_assert_double_eq (fx_metric (&fx, "mdp_provider_errors_total{provider=\"gone\"}"), 3);
    int status = 0;
    char *health = h_http ("GET", fx.http_port, "/health", NULL, &status, 2000);
    ck_assert_ptr_nonnull (strstr (health, "breaker_open"));
    free (health);
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (sigterm_sends_what_is_batched_and_exits_0)
{
    fx_t fx;
    /* A long linger keeps bars in open batches until the stop flushes them. */
    fx_start (&fx,
              "batch_max = 100000\nlinger_ms = 60000\nmax_inflight = 4\nack_timeout_ms = 300\n"
              "drain_timeout_ms = 5000",
              NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, INGESTED, 300, 5000), 300);
    ck_assert_int_eq (standin_distinct (fx.store), 0); /* all still batched */
    ck_assert_int_eq (fx_post (&fx, "/control/pause"), 200);
    double ingested = fx_metric (&fx, INGESTED);
    int rc = h_stop (&fx.proc, 8000);
    ck_assert_int_eq (rc, 0);
    ck_assert_int_eq (standin_distinct (fx.store), (long)ingested);
    fx.proc.pid = 0;
    fx_stop (&fx);
}
END_TEST

/* Unacked bars (ingested - acked) unchanged for 300 ms: the provider is
 * blocked on a full window. */
typedef struct {
    fx_t *fx;
    double unacked;
    long long since_ms;
} s_settled_t;

static bool
s_unacked_settled (void *arg)
{
    s_settled_t *u = arg;
    double now = fx_metric (u->fx, INGESTED) - fx_metric (u->fx, ACKED);
    if (now != u->unacked) {
        u->unacked = now;
        u->since_ms = h_now_ms ();
        return false;
    }
    return h_now_ms () - u->since_ms >= 300;
}

START_TEST (sigterm_with_a_dead_store_gives_up_after_the_drain_timeout_and_exits_1)
{
    fx_t fx;
    fx_start (&fx,
              "batch_max = 100\nlinger_ms = 5\nmax_inflight = 4\nack_timeout_ms = 300\n"
              "drain_timeout_ms = 500",
              NULL, NULL, NULL);
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, ACKED, 100, 5000), 100);
    standin_set_mode (fx.store, STANDIN_MUTE, 0);
    /* The window (4 sealed batches) and the provider's open batch fill up
     * and the provider blocks. */
    ck_assert (fx_wait_metric (&fx, INFLIGHT, 5, 0, 5000));
    s_settled_t u = { &fx, -1, 0 };
    ck_assert (h_wait_until (s_unacked_settled, &u, 5000) == 0);
    ck_assert_double_gt (u.unacked, 0);
    long long t0 = h_now_ms ();
    int rc = h_stop (&fx.proc, 8000);
    if (rc != 1)
        h_dump_log (&fx.proc);
    ck_assert_int_eq (rc, 1);
    ck_assert_int_lt (h_now_ms () - t0, 4000);
    char *counts = h_strf ("batches=5 bars=%.0f", u.unacked);
    if (!h_log_contains (&fx.proc, "stopping with unacked batches")
        || !h_log_contains (&fx.proc, counts))
        h_dump_log (&fx.proc);
    ck_assert_msg (h_log_contains (&fx.proc, "stopping with unacked batches"), "no unacked log");
    ck_assert_msg (h_log_contains (&fx.proc, counts), "log lacks '%s'", counts);
    free (counts);
    fx.proc.pid = 0;
    fx_stop (&fx);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("pipeline_delivery");
    TCase *tc = tcase_create ("delivery");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, a_dropped_ack_is_resent_and_nothing_is_lost);
    tcase_add_test (tc, retry_answers_are_resent_after_a_backoff);
    tcase_add_test (tc, no_bar_is_lost_when_the_store_restarts);
    tcase_add_test (tc, in_flight_stays_bounded_when_the_store_stops_acking);
    tcase_add_test (tc, pause_drains_then_resume_continues);
    tcase_add_test (tc, csv_provider_replays_the_file_and_skips_bad_rows);
    tcase_add_test (tc, a_missing_csv_file_cools_down_then_opens_the_breaker);
    tcase_add_test (tc, sigterm_sends_what_is_batched_and_exits_0);
    tcase_add_test (tc, sigterm_with_a_dead_store_gives_up_after_the_drain_timeout_and_exits_1);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
