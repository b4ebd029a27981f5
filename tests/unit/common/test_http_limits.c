/*
 * test_http_limits: the HTTP server's connection limits and deadlines, with
 * raw sockets from several loopback addresses (127.0.0.1 to 127.0.0.9):
 *   - a client dribbling header bytes is cut at the header deadline, one
 *     dribbling a body at the request deadline, however active they are;
 *   - one address gets MDF_HTTP_PER_IP connections, more are refused at once,
 *     and another address is still served;
 *   - with MDF_HTTP_MAX_CONN connections open, the reserve serves /health
 *     only (503 for anything else), and an idle reserved connection goes
 *     after MDF_HTTP_RESERVE_HEADERS_MS.
 * Cuts and refusals show in mdf_http_connections_dropped_total{reason}.
 */
#include "http_client.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

/* A connection to 127.0.0.1:port from loopback address `from` (h_raw_dial);
 * the test fails when it cannot be made. */
static int
s_dial_from (const char *from, int port)
{
    int fd = h_raw_dial (from, port);
    ck_assert_msg (fd >= 0, "cannot connect from %s to port %d", from, port);
    return fd;
}

/* A counter of the server's, read over a connection from 127.0.0.7 (an
 * address the tests do not fill up); NAN when absent. */
static double
s_dropped (const char *reason)
{
    int fd = s_dial_from ("127.0.0.7", mdf_http_port (ht_srv));
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq (send (fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)sizeof req - 1);
    static char buf[64 * 1024];
    size_t got = 0;
    long long end = h_now_ms () + 3000;
    while (got < sizeof buf - 1 && h_now_ms () < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv (fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close (fd);
    buf[got] = '\0';
    char series[128];
    snprintf (series, sizeof series, "mdf_http_connections_dropped_total{reason=\"%s\"}", reason);
    return h_metric (buf, series);
}

START_TEST (a_header_dribbler_is_cut_at_the_header_deadline)
{
    int port = ht_start ();
    int fd = s_dial_from ("127.0.0.1", port);
    long long t0 = h_now_ms ();
    const char part[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    ck_assert_int_eq (send (fd, part, sizeof part - 1, MSG_NOSIGNAL), (ssize_t)sizeof part - 1);
    long long cut = -1;
    while (cut < 0 && h_now_ms () - t0 < (MDF_HTTP_HEADERS_S + 3) * 1000LL) {
        (void)!send (fd, "a", 1, MSG_NOSIGNAL); /* activity, every 300 ms */
        cut = h_raw_wait_closed (fd, t0, 300);
    }
    close (fd);
    ck_assert_msg (cut >= MDF_HTTP_HEADERS_S * 1000LL - 50
                       && cut <= (MDF_HTTP_HEADERS_S + 2) * 1000LL,
                   "cut after %lld ms", cut);
    ck_assert_double_eq (s_dropped ("headers_timeout"), 1);
}
END_TEST

START_TEST (a_body_dribbler_is_cut_at_the_request_deadline)
{
    int port = ht_start ();
    int fd = s_dial_from ("127.0.0.1", port);
    long long t0 = h_now_ms ();
    const char head[] = "POST /control/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    ck_assert_int_eq (send (fd, head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)sizeof head - 1);
    long long cut = -1;
    while (cut < 0 && h_now_ms () - t0 < (MDF_HTTP_REQUEST_S + 3) * 1000LL) {
        (void)!send (fd, "x", 1, MSG_NOSIGNAL);
        cut = h_raw_wait_closed (fd, t0, 500);
    }
    close (fd);
    ck_assert_msg (cut >= MDF_HTTP_REQUEST_S * 1000LL - 50
                       && cut <= (MDF_HTTP_REQUEST_S + 2) * 1000LL,
                   "cut after %lld ms", cut);
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_double_eq (s_dropped ("request_timeout"), 1);
    ck_assert_double_eq (s_dropped ("headers_timeout"), 0);
}
END_TEST

START_TEST (one_address_gets_its_quota_and_no_more)
{
    int port = ht_start ();
    int fds[MDF_HTTP_PER_IP];
    for (int i = 0; i < MDF_HTTP_PER_IP; i++)
        fds[i] = s_dial_from ("127.0.0.1", port);
    int extra = s_dial_from ("127.0.0.1", port);
    ck_assert_msg (h_raw_wait_closed (extra, h_now_ms (), 1000) >= 0,
                   "connection %d from one address not refused", MDF_HTTP_PER_IP + 1);
    close (extra);
    ck_assert_int_eq (h_raw_get ("127.0.0.2", port, "/health", 3000), 200);
    for (int i = 0; i < MDF_HTTP_PER_IP; i++) {
        ck_assert_msg (!h_raw_closed (fds[i]), "connection %d was dropped", i);
        close (fds[i]);
    }
    ck_assert_double_ge (s_dropped ("limit"), 1);
}
END_TEST

START_TEST (the_reserve_serves_health_only)
{
    int port = ht_start ();
    int fds[MDF_HTTP_MAX_CONN];
    char from[16];
    /* MDF_HTTP_MAX_CONN idle connections, a full quota from each address */
    for (int i = 0; i < MDF_HTTP_MAX_CONN; i++) {
        snprintf (from, sizeof from, "127.0.0.%d", 1 + i / MDF_HTTP_PER_IP);
        fds[i] = s_dial_from (from, port);
    }
    /* the server accepts in arrival order: the next connection is beyond
     * MDF_HTTP_MAX_CONN, in the reserve */
    ck_assert_int_eq (h_raw_get ("127.0.0.8", port, "/metrics", 3000), 503);
    ck_assert_int_eq (h_raw_get ("127.0.0.8", port, "/health", 3000), 200);
    /* an idle reserved connection goes after MDF_HTTP_RESERVE_HEADERS_MS */
    int idle = s_dial_from ("127.0.0.9", port);
    long long t0 = h_now_ms ();
    long long cut = h_raw_wait_closed (idle, t0, MDF_HTTP_RESERVE_HEADERS_MS + 2000);
    close (idle);
    ck_assert_msg (cut >= MDF_HTTP_RESERVE_HEADERS_MS - 50
                       && cut <= MDF_HTTP_RESERVE_HEADERS_MS + 1500,
                   "idle reserved connection cut after %lld ms", cut);
    for (int i = 0; i < MDF_HTTP_MAX_CONN; i++)
        close (fds[i]);
    /* room again: /metrics is served (retry while the server sees the closes) */
    long long end = h_now_ms () + 3000;
    int status = -1;
    while (status != 200 && h_now_ms () < end)
        if ((status = h_raw_get ("127.0.0.8", port, "/metrics", 3000)) != 200)
            usleep (20 * 1000);
    ck_assert_int_eq (status, 200);
    ck_assert_double_ge (s_dropped ("busy"), 1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_limits");
    TCase *limits = tcase_create ("limits");
    tcase_set_timeout (limits, 60);
    tcase_add_checked_fixture (limits, ht_setup, ht_teardown);
    tcase_add_test (limits, a_header_dribbler_is_cut_at_the_header_deadline);
    tcase_add_test (limits, a_body_dribbler_is_cut_at_the_request_deadline);
    tcase_add_test (limits, one_address_gets_its_quota_and_no_more);
    tcase_add_test (limits, the_reserve_serves_health_only);
    suite_add_tcase (s, limits);
    return h_run_suite (s);
}
