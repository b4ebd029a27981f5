/*
 * sink_ping for PostgreSQL without a PostgreSQL: a closed port fails at once
 * naming the connect, and a server that accepts the connection but never
 * answers fails after the timeout instead of blocking the pinger (and with
 * it the store's shutdown).  The null sink is always reachable.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/sink.h"
#include "tests/integration/harness.h"

static long long
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP socket listening on 127.0.0.1 that nobody accepts on: the kernel
 * completes the handshake, nothing ever answers.  Returns the fd; *port. */
static int
s_silent_server (int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq (bind (fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq (listen (fd, 8), 0);
    ck_assert_int_eq (getsockname (fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs (a.sin_port);
    return fd;
}

static sink_t *
s_pg_sink (int port)
{
    char conninfo[128], err[256];
    snprintf (conninfo, sizeof conninfo,
              "host=127.0.0.1 port=%d user=nobody dbname=nothing connect_timeout=60", port);
    sink_config_t cfg = { "postgres", NULL, conninfo, "bars", NULL };
    sink_t *sink = sink_new (&cfg, err, sizeof err);
    ck_assert_msg (sink != NULL, "%s", err);
    return sink;
}

START_TEST (postgres_ping_on_a_closed_port_fails_at_once)
{
    int port;
    int fd = s_silent_server (&port);
    close (fd); /* now nothing listens there */
    sink_t *sink = s_pg_sink (port);
    char err[512] = "";
    long long t0 = s_now_ms ();
    ck_assert_int_eq (sink_ping (sink, 10000, err, sizeof err), -1);
    ck_assert_int_lt (s_now_ms () - t0, 5000); /* refused, not timed out */
    ck_assert_msg (strstr (err, "postgres connect") != NULL, "%s", err);
    sink_destroy (&sink);
}
END_TEST

START_TEST (postgres_ping_to_a_silent_server_gives_up_after_the_timeout)
{
    int port;
    int fd = s_silent_server (&port);
    sink_t *sink = s_pg_sink (port); /* its connect_timeout (60 s) is not what bounds a ping */
    char err[512] = "";
    long long t0 = s_now_ms ();
    ck_assert_int_eq (sink_ping (sink, 300, err, sizeof err), -1);
    long long took = s_now_ms () - t0;
    ck_assert_int_ge (took, 250);
    ck_assert_int_lt (took, 5000); /* not the 60 s of connect_timeout */
    ck_assert_msg (strstr (err, "within 300 ms") != NULL, "%s", err);
    sink_destroy (&sink);
    close (fd);
}
END_TEST

START_TEST (a_pinged_postgres_sink_is_not_used_for_writes)
{
    int port;
    int fd = s_silent_server (&port);
    close (fd);
    sink_t *sink = s_pg_sink (port);
    char err[512] = "";
    ck_assert_int_eq (sink_ping (sink, 300, err, sizeof err), -1);
    mdf_batch_t b = { 0 };
    const mdf_batch_t *one[] = { &b };
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "pings only") != NULL, "%s", err);
    sink_destroy (&sink);
}
END_TEST

START_TEST (the_null_sink_is_always_reachable)
{
    sink_config_t cfg = { "null", NULL, NULL, NULL, NULL };
    char err[256] = "";
    sink_t *sink = sink_new (&cfg, err, sizeof err);
    ck_assert_int_eq (sink_ping (sink, 100, err, sizeof err), 0);
    ck_assert_int_eq (sink_check (sink, err, sizeof err), 0);
    sink_destroy (&sink);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sink_ping");
    TCase *tc = tcase_create ("ping");
    tcase_add_test (tc, postgres_ping_on_a_closed_port_fails_at_once);
    tcase_add_test (tc, postgres_ping_to_a_silent_server_gives_up_after_the_timeout);
    tcase_add_test (tc, a_pinged_postgres_sink_is_not_used_for_writes);
    tcase_add_test (tc, the_null_sink_is_always_reachable);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
