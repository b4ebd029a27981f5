/*
 * csv: load a whole file of bars for `mdctl send`.
 *
 * The format (header, quoting, ts formats) is proto/csv.h's, the same the
 * pipeline's csv provider reads.  Unlike the provider, which skips a bad row,
 * send refuses the whole file at its first bad row: nothing is sent from a
 * file that is not entirely right.  Errors name the file and the line.
 */
#ifndef MDCTL_CSV_H
#define MDCTL_CSV_H

#include "proto/batch.h"

#include <stddef.h>

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

#endif
