/*
 * source_csv: bad rows (refused by the shared reader, proto/csv.c, or by
 * the store's rules) skipped with their line number, the shared format (any
 * column order, quotes, offsets), loop replays with shifted ts, a missing file
 * or a bad header is a provider error; a file as users have it (no symbol
 * column, 19-Sep-03 dates, newest first, gzip) replayed oldest first, and
 * looped.  The format itself is tested in tests/unit/proto/test_proto_csv.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/source.h"
#include "tests/integration/harness.h"
#include "tests/integration/history_files.h"

#define NS 1000000000LL

typedef struct {
    size_t lines[16];
    char errors[16][256];
    size_t n;
} bad_rows_t;

static void
on_bad (void *arg, size_t line, const char *error)
{
    bad_rows_t *b = arg;
    if (b->n < 16) {
        snprintf (b->errors[b->n], sizeof b->errors[b->n], "%s", error);
        b->lines[b->n++] = line;
    }
}

static char *
write_tmp (const char *content)
{
    char *path = strdup ("/tmp/test_csv_XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t)strlen (content));
    close (fd);
    return path;
}

START_TEST (bad_rows_are_skipped_and_reported_with_their_line_number)
{
    char *path = write_tmp ("symbol,ts,open,high,low,close,volume\n"
                            "AAPL,1795185000,1,2,0.5,1.5,100\n"
                            "AAPL,garbage,1,2,0.5,1.5,100\n"
                            "\n"
                            "MSFT,1795185000,1,2,0.5,1.5\r\n"
                            "MSFT,1795185000,1,2,3,1.5,1\n"    /* low > high */
                            "MSFT,1795185000,1,2,0.5,1.5,-1\n" /* negative volume */
                            ",1795185000,1,2,0.5,1.5,1\n"      /* empty symbol */
                            "MSFT,2026-11-20T14:30:01Z,1,2,0.5,1.5,7\r\n");
    bad_rows_t bad = { { 0 }, { { 0 } }, 0 };
    source_t *src = source_csv_new (path, NULL, false, on_bad, &bad);
    mdf_bar_t bars[10];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 10, err, sizeof err), 2);
    ck_assert_str_eq (bars[1].symbol, "MSFT");
    ck_assert_int_eq (bars[1].ts, 1795185001LL * NS);
    ck_assert_int_eq (bad.n, 5);
    ck_assert_int_eq (bad.lines[0], 3);
    ck_assert_int_eq (bad.lines[1], 5);
    ck_assert_int_eq (bad.lines[2], 6);
    ck_assert_int_eq (bad.lines[3], 7);
    ck_assert_int_eq (bad.lines[4], 8);
    ck_assert_ptr_nonnull (strstr (bad.errors[0], "ts 'garbage'"));
    ck_assert_ptr_nonnull (strstr (bad.errors[1], "6 field(s), the header has 7"));
    ck_assert_ptr_nonnull (strstr (bad.errors[2], "low (3) > high (2)"));
    ck_assert_ptr_nonnull (strstr (bad.errors[3], "volume"));
    ck_assert_ptr_nonnull (strstr (bad.errors[4], "empty symbol"));
    ck_assert_int_eq (source_next (src, bars, 10, err, sizeof err), 0); /* finished */
    source_destroy (&src);
    unlink (path);
    free (path);
}
END_TEST

START_TEST (the_shared_format_reorders_columns_quotes_and_applies_offsets)
{
    char *path = write_tmp ("Volume,TS,Symbol,Open,High,Low,Close,note\n"
                            "100,2026-11-20T16:30:00+02:00,\"BRK,B\",1,2,0.5,1.5,x\n");
    bad_rows_t bad = { { 0 }, { { 0 } }, 0 };
    source_t *src = source_csv_new (path, NULL, false, on_bad, &bad);
    mdf_bar_t bars[2];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 2, err, sizeof err), 1);
    ck_assert_str_eq (bars[0].symbol, "BRK,B");
    ck_assert_int_eq (bars[0].ts, 1795185000LL * NS);
    ck_assert (bars[0].open == 1 && bars[0].close == 1.5 && bars[0].volume == 100);
    ck_assert_int_eq (bad.n, 0);
    source_destroy (&src);
    unlink (path);
    free (path);
}
END_TEST

START_TEST (loop_replays_with_shifted_increasing_ts)
{
    char *path = write_tmp ("symbol,ts,open,high,low,close,volume\n"
                            "A,100,1,2,0.5,1.5,1\n"
                            "A,110,1,2,0.5,1.5,1\n");
    source_t *src = source_csv_new (path, NULL, true, NULL, NULL);
    mdf_bar_t bars[6];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 6, err, sizeof err), 6);
    for (int i = 1; i < 6; i++)
        ck_assert_int_gt (bars[i].ts, bars[i - 1].ts);
    ck_assert_int_eq (bars[2].ts, 100 * NS + 10 * NS + NS);
    source_destroy (&src);
    unlink (path);
    free (path);
}
END_TEST

/* A gzip file, newest first, no symbol column, dates as 19-Sep-03: replayed
 * oldest first; loop replays the sorted bars, each pass after the last. */
START_TEST (a_newest_first_gzip_file_with_options_replays_oldest_first_and_loops)
{
    char *path = strdup ("/tmp/test_csv_XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    /* the 17th gets a negative volume: a bad row */
    char text[512];
    snprintf (text, sizeof text, "%s", s_newest_first);
    char *vol = strstr (text, "47221600");
    ck_assert_ptr_nonnull (vol);
    memcpy (vol, "-1      ", 8); /* fields are trimmed */
    ck_assert_int_eq (h_gz_write_fd (fd, text), 0);
    mdf_csv_opts_t opts;
    const char *bad_key = NULL;
    char err[300];
    ck_assert_int_eq (mdf_csv_opts_parse (&opts, "MSFT", "ts=Date", "%d-%b-%y", "16:00", &bad_key,
                                          err, sizeof err),
                      0);
    bad_rows_t bad = { { 0 }, { { 0 } }, 0 };
    source_t *src = source_csv_new (path, &opts, true, on_bad, &bad);
    mdf_bar_t bars[7];
    ck_assert_int_eq (source_next (src, bars, 7, err, sizeof err), 7);
    int64_t first = (HISTORY_NEWEST_FIRST_OLDEST_S + 16 * 3600) * NS; /* 16-Sep-03 16:00 UTC */
    int64_t shift = 3 * 86400 * NS + NS;                              /* the span + 1 s */
    int64_t want[7] = { first,
                        first + 2 * 86400 * NS,
                        first + 3 * 86400 * NS,
                        first + shift,
                        first + shift + 2 * 86400 * NS,
                        first + shift + 3 * 86400 * NS,
                        first + 2 * shift };
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq (bars[i].ts, want[i]);
        ck_assert_str_eq (bars[i].symbol, "MSFT");
    }
    ck_assert (bars[0].close == 28.90 && bars[2].close == 29.96 && bars[6].open == 28.41);
    ck_assert_int_eq (bad.n, 1); /* reported once, not at every pass */
    ck_assert_int_eq (bad.lines[0], 4);
    ck_assert_ptr_nonnull (strstr (bad.errors[0], "volume"));
    source_destroy (&src);
    unlink (path);
    free (path);
}
END_TEST

START_TEST (missing_file_or_bad_header_is_a_provider_error)
{
    source_t *src = source_csv_new ("/nonexistent/bars.csv", NULL, false, NULL, NULL);
    mdf_bar_t bars[2];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "/nonexistent/bars.csv"));
    source_destroy (&src);
    char *path = write_tmp ("sym,when\nA,1\n");
    src = source_csv_new (path, NULL, false, NULL, NULL);
    ck_assert_int_eq (source_next (src, bars, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, ":1: header lacks column 'symbol'"));
    ck_assert_ptr_nonnull (strstr (err, "set symbol = \"AAPL\""));
    source_destroy (&src);
    unlink (path);
    free (path);
}
END_TEST

START_TEST (synthetic_bars_are_valid_with_increasing_ts_per_symbol)
{
    const char *syms[] = { "AAPL", "MSFT" };
    source_t *src = source_synthetic_new (syms, 2, 42, 100);
    mdf_bar_t bars[1000];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 1000, err, sizeof err), 1000);
    int64_t last[2] = { 0, 0 };
    for (int i = 0; i < 1000; i++) {
        int s = strcmp (bars[i].symbol, "AAPL") == 0 ? 0 : 1;
        ck_assert_int_gt (bars[i].ts, last[s]);
        last[s] = bars[i].ts;
        ck_assert_int_eq (mdf_bar_validate (&bars[i], (size_t)i, err, sizeof err), 0);
        ck_assert (bars[i].low <= bars[i].open && bars[i].open <= bars[i].high);
        ck_assert (bars[i].low <= bars[i].close && bars[i].close <= bars[i].high);
    }
    source_destroy (&src);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("csv");
    TCase *tc = tcase_create ("csv");
    tcase_add_test (tc, bad_rows_are_skipped_and_reported_with_their_line_number);
    tcase_add_test (tc, the_shared_format_reorders_columns_quotes_and_applies_offsets);
    tcase_add_test (tc, loop_replays_with_shifted_increasing_ts);
    tcase_add_test (tc, a_newest_first_gzip_file_with_options_replays_oldest_first_and_loops);
    tcase_add_test (tc, missing_file_or_bad_header_is_a_provider_error);
    tcase_add_test (tc, synthetic_bars_are_valid_with_increasing_ts_per_symbol);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
