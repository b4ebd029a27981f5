/*
 * source_synthetic: random-walk bars (see source.h).
 *
 * Invariants: for every symbol, ts strictly increases in whole microseconds
 * (wall time, read once per call, or the previous ts + 1 us when bars come
 * faster than that: a clock read per bar cost a tenth of md-pipeline's time
 * at full speed, where a virtual machine's clock is slow to read), so
 * every bar is a distinct row in every sink: PostgreSQL's timestamptz keeps
 * microseconds, and bars 1 ns apart would collapse into one row there.  Each
 * bar has low <= min(open, close) and high >= max(open, close), prices > 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "pipeline/source.h"

typedef struct {
    char symbol[MDF_SYMBOL_MAX + 1];
    double price;
    int64_t last_ts;
} s_sym_t;

typedef struct {
    source_t base;
    s_sym_t *syms;
    size_t nsyms, next_sym;
    uint64_t rng;
} s_synth_t;

static uint64_t
s_rand (s_synth_t *s)
{
    /* xorshift64* */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

/* Uniform in [-1, 1). */
static double
s_unit (s_synth_t *s)
{
    return (double)(s_rand (s) >> 11) / (double)(1ULL << 52) - 1.0;
}

static void
s_make_bar (s_synth_t *s, s_sym_t *sym, mdf_bar_t *bar, int64_t now)
{
    int64_t ts = now;
    if (ts <= sym->last_ts)
        ts = sym->last_ts + 1000;
    sym->last_ts = ts;
    double open = sym->price;
    double close = open * (1.0 + 0.001 * s_unit (s));
    if (close < 0.01)
        close = 0.01;
    /* prices are finite and > 0: plain comparisons, not libm's NaN-aware
     * fmax/fmin calls (a tenth of the walk's time) */
    double hi = (open > close ? open : close) * (1.0 + 0.0005 * fabs (s_unit (s)));
    double lo = (open < close ? open : close) * (1.0 - 0.0005 * fabs (s_unit (s)));
    sym->price = close;
    memcpy (bar->symbol, sym->symbol, sizeof bar->symbol);
    bar->ts = ts;
    bar->open = open;
    bar->high = hi;
    bar->low = lo;
    bar->close = close;
    bar->volume = (double)(s_rand (s) % 1000 + 1);
}

static int
s_next (source_t *base, mdf_bar_t *bars, size_t n, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    s_synth_t *s = (s_synth_t *)base;
    int64_t now = mdf_wall_ns () / 1000 * 1000;
    for (size_t i = 0; i < n; i++) {
        s_make_bar (s, &s->syms[s->next_sym], &bars[i], now);
        if (++s->next_sym == s->nsyms) /* not %: a division per bar */
            s->next_sym = 0;
    }
    return (int)n;
}

static void
s_destroy (source_t *base)
{
    s_synth_t *s = (s_synth_t *)base;
    free (s->syms);
    free (s);
}

source_t *
source_synthetic_new (const char *const *symbols, size_t nsymbols, uint64_t seed,
                      double start_price)
{
    if (nsymbols == 0 || !(start_price > 0))
        return NULL;
    s_synth_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->syms = calloc (nsymbols, sizeof *s->syms);
    if (!s->syms) {
        free (s);
        return NULL;
    }
    for (size_t i = 0; i < nsymbols; i++) {
        snprintf (s->syms[i].symbol, sizeof s->syms[i].symbol, "%s", symbols[i]);
        s->syms[i].price = start_price;
    }
    s->nsyms = nsymbols;
    s->rng = seed ? seed : (uint64_t)mdf_wall_ns () | 1;
    s->base.next = s_next;
    s->base.destroy = s_destroy;
    return &s->base;
}

int
source_next (source_t *self, mdf_bar_t *bars, size_t n, char *err, size_t errlen)
{
    return self->next (self, bars, n, err, errlen);
}

void
source_destroy (source_t **self_p)
{
    if (self_p && *self_p) {
        (*self_p)->destroy (*self_p);
        *self_p = NULL;
    }
}
