/*
 * csv: read a file of bars for `mdctl send`.
 *
 * The file starts with a header naming the columns symbol, ts, open, high,
 * low, close, volume (any order, any case; other columns are ignored); each
 * following non-blank line is one bar.  Fields may be double-quoted ("" for a
 * quote inside).  ts is epoch nanoseconds (an integer >= 1e17), epoch seconds
 * (an integer below 1e10, or with a decimal fraction: 1700000000.25), or
 * RFC 3339 (2024-01-02T15:04:05.123Z, an offset such as +02:00 is applied).
 *
 * Only the file's syntax is checked here (numbers parse, the symbol fits);
 * whether a bar is acceptable (low <= high, ts > 0, ...) is the store's call,
 * so its rejection reaches the user.  Errors name the file and the line.
 */
#ifndef MDCTL_CSV_H
#define MDCTL_CSV_H

#include "proto/batch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    mdf_bar_t *bars; /* owned */
    size_t *lines;   /* the line of the file each bar came from */
    size_t n, cap;
} csv_bars_t;

/* Read every bar of the file at path into *out (which must be zeroed).
 * 0, or -1 with err "FILE:LINE: what is wrong" (out is then cleared). */
int csv_read_bars (const char *path, csv_bars_t *out, char *err, size_t errlen);

/* Free the bars and zero the struct. */
void csv_bars_clear (csv_bars_t *bars);

/* Parse one ts field (formats above) into ns since the epoch.  0, or -1 with
 * err saying why. */
int csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen);

#endif
