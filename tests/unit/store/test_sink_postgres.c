/*
 * sink_postgres against a real PostgreSQL started for this run (pg_server):
 * table with ts as timestamptz, upsert idempotence, last-wins inside one
 * transaction, COPY escaping, and a failed write when the server is gone.
 * Skips (exit 77) with the reason when no server can be started.
 */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sink.h"
#include "tests/integration/store/pg_server.h"

static pg_server_t s_pg;

static char s_table[64];

static void
s_setup (void)
{
    static int n; /* pid: unique when forked; n: unique with CK_FORK=no */
    snprintf (s_table, sizeof s_table, "bars_p%d_%d", (int)getpid (), ++n);
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
        snprintf (bar->symbol, sizeof bar->symbol, "SYM%zu", i % 4);
        bar->ts = ts0 + (int64_t)i * 1000; /* 1 us apart */
        bar->open = bar->close = price;
        bar->high = price + 1;
        bar->low = price - 1;
        bar->volume = 7;
    }
}

static sink_t *
s_sink (const char *conninfo)
{
    sink_config_t cfg = { "postgres", NULL, conninfo, s_table, NULL };
    char err[256];
    sink_t *sink = sink_new (&cfg, err, sizeof err);
    ck_assert_msg (sink != NULL, "%s", err);
    return sink;
}

static char *
s_query (const char *fmt, const char *arg)
{
    char sql[512];
    snprintf (sql, sizeof sql, fmt, arg);
    PGconn *c = PQconnectdb (s_pg.conninfo);
    ck_assert_int_eq (PQstatus (c), CONNECTION_OK);
    PGresult *r = PQexec (c, sql);
    ck_assert_msg (PQresultStatus (r) == PGRES_TUPLES_OK, "%s", PQerrorMessage (c));
    char *v = strdup (PQgetvalue (r, 0, 0));
    PQclear (r);
    PQfinish (c);
    return v;
}

static long
s_count (void)
{
    char *v = s_query ("SELECT count(*) FROM %s", s_table);
    long n = atol (v);
    free (v);
    return n;
}

START_TEST (write_commits_and_resend_stores_once)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a, b;
    s_batch (&a, "ibkr", 500, 1763850000000000000LL, 10.0);
    s_batch (&b, "poly", 300, 1763850000000000000LL, 20.0);
    const mdf_batch_t *both[] = { &a, &b };
    char err[512];
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 800);
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 800);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&sink);
}
END_TEST

START_TEST (ts_is_a_timestamptz_with_microseconds)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a;
    s_batch (&a, "ibkr", 1, 1763850000123456789LL, 10.0);
    const mdf_batch_t *one[] = { &a };
    char err[512];
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);
    char *type = s_query ("SELECT data_type FROM information_schema.columns WHERE "
                          "table_name = '%s' AND column_name = 'ts'",
                          s_table);
    ck_assert_str_eq (type, "timestamp with time zone");
    free (type);
    char *us = s_query ("SELECT (extract(epoch FROM ts) * 1000000)::bigint FROM %s", s_table);
    ck_assert_str_eq (us, "1763850000123456");
    free (us);
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

START_TEST (upsert_updates_values_and_last_bar_wins_in_a_transaction)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a, b;
    s_batch (&a, "ibkr", 8, 1000000, 10.0);
    s_batch (&b, "ibkr", 8, 1000000, 33.0);
    const mdf_batch_t *both[] = { &a, &b };
    char err[512];
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 8);
    char *n = s_query ("SELECT count(*) FROM %s WHERE close = 33", s_table);
    ck_assert_str_eq (n, "8");
    free (n);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&sink);
}
END_TEST

START_TEST (copy_escapes_tabs_newlines_and_backslashes)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a;
    s_batch (&a, "pro\tvider", 1, 1000, 10.0);
    snprintf (a.bars[0].symbol, sizeof a.bars[0].symbol, "A\\B\nC");
    const mdf_batch_t *one[] = { &a };
    char err[512];
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);
    char *sym = s_query ("SELECT symbol || '|' || provider FROM %s", s_table);
    ck_assert_str_eq (sym, "A\\B\nC|pro\tvider");
    free (sym);
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

START_TEST (unreachable_server_fails_and_stores_nothing)
{
    char conninfo[256];
    snprintf (conninfo, sizeof conninfo, "host=127.0.0.1 port=1 user=postgres connect_timeout=2");
    sink_t *sink = s_sink (conninfo);
    mdf_batch_t a;
    s_batch (&a, "ibkr", 1, 1000, 10.0);
    const mdf_batch_t *one[] = { &a };
    char err[512] = "";
    ck_assert_int_eq (sink_write (sink, one, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "connect") != NULL, "%s", err);
    ck_assert (!sink_is_open (sink));
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

int
main (void)
{
    char why[512];
    if (pg_server_start (&s_pg, why, sizeof why) != 0) {
        printf ("SKIP: cannot start a PostgreSQL server: %s\n", why);
        pg_server_stop (&s_pg);
        return 77;
    }
    Suite *s = suite_create ("sink_postgres");
    TCase *tc = tcase_create ("postgres");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_setup, NULL);
    tcase_add_test (tc, write_commits_and_resend_stores_once);
    tcase_add_test (tc, ts_is_a_timestamptz_with_microseconds);
    tcase_add_test (tc, upsert_updates_values_and_last_bar_wins_in_a_transaction);
    tcase_add_test (tc, copy_escapes_tabs_newlines_and_backslashes);
    tcase_add_test (tc, unreachable_server_fails_and_stores_nothing);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    pg_server_stop (&s_pg);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
