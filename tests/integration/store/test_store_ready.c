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
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_server.h"
#include "store_fixture.h"

static pg_server_t s_pg;

/* pg_ctl stop / start on the server's data dir and port, as the postgres
 * user when root (as pg_server.c does). */
static int
s_pg_ctl (const char *action)
{
    char pgctl[512], data[300], log[300], opts[512];
    snprintf (pgctl, sizeof pgctl, "%s/pg_ctl", s_pg.bindir);
    snprintf (data, sizeof data, "%s/data", s_pg.dir);
    snprintf (log, sizeof log, "%s/server.log", s_pg.dir);
    snprintf (opts, sizeof opts,
              "-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c synchronous_commit=off "
              "-c full_page_writes=off",
              s_pg.dir, s_pg.port);
    pid_t pid = fork ();
    if (pid == 0) {
        const struct passwd *pw = geteuid () == 0 ? getpwnam ("postgres") : NULL;
        if (pw
            && (setgid (pw->pw_gid) != 0 || initgroups (pw->pw_name, pw->pw_gid) != 0
                || setuid (pw->pw_uid) != 0))
            _exit (126);
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
        }
        if (strcmp (action, "stop") == 0)
            execl (pgctl, pgctl, "stop", "-w", "-t", "30", "-m", "fast", "-D", data, (char *)NULL);
        else
            execl (pgctl, pgctl, "start", "-w", "-t", "30", "-D", data, "-l", log, "-o", opts,
                   (char *)NULL);
        _exit (127);
    }
    int status = 0;
    if (pid < 0 || waitpid (pid, &status, 0) < 0)
        return -1;
    return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

/* GET path until it answers `status` (timeout_ms); the last body (malloc'd). */
static char *
s_wait_status (int port, const char *path, int status, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        int got = 0;
        char *body = h_http ("GET", port, path, NULL, &got, 1000);
        if (got == status || h_now_ms () >= deadline) {
            ck_assert_msg (got == status, "%s: %d, not %d: %s", path, got, status,
                           body ? body : "");
            return body;
        }
        free (body);
        usleep (50000);
    }
}

START_TEST (without_its_postgres_the_store_is_live_but_not_ready_until_it_appears)
{
    ck_assert_int_eq (s_pg_ctl ("stop"), 0); /* nothing listens on the port now */
    char *extra = h_strf ("[sink]\ntype = \"postgres\"\nconninfo = \"%s\"\n"
                          "[workers]\nretry_max_ms = 500\nbreaker_cooldown_ms = 500\n",
                          s_pg.conninfo);
    long long t0 = h_now_ms ();
    MDS_START (0, extra, NULL);
    free (extra);
    char *body = s_wait_status (mds_cur.http_port, "/health/ready", 503, 3000);
    ck_assert_msg (strstr (body, "\"reason\":\"sink_unreachable\"")
                       && strstr (body, "postgres connect"),
                   "%s", body);
    free (body);
    ck_assert_int_le (h_now_ms () - t0, 5000); /* within a few seconds of start */
    free (s_wait_status (mds_cur.http_port, "/health/live", 200, 1000));
    body = s_wait_status (mds_cur.http_port, "/health", 503, 1000);
    ck_assert_msg (strstr (body, "\"ready\":false") && strstr (body, "\"reachable\":false"), "%s",
                   body);
    free (body);

    /* a batch waits for the database, unacked */
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 100, 1000), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 1000), -1);

    ck_assert_int_eq (s_pg_ctl ("start"), 0);
    free (s_wait_status (mds_cur.http_port, "/health/ready", 200, 20000));
    ck_assert_int_eq (mds_recv_ack (d, &ack, 10000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    body = s_wait_status (mds_cur.http_port, "/health", 200, 1000);
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
    free (s_wait_status (mds_cur.http_port, "/health/ready", 200, 0));
    free (s_wait_status (mds_cur.http_port, "/health/live", 200, 0));
    zsock_t *d = mds_dealer (&mds_cur);
    for (uint64_t seq = 1; seq <= 5; seq++) /* 1,000 rows at 200/s: a drain of seconds */
        ck_assert_int_eq (mds_send (d, seq, 200, (int64_t)seq * 1000), 0);
    ck_assert_int_ge (
        (int)h_wait_metric_ge (mds_cur.http_port, "coordinator_queue_depth", 800, 5000), 800);
    h_signal (&mds_cur.proc, SIGTERM);
    char *body = s_wait_status (mds_cur.http_port, "/health/ready", 503, 2000);
    ck_assert_msg (strstr (body, "\"reason\":\"draining\""), "%s", body);
    free (body);
    free (s_wait_status (mds_cur.http_port, "/health/live", 200, 0));
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
    SRunner *sr = srunner_create (s);
    h_reaper_open ();
    srunner_run_all (sr, CK_NORMAL);
    h_reaper_reap ();
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    pg_server_stop (&s_pg);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
