/*
 * sink_sqlite: table created with its directory, one transaction per write,
 * upserts on (provider, symbol, ts) so a resend stores each bar once, and a
 * failed write stores nothing.  Files deleted, replaced or truncated under an
 * open connection: the write fails naming the file, the retry stores the
 * bars in the file at the path, and closing the old connection leaves the
 * new files alone.  sink_ping and sink_check.
 */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sink.h"
#include "tests/integration/harness.h"

static char s_dir[64];
static char s_path[128];

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/mds-sink-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/sub/dir/bars.db", s_dir);
}

static void
s_teardown (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    ck_assert_int_eq (system (cmd), 0);
}

static void
s_batch (mdf_batch_t *b, const char *provider, size_t n, int64_t ts0, double price)
{
    memset (b, 0, sizeof *b);
    snprintf (b->provider, sizeof b->provider, "%s", provider);
    b->bars = calloc (n, sizeof *b->bars);
    b->nbars = n;
    for (size_t i = 0; i < n; i++) {
        mdf_bar_t *bar = &b->bars[i];
        snprintf (bar->symbol, sizeof bar->symbol, "SYM%zu", i % 3);
        bar->ts = ts0 + (int64_t)i;
        bar->open = bar->close = price;
        bar->high = price + 1;
        bar->low = price - 1;
        bar->volume = 100;
    }
}

static sink_t *
s_sink (const char *path)
{
    sink_config_t cfg = { "sqlite", path, NULL, "bars", "normal" };
    char err[256];
    sink_t *sink = sink_new (&cfg, err, sizeof err);
    ck_assert_msg (sink != NULL, "%s", err);
    return sink;
}

static long long
s_query (const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq (sqlite3_open (s_path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq (sqlite3_step (st), SQLITE_ROW);
    long long v = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    sqlite3_close (db);
    return v;
}

START_TEST (open_creates_directory_and_table)
{
    sink_t *sink = s_sink (s_path);
    char err[256];
    ck_assert_msg (sink_open (sink, err, sizeof err) == 0, "%s", err);
    ck_assert (sink_is_open (sink));
    ck_assert_int_eq (access (s_path, F_OK), 0);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 0);
    sink_destroy (&sink);
    ck_assert_ptr_null (sink);
}
END_TEST

START_TEST (write_commits_every_bar_of_every_batch)
{
    sink_t *sink = s_sink (s_path);
    mdf_batch_t a, b;
    s_batch (&a, "ibkr", 100, 1000, 10.0);
    s_batch (&b, "poly", 50, 1000, 20.0);
    const mdf_batch_t *both[] = { &a, &b };
    char err[256];
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 150);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE provider = 'poly'"), 50);
    ck_assert_int_eq (s_query ("SELECT ts FROM bars WHERE provider = 'ibkr' AND symbol = 'SYM1' "
                               "ORDER BY ts LIMIT 1"),
                      1001);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&sink);
}
END_TEST

START_TEST (resending_a_batch_stores_each_bar_once)
{
    sink_t *sink = s_sink (s_path);
    mdf_batch_t a;
    s_batch (&a, "ibkr", 200, 5000, 10.0);
    const mdf_batch_t *one[] = { &a };
    char err[256];
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), 0);
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), 0);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 200);
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

START_TEST (upsert_keeps_the_latest_values)
{
    sink_t *sink = s_sink (s_path);
    mdf_batch_t a, b;
    s_batch (&a, "ibkr", 10, 5000, 10.0);
    s_batch (&b, "ibkr", 10, 5000, 42.0);
    const mdf_batch_t *first[] = { &a }, *second[] = { &b };
    char err[256];
    ck_assert_int_eq (sink_write (sink, first, 1, err, sizeof err), 0);
    ck_assert_int_eq (sink_write (sink, second, 1, err, sizeof err), 0);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 10);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE close = 42.0"), 10);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&sink);
}
END_TEST

START_TEST (two_connections_write_the_same_file)
{
    sink_t *s1 = s_sink (s_path), *s2 = s_sink (s_path);
    mdf_batch_t a, b;
    s_batch (&a, "one", 10, 1, 1.0);
    s_batch (&b, "two", 10, 1, 1.0);
    const mdf_batch_t *pa[] = { &a }, *pb[] = { &b };
    char err[256];
    ck_assert_int_eq (sink_write (s1, pa, 1, err, sizeof err), 0);
    ck_assert_int_eq (sink_write (s2, pb, 1, err, sizeof err), 0);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 20);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&s1);
    sink_destroy (&s2);
}
END_TEST

/* Connections of a starting store (workers and the pinger) open a database
 * that does not exist yet at the same moment: each must open it, none may
 * report "database is locked" (PRAGMA journal_mode=WAL gets BUSY at once,
 * without SQLite's busy handler, while another connection creates it). */
typedef struct {
    pthread_barrier_t *go;
    const char *path;
    int rc;
    char err[256];
} s_opener_t;

static void *
s_open_at_once (void *arg)
{
    s_opener_t *o = arg;
    sink_t *sink = s_sink (o->path);
    pthread_barrier_wait (o->go);
    o->rc = sink_open (sink, o->err, sizeof o->err);
    sink_destroy (&sink);
    return NULL;
}

START_TEST (connections_opening_a_new_database_together_all_open_it)
{
    enum { OPENERS = 4, ROUNDS = 30 };
    for (int round = 0; round < ROUNDS; round++) {
        char path[192];
        snprintf (path, sizeof path, "%s/race-%d.db", s_dir, round);
        pthread_barrier_t go;
        pthread_barrier_init (&go, NULL, OPENERS);
        s_opener_t o[OPENERS];
        pthread_t t[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            o[i] = (s_opener_t){ &go, path, -1, "" };
            ck_assert_int_eq (pthread_create (&t[i], NULL, s_open_at_once, &o[i]), 0);
        }
        for (int i = 0; i < OPENERS; i++)
            pthread_join (t[i], NULL);
        pthread_barrier_destroy (&go);
        for (int i = 0; i < OPENERS; i++)
            ck_assert_msg (o[i].rc == 0, "round %d, connection %d: %s", round, i, o[i].err);
    }
}
END_TEST

START_TEST (unwritable_path_fails_with_a_message)
{
    sink_t *sink = s_sink ("/proc/mds-no/bars.db");
    mdf_batch_t a;
    s_batch (&a, "ibkr", 1, 1, 1.0);
    const mdf_batch_t *one[] = { &a };
    char err[256] = "";
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "/proc/mds-no") != NULL, "%s", err);
    ck_assert (!sink_is_open (sink));
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

/* ---- files changed under an open connection ---- */

static void
s_remove (const char *suffix)
{
    char name[200];
    snprintf (name, sizeof name, "%s%s", s_path, suffix);
    ck_assert_msg (unlink (name) == 0, "unlink %s", name);
}

static bool
s_exists (const char *suffix)
{
    char name[200];
    snprintf (name, sizeof name, "%s%s", s_path, suffix);
    return access (name, F_OK) == 0;
}

/* Write n bars of `provider` (ts from ts0); the sink's return code. */
static int
s_write (sink_t *sink, const char *provider, size_t n, int64_t ts0, char *err, size_t errlen)
{
    mdf_batch_t a;
    s_batch (&a, provider, n, ts0, 1.0);
    const mdf_batch_t *one[] = { &a };
    int rc = sink_write (sink, one, 1, err, errlen);
    mdf_batch_clear (&a);
    return rc;
}

START_TEST (deleted_files_fail_the_write_and_the_retry_stores_it_at_the_path)
{
    sink_t *sink = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (sink, "before", 100, 1, err, sizeof err), 0);
    s_remove ("");
    s_remove ("-wal");
    s_remove ("-shm");
    /* the connection still has the deleted files open: no commit into them */
    ck_assert_int_eq (s_write (sink, "after", 50, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "bars.db was deleted") != NULL, "%s", err);
    ck_assert_msg (strstr (err, s_path) != NULL, "%s", err);
    ck_assert (!sink_is_open (sink));
    /* the retry creates the file at the path again and the bars land there */
    ck_assert_msg (s_write (sink, "after", 50, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE provider = 'after'"), 50);
    sink_destroy (&sink);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 50);
}
END_TEST

/* Delete the three files from inside the sink's transaction: from SQLite's
 * update hook (while the upserts run) or its commit hook (as the commit
 * starts), installed on every connection of the process by an auto
 * extension and armed for one transaction. */
static enum { S_ARM_NONE, S_ARM_UPDATE, S_ARM_COMMIT } s_armed;

static void
s_delete_files_now (void)
{
    s_armed = S_ARM_NONE;
    s_remove ("");
    s_remove ("-wal");
    s_remove ("-shm");
}

static void
s_on_update (void *arg, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
    (void)arg, (void)op, (void)db, (void)table, (void)rowid;
    if (s_armed == S_ARM_UPDATE)
        s_delete_files_now ();
}

static int
s_on_commit (void *arg)
{
    (void)arg;
    if (s_armed == S_ARM_COMMIT)
        s_delete_files_now ();
    return 0; /* go on committing */
}

static int
s_hooks (sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
    (void)errmsg, (void)api;
    sqlite3_update_hook (db, s_on_update, NULL);
    sqlite3_commit_hook (db, s_on_commit, NULL);
    return SQLITE_OK;
}

static void
s_install_hooks (void)
{
    s_armed = S_ARM_NONE;
    ck_assert_int_eq (sqlite3_auto_extension ((void (*) (void))s_hooks), SQLITE_OK);
}

START_TEST (files_deleted_during_the_transaction_fail_it_before_the_commit)
{
    s_install_hooks ();
    sink_t *sink = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (sink, "before", 10, 1, err, sizeof err), 0);
    s_armed = S_ARM_UPDATE;
    ck_assert_int_eq (s_write (sink, "during", 50, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "before the commit") != NULL, "%s", err);
    ck_assert_msg (s_write (sink, "during", 50, 1, err, sizeof err) == 0, "%s", err);
    sink_destroy (&sink);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 50);
}
END_TEST

START_TEST (a_commit_into_deleted_files_is_not_reported_committed)
{
    s_install_hooks ();
    sink_t *sink = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (sink, "before", 10, 1, err, sizeof err), 0);
    s_armed = S_ARM_COMMIT; /* the commit itself goes into the deleted -wal */
    ck_assert_int_eq (s_write (sink, "during", 50, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "after the commit") != NULL, "%s", err);
    ck_assert_msg (strstr (err, "bars.db was deleted") != NULL, "%s", err);
    ck_assert_msg (s_write (sink, "during", 50, 1, err, sizeof err) == 0, "%s", err);
    sink_destroy (&sink);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 50);
}
END_TEST

START_TEST (closing_a_connection_to_deleted_files_leaves_the_new_ones_alone)
{
    sink_t *old = s_sink (s_path), *fresh = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (old, "old", 10, 1, err, sizeof err), 0);
    s_remove ("");
    s_remove ("-wal");
    s_remove ("-shm");
    /* another connection creates new files and commits into the new -wal */
    ck_assert_msg (s_write (fresh, "new", 40, 1, err, sizeof err) == 0, "%s", err);
    ck_assert (s_exists ("-wal") && s_exists ("-shm"));
    /* the old connection notices between writes and closes without touching
     * bars.db-wal and bars.db-shm, which are now the new connection's */
    ck_assert_int_eq (sink_check (old, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "bars.db was replaced by another file") != NULL, "%s", err);
    ck_assert (!sink_is_open (old));
    sink_destroy (&old);
    ck_assert (s_exists ("-wal") && s_exists ("-shm"));
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE provider = 'new'"), 40);
    ck_assert_int_eq (sink_check (fresh, err, sizeof err), 0);
    sink_destroy (&fresh);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 40);
}
END_TEST

START_TEST (closing_after_the_wal_was_replaced_leaves_the_new_one_alone)
{
    /* another process (forked before any SQLite use here) opens the database
     * after its -wal and -shm were deleted and commits into new ones */
    int go[2];
    ck_assert_int_eq (pipe (go), 0);
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        char c, err[1024];
        close (go[1]);
        if (read (go[0], &c, 1) != 1)
            _exit (2);
        sink_t *other = s_sink (s_path);
        int rc = s_write (other, "other", 40, 1000, err, sizeof err);
        sink_destroy (&other);
        _exit (rc == 0 ? 0 : 1);
    }
    close (go[0]);
    sink_t *old = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (old, "old", 10, 1, err, sizeof err), 0);
    s_remove ("-wal");
    s_remove ("-shm");
    ck_assert_int_eq (write (go[1], "g", 1), 1);
    int status = 0;
    ck_assert_int_eq (waitpid (pid, &status, 0), pid);
    ck_assert_int_eq (status, 0);
    /* a plain close would checkpoint the deleted -wal into the database and
     * unlink the other process's -wal by name */
    ck_assert_int_eq (sink_check (old, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "bars.db-wal was replaced") != NULL, "%s", err);
    sink_destroy (&old);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE provider = 'other'"), 40);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM pragma_integrity_check WHERE "
                               "integrity_check = 'ok'"),
                      1);
    close (go[1]);
}
END_TEST

START_TEST (a_truncated_shm_fails_the_write_instead_of_crashing)
{
    sink_t *sink = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (sink, "a", 100, 1, err, sizeof err), 0);
    char shm[200];
    snprintf (shm, sizeof shm, "%s-shm", s_path);
    ck_assert_int_eq (truncate (shm, 0), 0);
    /* touching the mapping now would be SIGBUS: the check comes first */
    ck_assert_int_eq (s_write (sink, "b", 100, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "bars.db-shm was truncated") != NULL, "%s", err);
    ck_assert_msg (s_write (sink, "b", 100, 1, err, sizeof err) == 0, "%s", err);
    sink_destroy (&sink);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 200);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM pragma_integrity_check WHERE "
                               "integrity_check = 'ok'"),
                      1);
}
END_TEST

START_TEST (a_replaced_wal_waits_for_every_old_connection_to_close)
{
    sink_t *a = s_sink (s_path), *b = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (a, "a", 10, 1, err, sizeof err), 0);
    ck_assert_int_eq (s_write (b, "b", 10, 1, err, sizeof err), 0);
    s_remove ("-wal");
    ck_assert_int_eq (s_write (a, "a", 10, 100, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "bars.db-wal was deleted") != NULL, "%s", err);
    /* b still maps the index of the deleted -wal: a must not open beside it */
    ck_assert_int_eq (s_write (a, "a", 10, 100, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "another connection") != NULL, "%s", err);
    ck_assert_int_eq (sink_check (b, err, sizeof err), -1);
    ck_assert_msg (s_write (a, "a", 10, 100, err, sizeof err) == 0, "%s", err);
    ck_assert_msg (s_write (b, "b", 10, 100, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars WHERE ts >= 100"), 20);
    sink_destroy (&a);
    sink_destroy (&b);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM pragma_integrity_check WHERE "
                               "integrity_check = 'ok'"),
                      1);
}
END_TEST

START_TEST (a_wal_left_without_its_database_is_moved_aside)
{
    sink_t *old = s_sink (s_path);
    char err[1024] = "";
    ck_assert_int_eq (s_write (old, "old", 30, 1, err, sizeof err), 0);
    s_remove (""); /* the database only: its -wal and -shm stay */
    sink_t *fresh = s_sink (s_path);
    ck_assert_msg (s_write (fresh, "new", 20, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 20);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM pragma_integrity_check WHERE "
                               "integrity_check = 'ok'"),
                      1);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "ls %s-wal.orphaned-* >/dev/null 2>&1", s_path);
    ck_assert_int_eq (system (cmd), 0);
    ck_assert_int_eq (s_write (old, "old", 30, 100, err, sizeof err), -1);
    sink_destroy (&old);
    sink_destroy (&fresh);
    ck_assert_int_eq (s_query ("SELECT count(*) FROM bars"), 20);
}
END_TEST

START_TEST (a_path_through_a_symbolic_link_is_checked_where_sqlite_writes)
{
    /* SQLite puts -wal and -shm beside the file the link points to */
    char real_dir[128], target[200], link_path[200];
    snprintf (real_dir, sizeof real_dir, "%s/real", s_dir);
    snprintf (target, sizeof target, "%s/target.db", real_dir);
    snprintf (link_path, sizeof link_path, "%s/link.db", s_dir);
    ck_assert_int_eq (mkdir (real_dir, 0755), 0);
    ck_assert_int_eq (symlink (target, link_path), 0);
    sink_t *sink = s_sink (link_path);
    char err[1024] = "";
    mdf_batch_t a;
    s_batch (&a, "x", 20, 1, 1.0);
    const mdf_batch_t *one[] = { &a };
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_msg (sink_check (sink, err, sizeof err) == 0, "%s", err);
    char name[300];
    snprintf (name, sizeof name, "%s-wal", target);
    ck_assert_int_eq (unlink (name), 0);
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "target.db-wal was deleted") != NULL, "%s", err);
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

START_TEST (ping_opens_reads_and_notices_deleted_files)
{
    sink_t *pinger = s_sink (s_path);
    char err[1024] = "";
    ck_assert_msg (sink_ping (pinger, 1000, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (access (s_path, F_OK), 0);
    ck_assert_int_eq (s_write (pinger, "x", 1, 1, err, sizeof err), -1); /* pings only */
    ck_assert_msg (strstr (err, "pings only") != NULL, "%s", err);
    s_remove ("");
    s_remove ("-wal");
    s_remove ("-shm");
    ck_assert_int_eq (sink_ping (pinger, 1000, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "was deleted") != NULL, "%s", err);
    ck_assert_msg (sink_ping (pinger, 1000, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (access (s_path, F_OK), 0);
    sink_destroy (&pinger);
}
END_TEST

START_TEST (ping_fails_on_an_unusable_path)
{
    sink_t *pinger = s_sink ("/proc/mds-no/bars.db");
    char err[1024] = "";
    ck_assert_int_eq (sink_ping (pinger, 1000, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "/proc/mds-no") != NULL, "%s", err);
    sink_destroy (&pinger);
}
END_TEST

START_TEST (unknown_type_is_refused)
{
    sink_config_t cfg = { "oracle", NULL, NULL, NULL, NULL };
    char err[256] = "";
    ck_assert_ptr_null (sink_new (&cfg, err, sizeof err));
    ck_assert_msg (strstr (err, "oracle") != NULL, "%s", err);
}
END_TEST

START_TEST (null_sink_accepts_everything)
{
    sink_config_t cfg = { "null", NULL, NULL, NULL, NULL };
    char err[256];
    sink_t *sink = sink_new (&cfg, err, sizeof err);
    mdf_batch_t a;
    s_batch (&a, "ibkr", 3, 1, 1.0);
    const mdf_batch_t *one[] = { &a };
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), 0);
    ck_assert_str_eq (sink_type (sink), "null");
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sink_sqlite");
    TCase *tc = tcase_create ("sqlite");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, open_creates_directory_and_table);
    tcase_add_test (tc, connections_opening_a_new_database_together_all_open_it);
    tcase_add_test (tc, write_commits_every_bar_of_every_batch);
    tcase_add_test (tc, resending_a_batch_stores_each_bar_once);
    tcase_add_test (tc, upsert_keeps_the_latest_values);
    tcase_add_test (tc, two_connections_write_the_same_file);
    tcase_add_test (tc, unwritable_path_fails_with_a_message);
    tcase_add_test (tc, deleted_files_fail_the_write_and_the_retry_stores_it_at_the_path);
    tcase_add_test (tc, files_deleted_during_the_transaction_fail_it_before_the_commit);
    tcase_add_test (tc, a_commit_into_deleted_files_is_not_reported_committed);
    tcase_add_test (tc, closing_a_connection_to_deleted_files_leaves_the_new_ones_alone);
    tcase_add_test (tc, closing_after_the_wal_was_replaced_leaves_the_new_one_alone);
    tcase_add_test (tc, a_truncated_shm_fails_the_write_instead_of_crashing);
    tcase_add_test (tc, a_replaced_wal_waits_for_every_old_connection_to_close);
    tcase_add_test (tc, a_wal_left_without_its_database_is_moved_aside);
    tcase_add_test (tc, a_path_through_a_symbolic_link_is_checked_where_sqlite_writes);
    tcase_add_test (tc, ping_opens_reads_and_notices_deleted_files);
    tcase_add_test (tc, ping_fails_on_an_unusable_path);
    tcase_add_test (tc, unknown_type_is_refused);
    tcase_add_test (tc, null_sink_accepts_everything);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
