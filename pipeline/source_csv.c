/*
 * source_csv: replay bars from a CSV file (format and options: proto/csv.h,
 * shared with `mdctl send`; see source.h for the replay rules).
 *
 * The file is loaded whole on the first next() by mdf_csv_load, which sorts
 * the bars by ts (a file newest first is replayed oldest first); every pass
 * then replays that array, so memory is about 128 bytes a bar and a loop
 * does not read the file again.  A row the reader refuses, or one
 * mdf_bar_validate refuses (the store's rules), is reported through
 * on_bad_row with its line, once, and skipped.  A file that cannot be read
 * is a provider error; the next call tries to load it again.
 * Invariant: `shift_ns` is added to every ts and grows by the file's span
 * (last ts - first ts) + 1 s at each loop pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/source.h"

typedef struct {
    source_t base;
    char *path;
    mdf_csv_opts_t opts;
    bool loop;
    source_bad_row_fn on_bad_row;
    void *arg;
    mdf_csv_bars_t file; /* sorted by ts once loaded */
    bool loaded;
    size_t pos; /* the next bar of the current pass */
    int64_t shift_ns;
    bool done;
} s_csv_t;

static int
s_next (source_t *base, mdf_bar_t *bars, size_t n, char *err, size_t errlen)
{
    s_csv_t *c = (s_csv_t *)base;
    if (!c->loaded && !c->done) {
        if (mdf_csv_load (c->path, &c->opts, c->on_bad_row, c->arg, &c->file, err, errlen) != 0)
            return -1;
        c->loaded = true;
        c->done = c->file.n == 0;
    }
    size_t got = 0;
    while (got < n && !c->done) {
        if (c->pos == c->file.n) { /* the end of a pass: the next one, or the end */
            if (!c->loop) {
                c->done = true;
                break;
            }
            c->shift_ns += c->file.bars[c->file.n - 1].ts - c->file.bars[0].ts + 1000000000LL;
            c->pos = 0;
        }
        bars[got] = c->file.bars[c->pos++];
        bars[got++].ts += c->shift_ns;
    }
    return (int)got;
}

static void
s_destroy (source_t *base)
{
    s_csv_t *c = (s_csv_t *)base;
    mdf_csv_bars_clear (&c->file);
    free (c->path);
    free (c);
}

source_t *
source_csv_new (const char *path, const mdf_csv_opts_t *opts, bool loop,
                source_bad_row_fn on_bad_row, void *arg)
{
    s_csv_t *c = calloc (1, sizeof *c);
    if (!c)
        return NULL;
    c->path = strdup (path);
    if (!c->path) {
        free (c);
        return NULL;
    }
    if (opts)
        c->opts = *opts;
    c->loop = loop;
    c->on_bad_row = on_bad_row;
    c->arg = arg;
    c->base.next = s_next;
    c->base.destroy = s_destroy;
    return &c->base;
}
