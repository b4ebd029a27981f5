/*
 * test_history_files: daily price files as users download them, into a real
 * md-store (SQLite), by `mdctl send` and by md-pipeline's csv provider, with
 * no script in between.
 *
 * The files: one with the header date,open,high,low,close,adjclose,volume
 * (no symbol column, a date alone), one gzip-compressed with
 * Date,Open,High,Low,Close,Volume,Adj. Close* (dates like 19-Sep-03, newest
 * first).  Without options send refuses the first naming what to add; with
 * --symbol, --columns, --ts-format and --ts-offset (and the provider keys of
 * the same names) every bar must be a row of the store with the symbol, the
 * date at the given offset and the file's prices.
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>

#include "tests/integration/e2e/e2e_fixture.h"
#include "tests/integration/history_files.h"

#define RUN_MS 30000
#define NS 1000000000LL

static char *
s_gz_file (const char *dir, const char *name, const char *content)
{
    char *path = h_strf ("%s/%s", dir, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    E2E_CHECK (fd >= 0 && h_gz_write_fd (fd, content) == 0, "cannot write %s", path);
    return path;
}

/* mdctl send ENDPOINT FILE --provider PROVIDER options...; exit code, *out. */
static int
s_send (const char *endpoint, const char *file, const char *provider, const char *const opts[],
        char **out)
{
    char *bin = h_build_path ("tools/mdctl");
    char *argv[16]
        = { bin, "send", (char *)endpoint, (char *)file, "--provider", (char *)provider };
    size_t n = 6;
    for (size_t i = 0; opts[i] && n < 15; i++)
        argv[n++] = (char *)opts[i];
    argv[n] = NULL;
    int rc = h_run (argv, NULL, RUN_MS, out);
    free (bin);
    return rc;
}

typedef struct {
    char provider[32], symbol[16];
    long long ts;
    double open, close, volume;
} s_row_t;

/* Every row of the store's table, ordered by provider, symbol, ts. */
static size_t
s_rows (const char *db, s_row_t *rows, size_t max)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    E2E_CHECK (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", db);
    E2E_CHECK (sqlite3_prepare_v2 (h,
                                   "SELECT provider, symbol, ts, open, close, volume FROM bars "
                                   "ORDER BY provider, symbol, ts",
                                   -1, &st, NULL)
                   == SQLITE_OK,
               "select: %s", sqlite3_errmsg (h));
    while (sqlite3_step (st) == SQLITE_ROW && n < max) {
        s_row_t *r = &rows[n++];
        snprintf (r->provider, sizeof r->provider, "%s", sqlite3_column_text (st, 0));
        snprintf (r->symbol, sizeof r->symbol, "%s", sqlite3_column_text (st, 1));
        r->ts = sqlite3_column_int64 (st, 2);
        r->open = sqlite3_column_double (st, 3);
        r->close = sqlite3_column_double (st, 4);
        r->volume = sqlite3_column_double (st, 5);
    }
    sqlite3_finalize (st);
    sqlite3_close (h);
    return n;
}

typedef struct {
    int port;
    double acked;
} s_acked_t;

static bool
s_all_acked (void *arg)
{
    s_acked_t *a = arg;
    int status = 0;
    char *text = h_http ("GET", a->port, "/metrics", NULL, &status, 2000);
    if (text && status == 200)
        a->acked = h_metric (text, "mdp_bars_acked_total");
    free (text);
    return a->acked == 4;
}

/* md-pipeline with one csv provider reading path with the file keys. */
static void
s_pipeline (const char *dir, const e2e_store_t *store, const char *path, e2e_pipe_t *p)
{
    memset (p, 0, sizeof *p);
    snprintf (p->config, sizeof p->config, "%s/pipeline.toml", dir);
    snprintf (p->log, sizeof p->log, "%s/pipeline.log", dir);
    p->http_port = h_free_port ();
    FILE *f = fopen (p->config, "w");
    E2E_CHECK (f && p->http_port > 0, "pipeline config");
    fprintf (f,
             "[pipeline]\nid = \"history\"\n\n"
             "[store]\ningest = [\"tcp://127.0.0.1:%d\"]\nfeedback = [\"tcp://127.0.0.1:%d\"]\n\n"
             "[http]\nlisten = \"127.0.0.1:%d\"\n\n"
             "[[providers]]\nname = \"csvp\"\ntype = \"csv\"\npath = \"%s\"\n"
             "symbol = \"MSFT\"\ncolumns = \"ts=Date\"\nts_format = \"%%d-%%b-%%y\"\n"
             "ts_offset = \"16:00\"\n",
             store->ingest_port, store->feedback_port, p->http_port, path);
    E2E_CHECK (fclose (f) == 0, "pipeline config");
    E2E_CHECK (e2e_pipe_start (p, NULL) == 0, "md-pipeline did not start");
}

START_TEST (history_files_as_downloaded_become_rows_of_the_store)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    E2E_CHECK (e2e_store_init (&store, dir, "store-h", 0, 200, NULL) == 0, "store config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    char endpoint[64];
    e2e_endpoint (store.ingest_port, endpoint, sizeof endpoint);
    char *daily = h_write_file (dir, "AAPL.csv", s_daily);
    char *msft = s_gz_file (dir, "MSFT.csv.gz", s_newest_first);

    /* as it is, the file is refused before anything is sent, naming the fix */
    char *out = NULL;
    const char *none[] = { NULL };
    E2E_CHECK (s_send (endpoint, daily, "mdctl", none, &out) == 2, "send without options: %s", out);
    E2E_CHECK (strstr (out, "AAPL.csv:1: header lacks column 'symbol'") && strstr (out, "--symbol")
                   && strstr (out, "header lacks column 'ts'") && strstr (out, "--columns ts=date"),
               "%s", out);
    free (out);
    const char *bad_offset[] = { "--ts-offset", "16h", NULL };
    E2E_CHECK (s_send (endpoint, daily, "mdctl", bad_offset, &out) == 2, "%s", out);
    E2E_CHECK (strstr (out, "--ts-offset: ts_offset '16h': expected [-]HH:MM[:SS]"), "%s", out);
    free (out);

    const char *daily_opts[]
        = { "--symbol", "AAPL", "--columns", "ts=date", "--ts-offset", "21:00", NULL };
    E2E_CHECK (s_send (endpoint, daily, "mdctl", daily_opts, &out) == 0, "send daily: %s", out);
    E2E_CHECK (strstr (out, "bars=3 committed=3"), "%s", out);
    free (out);
    const char *msft_opts[] = { "--symbol", "MSFT",        "--columns", "ts=Date", "--ts-format",
                                "%d-%b-%y", "--ts-offset", "16:00",     NULL };
    E2E_CHECK (s_send (endpoint, msft, "mdctl", msft_opts, &out) == 0, "send gz: %s", out);
    E2E_CHECK (strstr (out, "bars=4 committed=4"), "%s", out);
    free (out);

    /* the same gzip file through the pipeline's csv provider */
    e2e_pipe_t pipe;
    s_pipeline (dir, &store, msft, &pipe);
    s_acked_t acked = { pipe.http_port, NAN };
    E2E_CHECK (h_wait_until (s_all_acked, &acked, 20000) == 0, "the pipeline acked %.0f bars of 4",
               acked.acked);
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0");

    s_row_t rows[16];
    size_t n = s_rows (store.db, rows, 16);
    E2E_CHECK (n == 11, "%zu rows, want 3 + 4 + 4", n);
    /* csvp MSFT x4, then mdctl AAPL x3, then mdctl MSFT x4: oldest first */
    for (size_t i = 0; i < 11; i++) {
        const s_row_t *r = &rows[i];
        bool aapl = i >= 4 && i < 7;
        size_t day = i < 4 ? i : aapl ? i - 4 : i - 7;
        long long ts
            = aapl ? (HISTORY_DAILY_FIRST_S + (long long)day * 86400 + 21 * 3600) * NS
                   : (HISTORY_NEWEST_FIRST_OLDEST_S + (long long)day * 86400 + 16 * 3600) * NS;
        E2E_CHECK (strcmp (r->provider, i < 4 ? "csvp" : "mdctl") == 0
                       && strcmp (r->symbol, aapl ? "AAPL" : "MSFT") == 0 && r->ts == ts,
                   "row %zu: %s %s %lld, want ts %lld", i, r->provider, r->symbol, r->ts, ts);
    }
    E2E_CHECK (rows[0].open == 28.41 && rows[0].close == 28.90 && rows[0].volume == 52060600,
               "csvp 16-Sep-03: %g %g %g", rows[0].open, rows[0].close, rows[0].volume);
    E2E_CHECK (rows[3].close == 29.96 && rows[10].close == 29.96, "19-Sep-03 close");
    E2E_CHECK (rows[4].open == 187.15 && rows[6].volume == 71983600, "AAPL rows");
    free (daily);
    free (msft);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("history_files");
    TCase *tc = tcase_create ("history");
    tcase_set_timeout (tc, 90);
    tcase_add_test (tc, history_files_as_downloaded_become_rows_of_the_store);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
