/*
 * source_csv: replay bars from a CSV file (format: proto/csv.h, shared with
 * `mdctl send`; see source.h for the replay rules).
 *
 * Rows come from the shared reader, which reads line by line, so memory does
 * not grow with the file.  A row the reader refuses, or one mdf_bar_validate
 * refuses (the store's rules), is reported through on_bad_row with its line
 * and skipped.  Invariant: `shift_ns` is added to every ts and grows by the
 * file's span + 1 s at each loop pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/source.h"
#include "proto/csv.h"

typedef struct {
    source_t base;
    char *path;
    bool loop;
    source_bad_row_fn on_bad_row;
    void *arg;
    mdf_csv_t *reader; /* open during a pass */
    int64_t shift_ns;
    int64_t min_ts, max_ts; /* raw ts over the file, learnt on the first pass */
    size_t good_rows;       /* rows returned in the current pass */
    bool done;
} s_csv_t;

/* At end of file: rewind for the next pass (loop) or finish.  0 to go on, 1 done. */
static int
s_end_of_pass (s_csv_t *c)
{
    bool any = c->good_rows > 0;
    mdf_csv_destroy (&c->reader);
    if (!c->loop || !any) {
        c->done = true;
        return 1;
    }
    c->shift_ns += (c->max_ts - c->min_ts) + 1000000000LL;
    return 0;
}

/* One row into *bar: 1 a bar to return, 0 a bad row (reported, skipped),
 * -1 the end of the file, -2 a read error (err set). */
static int
s_row (s_csv_t *c, mdf_bar_t *bar, char *err, size_t errlen)
{
    char rerr[256];
    mdf_csv_rc_t rc = mdf_csv_next (c->reader, bar, rerr, sizeof rerr);
    if (rc == MDF_CSV_END)
        return -1;
    if (rc == MDF_CSV_FAILED) {
        snprintf (err, errlen, "%s:%zu: %s", c->path, mdf_csv_line (c->reader), rerr);
        return -2;
    }
    if (rc == MDF_CSV_BAD_ROW || mdf_bar_validate (bar, 0, rerr, sizeof rerr) < 0) {
        if (c->on_bad_row)
            c->on_bad_row (c->arg, mdf_csv_line (c->reader), rerr);
        return 0;
    }
    return 1;
}

static int
s_next (source_t *base, mdf_bar_t *bars, size_t n, char *err, size_t errlen)
{
    s_csv_t *c = (s_csv_t *)base;
    size_t got = 0;
    while (got < n && !c->done) {
        if (!c->reader) {
            c->good_rows = 0;
            c->reader = mdf_csv_open (c->path, err, errlen);
            if (!c->reader)
                return got > 0 ? (int)got : -1;
        }
        mdf_bar_t *bar = &bars[got];
        int rc = s_row (c, bar, err, errlen);
        if (rc == 0)
            continue;
        if (rc < 0) {
            bool done = s_end_of_pass (c) == 1;
            if (rc == -2) /* a provider error; the pass ends where the read failed */
                return got > 0 ? (int)got : -1;
            if (done)
                break;
            continue;
        }
        if (c->shift_ns == 0) {
            c->min_ts = (c->min_ts == 0 || bar->ts < c->min_ts) ? bar->ts : c->min_ts;
            c->max_ts = bar->ts > c->max_ts ? bar->ts : c->max_ts;
        }
        bar->ts += c->shift_ns;
        c->good_rows++;
        got++;
    }
    return (int)got;
}

static void
s_destroy (source_t *base)
{
    s_csv_t *c = (s_csv_t *)base;
    mdf_csv_destroy (&c->reader);
    free (c->path);
    free (c);
}

source_t *
source_csv_new (const char *path, bool loop, source_bad_row_fn on_bad_row, void *arg)
{
    s_csv_t *c = calloc (1, sizeof *c);
    if (!c)
        return NULL;
    c->path = strdup (path);
    if (!c->path) {
        free (c);
        return NULL;
    }
    c->loop = loop;
    c->on_bad_row = on_bad_row;
    c->arg = arg;
    c->base.next = s_next;
    c->base.destroy = s_destroy;
    return &c->base;
}
