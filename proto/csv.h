/*
 * csv: the file format of bars, read by the pipeline's csv provider and by
 * `mdctl send`: one reader, so a file one accepts the other reads the same.
 *
 * The first non-blank line is a header naming the columns symbol, ts, open,
 * high, low, close, volume (any order, any case; other columns are ignored);
 * each following non-blank line is one bar with as many fields as the header.
 * Fields are trimmed and may be double-quoted ("" for a quote inside, commas
 * allowed inside quotes).  Lines end in LF or CRLF; blank lines are skipped but
 * counted, so line numbers match an editor's.
 *
 * ts is epoch nanoseconds (an integer >= 1e17), epoch seconds (an integer
 * below 1e10, or with a decimal fraction: 1700000000.25, exact to the ns), or
 * RFC 3339 (2024-01-02T15:04:05.123Z, 't'/'z' and a space separator accepted,
 * an offset such as +02:00 applied).  Integers in between (milliseconds,
 * microseconds) are refused as ambiguous.
 *
 * Only the syntax is checked here (the fields parse, the symbol fits in
 * MDF_SYMBOL_MAX bytes); whether a bar is acceptable (low <= high, ts > 0, a
 * non-empty symbol ...) is mdf_bar_validate's call, made by whoever needs it.
 */
#ifndef MDF_CSV_H
#define MDF_CSV_H

#include "proto/batch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct _mdf_csv_t mdf_csv_t;

/* What mdf_csv_next found. */
typedef enum {
    MDF_CSV_FAILED = -2,  /* the file cannot be read further (I/O error) */
    MDF_CSV_BAD_ROW = -1, /* this line is not a bar; the next call reads on */
    MDF_CSV_END = 0,      /* end of file */
    MDF_CSV_BAR = 1,      /* *bar is filled */
} mdf_csv_rc_t;

/* Open the file at `path` (copied) and read its header.  Returns a reader
 * (owned; mdf_csv_destroy) or NULL with err "PATH: strerror" or
 * "PATH:LINE: what is wrong" (a bad header, or "empty file (...)"). */
mdf_csv_t *mdf_csv_open (const char *path, char *err, size_t errlen);

/* Read the next bar into *bar.  On MDF_CSV_BAD_ROW and MDF_CSV_FAILED, err
 * says what is wrong without the file and line ("open 'ten' is not a number",
 * "3 field(s), the header has 7"): mdf_csv_line gives the line. */
mdf_csv_rc_t mdf_csv_next (mdf_csv_t *self, mdf_bar_t *bar, char *err, size_t errlen);

/* 1-based number of the last line read: the bar's or the bad row's. */
size_t mdf_csv_line (const mdf_csv_t *self);

/* Close the file, free the reader and set *self_p to NULL. */
void mdf_csv_destroy (mdf_csv_t **self_p);

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
