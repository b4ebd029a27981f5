/*
 * md-store and its SQLite files changed underneath it.
 *
 * The database, -wal and -shm deleted while the store runs: the store stops
 * reporting ready, names the deleted file, creates the file at the path again
 * and acks only what it committed there, so after a restart every bar acked
 * after the deletion is in the database at the configured path (before the
 * fix it went on acking into the deleted files: 0 rows after a restart).
 * The same with batches in flight while the files go.
 *
 * The -shm truncated while the store writes: either the sink notices before
 * touching it (a logged sink error, the store goes on) or SQLite faults on
 * its mapping and the store exits 1 with a log line naming the cause and the
 * database; never a silent death, and every ok-acked bar is in the database
 * after a restart.  The SIGBUS line itself is checked with a signal sent to
 * the store.
 */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

#define MAX_SEQ 512

/* Rows of the batches seq_lo..seq_hi sent with mds_send (d, seq, n, seq * 1000):
 * batch seq holds ts in [seq * 1e9, seq * 1e9 + n us). */
static long
s_rows (const char *db, uint64_t seq_lo, uint64_t seq_hi)
{
    sqlite3 *h;
    if (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close (h);
        return -1;
    }
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_prepare_v2 (h, "SELECT count(*) FROM bars WHERE ts >= ?1 AND ts < ?2", -1, &st,
                            NULL)
        == SQLITE_OK) {
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)seq_lo * 1000000000);
        sqlite3_bind_int64 (st, 2, (sqlite3_int64)(seq_hi + 1) * 1000000000);
        if (sqlite3_step (st) == SQLITE_ROW)
            n = (long)sqlite3_column_int64 (st, 0);
    }
    sqlite3_finalize (st);
    sqlite3_close (h);
    return n;
}

/* md-store's exit status once s_collect saw it exit, else -1. */
static int s_exit_rc = -1;

/* Read acks until `want` arrived, the store exited or timeout_ms passed;
 * marks ok[seq] for every "ok".  Returns the number of acks read. */
static int
s_collect (zsock_t *d, bool ok[MAX_SEQ], int want, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    int got = 0;
    mdf_ack_t ack;
    while (got < want && h_now_ms () < deadline) {
        if (mds_recv_ack (d, &ack, 200) != 0) {
            if ((s_exit_rc = h_wait (&mds_cur.proc, 0)) != -1) {
                mds_cur.running = false;
                break;
            }
            continue;
        }
        got++;
        if (ack.status == MDF_ACK_OK && ack.batch_seq < MAX_SEQ)
            ok[ack.batch_seq] = true;
    }
    return got;
}

static void
s_delete_files (const char *db)
{
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char *name = h_strf ("%s%s", db, suffix[i]);
        ck_assert_msg (unlink (name) == 0, "unlink %s", name);
        free (name);
    }
}

/* Stop the store, start it again on the same files, wait until ready, stop:
 * what is read afterwards survived a restart. */
static void
s_restart (void)
{
    if (mds_cur.running)
        ck_assert_int_eq (mds_stop (&mds_cur, 10000), 0);
    ck_assert_int_eq (mds_relaunch (&mds_cur), 0);
    ck_assert_int_eq (h_wait_service (&mds_cur.proc, mds_cur.http_port, 10000), 0);
    free (mds_wait_status (mds_cur.http_port, "/health/ready", 200, 10000));
    ck_assert_int_eq (mds_stop (&mds_cur, 10000), 0);
}

START_TEST (bars_acked_after_the_database_was_deleted_are_in_the_file_at_the_path)
{
    MDS_START (0, "[workers]\nretry_initial_ms = 20\n", NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    bool ok[MAX_SEQ] = { false };
    for (uint64_t seq = 1; seq <= 20; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 20, 10000), 20);
    ck_assert_int_eq (s_rows (mds_cur.db, 1, 20), 2000);

    s_delete_files (mds_cur.db);
    /* noticed without traffic: not ready, naming the file */
    char *body = mds_wait_status (mds_cur.http_port, "/health/ready", 503, 5000);
    ck_assert_msg (strstr (body, "sink_unreachable") && strstr (body, "bars.db was deleted"), "%s",
                   body);
    free (body);
    free (mds_wait_status (mds_cur.http_port, "/health/live", 200, 1000));

    for (uint64_t seq = 21; seq <= 40; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 20, 15000), 20);
    for (uint64_t seq = 21; seq <= 40; seq++)
        ck_assert_msg (ok[seq], "batch %llu not acked ok", (unsigned long long)seq);
    free (mds_wait_status (mds_cur.http_port, "/health/ready", 200, 10000));
    ck_assert_int_ge ((int)h_scrape (mds_cur.http_port, "mds_sink_errors_total"), 1);
    ck_assert (h_log_contains (&mds_cur.proc, mds_cur.db));
    ck_assert (h_log_contains (&mds_cur.proc, "bars.db was deleted"));
    zsock_destroy (&d);

    s_restart ();
    /* every bar acked after the deletion, and only those (the others went
     * with the deleted file) */
    ck_assert_int_eq (s_rows (mds_cur.db, 21, 40), 2000);
    ck_assert_int_eq (h_db_rows (mds_cur.db), 2000);
}
END_TEST

START_TEST (batches_in_flight_while_the_files_go_are_acked_only_from_the_file_at_the_path)
{
    MDS_START (0,
               "[queue]\ncapacity = 200000\nhigh_watermark = 150000\nlow_watermark = 100000\n"
               "[workers]\nbatch_max = 2000\nretry_initial_ms = 10\nbreaker_failures = 100\n",
               NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    bool ok[MAX_SEQ] = { false };
    for (uint64_t seq = 1; seq <= 100; seq++)
        ck_assert_int_eq (mds_send (d, seq, 1000, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 1, 10000), 1); /* writing now */
    s_delete_files (mds_cur.db);
    for (uint64_t seq = 101; seq <= 120; seq++)
        ck_assert_int_eq (mds_send (d, seq, 1000, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 119, 30000), 119);
    zsock_destroy (&d);
    s_restart ();
    /* each batch is whole or absent, and present whenever it was acked after
     * it was sent past the deletion; all of 101..120 were */
    for (uint64_t seq = 1; seq <= 120; seq++) {
        long rows = s_rows (mds_cur.db, seq, seq);
        ck_assert_msg (rows == 0 || rows == 1000, "batch %llu: %ld rows", (unsigned long long)seq,
                       rows);
        if (seq > 100)
            ck_assert_msg (ok[seq] && rows == 1000, "batch %llu: ok %d, %ld rows",
                           (unsigned long long)seq, ok[seq], rows);
    }
}
END_TEST

START_TEST (a_truncated_shm_never_kills_the_store_silently_nor_loses_an_acked_bar)
{
    MDS_START (0,
               "[queue]\ncapacity = 200000\nhigh_watermark = 150000\nlow_watermark = 100000\n"
               "[workers]\nbatch_max = 2000\nretry_initial_ms = 10\n",
               NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    bool ok[MAX_SEQ] = { false };
    for (uint64_t seq = 1; seq <= 200; seq++)
        ck_assert_int_eq (mds_send (d, seq, 500, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 1, 10000), 1); /* writing now */
    char *shm = h_strf ("%s-shm", mds_cur.db);
    ck_assert_int_eq (truncate (shm, 0), 0);
    free (shm);
    s_exit_rc = -1;
    s_collect (d, ok, 199, 30000);
    printf ("truncated -shm: %s\n",
            s_exit_rc == -1 ? "noticed by the sink, store went on" : "SIGBUS, store exited");
    if (s_exit_rc != -1) { /* SQLite touched the truncated mapping: a clean, logged exit */
        ck_assert_msg (s_exit_rc == 1, "md-store exited %d", s_exit_rc);
        ck_assert (h_log_contains (&mds_cur.proc, "fatal SIGBUS"));
        ck_assert (h_log_contains (&mds_cur.proc, "-shm file beside the database was truncated"));
        ck_assert (h_log_contains (&mds_cur.proc, mds_cur.db));
    } else { /* noticed before: a sink error, and the store went on */
        ck_assert (h_log_contains (&mds_cur.proc, "bars.db-shm was truncated"));
        for (uint64_t seq = 1; seq <= 200; seq++)
            ck_assert_msg (ok[seq], "batch %llu not acked", (unsigned long long)seq);
    }
    zsock_destroy (&d);
    s_restart ();
    for (uint64_t seq = 1; seq <= 200; seq++)
        if (ok[seq])
            ck_assert_msg (s_rows (mds_cur.db, seq, seq) == 500, "acked batch %llu: %ld rows",
                           (unsigned long long)seq, s_rows (mds_cur.db, seq, seq));
}
END_TEST

START_TEST (a_shm_truncated_between_writes_is_a_sink_error_and_the_store_goes_on)
{
    MDS_START (0, "[workers]\nretry_initial_ms = 10\n", NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    bool ok[MAX_SEQ] = { false };
    for (uint64_t seq = 1; seq <= 10; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 10, 10000), 10);
    char *shm = h_strf ("%s-shm", mds_cur.db);
    ck_assert_int_eq (truncate (shm, 0), 0);
    free (shm);
    char *body = mds_wait_status (mds_cur.http_port, "/health/ready", 503, 5000);
    ck_assert_msg (strstr (body, "bars.db-shm was truncated"), "%s", body);
    free (body);
    for (uint64_t seq = 11; seq <= 20; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    ck_assert_int_eq (s_collect (d, ok, 10, 20000), 10);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 0), -1); /* still running */
    free (mds_wait_status (mds_cur.http_port, "/health/ready", 200, 10000));
    zsock_destroy (&d);
    s_restart ();
    for (uint64_t seq = 1; seq <= 20; seq++)
        ck_assert_msg (ok[seq] && s_rows (mds_cur.db, seq, seq) == 100, "batch %llu",
                       (unsigned long long)seq);
}
END_TEST

START_TEST (sigbus_is_logged_with_the_database_path_and_exits_1)
{
    MDS_START (0, NULL, NULL);
    h_signal (&mds_cur.proc, SIGBUS);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 5000), 1);
    mds_cur.running = false;
    ck_assert (h_log_contains (&mds_cur.proc, "level=error msg=\"fatal SIGBUS"));
    ck_assert (h_log_contains (&mds_cur.proc, mds_cur.db));
    ck_assert (h_log_contains (&mds_cur.proc, "code=sent_by_a_process"));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store files");
    TCase *tc = tcase_create ("files");
    tcase_set_timeout (tc, 90);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, bars_acked_after_the_database_was_deleted_are_in_the_file_at_the_path);
    tcase_add_test (tc,
                    batches_in_flight_while_the_files_go_are_acked_only_from_the_file_at_the_path);
    tcase_add_test (tc, a_truncated_shm_never_kills_the_store_silently_nor_loses_an_acked_bar);
    tcase_add_test (tc, a_shm_truncated_between_writes_is_a_sink_error_and_the_store_goes_on);
    tcase_add_test (tc, sigbus_is_logged_with_the_database_path_and_exits_1);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
