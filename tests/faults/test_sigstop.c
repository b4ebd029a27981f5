/*
 * SIGSTOP of the store: md-store (SQLite sink) is frozen for 5 s under load
 * and then continued.  A frozen store publishes no heartbeat, so the pipeline
 * must count it as the failsafe level (soft: scale 0.5) once stale_after_ms
 * has passed since the last event it heard, and not much later; its window
 * of unacked batches stays bounded meanwhile.  After SIGCONT the store
 * answers the batches that waited in its sockets, heartbeats resume, the
 * pipeline returns to OK (scale 1.0) and bars keep being acked.  After a
 * pause and the last acks, rows == mdp_bars_ingested_total: zero loss.
 * Probes: the pipeline stays live and ready while its store is frozen (a
 * restart would not help it), and the store is ready again after SIGCONT.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define STALE_MS 1000
#define HEARTBEAT_MS 200
#define STOP_MS 5000
#define MAX_INFLIGHT 8
#define STATE "pipeline_backpressure_state{provider=\"syn\"}"
#define SCALE "pipeline_rate_scale_factor{provider=\"syn\"}"

typedef struct {
    int port;
    double want_state, want_scale, max_inflight;
} s_level_t;

/* The HTTP status of GET path (0 when nothing answers). */
static int
s_status (int port, const char *path)
{
    int status = 0;
    free (h_http ("GET", port, path, NULL, &status, 1000));
    return status;
}

/* True once the pipeline reports the wanted level and scale. */
static bool
s_at_level (void *arg)
{
    s_level_t *l = arg;
    int status = 0;
    char *text = h_http ("GET", l->port, "/metrics", NULL, &status, 1000);
    bool ok = false;
    if (text && status == 200) {
        double inflight = h_metric (text, "mdp_batches_inflight");
        if (inflight > l->max_inflight)
            l->max_inflight = inflight;
        ok = h_metric (text, STATE) == l->want_state && h_metric (text, SCALE) == l->want_scale;
    }
    free (text);
    return ok;
}

START_TEST (sigstop_of_the_store_means_failsafe_then_recovery_and_no_loss)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 5000;
    o.max_inflight = MAX_INFLIGHT;
    o.ack_timeout_ms = 1000;
    o.stale_after_ms = STALE_MS;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", 0, HEARTBEAT_MS, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");

    s_level_t ok = { pipe.http_port, 0, 1.0, 0 };
    E2E_CHECK (h_wait_until (s_at_level, &ok, 10000) == 0, "the pipeline never reached OK");
    double acked = h_wait_metric_ge (pipe.http_port, "mdp_bars_acked_total", 2000, 10000);
    E2E_CHECK (acked >= 2000, "only %.0f bars acked before the fault", acked);

    h_signal (&store.proc, SIGSTOP);
    long long t_stop = h_now_ms ();
    s_level_t fs = { pipe.http_port, 1, 0.5, 0 };
    E2E_CHECK (h_wait_until (s_at_level, &fs, STOP_MS) == 0,
               "no failsafe (soft, 0.5) within %d ms of SIGSTOP", STOP_MS);
    long long t_failsafe = h_now_ms () - t_stop;
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_feedback_failsafe") == 1, "failsafe gauge not 1");
    /* the last heartbeat came at most HEARTBEAT_MS before the stop */
    E2E_CHECK (t_failsafe >= STALE_MS - HEARTBEAT_MS - 100 && t_failsafe <= STALE_MS + 400,
               "failsafe after %lld ms, stale_after_ms is %d", t_failsafe, STALE_MS);
    /* stay frozen for the rest of the 5 s, watching the window stay bounded */
    while (h_now_ms () - t_stop < STOP_MS) {
        E2E_CHECK (s_at_level (&fs), "left failsafe while the store was stopped");
        E2E_CHECK (fs.max_inflight <= MAX_INFLIGHT + 1, "%.0f batches in flight, window is %d",
                   fs.max_inflight, MAX_INFLIGHT);
        E2E_CHECK (s_status (pipe.http_port, "/health/live") == 200
                       && s_status (pipe.http_port, "/health/ready") == 200,
                   "the pipeline is not live and ready while its store is stopped");
    }
    double acked_at_cont = h_scrape (pipe.http_port, "mdp_bars_acked_total");
    h_signal (&store.proc, SIGCONT);

    E2E_CHECK (h_wait_until (s_at_level, &ok, 10000) == 0, "no return to OK after SIGCONT");
    E2E_CHECK (s_status (store.http_port, "/health/ready") == 200
                   && s_status (store.http_port, "/health/live") == 200,
               "the store is not live and ready after SIGCONT");
    double more
        = h_wait_metric_ge (pipe.http_port, "mdp_bars_acked_total", acked_at_cont + 5000, 15000);
    E2E_CHECK (more >= acked_at_cont + 5000, "acks did not resume (%.0f then %.0f)", acked_at_cont,
               more);
    char detail[128];
    snprintf (detail, sizeof detail, "failsafe after %lld ms (stale_after_ms %d)", t_failsafe,
              STALE_MS);
    e2e_finish_without_loss ("sigstop", detail, &pipe, &store, NULL, NULL, &dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("faults_sigstop");
    TCase *tc = tcase_create ("sigstop");
    tcase_set_timeout (tc, 55);
    tcase_add_test (tc, sigstop_of_the_store_means_failsafe_then_recovery_and_no_loss);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
