/*
 * sink_sqlite: table created with its directory, one transaction per write,
 * upserts on (provider, symbol, ts) so a resend stores each bar once, and a
 * failed write stores nothing.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sink.h"

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
    tcase_add_test (tc, write_commits_every_bar_of_every_batch);
    tcase_add_test (tc, resending_a_batch_stores_each_bar_once);
    tcase_add_test (tc, upsert_keeps_the_latest_values);
    tcase_add_test (tc, two_connections_write_the_same_file);
    tcase_add_test (tc, unwritable_path_fails_with_a_message);
    tcase_add_test (tc, unknown_type_is_refused);
    tcase_add_test (tc, null_sink_accepts_everything);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
