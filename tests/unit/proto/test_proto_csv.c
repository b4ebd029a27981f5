/*
 * proto/csv: the bar file format shared by the csv provider and mdctl send.
 * ts formats (and the ambiguous ones refused), the header (any order and
 * case, extra columns), quoting, CRLF, blank lines counted in line numbers,
 * and bad rows that name what is wrong without stopping the reader.  Files as
 * users download them: no symbol column, a date column (2024-01-02 or
 * 19-Sep-03 through ts_format), other column names, newest first, gzip; the
 * options checked, and a header that lacks a column naming the option that
 * fixes it.
 */
#include "proto/csv.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"
#include "tests/integration/history_files.h"

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

START_TEST (ts_a_date_alone_is_midnight_utc)
{
    ck_assert_int_eq (s_ts ("2024-01-02"), 1704153600LL * NS);
    ck_assert_int_eq (s_ts ("2024-02-29"), (1704153600LL + 58 * 86400) * NS); /* a leap day */
    ck_assert_ptr_nonnull (strstr (s_ts_error ("2023-02-29"), "is not a date (YYYY-MM-DD)"));
    ck_assert_ptr_nonnull (strstr (s_ts_error ("2024-04-31"), "is not a date"));
    ck_assert_ptr_nonnull (strstr (s_ts_error ("2024-13-01"), "is not a date"));
    s_ts_error ("2024-1-2"); /* not the date spelling, nor RFC 3339 */
    /* years whose ns do not fit in 64 bits (found by fuzz_tick) */
    ck_assert_ptr_nonnull (strstr (s_ts_error ("1011-11-10"), "out of range"));
    ck_assert_ptr_nonnull (strstr (s_ts_error ("9999-12-31"), "out of range"));
}
END_TEST

/* ---- the reader ----------------------------------------------------------------- */

/* content into a new file (malloc'd path), gzip-compressed when gz is set. */
static char *
s_file_as (const char *content, bool gz)
{
    char *path = strdup ("/tmp/test_proto_csv_XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    if (gz) {
        ck_assert_int_eq (h_gz_write_fd (fd, content), 0);
        return path;
    }
    ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t)strlen (content));
    close (fd);
    return path;
}

static char *
s_file (const char *content)
{
    return s_file_as (content, false);
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

/* ---- files as they come: options --------------------------------------------------- */

/* mdf_csv_opts_parse with the four options; "" when they are fine, else the
 * key at fault and the error, "KEY: ERROR". */
static const char *
s_opts (mdf_csv_opts_t *o, const char *symbol, const char *columns, const char *format,
        const char *offset)
{
    static char out[600];
    char err[512] = "";
    const char *bad = NULL;
    if (mdf_csv_opts_parse (o, symbol, columns, format, offset, &bad, err, sizeof err) == 0)
        return "";
    ck_assert_ptr_nonnull (bad);
    snprintf (out, sizeof out, "%s: %s", bad, err);
    return out;
}

START_TEST (options_are_parsed_and_bad_values_name_the_option)
{
    mdf_csv_opts_t o;
    ck_assert_str_eq (s_opts (&o, "AAPL", " TS = date , Volume=Vol. ", "%d-%b-%y", "21:30"), "");
    ck_assert_str_eq (o.symbol, "AAPL");
    ck_assert_str_eq (o.column[1], "date");
    ck_assert_str_eq (o.column[6], "Vol.");
    ck_assert_str_eq (o.column[0], "");
    ck_assert_str_eq (o.ts_format, "%d-%b-%y");
    ck_assert_int_eq (o.ts_offset_ns, (21 * 3600 + 30 * 60) * NS);
    ck_assert_str_eq (s_opts (&o, NULL, NULL, NULL, "-05:00"), "");
    ck_assert_int_eq (o.ts_offset_ns, -5 * 3600 * NS);
    ck_assert_str_eq (s_opts (&o, "", "", "", "9:30:15"), "");
    ck_assert_int_eq (o.ts_offset_ns, (9 * 3600 + 30 * 60 + 15) * NS);
    ck_assert_str_eq (s_opts (&o, NULL, NULL, "%Y%m%d %H:%M", NULL), "");

    static const char *bad_offsets[]
        = { "16h", "16", "16:60", "1:2", "16:00:", "16:00:60", "+", "16:00x", "100:00", "57600" };
    for (size_t i = 0; i < sizeof bad_offsets / sizeof bad_offsets[0]; i++) {
        const char *e = s_opts (&o, NULL, NULL, NULL, bad_offsets[i]);
        ck_assert_msg (strstr (e, "ts_offset: ts_offset '") && strstr (e, "expected [-]HH:MM[:SS]"),
                       "%s: %s", bad_offsets[i], e);
    }
    ck_assert_ptr_nonnull (strstr (s_opts (&o, NULL, "ts", NULL, NULL),
                                   "columns: columns 'ts': expected NAME=HEADER"));
    ck_assert_ptr_nonnull (
        strstr (s_opts (&o, NULL, "date=ts", NULL, NULL), "expected NAME=HEADER"));
    ck_assert_ptr_nonnull (strstr (s_opts (&o, NULL, "ts=", NULL, NULL), "expected NAME=HEADER"));
    ck_assert_ptr_nonnull (strstr (s_opts (&o, NULL, "ts=a,TS=b", NULL, NULL), "maps ts twice"));
    ck_assert_ptr_nonnull (
        strstr (s_opts (&o, "AAPL", "symbol=Ticker", NULL, NULL),
                "columns: columns 'symbol=Ticker' maps symbol, and symbol is set"));
    ck_assert_ptr_nonnull (
        strstr (s_opts (&o, NULL, NULL, "date", NULL), "ts_format: ts_format 'date'"));
    ck_assert_ptr_nonnull (
        strstr (s_opts (&o, NULL, NULL, "%Y-%Q", NULL), "cannot read the times it writes"));
    char long_symbol[80];
    memset (long_symbol, 'S', sizeof long_symbol - 1);
    long_symbol[sizeof long_symbol - 1] = '\0';
    ck_assert_ptr_nonnull (
        strstr (s_opts (&o, long_symbol, NULL, NULL, NULL), "symbol: symbol 'SSS"));
}
END_TEST

/* ---- files as they come: reading ---------------------------------------------------- */

/* mdf_csv_load of path with o (stop at the first bad row); "" or the error. */
static const char *
s_load_path (const char *path, const mdf_csv_opts_t *o, mdf_csv_bars_t *out)
{
    static char err[1024];
    memset (out, 0, sizeof *out);
    err[0] = '\0';
    if (mdf_csv_load (path, o, NULL, NULL, out, err, sizeof err) == 0)
        err[0] = '\0';
    else
        ck_assert_msg (strstr (err, path), "the error names the file: %s", err);
    return err;
}

static const char *
s_load (const char *content, const mdf_csv_opts_t *o, mdf_csv_bars_t *out)
{
    char *path = s_file (content);
    const char *err = s_load_path (path, o, out);
    unlink (path);
    free (path);
    return err;
}

START_TEST (a_file_without_symbol_column_takes_symbol_and_a_date_gets_ts_offset)
{
    mdf_csv_opts_t o;
    ck_assert_str_eq (s_opts (&o, "AAPL", "ts=date", NULL, "21:00"), "");
    mdf_csv_bars_t b;
    const char *err = s_load (s_daily, &o, &b);
    ck_assert_msg (!*err, "%s", err);
    ck_assert_uint_eq (b.n, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq (b.bars[i].symbol, "AAPL");
        ck_assert_int_eq (b.bars[i].ts,
                          (HISTORY_DAILY_FIRST_S + (int64_t)i * 86400 + 21 * 3600) * NS);
        ck_assert_uint_eq (b.lines[i], i + 2);
    }
    /* close is the file's close; adjclose is ignored unless columns maps it */
    ck_assert (b.bars[0].open == 187.15 && b.bars[0].close == 185.64);
    ck_assert (b.bars[2].volume == 71983600 && b.bars[2].low == 180.88);
    mdf_csv_bars_clear (&b);
    /* without ts_offset a date alone is 00:00 UTC */
    ck_assert_str_eq (s_opts (&o, "AAPL", "ts=date", NULL, NULL), "");
    ck_assert_msg (!*(err = s_load (s_daily, &o, &b)), "%s", err);
    ck_assert_int_eq (b.bars[0].ts, HISTORY_DAILY_FIRST_S * NS);
    mdf_csv_bars_clear (&b);
}
END_TEST

START_TEST (columns_and_ts_format_read_a_file_newest_first_oldest_first)
{
    mdf_csv_opts_t o;
    ck_assert_str_eq (s_opts (&o, "MSFT", "ts=date", "%d-%b-%y", "16:00"), "");
    mdf_csv_bars_t b;
    const char *err = s_load (s_newest_first, &o, &b);
    ck_assert_msg (!*err, "%s", err);
    ck_assert_uint_eq (b.n, 4);
    for (size_t i = 0; i < 4; i++) {
        /* 16-Sep-03 (line 5) first: %y 03 is 2003 */
        ck_assert_int_eq (b.bars[i].ts,
                          (HISTORY_NEWEST_FIRST_OLDEST_S + (int64_t)i * 86400 + 16 * 3600) * NS);
        ck_assert_uint_eq (b.lines[i], 5 - i);
        ck_assert_str_eq (b.bars[i].symbol, "MSFT");
    }
    ck_assert (b.bars[0].open == 28.41 && b.bars[0].close == 28.90 && b.bars[0].volume == 52060600);
    ck_assert (b.bars[3].close == 29.96);
    mdf_csv_bars_clear (&b);
    /* columns may pick the adjusted close, a name with a space, a dot and a star */
    ck_assert_str_eq (s_opts (&o, "MSFT", "ts=Date,close=adj. close*", "%d-%b-%y", NULL), "");
    ck_assert_msg (!*(err = s_load (s_newest_first, &o, &b)), "%s", err);
    ck_assert (b.bars[0].close == 28.27 && b.bars[3].close == 29.31);
    ck_assert_int_eq (b.bars[3].ts, 1063929600LL * NS);
    mdf_csv_bars_clear (&b);
    /* a value the format does not read is a bad row naming the format */
    ck_assert_str_eq (s_opts (&o, "MSFT", "ts=Date", "%d-%b-%y", NULL), "");
    err = s_load ("Date,Open,High,Low,Close,Volume\n"
                  "19-Sep-03,1,2,0.5,1,1\n"
                  "2003-09-18,1,2,0.5,1,1\n",
                  &o, &b);
    ck_assert_msg (strstr (err, ":3: ts '2003-09-18' does not match ts_format '%d-%b-%y'"), "%s",
                   err);
    ck_assert_uint_eq (b.n, 0);
    err = s_load ("Date,Open,High,Low,Close,Volume\n31-Apr-03,1,2,0.5,1,1\n", &o, &b);
    ck_assert_msg (strstr (err, ":2: ts '31-Apr-03' is not a date"), "%s", err);
}
END_TEST

/* The order is ts, and rows of one ts keep the file's order (a stable sort). */
START_TEST (load_sorts_by_ts_keeping_the_file_order_of_equal_ts)
{
    mdf_csv_bars_t b;
    const char *err = s_load ("symbol,ts,open,high,low,close,volume\n"
                              "B,1700000300,1,2,0.5,1,3\n"
                              "A,1700000100,1,2,0.5,1,1\n"
                              "C,1700000300,1,2,0.5,1,4\n"
                              "\n"
                              "A,1700000200,1,2,0.5,1,2\n"
                              "A,1700000300,1,2,0.5,1,5\n",
                              NULL, &b);
    ck_assert_msg (!*err, "%s", err);
    ck_assert_uint_eq (b.n, 5);
    const char *syms[] = { "A", "A", "B", "C", "A" };
    size_t lines[] = { 3, 6, 2, 4, 7 };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq (b.bars[i].symbol, syms[i]);
        ck_assert_uint_eq (b.lines[i], lines[i]);
        ck_assert (b.bars[i].volume == (double)(i + 1));
    }
    mdf_csv_bars_clear (&b);
    ck_assert_ptr_null (b.bars);
}
END_TEST

static void
s_count_bad (void *arg, size_t line, const char *error)
{
    char *log = arg;
    snprintf (log + strlen (log), 512 - strlen (log), "%zu:%s;", line, error);
}

/* With on_bad_row the load skips what the reader or the store's rules refuse. */
START_TEST (load_with_a_bad_row_callback_skips_and_reports_each_bad_row)
{
    char log[512] = "", err[256];
    char *path = s_file ("symbol,ts,open,high,low,close,volume\n"
                         "A,1700000300,1,2,0.5,1,1\n"
                         "A,soon,1,2,0.5,1,1\n"
                         "A,1700000100,1,2,3,1,1\n" /* low > high */
                         "A,1700000200,1,2,0.5,1,1\n");
    mdf_csv_bars_t b;
    memset (&b, 0, sizeof b);
    ck_assert_int_eq (mdf_csv_load (path, NULL, s_count_bad, log, &b, err, sizeof err), 0);
    ck_assert_uint_eq (b.n, 2);
    ck_assert_int_eq (b.bars[0].ts, 1700000200LL * NS);
    ck_assert_msg (strstr (log, "3:ts 'soon'") && strstr (log, "4:")
                       && strstr (log, "low (3) > high (2)"),
                   "%s", log);
    mdf_csv_bars_clear (&b);
    unlink (path);
    free (path);
}
END_TEST

/* A missing column names the option that fixes it, in the provider's and in
 * mdctl send's spelling, and what the header does have. */
START_TEST (a_header_lacking_a_column_names_the_option_that_fixes_it)
{
    mdf_csv_bars_t b;
    const char *err = s_load (s_daily, NULL, &b);
    ck_assert_msg (strstr (err, ":1: header lacks column 'symbol': for a file of one symbol set "
                                "symbol = \"AAPL\" (mdctl send --symbol AAPL), or map the file's "
                                "column with columns = \"symbol=NAME\" (--columns symbol=NAME); "
                                "header lacks column 'ts': map the file's column with columns = "
                                "\"ts=date\" (mdctl send --columns ts=date); "
                                "the header is: date,open,high,low,close,adjclose,volume"),
                   "%s", err);
    mdf_csv_opts_t o;
    ck_assert_str_eq (s_opts (&o, "AAPL", NULL, NULL, NULL), "");
    err = s_load ("Open,High,Low,Close,Volume,Trade Time\n", &o, &b);
    ck_assert_msg (strstr (err, "header lacks column 'ts': map the file's column with columns = "
                                "\"ts=Trade Time\" (mdctl send --columns ts=Trade Time)"),
                   "%s", err);
    err = s_load ("ts,o,h,l,c,v\n", &o, &b);
    ck_assert_msg (strstr (err, "header lacks column 'open': map the file's column with columns = "
                                "\"open=NAME\""),
                   "%s", err);
    ck_assert_str_eq (s_opts (&o, "MSFT", "ts=Datum", NULL, NULL), "");
    err = s_load (s_newest_first, &o, &b);
    ck_assert_msg (strstr (err, ":1: header lacks column 'Datum' (columns maps ts to it); the "
                                "header is: Date,Open,High,Low,Close,Volume,Adj. Close*"),
                   "%s", err);
    ck_assert_ptr_null (b.bars);
}
END_TEST

/* ---- gzip ---------------------------------------------------------------------------- */

START_TEST (a_gzip_file_reads_like_the_plain_one_long_lines_included)
{
    /* a note column of 20000 bytes: lines longer than any first buffer */
    size_t note = 20000;
    char *text = malloc (strlen (s_daily) + 4 * note + 64);
    char *w = text;
    w += sprintf (w, "date,open,high,low,close,adjclose,volume,note\n");
    const char *row = strchr (s_daily, '\n') + 1;
    for (int i = 0; i < 3; i++) {
        const char *eol = strchr (row, '\n');
        memcpy (w, row, (size_t)(eol - row));
        w += eol - row;
        *w++ = ',';
        memset (w, 'x', note);
        w += note;
        *w++ = '\n';
        row = eol + 1;
    }
    *w = '\0';
    mdf_csv_opts_t o;
    ck_assert_str_eq (s_opts (&o, "AAPL", "ts=date", NULL, NULL), "");
    mdf_csv_bars_t plain, gz;
    const char *err = s_load (text, &o, &plain);
    ck_assert_msg (!*err, "%s", err);
    char *path = s_file_as (text, true);
    err = s_load_path (path, &o, &gz);
    ck_assert_msg (!*err, "%s", err);
    ck_assert_uint_eq (gz.n, 3);
    ck_assert_uint_eq (plain.n, 3);
    ck_assert_mem_eq (gz.bars, plain.bars, 3 * sizeof *gz.bars);
    ck_assert_int_eq (gz.bars[2].ts, (HISTORY_DAILY_FIRST_S + 2 * 86400) * NS);
    ck_assert_uint_eq (gz.lines[2], 4);
    mdf_csv_bars_clear (&plain);
    mdf_csv_bars_clear (&gz);
    unlink (path);
    free (path);
    free (text);
}
END_TEST

/* A gzip file cut short (an interrupted download) is an error naming the
 * file, not bars made up from half a line. */
START_TEST (a_truncated_gzip_file_is_a_read_error)
{
    char text[64 * 1024] = "symbol,ts,open,high,low,close,volume\n";
    for (int i = 0; strlen (text) + 64 < sizeof text; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "S%d,%d,1,2,0.5,1,%d\n", i,
                  1700000000 + i, i);
    char *path = s_file_as (text, true);
    FILE *f = fopen (path, "r");
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fclose (f);
    ck_assert_int_eq (truncate (path, size / 2), 0);
    mdf_csv_bars_t b;
    const char *err = s_load_path (path, NULL, &b);
    ck_assert_msg (strstr (err, "read error: unexpected end of file"), "%s", err);
    ck_assert_ptr_null (b.bars);
    unlink (path);
    free (path);
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
    tcase_add_test (tc, ts_a_date_alone_is_midnight_utc);
    tcase_add_test (tc, options_are_parsed_and_bad_values_name_the_option);
    tcase_add_test (tc, a_file_without_symbol_column_takes_symbol_and_a_date_gets_ts_offset);
    tcase_add_test (tc, columns_and_ts_format_read_a_file_newest_first_oldest_first);
    tcase_add_test (tc, load_sorts_by_ts_keeping_the_file_order_of_equal_ts);
    tcase_add_test (tc, load_with_a_bad_row_callback_skips_and_reports_each_bad_row);
    tcase_add_test (tc, a_header_lacking_a_column_names_the_option_that_fixes_it);
    tcase_add_test (tc, a_gzip_file_reads_like_the_plain_one_long_lines_included);
    tcase_add_test (tc, a_truncated_gzip_file_is_a_read_error);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
