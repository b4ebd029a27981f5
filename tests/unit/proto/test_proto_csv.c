/*
 * proto/csv: the bar file format shared by the csv provider and mdctl send.
 * ts formats (and the ambiguous ones refused), the header (any order and
 * case, extra columns), quoting, CRLF, blank lines counted in line numbers,
 * and bad rows that name what is wrong without stopping the reader.
 */
#include "proto/csv.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

#define NS 1000000000LL

/* ---- ts formats ---------------------------------------------------------------- */

static int64_t
s_ts (const char *text)
{
    int64_t ns = 0;
    char err[256] = "";
    ck_assert_msg (mdf_csv_parse_ts (text, &ns, err, sizeof err) == 0, "%s: %s", text, err);
    return ns;
}

static const char *
s_ts_error (const char *text)
{
    static char err[256];
    int64_t ns = 0;
    err[0] = '\0';
    ck_assert_msg (mdf_csv_parse_ts (text, &ns, err, sizeof err) != 0, "'%s' was accepted", text);
    return err;
}

START_TEST (ts_accepts_epoch_ns_seconds_and_rfc3339)
{
    ck_assert_int_eq (s_ts ("1700000000123456789"), 1700000000123456789LL);
    ck_assert_int_eq (s_ts ("1700000000"), 1700000000000000000LL);
    ck_assert_int_eq (s_ts ("1700000000.5"), 1700000000500000000LL);
    ck_assert_int_eq (s_ts ("1700000000.000000001"), 1700000000000000001LL);
    ck_assert_int_eq (s_ts ("2023-11-14T22:13:20Z"), 1700000000000000000LL);
    ck_assert_int_eq (s_ts ("2023-11-14t22:13:20.123456789z"), 1700000000123456789LL);
    ck_assert_int_eq (s_ts ("2023-11-14 22:13:20.25Z"), 1700000000250000000LL);
    ck_assert_int_eq (s_ts ("2023-11-14T17:13:20-05:00"), 1700000000000000000LL);
    ck_assert_int_eq (s_ts ("2023-11-14T22:13:20.1234567891Z"), 1700000000123456789LL);
    ck_assert_int_eq (s_ts ("2026-11-20T14:30:00+00:00"), 1795185000LL * NS);
    ck_assert_int_eq (s_ts ("2026-11-20T16:30:00+02:00"), 1795185000LL * NS);
}
END_TEST

START_TEST (ts_rejects_ambiguous_units_and_bad_dates)
{
    ck_assert_ptr_nonnull (strstr (s_ts_error ("1700000000000"), "neither"));    /* ms */
    ck_assert_ptr_nonnull (strstr (s_ts_error ("1700000000000000"), "neither")); /* us */
    ck_assert_ptr_nonnull (strstr (s_ts_error ("2023-11-14T22:13:20"), "Z or an offset"));
    ck_assert_ptr_nonnull (strstr (s_ts_error ("2023-13-14T22:13:20Z"), "RFC 3339"));
    ck_assert_ptr_nonnull (strstr (s_ts_error ("yesterday"), "not a number"));
    ck_assert_ptr_nonnull (strstr (s_ts_error (""), "empty"));
    s_ts_error ("1700000000.");
    s_ts_error ("1700000000.5x");
    s_ts_error ("99999999999999999999");
    s_ts_error ("not-a-time");
}
END_TEST

/* ---- the reader ----------------------------------------------------------------- */

static char *
s_file (const char *content)
{
    char *path = strdup ("/tmp/test_proto_csv_XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t)strlen (content));
    close (fd);
    return path;
}

/* Open content; NULL with *err set (naming the file) when the header is refused. */
static mdf_csv_t *
s_open (const char *content, char *err, size_t errlen)
{
    char *path = s_file (content);
    mdf_csv_t *r = mdf_csv_open (path, NULL, err, errlen);
    if (!r)
        ck_assert_msg (strstr (err, path), "the error names the file: %s", err);
    unlink (path); /* the reader keeps the open file */
    free (path);
    return r;
}

START_TEST (reads_quoted_reordered_crlf_files_and_keeps_line_numbers)
{
    char err[256];
    mdf_csv_t *r = s_open ("\r\nVolume,Close,Low,High,Open,TS,Symbol,note\r\n"
                           "1,2,3,4,5,1700000000,\"BRK,B\",x\r\n"
                           "\r\n"
                           "  7 , 8 , 9 , 10 , 11 , 1700000001 , \"a \"\"q\"\"\" , y\r\n",
                           err, sizeof err);
    ck_assert_msg (r != NULL, "%s", err);
    mdf_bar_t b;
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_BAR);
    ck_assert_str_eq (b.symbol, "BRK,B");
    ck_assert (b.volume == 1 && b.close == 2 && b.low == 3 && b.high == 4 && b.open == 5);
    ck_assert_int_eq (b.ts, 1700000000LL * NS);
    ck_assert_uint_eq (mdf_csv_line (r), 3);
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_BAR);
    ck_assert_str_eq (b.symbol, "a \"q\"");
    ck_assert (b.close == 8 && b.low == 9);
    ck_assert_uint_eq (mdf_csv_line (r), 5);
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_END);
    mdf_csv_destroy (&r);
    ck_assert_ptr_null (r);
}
END_TEST

/* Each bad row names its problem, and the reader goes on to the next line. */
START_TEST (bad_rows_say_what_is_wrong_and_the_reader_goes_on)
{
    static const char *rows[][2] = {
        { "A,1700000000,1,2,1,1", "6 field(s), the header has 7" },
        { "A123456789012345678901234567890123456789012345678901234567890123456789,"
          "1700000000,1,2,1,1,1",
          "symbol longer than 64 bytes" },
        { "\"A,1700000000,1,2,1,1,1", "unterminated quote" },
        { "A,1700000000,1,2,1,1,", "volume '' is not a number" },
        { "A,1700000000,ten,2,1,1,1", "open 'ten' is not a number" },
        { "A,soon,1,2,1,1,1", "ts 'soon' is not a number nor RFC 3339" },
        { "A,1700000000000,1,2,1,1,1", "is neither epoch seconds" },
    };
    size_t n = sizeof rows / sizeof rows[0];
    char text[2048] = "symbol,ts,open,high,low,close,volume\n";
    for (size_t i = 0; i < n; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "%s\n", rows[i][0]);
    strcat (text, "B,1700000001,1,2,0.5,1.5,10\n");
    char err[256];
    mdf_csv_t *r = s_open (text, err, sizeof err);
    ck_assert_msg (r != NULL, "%s", err);
    mdf_bar_t b;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_BAD_ROW);
        ck_assert_msg (strstr (err, rows[i][1]), "row %zu: want '%s' in '%s'", i, rows[i][1], err);
        ck_assert_uint_eq (mdf_csv_line (r), i + 2);
    }
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_BAR);
    ck_assert_str_eq (b.symbol, "B");
    ck_assert_uint_eq (mdf_csv_line (r), n + 2);
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_END);
    mdf_csv_destroy (&r);
}
END_TEST

/* Syntax only: rules such as low <= high are mdf_bar_validate's. */
START_TEST (rows_are_parsed_not_judged)
{
    char err[256];
    mdf_csv_t *r = s_open ("symbol,ts,open,high,low,close,volume\n"
                           ",1700000000,1,2,3,1.5,-1\n",
                           err, sizeof err);
    ck_assert_msg (r != NULL, "%s", err);
    mdf_bar_t b;
    ck_assert_int_eq (mdf_csv_next (r, &b, err, sizeof err), MDF_CSV_BAR);
    ck_assert_str_eq (b.symbol, "");
    ck_assert_int_eq (mdf_bar_validate (&b, 0, err, sizeof err), -1);
    mdf_csv_destroy (&r);
}
END_TEST

START_TEST (a_missing_file_or_a_bad_header_is_refused_with_file_and_line)
{
    char err[256];
    ck_assert_ptr_null (mdf_csv_open ("/nonexistent/x.csv", NULL, err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, "/nonexistent/x.csv: No such file"));
    ck_assert_ptr_null (s_open ("symbol,ts,open,high,low,close\nA,1,1,1,1,1\n", err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, ":1: header lacks column 'volume'"));
    ck_assert_ptr_null (s_open ("\n\nsym,when\n", err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, ":3: header lacks column 'symbol'"));
    ck_assert_ptr_null (s_open ("", err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, ":0: empty file"));
    ck_assert_ptr_null (s_open ("\n \n", err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, ":2: empty file"));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("proto_csv");
    TCase *tc = tcase_create ("csv");
    tcase_add_test (tc, ts_accepts_epoch_ns_seconds_and_rfc3339);
    tcase_add_test (tc, ts_rejects_ambiguous_units_and_bad_dates);
    tcase_add_test (tc, reads_quoted_reordered_crlf_files_and_keeps_line_numbers);
    tcase_add_test (tc, bad_rows_say_what_is_wrong_and_the_reader_goes_on);
    tcase_add_test (tc, rows_are_parsed_not_judged);
    tcase_add_test (tc, a_missing_file_or_a_bad_header_is_refused_with_file_and_line);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
