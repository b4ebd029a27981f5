/*
 * csv: the bar file loader of `mdctl send` (see csv.h).  Rows come from the
 * shared reader (proto/csv.c); this file only collects them, with the line
 * of each, into one growing array, and turns the first bad row into an error.
 */
#include "tools/mdctl/csv.h"

#include "proto/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_push (csv_bars_t *out, const mdf_bar_t *bar, size_t line)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        mdf_bar_t *bars = realloc (out->bars, cap * sizeof *bars);
        if (!bars)
            return -1;
        out->bars = bars;
        size_t *lines = realloc (out->lines, cap * sizeof *lines);
        if (!lines)
            return -1;
        out->lines = lines;
        out->cap = cap;
    }
    out->bars[out->n] = *bar;
    out->lines[out->n++] = line;
    return 0;
}

int
csv_read_bars (const char *path, csv_bars_t *out, char *err, size_t errlen)
{
    mdf_csv_t *reader = mdf_csv_open (path, err, errlen);
    if (!reader)
        return -1;
    char what[512] = "";
    mdf_bar_t bar;
    mdf_csv_rc_t rc;
    while ((rc = mdf_csv_next (reader, &bar, what, sizeof what)) == MDF_CSV_BAR)
        if (s_push (out, &bar, mdf_csv_line (reader)) != 0) {
            snprintf (what, sizeof what, "out of memory");
            rc = MDF_CSV_FAILED;
            break;
        }
    if (rc != MDF_CSV_END) {
        snprintf (err, errlen, "%s:%zu: %s", path, mdf_csv_line (reader), what);
        csv_bars_clear (out);
    }
    mdf_csv_destroy (&reader);
    return rc == MDF_CSV_END ? 0 : -1;
}

void
csv_bars_clear (csv_bars_t *bars)
{
    free (bars->bars);
    free (bars->lines);
    memset (bars, 0, sizeof *bars);
}
