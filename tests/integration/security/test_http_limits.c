/*
 * HTTP request limits (common/http.c) against the real services:
 *   - a POST /control/pause with a body above 64 KiB gets 413 and does not
 *     pause the pipeline; eight slow clients holding half-sent requests open
 *     do not stop /health from answering;
 *   - lock-out: 70 connections from 127.0.0.1 that each dribble a header
 *     byte every second (activity that used to keep resetting the idle
 *     timer) do not keep /health away: from 127.0.0.2 it answers within 1 s
 *     while they hold their slots, from 127.0.0.1 within the header deadline
 *     + 1 s, and every dribbler is cut by then, not before the deadline;
 *     against md-store and md-pipeline both.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http.h"
#include "tests/integration/e2e/e2e_fixture.h"

#define DRIBBLERS 70

static void
s_start (char **dir, e2e_store_t *store, e2e_pipe_t *pipe)
{
    *dir = e2e_dir ();
    ck_assert_ptr_nonnull (*dir);
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 100;
    e2e_store_t *stores[] = { store };
    /* the store is configured (ports) but not started: only HTTP matters */
    E2E_CHECK (e2e_store_init (store, *dir, "store-a", 0, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (pipe, *dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_pipe_start (pipe, NULL) == 0, "md-pipeline did not start");
}

START_TEST (oversized_body_gets_413_and_does_nothing)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start (&dir, &store, &pipe);
    size_t n = 100 * 1024;
    char *body = malloc (n + 1);
    memset (body, 'x', n);
    body[n] = '\0';
    int status = 0;
    char *reply = h_http ("POST", pipe.http_port, "/control/pause", body, &status, 5000);
    free (reply);
    free (body);
    E2E_CHECK (status == 413, "oversized POST answered %d", status);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "the oversized request paused");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (slow_partial_requests_do_not_block_health)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start (&dir, &store, &pipe);
    int fds[8];
    const char *part = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (int i = 0; i < 8; i++) {
        fds[i] = h_raw_dial (NULL, pipe.http_port);
        E2E_CHECK (fds[i] >= 0, "cannot connect");
        E2E_CHECK (write (fds[i], part, strlen (part)) == (ssize_t)strlen (part), "write");
    }
    for (int round = 0; round < 20; round++) {
        long long t0 = h_now_ms ();
        int status = 0;
        char *reply = h_http ("GET", pipe.http_port, "/health", NULL, &status, 2000);
        free (reply);
        E2E_CHECK (status == 200 || status == 503,
                   "/health not answered (%d) while slow "
                   "clients hold requests open",
                   status);
        E2E_CHECK (h_now_ms () - t0 < 1000, "/health took %lld ms", h_now_ms () - t0);
        /* trickle one more byte on each slow request (the server may have cut
         * it by now: that is fine) */
        for (int i = 0; i < 8; i++)
            (void)!send (fds[i], "a", 1, MSG_NOSIGNAL);
    }
    for (int i = 0; i < 8; i++)
        close (fds[i]);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

/* The lock-out attempt against the HTTP server on `port`. */
static void
s_lockout (int port, const char *service)
{
    int fds[DRIBBLERS];
    const char *part = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (int i = 0; i < DRIBBLERS; i++) {
        fds[i] = h_raw_dial ("127.0.0.1", port);
        E2E_CHECK (fds[i] >= 0, "%s: cannot connect dribbler %d", service, i);
        (void)!send (fds[i], part, strlen (part), MSG_NOSIGNAL);
    }
    long long t0 = h_now_ms ();

    /* Another address gets /health at once while 127.0.0.1 holds its slots. */
    int status = h_raw_get ("127.0.0.2", port, "/health", 1000);
    long long took = h_now_ms () - t0;
    E2E_CHECK (status == 200 || status == 503, "%s: /health from 127.0.0.2 not answered (%d)",
               service, status);
    E2E_CHECK (took < 1000, "%s: /health from 127.0.0.2 took %lld ms", service, took);

    /* Dribble a byte a second on every connection still open, and ask for
     * /health from 127.0.0.1 until it answers. */
    long long answered_at = -1, next_drip = t0 + 1000;
    int open_mid = -1;
    while (h_now_ms () - t0 < (MDF_HTTP_HEADERS_S + 3) * 1000LL) {
        long long now = h_now_ms ();
        if (now >= next_drip) {
            for (int i = 0; i < DRIBBLERS; i++)
                (void)!send (fds[i], "a", 1, MSG_NOSIGNAL);
            next_drip += 1000;
        }
        if (open_mid < 0 && now - t0 >= (MDF_HTTP_HEADERS_S - 2) * 1000LL) {
            open_mid = 0; /* before the deadline: the address's quota still held */
            for (int i = 0; i < DRIBBLERS; i++)
                open_mid += !h_raw_closed (fds[i]);
        }
        if (answered_at < 0) {
            int st = h_raw_get ("127.0.0.1", port, "/health", 500);
            if (st == 200 || st == 503)
                answered_at = h_now_ms () - t0;
        }
        if (answered_at >= 0 && open_mid >= 0)
            break;
        usleep (100 * 1000);
    }
    E2E_CHECK (open_mid == MDF_HTTP_PER_IP,
               "%s: %d dribblers open before the deadline (expected the per-address %d)", service,
               open_mid, MDF_HTTP_PER_IP);
    E2E_CHECK (answered_at >= 0 && answered_at <= (MDF_HTTP_HEADERS_S + 1) * 1000LL,
               "%s: /health from 127.0.0.1 answered after %lld ms (deadline %d s)", service,
               answered_at, MDF_HTTP_HEADERS_S);

    /* By the deadline + 1 s every dribbler is gone, whatever it sent. */
    while (h_now_ms () - t0 < (MDF_HTTP_HEADERS_S + 1) * 1000LL)
        usleep (50 * 1000);
    int still = 0;
    for (int i = 0; i < DRIBBLERS; i++) {
        (void)!send (fds[i], "a", 1, MSG_NOSIGNAL);
        still += !h_raw_closed (fds[i]);
        close (fds[i]);
    }
    E2E_CHECK (still == 0, "%s: %d dribblers still connected after the deadline", service, still);
    double cut = h_scrape (port, "mdf_http_connections_dropped_total{reason=\"headers_timeout\"}");
    double refused = h_scrape (port, "mdf_http_connections_dropped_total{reason=\"limit\"}");
    E2E_CHECK (cut >= MDF_HTTP_PER_IP, "%s: %.0f cuts counted", service, cut);
    E2E_CHECK (refused >= DRIBBLERS - MDF_HTTP_PER_IP, "%s: %.0f refusals counted", service,
               refused);
}

START_TEST (dribbling_clients_do_not_lock_out_the_pipeline)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start (&dir, &store, &pipe);
    s_lockout (pipe.http_port, "md-pipeline");
    E2E_CHECK (h_log_contains (&pipe.proc, "http connection cut"), "cut not logged");
    /* no store was started: it stops with bars unacked, so exit 1 */
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 1, "md-pipeline did not stop as expected (1)");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (dribbling_clients_do_not_lock_out_the_store)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", 0, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    s_lockout (store.http_port, "md-store");
    E2E_CHECK (h_log_contains (&store.proc, "http connection cut"), "cut not logged");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_limits");
    TCase *tc = tcase_create ("limits");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, oversized_body_gets_413_and_does_nothing);
    tcase_add_test (tc, slow_partial_requests_do_not_block_health);
    tcase_add_test (tc, dribbling_clients_do_not_lock_out_the_pipeline);
    tcase_add_test (tc, dribbling_clients_do_not_lock_out_the_store);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
