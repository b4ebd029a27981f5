/*
 * source: where a provider's bars come from (synthetic generator, CSV replay).
 *
 * A source is a small vtable the provider thread drives: source_next fills up
 * to n bars.  It returns the number filled (> 0), 0 at the end of a finite
 * source, or -1 on a provider error (err says what; the provider reports it to
 * the coordinator, which applies cooldown and breaker, and calls next again
 * later).  Sources are used by one thread only.
 *
 * source_synthetic.c: a random walk per symbol with valid OHLC
 * (low <= open, close <= high) and strictly increasing ts per symbol in whole
 * microseconds (wall time, bumped by 1 us when bars come faster), so every bar
 * is a distinct row, in PostgreSQL's microsecond timestamptz too.
 *
 * source_csv.c: the bar file format of proto/csv.h (shared with `mdctl
 * send`): a header naming symbol,ts,open,high,low,close,volume (or the
 * file's own names, mapped by opts); ts as RFC 3339
 * ("2026-11-22T10:00:00Z", fraction and offset allowed), a date alone, epoch
 * seconds (with fraction), epoch nanoseconds (an integer >= 1e17) or what
 * opts' ts_format reads; plain or gzip.  The file is loaded whole and sorted
 * by ts, so it may be in any time order (newest first too): bars are replayed
 * oldest first.  A bad row (one the reader or mdf_bar_validate refuses) is
 * reported through the on_bad_row callback with its line number, once, and
 * skipped; a file that cannot be read is a provider error.
 * With loop, the sorted bars are replayed forever; each pass shifts ts by
 * (last ts - first ts of the file) + 1 s, so every pass comes after the one
 * before and ts keep increasing per symbol.
 */
#ifndef PIPELINE_SOURCE_H
#define PIPELINE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"
#include "proto/csv.h"

typedef struct _source_t source_t;

/* Fill up to n bars; see above. */
int source_next (source_t *self, mdf_bar_t *bars, size_t n, char *err, size_t errlen);
void source_destroy (source_t **self_p);

/* Synthetic: `symbols` copied; seed 0 = from the clock. */
source_t *source_synthetic_new (const char *const *symbols, size_t nsymbols, uint64_t seed,
                                double start_price);

/* A bad row: its line and what is wrong (proto/csv.h's callback). */
typedef mdf_csv_bad_row_fn source_bad_row_fn;

/* CSV replay of `path` (copied) read with opts (copied; NULL: the plain
 * format).  The file is loaded on the first next(); a file that cannot be
 * read is a provider error (so cooldown/breaker apply). */
source_t *source_csv_new (const char *path, const mdf_csv_opts_t *opts, bool loop,
                          source_bad_row_fn on_bad_row, void *arg);

/* Internal: the vtable behind source_t. */
struct _source_t {
    int (*next) (source_t *self, mdf_bar_t *bars, size_t n, char *err, size_t errlen);
    void (*destroy) (source_t *self);
};

#endif
