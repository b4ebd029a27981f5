/*
 * md-store's liveness and readiness (GET /health/live, /health/ready).
 *
 * A store whose PostgreSQL is not there (a closed port) is live but not
 * ready from its first seconds on, /health says why, nothing is acked; when
 * the server appears the store turns ready by itself and commits what it
 * holds.  Before the fix it answered /health 200 with sink "ok" until a batch
 * had failed five times.  A SQLite store is ready as soon as it answers, and
 * not ready (still live) while it drains after SIGTERM.
 *
 * Skips (exit 77) when no PostgreSQL server can be started.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_server.h"
#include "store_fixture.h"

static pg_server_t s_pg;

START_TEST (without_its_postgres_the_store_is_live_but_not_ready_until_it_appears)
{
    ck_assert_int_eq (pg_server_halt (&s_pg), 0); /* nothing listens on the port now */
    char *extra = h_strf ("[sink]\ntype = \"postgres\"\nconninfo = \"%s\"\n"
                          "[workers]\nretry_max_ms = 500\nbreaker_cooldown_ms = 500\n",
                          s_pg.conninfo);
    long long t0 = h_now_ms ();
    MDS_START (0, extra, NULL);
    free (extra);
    char *body = mds_wait_status (mds_cur.http_port, "/health/ready", 503, 3000);
    ck_assert_msg (strstr (body, "\"reason\":\"sink_unreachable\"")
                       && strstr (body, "postgres connect"),
                   "%s", body);
    free (body);
    ck_assert_int_le (h_now_ms () - t0, 5000); /* within a few seconds of start */
    free (mds_wait_status (mds_cur.http_port, "/health/live", 200, 1000));
    body = mds_wait_status (mds_cur.http_port, "/health", 503, 1000);
    ck_assert_msg (strstr (body, "\"ready\":false") && strstr (body, "\"reachable\":false"), "%s",
                   body);
    free (body);

    /* a batch waits for the database, unacked */
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 100, 1000), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 1000), -1);

    ck_assert_int_eq (pg_server_resume (&s_pg), 0);
    free (mds_wait_status (mds_cur.http_port, "/health/ready", 200, 20000));
    ck_assert_int_eq (mds_recv_ack (d, &ack, 10000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    body = mds_wait_status (mds_cur.http_port, "/health", 200, 1000);
    ck_assert_msg (strstr (body, "\"state\":\"ok\"") && strstr (body, "\"reachable\":true"), "%s",
                   body);
    free (body);
    zsock_destroy (&d);
    ck_assert_int_eq (mds_stop (&mds_cur, 10000), 0);
}
END_TEST

START_TEST (a_sqlite_store_is_ready_at_once_and_not_while_draining)
{
    MDS_START (0, "[sink]\nmax_rows_per_sec = 200\n[store]\ndrain_timeout_ms = 20000\n", NULL);
    free (mds_wait_status (mds_cur.http_port, "/health/ready", 200, 0));
    free (mds_wait_status (mds_cur.http_port, "/health/live", 200, 0));
    zsock_t *d = mds_dealer (&mds_cur);
    for (uint64_t seq = 1; seq <= 5; seq++) /* 1,000 rows at 200/s: a drain of seconds */
        ck_assert_int_eq (mds_send (d, seq, 200, (int64_t)seq * 1000), 0);
    ck_assert_int_ge (
        (int)h_wait_metric_ge (mds_cur.http_port, "coordinator_queue_depth", 800, 5000), 800);
    h_signal (&mds_cur.proc, SIGTERM);
    char *body = mds_wait_status (mds_cur.http_port, "/health/ready", 503, 2000);
    ck_assert_msg (strstr (body, "\"reason\":\"draining\""), "%s", body);
    free (body);
    free (mds_wait_status (mds_cur.http_port, "/health/live", 200, 0));
    int ok = 0;
    mdf_ack_t ack;
    while (ok < 5 && mds_recv_ack (d, &ack, 15000) == 0)
        ok += ack.status == MDF_ACK_OK;
    ck_assert_int_eq (ok, 5);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 10000), 0);
    mds_cur.running = false;
    zsock_destroy (&d);
}
END_TEST

int
main (void)
{
    char why[512];
    bool have_pg = pg_server_start (&s_pg, why, sizeof why) == 0;
    if (!have_pg)
        printf ("postgres cases skipped: cannot start a PostgreSQL server: %s\n", why);
    Suite *s = suite_create ("md-store readiness");
    TCase *tc = tcase_create ("ready");
    tcase_set_timeout (tc, 90);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    if (have_pg)
        tcase_add_test (tc, without_its_postgres_the_store_is_live_but_not_ready_until_it_appears);
    tcase_add_test (tc, a_sqlite_store_is_ready_at_once_and_not_while_draining);
    suite_add_tcase (s, tc);
    int rc = h_run_suite_reaped (s);
    pg_server_stop (&s_pg);
    return rc;
}
