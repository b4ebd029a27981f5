/*
 * agg_bench: what pipeline/tickbar costs next to a bare aggregation loop.
 *
 * Both loops take the same pre-generated ticks (1,000 symbols chosen at
 * random per tick, ts increasing by 100 us, so about 10 ticks per symbol per
 * 1 s bar; random prices and whole sizes) and turn them into 1 s bars:
 *
 *   tickbar  tickbar_add for every tick (grace 500 ms, late 5 s), then
 *            tickbar_flush; the emit callback folds each bar into a checksum.
 *   bare     the same symbol lookup (the same hash over the symbol's bytes,
 *            the same open-addressing table, length then memcmp) and the
 *            OHLCV update of the symbol's one bar; a tick for a new interval
 *            folds the finished bar into the checksum and starts the next.
 *            None of the operator's rules: no watermark, no out-of-order
 *            placement, no quotes, no late ticks, no validation.
 *
 * The ticks are in order, so both make the same bars and the checksums must
 * agree.  The pre-generated array holds 1 Mi ticks; a run of --ticks ticks
 * replays it, each loop shifting every ts by a whole number of seconds per
 * pass (inside its timing), so event time keeps going forward; both read the
 * ticks in place, as a provider hands over the tick it just decoded.  The loops alternate after a
 * warm-up, --rounds rounds of --ticks each; the figure is the median
 * tickbar rate and the median of the per-round ratios (this shared VM's
 * speed drifts, so a round compares two loops run seconds apart).
 *
 * stdout gets exactly one line:
 *
 *   aggregation: 12.3 M ticks/s = 0.91 x the bare loop (1000 symbols, 1s bars)
 *
 * stderr the rounds.  --quick: 4 M ticks, 3 rounds.  A small --ticks gives
 * instruction counts under valgrind --tool=callgrind.
 *
 *   agg_bench [--quick] [--ticks 20000000] [--rounds 5] [--symbols 1000]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/symhash.h"
#include "pipeline/tickbar.h"

#define SEC 1000000000LL
#define STEP_NS 100000LL /* 100 us between ticks */
#define NONE INT64_MIN

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* ---- the checksum both loops fold bars into ---- */

static inline uint64_t
s_bits (double d)
{
    uint64_t u;
    memcpy (&u, &d, sizeof u);
    return u;
}

static inline uint64_t
s_mix_bar (size_t symlen, uint8_t sym0, int64_t ts, double o, double h, double l, double c,
           double v)
{
    return symlen + sym0 + (uint64_t)ts + s_bits (o) + s_bits (h) * 3 + s_bits (l) * 5
           + s_bits (c) * 7 + s_bits (v) * 11;
}

typedef struct {
    uint64_t checksum, bars;
} s_sink_t;

static int
s_emit (void *arg, const mdf_bar_t *bar, bool correction)
{
    (void)correction;
    s_sink_t *k = arg;
    k->checksum += s_mix_bar (strlen (bar->symbol), (uint8_t)bar->symbol[0], bar->ts, bar->open,
                              bar->high, bar->low, bar->close, bar->volume);
    k->bars++;
    return 0;
}

/* ---- the bare loop: pipeline/tickbar.c's hash and table, nothing else ---- */

typedef struct {
    int64_t start;
    double open, high, low, close, volume;
    uint32_t len;
    char symbol[MDF_SYMBOL_MAX + 1];
} b_sym_t;

typedef struct {
    uint32_t tag, idx;
} b_slot_t;

typedef struct {
    b_slot_t *slots;
    size_t mask;
    b_sym_t *syms;
    size_t nsyms;
} b_table_t;

static void
b_table_init (b_table_t *t, size_t maxsyms)
{
    size_t cap = 64;
    while (cap < maxsyms * 2)
        cap *= 2;
    t->slots = calloc (cap, sizeof *t->slots);
    t->mask = cap - 1;
    t->syms = calloc (maxsyms, sizeof *t->syms);
    t->nsyms = 0;
    if (!t->slots || !t->syms) {
        fprintf (stderr, "agg_bench: out of memory\n");
        exit (1);
    }
}

static inline b_sym_t *
b_lookup (b_table_t *t, const char *symbol, size_t len)
{
    uint64_t h = symhash (symbol, len);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = (size_t)h & t->mask;
    for (;;) {
        b_slot_t *sl = &t->slots[i];
        if (sl->idx == 0) {
            b_sym_t *s = &t->syms[t->nsyms++];
            s->start = NONE;
            s->len = (uint32_t)len;
            memcpy (s->symbol, symbol, len + 1);
            sl->tag = tag;
            sl->idx = (uint32_t)t->nsyms;
            return s;
        }
        if (sl->tag == tag) {
            b_sym_t *s = &t->syms[sl->idx - 1];
            if (s->len == len && memcmp (s->symbol, symbol, len) == 0)
                return s;
        }
        i = (i + 1) & t->mask;
    }
}

static inline void
b_fold (s_sink_t *k, const b_sym_t *s)
{
    k->checksum += s_mix_bar (s->len, (uint8_t)s->symbol[0], s->start, s->open, s->high, s->low,
                              s->close, s->volume);
    k->bars++;
}

/* ---- the ticks ---- */

typedef struct {
    tickbar_tick_t *ticks; /* one pass */
    size_t n;
    int64_t span; /* ts shift per pass: whole seconds */
    char (*names)[24];
    size_t nsyms;
} s_data_t;

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t
s_rand (void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static void
s_make (s_data_t *d, size_t n, size_t nsyms)
{
    static const char *const prefix[] = { "", "BRK.", "EURUSD:", "ES_FUT_" };
    d->n = n;
    d->nsyms = nsyms;
    d->names = calloc (nsyms, sizeof *d->names);
    d->ticks = calloc (n, sizeof *d->ticks);
    double *price = calloc (nsyms, sizeof *price);
    if (!d->names || !d->ticks || !price) {
        fprintf (stderr, "agg_bench: out of memory\n");
        exit (1);
    }
    for (size_t s = 0; s < nsyms; s++) {
        snprintf (d->names[s], sizeof d->names[s], "%s%zu", prefix[s % 4], s);
        price[s] = 10 + (double)(s_rand () % 100000) / 100;
    }
    const int64_t t0 = 1796601600LL * SEC; /* 2026-12-07T00:00:00Z */
    for (size_t i = 0; i < n; i++) {
        size_t s = s_rand () % nsyms;
        price[s] += ((double)(s_rand () >> 11) / 9007199254740992.0 - 0.5) * 0.05;
        if (price[s] < 1)
            price[s] = 1;
        d->ticks[i] = (tickbar_tick_t){
            d->names[s], strlen (d->names[s]),          t0 + (int64_t)i * STEP_NS,
            price[s],    (double)(1 + s_rand () % 500), false
        };
    }
    d->span = ((int64_t)n * STEP_NS / SEC + 1) * SEC;
    free (price);
}

/* ---- the loops: ticks/s ---- */

/* The next pass: the whole array later by span (both loops pay it). */
static void
s_shift (const s_data_t *d, int64_t by)
{
    for (size_t i = 0; i < d->n; i++)
        d->ticks[i].ts += by;
}

static double
s_run_tickbar (const s_data_t *d, size_t total, s_sink_t *k)
{
    tickbar_config_t cfg = { SEC, SEC / 2, 5 * SEC };
    tickbar_t *tb = tickbar_new (&cfg, s_emit, k);
    if (!tb) {
        fprintf (stderr, "agg_bench: tickbar_new failed\n");
        exit (1);
    }
    int64_t t0 = s_now_ns (), now = t0, off = 0;
    size_t done = 0;
    for (; done < total; off += d->span) {
        size_t m = total - done < d->n ? total - done : d->n;
        if (done > 0)
            s_shift (d, d->span);
        for (size_t i = 0; i < m; i++) {
            if ((i & 4095) == 0)
                now = s_now_ns ();
            if (tickbar_add (tb, &d->ticks[i], now) != TICKBAR_ADDED) {
                fprintf (stderr, "agg_bench: a tick was not added\n");
                exit (1);
            }
        }
        done += m;
    }
    tickbar_flush (tb);
    double secs = (double)(s_now_ns () - t0) / 1e9;
    s_shift (d, -(off - d->span));
    tickbar_destroy (&tb);
    return (double)total / secs;
}

static double
s_run_bare (const s_data_t *d, size_t total, s_sink_t *k)
{
    b_table_t tab;
    b_table_init (&tab, d->nsyms);
    const int64_t I = SEC;
    int64_t t0 = s_now_ns (), now = t0, off = 0;
    size_t done = 0;
    for (; done < total; off += d->span) {
        size_t m = total - done < d->n ? total - done : d->n;
        if (done > 0)
            s_shift (d, d->span);
        for (size_t i = 0; i < m; i++) {
            if ((i & 4095) == 0)
                now = s_now_ns ();
            const tickbar_tick_t *t = &d->ticks[i];
            b_sym_t *s = b_lookup (&tab, t->symbol, t->symbol_len);
            if ((uint64_t)t->ts - (uint64_t)s->start < (uint64_t)I) {
                if (t->value > s->high)
                    s->high = t->value;
                if (t->value < s->low)
                    s->low = t->value;
                s->close = t->value;
                s->volume += t->volume;
            } else {
                if (s->start != NONE)
                    b_fold (k, s);
                s->start = t->ts - t->ts % I;
                s->open = s->high = s->low = s->close = t->value;
                s->volume = t->volume;
            }
        }
        done += m;
    }
    for (size_t i = 0; i < tab.nsyms; i++)
        b_fold (k, &tab.syms[i]);
    double secs = (double)(s_now_ns () - t0) / 1e9;
    s_shift (d, -(off - d->span));
    (void)now;
    free (tab.slots);
    free (tab.syms);
    return (double)total / secs;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
s_median (double *v, int n)
{
    qsort (v, (size_t)n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: agg_bench [--quick] [--ticks N] [--rounds N] [--symbols N]\n");
    exit (2);
}

int
main (int argc, char **argv)
{
    long ticks = 20000000, rounds = 5, symbols = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--quick")) {
            ticks = 4000000;
            rounds = 3;
            continue;
        }
        if (i + 1 >= argc)
            s_usage ();
        if (!strcmp (argv[i], "--ticks"))
            ticks = strtol (argv[++i], NULL, 10);
        else if (!strcmp (argv[i], "--rounds"))
            rounds = strtol (argv[++i], NULL, 10);
        else if (!strcmp (argv[i], "--symbols"))
            symbols = strtol (argv[++i], NULL, 10);
        else
            s_usage ();
    }
    if (ticks < 1 || rounds < 1 || rounds > 99 || symbols < 1 || symbols > 1000000)
        s_usage ();
    s_data_t d;
    size_t pass = (size_t)1 << 20;
    s_make (&d, (size_t)ticks < pass ? (size_t)ticks : pass, (size_t)symbols);

    /* the same bars both ways */
    s_sink_t a = { 0, 0 }, b = { 0, 0 };
    size_t check = (size_t)ticks < 2 * d.n ? (size_t)ticks : 2 * d.n;
    s_run_tickbar (&d, check, &a);
    s_run_bare (&d, check, &b);
    if (a.checksum != b.checksum || a.bars != b.bars) {
        fprintf (stderr, "agg_bench: the loops disagree (%llu bars, %llx; bare %llu bars, %llx)\n",
                 (unsigned long long)a.bars, (unsigned long long)a.checksum,
                 (unsigned long long)b.bars, (unsigned long long)b.checksum);
        return 1;
    }
    fprintf (stderr, "agg_bench: %zu ticks -> %llu bars both ways, checksums agree (%llx)\n", check,
             (unsigned long long)a.bars, (unsigned long long)a.checksum);

    double rate[99], ratio[99];
    for (long r = 0; r < rounds; r++) {
        s_sink_t ka = { 0, 0 }, kb = { 0, 0 };
        double x = s_run_tickbar (&d, (size_t)ticks, &ka);
        double y = s_run_bare (&d, (size_t)ticks, &kb);
        if (ka.checksum != kb.checksum) {
            fprintf (stderr, "agg_bench: round %ld: checksums differ\n", r + 1);
            return 1;
        }
        rate[r] = x;
        ratio[r] = x / y;
        fprintf (stderr,
                 "  round %ld: tickbar %.2f M ticks/s (%.1f ns/tick), bare %.2f M ticks/s "
                 "(%.1f ns/tick), ratio %.2f, %llu bars\n",
                 r + 1, x / 1e6, 1e9 / x, y / 1e6, 1e9 / y, x / y, (unsigned long long)ka.bars);
    }
    printf ("aggregation: %.1f M ticks/s = %.2f x the bare loop (%ld symbols, 1s bars)\n",
            s_median (rate, (int)rounds) / 1e6, s_median (ratio, (int)rounds), symbols);
    free (d.ticks);
    free (d.names);
    return 0;
}
