/*
 * csv: the file format of bars, read by the pipeline's csv provider and by
 * `mdctl send`: one reader, so a file one accepts the other reads the same.
 *
 * The first non-blank line is a header naming the columns symbol, ts, open,
 * high, low, close, volume (any order, any case; other columns are ignored);
 * each following non-blank line is one bar with as many fields as the header.
 * Fields are trimmed and may be double-quoted ("" for a quote inside, commas
 * allowed inside quotes).  Lines end in LF or CRLF; blank lines are skipped but
 * counted, so line numbers match an editor's.  A gzip-compressed file (any
 * name; .csv.gz by custom) is read directly: zlib tells it by its magic bytes.
 *
 * ts is epoch nanoseconds (an integer >= 1e17), epoch seconds (an integer
 * below 1e10, or with a decimal fraction: 1700000000.25, exact to the ns),
 * RFC 3339 (2024-01-02T15:04:05.123Z, 't'/'z' and a space separator accepted,
 * an offset such as +02:00 applied) or a date alone (2024-01-02: 00:00 UTC
 * that day).  Integers in between (milliseconds, microseconds) are refused as
 * ambiguous.
 *
 * Files as they come (mdf_csv_opts_t; provider keys and mdctl send options of
 * the same names): `symbol` gives every row one symbol when the file has no
 * symbol column; `columns` ("ts=date,volume=Volume") names the file's column
 * for some of mdflow's (case-insensitive, like the header); `ts_format` is a
 * strptime(3) format for ts instead of the spellings above ("%d-%b-%y",
 * "%Y%m%d %H:%M"), read as UTC (a %z in it applies the offset it reads),
 * fields the format lacks being 0 (a date alone is 00:00 UTC); `ts_offset`
 * ("[-]HH:MM[:SS]", "16:00") is added to every ts of the file, whatever its
 * spelling: a market's close for a daily file, or a local time made UTC.
 *
 * Only the syntax is checked by the reader (the fields parse, the symbol fits
 * in MDF_SYMBOL_MAX bytes); whether a bar is acceptable (low <= high, ts > 0,
 * a non-empty symbol ...) is mdf_bar_validate's call, made by whoever needs
 * it (mdf_csv_load does when it skips bad rows).
 */
#ifndef MDF_CSV_H
#define MDF_CSV_H

#include "proto/batch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct _mdf_csv_t mdf_csv_t;

#define MDF_CSV_NCOLS 7     /* symbol, ts, open, high, low, close, volume */
#define MDF_CSV_NAME_MAX 64 /* a header name given in `columns`, at most */
#define MDF_CSV_FORMAT_MAX 127

/* How to read a file that is not in mdflow's own spelling (above).  All
 * zero: the plain format. */
typedef struct {
    char symbol[MDF_SYMBOL_MAX + 1]; /* "": the file has a symbol column */
    /* column[k]: the header name of mdflow's k-th column (symbol, ts, open,
     * high, low, close, volume), "" for its own name */
    char column[MDF_CSV_NCOLS][MDF_CSV_NAME_MAX + 1];
    char ts_format[MDF_CSV_FORMAT_MAX + 1]; /* "": the spellings above */
    int64_t ts_offset_ns;                   /* added to every ts */
} mdf_csv_opts_t;

/* Fill *opts from the options as text (a provider's keys, mdctl send's
 * options; NULL or "" leaves one unset) and check each: symbol 1..64 bytes;
 * columns a list NAME=HEADER,... of mdflow's names, each once, not symbol
 * when symbol is set; ts_format with a conversion that reads back what
 * strftime writes; ts_offset "[-]H[H]:MM[:SS]".  0, or -1 with *bad_key the
 * option at fault ("symbol", "columns", "ts_format", "ts_offset") and err
 * saying why ("ts_offset '16h': expected [-]HH:MM[:SS], e.g. 16:00"). */
int mdf_csv_opts_parse (mdf_csv_opts_t *opts, const char *symbol, const char *columns,
                        const char *ts_format, const char *ts_offset, const char **bad_key,
                        char *err, size_t errlen);

/* What mdf_csv_next found. */
typedef enum {
    MDF_CSV_FAILED = -2,  /* the file cannot be read further (I/O error) */
    MDF_CSV_BAD_ROW = -1, /* this line is not a bar; the next call reads on */
    MDF_CSV_END = 0,      /* end of file */
    MDF_CSV_BAR = 1,      /* *bar is filled */
} mdf_csv_rc_t;

/* Open the file at `path` (copied; plain or gzip) and read its header; opts
 * (copied) may be NULL.  Returns a reader (owned; mdf_csv_destroy) or NULL
 * with err "PATH: strerror" or "PATH:LINE: what is wrong" (a bad header, or
 * "empty file (...)").  A header that lacks a column names it and the option
 * that fixes it: "header lacks column 'symbol': set symbol = \"AAPL\" ...". */
mdf_csv_t *mdf_csv_open (const char *path, const mdf_csv_opts_t *opts, char *err, size_t errlen);

/* Read the next bar into *bar.  On MDF_CSV_BAD_ROW and MDF_CSV_FAILED, err
 * says what is wrong without the file and line ("open 'ten' is not a number",
 * "3 field(s), the header has 7"): mdf_csv_line gives the line. */
mdf_csv_rc_t mdf_csv_next (mdf_csv_t *self, mdf_bar_t *bar, char *err, size_t errlen);

/* 1-based number of the last line read: the bar's or the bad row's. */
size_t mdf_csv_line (const mdf_csv_t *self);

/* Close the file, free the reader and set *self_p to NULL. */
void mdf_csv_destroy (mdf_csv_t **self_p);

/* A whole file of bars in memory, sorted by ts; bars with the same ts keep
 * the file's order.  lines[i] is the line bars[i] came from. */
typedef struct {
    mdf_bar_t *bars; /* owned */
    size_t *lines;   /* owned */
    size_t n, cap;
} mdf_csv_bars_t;

typedef void (*mdf_csv_bad_row_fn) (void *arg, size_t line, const char *error);

/* Read every bar of the file at `path` into *out (zeroed by the caller),
 * then sort them (files in any time order, newest first included, come out
 * oldest first).  With on_bad_row, a row the reader refuses or
 * mdf_bar_validate refuses is reported (line, what) and skipped; without,
 * the first row the reader refuses fails the load.  0, or -1 with err
 * "PATH: ..." or "PATH:LINE: what" (*out is then cleared). */
int mdf_csv_load (const char *path, const mdf_csv_opts_t *opts, mdf_csv_bad_row_fn on_bad_row,
                  void *arg, mdf_csv_bars_t *out, char *err, size_t errlen);

/* Free the bars and zero the struct. */
void mdf_csv_bars_clear (mdf_csv_bars_t *bars);

/* Parse one ts field (formats above) into ns since the epoch.  0, or -1 with
 * err saying why ("ts '1700000000000' is neither epoch seconds ..."). */
int mdf_csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen);

/* The same rule on a number (a JSON or msgpack ts, proto/tick.h): an integer
 * below 1e10 is epoch seconds, one >= 1e17 epoch ns, anything in between is
 * refused as ambiguous; a float is epoch seconds with a fraction, rounded to
 * the ns by way of the shortest decimal that reads back as the same double
 * (1700000000.1 gives ...100000000 ns, not the double's ...099999905).  0, or
 * -1 with err ("ts 1700000000000 is neither ...", "ts is not finite (nan)",
 * "ts 1.7e+12 is out of range for epoch seconds"). */
int mdf_csv_ts_from_int (int64_t v, int64_t *ns, char *err, size_t errlen);
int mdf_csv_ts_from_double (double v, int64_t *ns, char *err, size_t errlen);

/* Split a NUL-terminated line in place into fields as the bar reader does
 * (double quotes with "" inside, commas inside quotes, each field trimmed):
 * fields[0 .. max-1] point into line.  Returns the field count (which may
 * exceed max: the extra fields are not stored), or -1 on an unterminated
 * quote. */
int mdf_csv_split (char *line, char **fields, int max);

#endif
