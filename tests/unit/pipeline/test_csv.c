/*
 * provider_csv: ts formats, row parsing, bad rows skipped with their line
 * number, loop replays with shifted ts, missing file is a provider error.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/source.h"

#define NS 1000000000LL

START_TEST (ts_accepts_rfc3339_epoch_seconds_and_epoch_ns)
{
    char err[200];
    int64_t ns = 0;
    ck_assert_int_eq (csv_parse_ts ("2026-11-20T14:30:00Z", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000LL * NS);
    ck_assert_int_eq (csv_parse_ts ("2026-11-20T14:30:00.25Z", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000LL * NS + 250000000);
    ck_assert_int_eq (csv_parse_ts ("2026-11-20T14:30:00+00:00", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000LL * NS);
    ck_assert_int_eq (csv_parse_ts ("1795185000", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000LL * NS);
    ck_assert_int_eq (csv_parse_ts ("1795185000.5", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000LL * NS + 500000000);
    ck_assert_int_eq (csv_parse_ts ("1795185000123456789", &ns, err, sizeof err), 0);
    ck_assert_int_eq (ns, 1795185000123456789LL);
}
END_TEST

START_TEST (ts_rejects_garbage_and_non_utc_offsets)
{
    char err[200];
    int64_t ns;
    ck_assert_int_eq (csv_parse_ts ("yesterday", &ns, err, sizeof err), -1);
    ck_assert_int_eq (csv_parse_ts ("", &ns, err, sizeof err), -1);
    ck_assert_int_eq (csv_parse_ts ("2026-11-20T14:30:00+02:00", &ns, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "UTC"));
    ck_assert_int_eq (csv_parse_ts ("99999999999999999999", &ns, err, sizeof err), -1);
}
END_TEST

START_TEST (line_parses_into_a_valid_bar)
{
    char err[200];
    mdf_bar_t b;
    ck_assert_int_eq (csv_parse_line ("AAPL, 1795185000 ,1,2,0.5,1.5,100", &b, err, sizeof err), 0);
    ck_assert_str_eq (b.symbol, "AAPL");
    ck_assert_int_eq (b.ts, 1795185000LL * NS);
    ck_assert_double_eq (b.high, 2);
    ck_assert_double_eq (b.volume, 100);
}
END_TEST

START_TEST (bad_lines_name_what_is_wrong)
{
    char err[200];
    mdf_bar_t b;
    ck_assert_int_eq (csv_parse_line ("AAPL,1795185000,1,2,0.5,1.5", &b, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "7 columns"));
    ck_assert_int_eq (csv_parse_line ("AAPL,1795185000,1,2,0.5,1.5,1,9", &b, err, sizeof err), -1);
    ck_assert_int_eq (csv_parse_line ("AAPL,soon,1,2,0.5,1.5,1", &b, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "ts"));
    ck_assert_int_eq (csv_parse_line ("AAPL,1795185000,x,2,0.5,1.5,1", &b, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "open"));
    ck_assert_int_eq (csv_parse_line (",1795185000,1,2,0.5,1.5,1", &b, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "symbol"));
    ck_assert_int_eq (csv_parse_line ("AAPL,1795185000,1,2,3,1.5,1", &b, err, sizeof err), -1);
    ck_assert_int_eq (csv_parse_line ("AAPL,1795185000,1,2,0.5,1.5,-1", &b, err, sizeof err), -1);
}
END_TEST

typedef struct {
    size_t lines[16];
    size_t n;
} bad_rows_t;

static void
on_bad (void *arg, size_t line, const char *error)
{
    bad_rows_t *b = arg;
    (void)error;
    if (b->n < 16)
        b->lines[b->n++] = line;
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
                            "MSFT,2026-11-20T14:30:01Z,1,2,0.5,1.5,7\r\n");
    bad_rows_t bad = { { 0 }, 0 };
    source_t *src = source_csv_new (path, false, on_bad, &bad);
    mdf_bar_t bars[10];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 10, err, sizeof err), 2);
    ck_assert_str_eq (bars[1].symbol, "MSFT");
    ck_assert_int_eq (bars[1].ts, 1795185001LL * NS);
    ck_assert_int_eq (bad.n, 2);
    ck_assert_int_eq (bad.lines[0], 3);
    ck_assert_int_eq (bad.lines[1], 5);
    ck_assert_int_eq (source_next (src, bars, 10, err, sizeof err), 0); /* finished */
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
    source_t *src = source_csv_new (path, true, NULL, NULL);
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

START_TEST (missing_file_or_bad_header_is_a_provider_error)
{
    source_t *src = source_csv_new ("/nonexistent/bars.csv", false, NULL, NULL);
    mdf_bar_t bars[2];
    char err[200];
    ck_assert_int_eq (source_next (src, bars, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "/nonexistent/bars.csv"));
    source_destroy (&src);
    char *path = write_tmp ("sym,when\nA,1\n");
    src = source_csv_new (path, false, NULL, NULL);
    ck_assert_int_eq (source_next (src, bars, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, ":1: expected header"));
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
    tcase_add_test (tc, ts_accepts_rfc3339_epoch_seconds_and_epoch_ns);
    tcase_add_test (tc, ts_rejects_garbage_and_non_utc_offsets);
    tcase_add_test (tc, line_parses_into_a_valid_bar);
    tcase_add_test (tc, bad_lines_name_what_is_wrong);
    tcase_add_test (tc, bad_rows_are_skipped_and_reported_with_their_line_number);
    tcase_add_test (tc, loop_replays_with_shifted_increasing_ts);
    tcase_add_test (tc, missing_file_or_bad_header_is_a_provider_error);
    tcase_add_test (tc, synthetic_bars_are_valid_with_increasing_ts_per_symbol);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
