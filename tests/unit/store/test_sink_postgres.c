/*
 * sink_postgres against a real PostgreSQL started for this run (pg_server):
 * table with ts as timestamptz, upsert idempotence, last-wins inside one
 * transaction and inside one batch, strings and doubles stored exactly,
 * writes that fail part-way (nothing committed, the next write reconnects),
 * and a failed write when the server is gone.
 * Skips (exit 77) with the reason when no server can be started.
 */
#include <check.h>
#include <endian.h>
#include <float.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sink.h"
#include "tests/integration/store/pg_server.h"
#include "tests/integration/harness.h"

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

START_TEST (strings_with_tabs_newlines_and_backslashes_are_stored_intact)
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

/* Run a statement on a connection of our own (not the sink's). */
static void
s_admin (const char *fmt, const char *arg)
{
    char sql[512];
    snprintf (sql, sizeof sql, fmt, arg);
    PGconn *c = PQconnectdb (s_pg.conninfo);
    ck_assert_int_eq (PQstatus (c), CONNECTION_OK);
    PGresult *r = PQexec (c, sql);
    ck_assert_msg (PQresultStatus (r) == PGRES_COMMAND_OK || PQresultStatus (r) == PGRES_TUPLES_OK,
                   "%s: %s", sql, PQerrorMessage (c));
    PQclear (r);
    PQfinish (c);
}

static double
s_close_of (const char *provider, const char *symbol)
{
    char sql[512];
    snprintf (sql, sizeof sql, "SELECT close FROM %s WHERE provider = '%s' AND symbol = '%s'",
              s_table, provider, symbol);
    PGconn *c = PQconnectdb (s_pg.conninfo);
    ck_assert_int_eq (PQstatus (c), CONNECTION_OK);
    PGresult *r = PQexec (c, sql);
    ck_assert_msg (PQresultStatus (r) == PGRES_TUPLES_OK, "%s", PQerrorMessage (c));
    ck_assert_int_eq (PQntuples (r), 1);
    double v = atof (PQgetvalue (r, 0, 0));
    PQclear (r);
    PQfinish (c);
    return v;
}

START_TEST (repeated_keys_in_one_batch_store_the_last_bar)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a, b;
    /* a: A three times (out of ts order around it), B twice less than 1 us
     * apart (one row in PostgreSQL), C once */
    s_batch (&a, "ibkr", 8, 0, 0);
    const struct {
        const char *sym;
        int64_t ts;
        double close;
    } bars[8] = { { "A", 5000, 1 }, { "C", 1000, 9 }, { "A", 5000, 2 }, { "B", 7000, 3 },
                  { "A", 4000, 8 }, { "B", 7999, 4 }, { "A", 5000, 5 }, { "A", 6000, 7 } };
    for (size_t i = 0; i < 8; i++) {
        snprintf (a.bars[i].symbol, sizeof a.bars[i].symbol, "%s", bars[i].sym);
        a.bars[i].ts = bars[i].ts;
        a.bars[i].open = a.bars[i].high = a.bars[i].low = a.bars[i].close = bars[i].close;
    }
    /* b: another provider with the same symbol and ts: a row of its own */
    s_batch (&b, "poly", 1, 0, 0);
    snprintf (b.bars[0].symbol, sizeof b.bars[0].symbol, "A");
    b.bars[0].ts = 5000;
    b.bars[0].close = 6;
    const mdf_batch_t *both[] = { &a, &b };
    char err[512];
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 6); /* A@4, A@5, A@6, B@7, C@1, poly A@5 */
    char *v = s_query ("SELECT string_agg(symbol || (extract(epoch FROM ts) * 1000000)::bigint "
                       "|| '=' || close, ' ' ORDER BY symbol, ts) FROM %s WHERE provider = 'ibkr'",
                       s_table);
    ck_assert_str_eq (v, "A4=8 A5=5 A6=7 B7=4 C1=9");
    free (v);
    ck_assert (s_close_of ("poly", "A") == 6);
    /* a resend of the same batch changes nothing */
    ck_assert_msg (sink_write (sink, both, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 6);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    sink_destroy (&sink);
}
END_TEST

static uint64_t
s_be64_at (const char *p)
{
    uint64_t v;
    memcpy (&v, p, 8);
    return be64toh (v);
}

START_TEST (every_column_round_trips_exactly)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a;
    char provider[MDF_ID_MAX + 1];
    memset (provider, 'p', MDF_ID_MAX); /* the longest provider, ending in UTF-8 */
    memcpy (provider + MDF_ID_MAX - 4, "\xc3\xa9\xc3\xa9", 4);
    provider[MDF_ID_MAX] = '\0';
    s_batch (&a, provider, 3, 0, 0);
    const double v[3][5] = {
        { DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324, -0.0 },
        { 0.1, 1.0 / 3.0, -1e-300, 1e300, 123456789.123456789 },
        { -DBL_MIN, 2.2250738585072009e-308, 9007199254740993.0, -1.5e-323, 0.0 },
    };
    const int64_t ts[3] = { 1763850000123456789LL, INT64_MAX, 1 };
    const int64_t want_us[3] = { 1763850000123456LL, INT64_MAX / 1000, 0 };
    memset (a.bars[0].symbol, 'S', MDF_SYMBOL_MAX); /* the longest symbol */
    a.bars[0].symbol[MDF_SYMBOL_MAX] = '\0';
    snprintf (a.bars[1].symbol, sizeof a.bars[1].symbol, "\xe2\x82\xac/USD");
    snprintf (a.bars[2].symbol, sizeof a.bars[2].symbol, "x");
    for (size_t i = 0; i < 3; i++) {
        a.bars[i].ts = ts[i];
        a.bars[i].open = v[i][0], a.bars[i].high = v[i][1], a.bars[i].low = v[i][2];
        a.bars[i].close = v[i][3], a.bars[i].volume = v[i][4];
    }
    const mdf_batch_t *one[] = { &a };
    char err[512];
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);

    /* read back in binary: the exact bytes of every value */
    char sql[256];
    snprintf (sql, sizeof sql,
              "SELECT provider, symbol, ts, open, high, low, close, volume FROM %s ORDER BY ts",
              s_table);
    PGconn *c = PQconnectdb (s_pg.conninfo);
    ck_assert_int_eq (PQstatus (c), CONNECTION_OK);
    PGresult *r = PQexecParams (c, sql, 0, NULL, NULL, NULL, NULL, 1);
    ck_assert_msg (PQresultStatus (r) == PGRES_TUPLES_OK, "%s", PQerrorMessage (c));
    ck_assert_int_eq (PQntuples (r), 3);
    const int order[3] = { 2, 0, 1 }; /* by ts */
    for (int row = 0; row < 3; row++) {
        int i = order[row];
        ck_assert_int_eq (PQgetlength (r, row, 0), (int)strlen (provider));
        ck_assert (!memcmp (PQgetvalue (r, row, 0), provider, strlen (provider)));
        ck_assert_int_eq (PQgetlength (r, row, 1), (int)strlen (a.bars[i].symbol));
        ck_assert (!memcmp (PQgetvalue (r, row, 1), a.bars[i].symbol, strlen (a.bars[i].symbol)));
        int64_t us = (int64_t)s_be64_at (PQgetvalue (r, row, 2)) + 946684800000000LL;
        ck_assert_int_eq (us, want_us[i]);
        for (int k = 0; k < 5; k++) {
            uint64_t want;
            memcpy (&want, &v[i][k], 8);
            ck_assert_msg (s_be64_at (PQgetvalue (r, row, 3 + k)) == want,
                           "row %d column %d: %.17g", i, k, v[i][k]);
        }
    }
    PQclear (r);
    PQfinish (c);
    mdf_batch_clear (&a);
    sink_destroy (&sink);
}
END_TEST

/* The sink's own connections, as the server sees them, once the count is
 * `want` (a closed connection's server process takes a moment to go) or after
 * 5 s. */
static long
s_sink_backends (long want)
{
    long n = -1;
    for (int i = 0; i < 100 && n != want; i++) {
        if (i)
            usleep (50000);
        char *v = s_query ("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client "
                           "backend' AND pid <> pg_backend_pid() AND query NOT LIKE '%%%s%%'",
                           "pg_stat_activity");
        n = atol (v);
        free (v);
    }
    return n;
}

START_TEST (failure_in_the_upsert_commits_nothing_and_next_write_reconnects)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t first, bad, good;
    s_batch (&first, "ibkr", 1, 1000, 10.0);
    const mdf_batch_t *one[] = { &first };
    char err[512];
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err); /* the table */
    s_admin ("ALTER TABLE %s ADD CONSTRAINT no_13 CHECK (close <> 13)", s_table);

    /* 500 bars over SYM0..SYM3; one SYM2 bar breaks the constraint, so the
     * INSERT fails after the SYM0 and SYM1 rows went in */
    s_batch (&bad, "ibkr", 500, 1000000, 20.0);
    bad.bars[302].close = 13;
    const mdf_batch_t *b1[] = { &bad };
    ck_assert_int_eq (sink_write (sink, b1, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "upsert") && strstr (err, "no_13"), "%s", err);
    ck_assert (!sink_is_open (sink));
    ck_assert_int_eq (s_count (), 1);
    ck_assert_int_eq (s_sink_backends (0), 0); /* the connection is gone */

    /* the next write reconnects and commits */
    s_batch (&good, "ibkr", 500, 1000000, 30.0);
    const mdf_batch_t *b2[] = { &good };
    ck_assert_msg (sink_write (sink, b2, 1, err, sizeof err) == 0, "%s", err);
    ck_assert (sink_is_open (sink));
    ck_assert_int_eq (s_count (), 501);
    ck_assert_int_eq (s_sink_backends (1), 1);
    mdf_batch_clear (&first);
    mdf_batch_clear (&bad);
    mdf_batch_clear (&good);
    sink_destroy (&sink);
}
END_TEST

START_TEST (failure_in_the_copy_commits_nothing)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t bad, good;
    /* invalid UTF-8 in bar 300: the server refuses it while reading the COPY */
    s_batch (&bad, "ibkr", 500, 1000000, 20.0);
    snprintf (bad.bars[300].symbol, sizeof bad.bars[300].symbol, "SYM\xff");
    const mdf_batch_t *b1[] = { &bad };
    char err[512];
    ck_assert_int_eq (sink_write (sink, b1, 1, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "COPY") && strstr (err, "UTF8"), "%s", err);
    ck_assert (!sink_is_open (sink));
    ck_assert_int_eq (s_count (), 0);
    s_batch (&good, "ibkr", 500, 1000000, 30.0);
    const mdf_batch_t *b2[] = { &good };
    ck_assert_msg (sink_write (sink, b2, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 500);
    mdf_batch_clear (&bad);
    mdf_batch_clear (&good);
    sink_destroy (&sink);
}
END_TEST

START_TEST (dropped_connection_fails_one_write_and_the_next_reconnects)
{
    sink_t *sink = s_sink (s_pg.conninfo);
    mdf_batch_t a, b;
    s_batch (&a, "ibkr", 100, 1000000, 10.0);
    s_batch (&b, "ibkr", 100, 9000000, 10.0);
    const mdf_batch_t *one[] = { &a }, *two[] = { &b };
    char err[512];
    ck_assert_msg (sink_write (sink, one, 1, err, sizeof err) == 0, "%s", err);
    /* the server drops the sink's connection (a restart, an idle timeout) */
    s_admin ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = "
             "'client backend' AND pid <> pg_backend_pid()%s",
             "");
    ck_assert_int_eq (sink_write (sink, two, 1, err, sizeof err), -1);
    ck_assert (!sink_is_open (sink));
    ck_assert_int_eq (s_count (), 100);
    ck_assert_msg (sink_write (sink, two, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq (s_count (), 200);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
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
    tcase_add_test (tc, strings_with_tabs_newlines_and_backslashes_are_stored_intact);
    tcase_add_test (tc, repeated_keys_in_one_batch_store_the_last_bar);
    tcase_add_test (tc, every_column_round_trips_exactly);
    tcase_add_test (tc, failure_in_the_upsert_commits_nothing_and_next_write_reconnects);
    tcase_add_test (tc, failure_in_the_copy_commits_nothing);
    tcase_add_test (tc, dropped_connection_fails_one_write_and_the_next_reconnects);
    tcase_add_test (tc, unreachable_server_fails_and_stores_nothing);
    suite_add_tcase (s, tc);
    int rc = h_run_suite (s);
    pg_server_stop (&s_pg);
    return rc;
}
