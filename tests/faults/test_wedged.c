/*
 * A wedged sender: md-pipeline's sender thread alone is frozen (ptrace
 * PTRACE_INTERRUPT on the thread named "mdp-sender"; the rest of the process,
 * the HTTP server included, keeps running), as a deadlock or a call that never
 * returns would leave it.  /health/live must stay 200 through a short stall
 * and turn 503 "sender wedged" once the loop has not turned for 10 s, so a
 * liveness probe restarts the pipeline; /health says "wedged".  When the
 * thread runs again the pipeline is live at once, acks resume, and after a
 * pause every bar produced is a row: zero loss.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define WEDGED_MS 10000 /* APP_WEDGED_MS in pipeline/app.c */

/* The thread id of pid's thread called `name`, or -1. */
static pid_t
s_thread (pid_t pid, const char *name)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir (path);
    pid_t found = -1;
    struct dirent *e;
    while (d && found < 0 && (e = readdir (d))) {
        char comm_path[400], comm[32] = "";
        snprintf (comm_path, sizeof comm_path, "%s/%s/comm", path, e->d_name);
        FILE *f = fopen (comm_path, "r");
        if (f && fgets (comm, sizeof comm, f)) {
            comm[strcspn (comm, "\n")] = '\0';
            if (strcmp (comm, name) == 0)
                found = (pid_t)atoi (e->d_name);
        }
        if (f)
            fclose (f);
    }
    if (d)
        closedir (d);
    return found;
}

/* GET path: the status, and the body into buf. */
static int
s_get (int port, const char *path, char *buf, size_t size)
{
    int status = 0;
    char *text = h_http ("GET", port, path, NULL, &status, 1000);
    snprintf (buf, size, "%s", text ? text : "");
    free (text);
    return status;
}

START_TEST (a_wedged_sender_makes_the_pipeline_not_live_and_loses_nothing)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 5000;
    o.max_inflight = 8;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", 0, 200, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");
    double acked = h_wait_metric_ge (pipe.http_port, "mdp_bars_acked_total", 2000, 10000);
    E2E_CHECK (acked >= 2000, "only %.0f bars acked before the fault", acked);
    char body[2048];
    E2E_CHECK (s_get (pipe.http_port, "/health/live", body, sizeof body) == 200,
               "not live before the fault: %s", body);

    pid_t tid = s_thread (pipe.proc.pid, "mdp-sender");
    E2E_CHECK (tid > 0, "no thread named mdp-sender in md-pipeline %d", (int)pipe.proc.pid);
    E2E_CHECK (ptrace (PTRACE_SEIZE, tid, NULL, NULL) == 0, "PTRACE_SEIZE: %s", strerror (errno));
    E2E_CHECK (ptrace (PTRACE_INTERRUPT, tid, NULL, NULL) == 0, "PTRACE_INTERRUPT: %s",
               strerror (errno));
    int ws = 0;
    E2E_CHECK (waitpid (tid, &ws, __WALL) == tid && WIFSTOPPED (ws), "the sender did not stop");
    long long t_stop = h_now_ms ();

    /* a stall shorter than the limit is not a reason to restart */
    while (h_now_ms () - t_stop < WEDGED_MS - 2000) {
        E2E_CHECK (s_get (pipe.http_port, "/health/live", body, sizeof body) == 200,
                   "not live %lld ms into the stall: %s", h_now_ms () - t_stop, body);
        h_sleep_ms (250);
    }
    int status = 0;
    while ((status = s_get (pipe.http_port, "/health/live", body, sizeof body)) == 200
           && h_now_ms () - t_stop < WEDGED_MS + 3000)
        h_sleep_ms (100);
    long long t_dead = h_now_ms () - t_stop;
    E2E_CHECK (status == 503 && strstr (body, "\"sender wedged\""),
               "after %lld ms: /health/live %d %s", t_dead, status, body);
    E2E_CHECK (t_dead >= WEDGED_MS - 100, "not live after only %lld ms", t_dead);
    E2E_CHECK (s_get (pipe.http_port, "/health", body, sizeof body) == 503
                   && strstr (body, "\"state\":\"wedged\""),
               "/health while wedged: %s", body);
    double acked_frozen = h_scrape (pipe.http_port, "mdp_bars_acked_total");

    E2E_CHECK (ptrace (PTRACE_DETACH, tid, NULL, NULL) == 0, "PTRACE_DETACH: %s", strerror (errno));
    long long t_cont = h_now_ms ();
    while ((status = s_get (pipe.http_port, "/health/live", body, sizeof body)) != 200
           && h_now_ms () - t_cont < 2000)
        h_sleep_ms (20);
    E2E_CHECK (status == 200, "not live again 2 s after the sender ran again: %s", body);
    double more
        = h_wait_metric_ge (pipe.http_port, "mdp_bars_acked_total", acked_frozen + 5000, 15000);
    E2E_CHECK (more >= acked_frozen + 5000, "acks did not resume (%.0f then %.0f)", acked_frozen,
               more);
    char detail[64];
    snprintf (detail, sizeof detail, "not live after %lld ms", t_dead);
    e2e_finish_without_loss ("wedged", detail, &pipe, &store, NULL, NULL, &dir);
}
END_TEST

/* Whether this process may ptrace a child of its own (a seccomp profile or
 * Yama can forbid it): the test is skipped (77) when it may not. */
static bool
s_ptrace_allowed (void)
{
    pid_t child = fork ();
    if (child == 0) {
        pause ();
        _exit (0);
    }
    if (child < 0)
        return false;
    bool ok = ptrace (PTRACE_SEIZE, child, NULL, NULL) == 0;
    if (!ok)
        fprintf (stderr, "faults_wedged: skipped, ptrace is not permitted here: %s\n",
                 strerror (errno));
    kill (child, SIGKILL);
    waitpid (child, NULL, 0);
    return ok;
}

int
main (void)
{
    if (!s_ptrace_allowed ())
        return 77;
    Suite *s = suite_create ("faults_wedged");
    TCase *tc = tcase_create ("wedged");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, a_wedged_sender_makes_the_pipeline_not_live_and_loses_nothing);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
