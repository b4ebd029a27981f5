/*
 * tickbar: ticks to bars in event time.
 *
 * The main check (generated_streams_*): generated tick streams go through
 * the operator and, independently, through an oracle that classifies each
 * tick from the running watermark alone and builds the bars by a stable
 * sort of the accepted ticks by (symbol, bar start, ts) and a walk over each
 * group.  The last emission per (symbol, ts) must equal the oracle's bar bit
 * for bit, each tick's rc must be the oracle's, every bar must close exactly
 * when W reaches its end + grace (checked after every tick), and the stats
 * must count what the oracle counts.  Trade sizes are multiples of 1/4 below
 * 2^40, so their sums are exact in any order.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/tickbar.h"
#include "tests/integration/harness.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define MIN (60 * SEC)
#define HOUR (3600 * SEC)
#define DAY (86400 * SEC)
#define T0 (1796601600LL * SEC) /* 2026-12-07T00:00:00Z */

/* A check for hot loops: Check's own asserts write to a pipe each time. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg (__VA_ARGS__);                                                            \
    } while (0)

/* ---- a recording consumer ---- */

typedef struct {
    mdf_bar_t bar;
    bool correction;
    int64_t wm; /* the watermark when emitted */
} rec_t;

typedef struct {
    rec_t *v;
    size_t n, cap;
    size_t firsts; /* emissions with correction = false */
    long fail_at;  /* emission number (1-based) that returns -1; 0 never */
    tickbar_t *tb; /* for the watermark */
} recorder_t;

static int
rec_emit (void *arg, const mdf_bar_t *bar, bool correction)
{
    recorder_t *r = arg;
    if (r->fail_at > 0 && (long)r->n + 1 >= r->fail_at)
        return -1;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc (r->v, r->cap * sizeof *r->v);
        CHECK (r->v, "out of memory");
    }
    char err[MDF_ERROR_MAX + 1];
    CHECK (mdf_bar_validate (bar, 0, err, sizeof err) == 0, "%s", err);
    rec_t *e = &r->v[r->n++];
    e->bar = *bar;
    e->correction = correction;
    e->wm = 0;
    if (r->tb) {
        tickbar_stats_t st;
        tickbar_stats (r->tb, &st);
        e->wm = st.watermark;
    }
    if (!correction)
        r->firsts++;
    return 0;
}

static tickbar_t *
mk (recorder_t *r, int64_t interval, int64_t grace, int64_t late)
{
    memset (r, 0, sizeof *r);
    tickbar_config_t cfg = { interval, grace, late };
    tickbar_t *tb = tickbar_new (&cfg, rec_emit, r);
    ck_assert_ptr_nonnull (tb);
    r->tb = tb;
    return tb;
}

static void
rec_free (recorder_t *r)
{
    free (r->v);
    memset (r, 0, sizeof *r);
}

static tickbar_tick_t
trade (const char *sym, int64_t ts, double price, double size)
{
    tickbar_tick_t t = { sym, strlen (sym), ts, price, size, false };
    return t;
}

static tickbar_tick_t
quote (const char *sym, int64_t ts, double mid)
{
    tickbar_tick_t t = { sym, strlen (sym), ts, mid, 1, true };
    return t;
}

static int
add (tickbar_t *tb, tickbar_tick_t t)
{
    return tickbar_add (tb, &t, 0);
}

static void
assert_bar (const rec_t *e, const char *sym, int64_t ts, double o, double h, double l, double c,
            double v, bool correction)
{
    ck_assert_str_eq (e->bar.symbol, sym);
    ck_assert_int_eq (e->bar.ts, ts);
    ck_assert_double_eq (e->bar.open, o);
    ck_assert_double_eq (e->bar.high, h);
    ck_assert_double_eq (e->bar.low, l);
    ck_assert_double_eq (e->bar.close, c);
    ck_assert_double_eq (e->bar.volume, v);
    ck_assert (e->correction == correction);
}

/* ---- generated streams against the oracle ---- */

static uint64_t rng_state;

static uint64_t
rnd (void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static double
rnd01 (void)
{
    return (double)(rnd () >> 11) / 9007199254740992.0;
}

static int64_t
rnd_below (int64_t n)
{
    return n > 0 ? (int64_t)(rnd () % (uint64_t)n) : 0;
}

typedef enum { MODE_TRADES, MODE_QUOTES, MODE_MIXED } mode_t_;

typedef struct {
    int64_t interval, grace, late;
    size_t nsym, nticks;
    int64_t step;    /* mean ts step between ticks */
    int64_t quantum; /* ts rounded down to this (ties) */
    mode_t_ mode;
    double p_ooo, p_late, p_too_late;
    double p_quiet; /* a wall-clock pause longer than grace before a tick */
    uint64_t seed;
} gen_t;

typedef struct {
    size_t idx; /* arrival */
    int sym;
    int64_t start, ts;
    double value, volume;
    bool quote;
    int status;  /* expected rc */
    size_t key;  /* index of its (symbol, start) among all ticks' */
    int64_t now; /* monotonic ns it arrives at */
    bool poll;   /* tickbar_poll (now) before it */
} otick_t;

static char gsyms[64][16];

static int
cmp_otick (const void *a, const void *b)
{
    const otick_t *x = a, *y = b;
    if (x->sym != y->sym)
        return x->sym < y->sym ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable: arrival order */
}

typedef struct {
    mdf_bar_t bar;
} group_t;

typedef struct {
    int64_t end;
    bool seen;   /* a tick of it was accepted so far */
    bool closed; /* emitted */
} key_t_;

static int
cmp_bar_key (const void *a, const void *b)
{
    const mdf_bar_t *x = a, *y = b;
    int c = strcmp (x->symbol, y->symbol);
    if (c)
        return c;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

typedef struct {
    mdf_bar_t bar;
    size_t k; /* emission number */
} kb_t;

static int
cmp_kb (const void *a, const void *b)
{
    const kb_t *x = a, *y = b;
    int c = cmp_bar_key (&x->bar, &y->bar);
    if (c)
        return c;
    return x->k < y->k ? -1 : x->k > y->k;
}

static void
run_stream (const gen_t *g)
{
    rng_state = g->seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t s = 0; s < g->nsym; s++)
        snprintf (gsyms[s], sizeof gsyms[s], "S%zu.X", s * 7919 % 1000);
    otick_t *tk = calloc (g->nticks, sizeof *tk);
    tickbar_tick_t *in = calloc (g->nticks, sizeof *in);
    ck_assert (tk && in);

    /* 1. the ticks, in arrival order, and the wall clock */
    int64_t T = T0 + 17 * g->interval + 123456789, W = 0;
    int64_t now = 1000 * SEC;
    const int64_t quiet = g->grace > 0 ? g->grace : 1;
    for (size_t i = 0; i < g->nticks; i++) {
        T += rnd_below (2 * g->step + 1);
        double r = rnd01 ();
        int64_t ts = T;
        if (r < g->p_too_late && W > 0)
            ts = W - g->late - 1 - rnd_below (2 * g->interval);
        else if (r < g->p_too_late + g->p_late && W > 0)
            ts = W - g->grace - rnd_below (g->late + 1);
        else if (r < g->p_too_late + g->p_late + g->p_ooo)
            ts = T - rnd_below (g->grace);
        if (g->quantum > 1)
            ts -= ts % g->quantum;
        if (ts < 1)
            ts = 1;
        if (ts > W)
            W = ts;
        otick_t *o = &tk[i];
        o->idx = i;
        o->sym = (int)rnd_below ((int64_t)g->nsym);
        o->ts = ts;
        o->start = ts - ts % g->interval;
        double qprob = g->mode == MODE_TRADES   ? 0
                       : g->mode == MODE_QUOTES ? 1
                                                : (double)o->sym / (double)(g->nsym - 1);
        o->quote = rnd01 () < qprob;
        if (o->quote) {
            double bid = 100 + 20 * rnd01 ();
            double ask = bid + 0.01 * (double)(1 + rnd_below (5));
            o->value = (bid + ask) / 2;
            o->volume = 1;
        } else {
            o->value = 50 + 100 * rnd01 ();
            o->volume = (double)(1 + rnd_below (4000)) / 4;
        }
        if (rnd01 () < g->p_quiet) {
            /* quiet: the watermark goes on with the clock, closing what
             * comes due; long enough, now and then, to close the bars open */
            now += quiet + rnd_below (quiet + 2 * g->interval);
            o->poll = rnd01 () < 0.5; /* by tickbar_poll, else by tickbar_add */
        } else {
            now += rnd_below (quiet / 4);
            o->poll = rnd01 () < 0.01; /* too early: nothing to do */
        }
        o->now = now;
        in[i] = (tickbar_tick_t){ gsyms[o->sym], strlen (gsyms[o->sym]), o->ts, o->value, o->volume,
                                  o->quote };
    }
    /* the (symbol, start) keys */
    otick_t *srt = calloc (g->nticks, sizeof *srt);
    memcpy (srt, tk, g->nticks * sizeof *tk);
    qsort (srt, g->nticks, sizeof *srt, cmp_otick);
    key_t_ *keys = calloc (g->nticks, sizeof *keys);
    size_t nkeys = 0;
    for (size_t k = 0; k < g->nticks; k++) {
        if (k == 0 || srt[k].sym != srt[k - 1].sym || srt[k].start != srt[k - 1].start)
            keys[nkeys++].end = srt[k].start + g->interval;
        tk[srt[k].idx].key = nkeys - 1;
    }
    free (srt);

    /* 2. the operator, each tick against the expected rc, closes and deadline:
     * the rules applied to the keys' states (open, closed) */
    recorder_t rec;
    tickbar_t *tb = mk (&rec, g->interval, g->grace, g->late);
    size_t *pending = calloc (nkeys + 1, sizeof *pending), npending = 0, exp_firsts = 0;
    size_t exp_late = 0, exp_dropped = 0, quiet_closes = 0;
    int64_t last_now = 0;
    W = 0;
    for (size_t i = 0; i < g->nticks; i++) {
        otick_t *o = &tk[i];
        int64_t first_close = INT64_MAX;
        for (size_t p = 0; p < npending; p++)
            if (keys[pending[p]].end + g->grace - W < first_close)
                first_close = keys[pending[p]].end + g->grace - W;
        int64_t dl = tickbar_deadline (tb);
        /* no earlier than the quiet spell, no later than the idle watermark
         * reaching the first bar due (an early wake for a freeing is fine) */
        CHECK (npending ? dl >= last_now + quiet
                              && dl <= last_now + (first_close > quiet ? first_close : quiet)
                        : dl == INT64_MAX,
               "tick %zu: deadline", i);
        if (o->poll)
            CHECK (tickbar_poll (tb, o->now) == 0, "tick %zu: poll", i);
        if (npending && o->now - last_now >= quiet) {
            /* quiet: the watermark moves on with the clock from the last tick */
            int64_t weff = W + (o->now - last_now);
            size_t before = npending;
            for (size_t p = 0; p < npending;) {
                if (keys[pending[p]].end + g->grace <= weff) {
                    keys[pending[p]].closed = true;
                    exp_firsts++;
                    pending[p] = pending[--npending];
                } else
                    p++;
            }
            quiet_closes += npending < before;
        }
        if (o->poll)
            CHECK (rec.firsts == exp_firsts, "tick %zu: poll closed %zu, expected %zu", i,
                   rec.firsts, exp_firsts);
        last_now = o->now;
        if (o->ts > W)
            W = o->ts;
        for (size_t p = 0; p < npending;) { /* the watermark closes */
            if (keys[pending[p]].end + g->grace <= W) {
                keys[pending[p]].closed = true;
                exp_firsts++;
                pending[p] = pending[--npending];
            } else
                p++;
        }
        key_t_ *key = &keys[o->key];
        bool due = key->end + g->grace <= W;
        if (key->seen && !key->closed)
            o->status = TICKBAR_ADDED;
        else if ((key->seen || due) && o->ts < W - g->late)
            o->status = TICKBAR_DROPPED;
        else if (key->seen || due)
            o->status = TICKBAR_LATE;
        else
            o->status = TICKBAR_ADDED;
        exp_late += o->status == TICKBAR_LATE;
        exp_dropped += o->status == TICKBAR_DROPPED;
        if (o->status != TICKBAR_DROPPED && !key->seen) {
            key->seen = true;
            if (due) { /* a new bar that would already be closed: at once */
                key->closed = true;
                exp_firsts++;
            } else
                pending[npending++] = o->key;
        }
        int rc = tickbar_add (tb, &in[i], o->now);
        CHECK (rc == o->status, "tick %zu (ts %lld, W %lld): rc %d, expected %d", i,
               (long long)o->ts, (long long)W, rc, o->status);
        CHECK (rec.firsts == exp_firsts, "after tick %zu: %zu bars closed, expected %zu", i,
               rec.firsts, exp_firsts);
    }
    if (g->p_quiet > 0)
        ck_assert_uint_gt (quiet_closes, 0);

    /* 3. the oracle's bars: accepted ticks sorted by (symbol, start, ts, arrival) */
    otick_t *acc = calloc (g->nticks, sizeof *acc);
    size_t nacc = 0;
    for (size_t i = 0; i < g->nticks; i++)
        if (tk[i].status != TICKBAR_DROPPED)
            acc[nacc++] = tk[i];
    qsort (acc, nacc, sizeof *acc, cmp_otick);
    group_t *groups = calloc (nacc + 1, sizeof *groups);
    size_t ngroups = 0;
    for (size_t a = 0; a < nacc;) {
        size_t e = a;
        bool any_trade = false;
        while (e < nacc && acc[e].sym == acc[a].sym && acc[e].start == acc[a].start) {
            any_trade |= !acc[e].quote;
            e++;
        }
        mdf_bar_t *b = &groups[ngroups].bar;
        snprintf (b->symbol, sizeof b->symbol, "%s", gsyms[acc[a].sym]);
        b->ts = acc[a].start;
        bool first = true;
        for (size_t k = a; k < e; k++) {
            if (acc[k].quote && any_trade)
                continue;
            double v = acc[k].value;
            if (first) {
                b->open = b->high = b->low = v;
                b->volume = 0;
                first = false;
            }
            b->high = v > b->high ? v : b->high;
            b->low = v < b->low ? v : b->low;
            b->close = v;
            b->volume += acc[k].quote ? 1 : acc[k].volume;
        }
        ngroups++;
        a = e;
    }

    /* without pauses, no bar was emitted before W reached its end + grace */
    for (size_t k = 0; k < rec.n && g->p_quiet == 0; k++)
        if (!rec.v[k].correction)
            CHECK (rec.v[k].wm >= rec.v[k].bar.ts + g->interval + g->grace, "emitted early");
    size_t before_flush = rec.n;
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, npending);
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (rec.n - before_flush, npending);

    /* 4. the last emission per (symbol, ts) against the oracle, bit for bit:
     * the emissions sorted by (key, emission order) */
    kb_t *kb = calloc (rec.n + 1, sizeof *kb);
    mdf_bar_t *last = calloc (rec.n + 1, sizeof *last);
    size_t nlast = 0;
    for (size_t k = 0; k < rec.n; k++) {
        kb[k].bar = rec.v[k].bar;
        kb[k].k = k;
    }
    qsort (kb, rec.n, sizeof *kb, cmp_kb);
    nlast = 0;
    size_t corrections = 0;
    for (size_t k = 0; k < rec.n; k++) {
        bool first_of_key = k == 0 || cmp_bar_key (&kb[k].bar, &kb[k - 1].bar) != 0;
        /* within a key, sorted by emission: the first is not a correction, the others are */
        CHECK (rec.v[kb[k].k].correction == !first_of_key, "correction flag");
        corrections += !first_of_key;
        bool last_of_key = k + 1 == rec.n || cmp_bar_key (&kb[k].bar, &kb[k + 1].bar) != 0;
        if (last_of_key)
            last[nlast++] = kb[k].bar;
    }
    mdf_bar_t *want = calloc (ngroups + 1, sizeof *want);
    for (size_t k = 0; k < ngroups; k++)
        want[k] = groups[k].bar;
    qsort (want, ngroups, sizeof *want, cmp_bar_key);
    ck_assert_uint_eq (nlast, ngroups);
    for (size_t k = 0; k < ngroups; k++) {
        const mdf_bar_t *x = &last[k], *y = &want[k];
        CHECK (strcmp (x->symbol, y->symbol) == 0 && x->ts == y->ts
                   && memcmp (&x->open, &y->open, sizeof (double)) == 0
                   && memcmp (&x->high, &y->high, sizeof (double)) == 0
                   && memcmp (&x->low, &y->low, sizeof (double)) == 0
                   && memcmp (&x->close, &y->close, sizeof (double)) == 0
                   && memcmp (&x->volume, &y->volume, sizeof (double)) == 0,
               "bar %s %lld: got %.17g %.17g %.17g %.17g %.17g, want %.17g %.17g %.17g "
               "%.17g %.17g",
               x->symbol, (long long)x->ts, x->open, x->high, x->low, x->close, x->volume, y->open,
               y->high, y->low, y->close, y->volume);
    }

    /* 5. the counts */
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.ticks, g->nticks);
    ck_assert_uint_eq (st.late, exp_late);
    ck_assert_uint_eq (st.dropped, exp_dropped);
    ck_assert_uint_eq (st.bars, ngroups);
    ck_assert_uint_eq (st.corrections, corrections);
    ck_assert_uint_eq (st.bars + st.corrections, rec.n);
    ck_assert_uint_eq (st.open_bars, 0);
    ck_assert_int_eq (st.watermark, W);
    ck_assert_uint_le (st.symbols, g->nsym);
    /* the stream exercised what it was asked to */
    if (g->p_too_late > 0)
        ck_assert_uint_gt (exp_dropped, 0);
    if (g->p_late > 0) {
        ck_assert_uint_gt (exp_late, 0);
        ck_assert_uint_gt (corrections, 0);
    }

    tickbar_destroy (&tb);
    ck_assert_ptr_null (tb);
    rec_free (&rec);
    free (tk);
    free (in);
    free (acc);
    free (groups);
    free (keys);
    free (pending);
    free (last);
    free (kb);
    free (want);
}

static const mode_t_ modes[] = { MODE_TRADES, MODE_QUOTES, MODE_MIXED };

START_TEST (generated_streams_1s)
{
    for (int m = 0; m < 3; m++) {
        gen_t g = { .interval = SEC,
                    .grace = 300 * MS,
                    .late = 5 * SEC,
                    .nsym = 12,
                    .nticks = 20000,
                    .step = 2 * MS,
                    .quantum = MS,
                    .mode = modes[m],
                    .p_ooo = 0.2,
                    .p_late = 0.03,
                    .p_too_late = 0.01,
                    .seed = 100 + (uint64_t)m };
        run_stream (&g);
    }
}
END_TEST

START_TEST (generated_streams_1s_grace_over_interval)
{
    /* grace longer than a bar: several open bars per symbol */
    for (int m = 0; m < 3; m++) {
        gen_t g = { .interval = SEC,
                    .grace = 2500 * MS,
                    .late = 4 * SEC,
                    .nsym = 5,
                    .nticks = 20000,
                    .step = 1 * MS,
                    .quantum = 10 * MS,
                    .mode = modes[m],
                    .p_ooo = 0.5,
                    .p_late = 0.05,
                    .p_too_late = 0.02,
                    .seed = 200 + (uint64_t)m };
        run_stream (&g);
    }
}
END_TEST

START_TEST (generated_streams_1m_5m_1h)
{
    const int64_t iv[] = { MIN, 5 * MIN, HOUR };
    for (int k = 0; k < 3; k++)
        for (int m = 0; m < 3; m++) {
            gen_t g = { .interval = iv[k],
                        .grace = iv[k] / 4,
                        .late = 3 * iv[k],
                        .nsym = 8,
                        .nticks = 8000,
                        .step = iv[k] / 40,
                        .quantum = SEC,
                        .mode = modes[m],
                        .p_ooo = 0.3,
                        .p_late = 0.03,
                        .p_too_late = 0.01,
                        .seed = 300 + (uint64_t)(k * 3 + m) };
            run_stream (&g);
        }
}
END_TEST

START_TEST (generated_streams_1d)
{
    for (int m = 0; m < 3; m++) {
        gen_t g = { .interval = DAY,
                    .grace = 10 * MIN,
                    .late = 6 * HOUR,
                    .nsym = 10,
                    .nticks = 20000,
                    .step = 90 * SEC, /* about 25 days */
                    .quantum = SEC,
                    .mode = modes[m],
                    .p_ooo = 0.3,
                    .p_late = 0.02,
                    .p_too_late = 0.01,
                    .seed = 400 + (uint64_t)m };
        run_stream (&g);
    }
}
END_TEST

START_TEST (generated_streams_in_order_no_late)
{
    gen_t g = { .interval = SEC,
                .grace = 100 * MS,
                .late = 0,
                .nsym = 40,
                .nticks = 30000,
                .step = 1 * MS,
                .quantum = 1,
                .mode = MODE_MIXED,
                .seed = 500 };
    run_stream (&g);
}
END_TEST

START_TEST (generated_streams_with_quiet_pauses)
{
    /* wall-clock pauses close every open bar; later ticks correct them */
    const struct {
        int64_t interval, grace, late, step;
    } cf[] = {
        { SEC, 300 * MS, 5 * SEC, 2 * MS },
        { SEC, 2500 * MS, 1 * SEC, 1 * MS }, /* late < grace: open bars before closed ones */
        { SEC, 2500 * MS, 0, 1 * MS },
        { MIN, 20 * SEC, 2 * MIN, 1 * SEC },
        { DAY, 10 * MIN, 6 * HOUR, 90 * SEC },
    };
    for (size_t c = 0; c < sizeof cf / sizeof cf[0]; c++)
        for (int m = 0; m < 3; m++) {
            gen_t g = { .interval = cf[c].interval,
                        .grace = cf[c].grace,
                        .late = cf[c].late,
                        .nsym = 6,
                        .nticks = 10000,
                        .step = cf[c].step,
                        .quantum = MS,
                        .mode = modes[m],
                        .p_ooo = 0.4,
                        .p_late = cf[c].late > 0 ? 0.03 : 0,
                        .p_too_late = 0.01,
                        .p_quiet = 0.01,
                        .seed = 600 + (uint64_t)(c * 3 + m) };
            run_stream (&g);
        }
}
END_TEST

/* ---- targeted ---- */

START_TEST (watermark_closes_exactly_at_end_plus_grace)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 200 * MS, 0);
    ck_assert_int_eq (add (tb, trade ("AAPL", T0 + 100 * MS, 10, 1)), TICKBAR_ADDED);
    ck_assert_int_eq (add (tb, trade ("AAPL", T0 + 900 * MS, 12, 2)), TICKBAR_ADDED);
    ck_assert_int_eq (add (tb, trade ("AAPL", T0 + SEC + 50 * MS, 11, 1)), TICKBAR_ADDED);
    /* W = end + grace - 1: still open, and a tick for it is simply added */
    ck_assert_int_eq (add (tb, trade ("MSFT", T0 + SEC + 200 * MS - 1, 50, 1)), TICKBAR_ADDED);
    ck_assert_uint_eq (r.n, 0);
    ck_assert_int_eq (add (tb, trade ("AAPL", T0 + 500 * MS, 9, 3)), TICKBAR_ADDED);
    ck_assert_uint_eq (r.n, 0);
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 3);
    ck_assert_int_eq (st.last_closed_end, 0);
    /* another symbol's tick moves W to exactly end + grace */
    ck_assert_int_eq (add (tb, trade ("MSFT", T0 + SEC + 200 * MS, 51, 1)), TICKBAR_ADDED);
    ck_assert_uint_eq (r.n, 1);
    assert_bar (&r.v[0], "AAPL", T0, 10, 12, 9, 12, 6, false);
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 2);
    ck_assert_int_eq (st.last_closed_end, T0 + SEC);
    ck_assert_int_eq (st.watermark, T0 + SEC + 200 * MS);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (quiet_close_after_grace_of_wall_time)
{
    /* 1 min bars, grace 2 s: a silent feed's watermark goes on with the
     * clock, so its bars close when the clock says end + grace, not before */
    recorder_t r;
    tickbar_t *tb = mk (&r, MIN, 2 * SEC, 10 * MIN);
    const int64_t now = 5000 * SEC;
    ck_assert_int_eq (tickbar_deadline (tb), INT64_MAX);
    tickbar_tick_t t = trade ("AAPL", T0 + SEC, 10, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, now), TICKBAR_ADDED);
    t = trade ("MSFT", T0 + 2 * SEC, 20, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, now + SEC), TICKBAR_ADDED);
    /* W = T0 + 2 s; the bars are due at T0 + 62 s: 60 s of silence */
    ck_assert_int_eq (tickbar_deadline (tb), now + 61 * SEC);
    ck_assert_int_eq (tickbar_poll (tb, now + 3 * SEC), 0); /* silent, not yet due */
    ck_assert_int_eq (tickbar_poll (tb, now + 61 * SEC - 1), 0);
    ck_assert_uint_eq (r.n, 0);
    ck_assert_int_eq (tickbar_poll (tb, now + 61 * SEC), 0);
    ck_assert_uint_eq (r.n, 2);
    assert_bar (&r.v[0], "AAPL", T0, 10, 10, 10, 10, 1, false);
    assert_bar (&r.v[1], "MSFT", T0, 20, 20, 20, 20, 1, false);
    ck_assert_int_eq (tickbar_deadline (tb), INT64_MAX);
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 0);
    ck_assert_uint_eq (st.retained_bars, 2);
    ck_assert_int_eq (st.last_closed_end, T0 + MIN);
    ck_assert_int_eq (st.watermark, T0 + 2 * SEC); /* the real one did not move */
    /* polling again does nothing */
    ck_assert_int_eq (tickbar_poll (tb, now + 100 * SEC), 0);
    ck_assert_uint_eq (r.n, 2);
    /* a tick of the closed minute arriving now is late: the bar is corrected */
    t = trade ("AAPL", T0 + 3 * SEC, 11, 2);
    ck_assert_int_eq (tickbar_add (tb, &t, now + 100 * SEC), TICKBAR_LATE);
    ck_assert_uint_eq (r.n, 3);
    assert_bar (&r.v[2], "AAPL", T0, 10, 11, 10, 11, 3, true);
    /* a new minute; a pause shorter than grace closes nothing, even long
     * after its end in event time would... */
    t = trade ("AAPL", T0 + MIN + SEC, 12, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, now + 101 * SEC), TICKBAR_ADDED);
    ck_assert_int_eq (tickbar_poll (tb, now + 102 * SEC), 0);
    ck_assert_uint_eq (r.n, 3);
    /* ...and tickbar_add after a long enough pause closes it before adding;
     * the idle watermark only closes: a tick of a bar never seen, not behind
     * the real watermark's close, opens it */
    t = trade ("MSFT", T0 + MIN + 2 * SEC, 21, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, now + 162 * SEC - 1), TICKBAR_ADDED);
    ck_assert_uint_eq (r.n, 3);
    /* 62 s later both minutes are due by the idle watermark: they close
     * before the tick is added, so the tick corrects MSFT's */
    t = trade ("MSFT", T0 + MIN + 3 * SEC, 22, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, now + 224 * SEC), TICKBAR_LATE);
    ck_assert_uint_eq (r.n, 6);
    assert_bar (&r.v[3], "AAPL", T0 + MIN, 12, 12, 12, 12, 1, false);
    assert_bar (&r.v[4], "MSFT", T0 + MIN, 21, 21, 21, 21, 1, false);
    assert_bar (&r.v[5], "MSFT", T0 + MIN, 21, 22, 21, 22, 2, true);
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 0);
    ck_assert_uint_eq (st.bars, 4);
    ck_assert_uint_eq (st.corrections, 2);
    ck_assert_uint_eq (st.late, 2);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (several_open_bars_close_oldest_first)
{
    /* grace over the interval: a symbol holds several open bars */
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 3 * SEC, 10 * SEC);
    tickbar_tick_t t = trade ("X", T0 + 500 * MS, 1, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, 0), TICKBAR_ADDED);
    ck_assert_int_eq (tickbar_poll (tb, 3 * SEC), 0); /* quiet, but not yet due */
    ck_assert_uint_eq (r.n, 0);
    /* quiet for 3.5 s: the idle watermark reaches bar 0's end + grace */
    ck_assert_int_eq (tickbar_poll (tb, 3500 * MS), 0);
    ck_assert_uint_eq (r.n, 1);
    for (int k = 1; k <= 3; k++) {
        t = trade ("X", T0 + k * SEC + 500 * MS, k + 1, 1);
        ck_assert_int_eq (tickbar_add (tb, &t, 3500 * MS), TICKBAR_ADDED);
    }
    t = trade ("X", T0 + 1200 * MS, 9, 1); /* out of order into bar 1, still open */
    ck_assert_int_eq (tickbar_add (tb, &t, 3500 * MS), TICKBAR_ADDED);
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 3);
    ck_assert_uint_eq (st.retained_bars, 1);
    /* W = 6 s: bars 1 and 2 are due (start + 1 s + 3 s <= 6 s), bar 3 is not */
    t = trade ("Y", T0 + 6 * SEC, 5, 1);
    ck_assert_int_eq (tickbar_add (tb, &t, 3500 * MS), TICKBAR_ADDED);
    ck_assert_uint_eq (r.n, 3);
    assert_bar (&r.v[1], "X", T0 + SEC, 9, 9, 2, 2, 2, false);
    assert_bar (&r.v[2], "X", T0 + 2 * SEC, 3, 3, 3, 3, 1, false);
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 5);
    assert_bar (&r.v[3], "X", T0 + 3 * SEC, 4, 4, 4, 4, 1, false);
    assert_bar (&r.v[4], "Y", T0 + 6 * SEC, 5, 5, 5, 5, 1, false);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (ties_keep_arrival_order)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    int64_t lo = T0 + 100 * MS, hi = T0 + 800 * MS;
    add (tb, trade ("X", T0 + 500 * MS, 5, 1)); /* first to arrive, in the middle */
    add (tb, trade ("X", hi, 7, 1));
    add (tb, trade ("X", lo, 1, 1)); /* earliest ts, arrived later: the open */
    add (tb, trade ("X", lo, 2, 1)); /* same ts, arrived after: not the open */
    add (tb, trade ("X", hi, 8, 1)); /* same max ts, arrived last: the close */
    add (tb, trade ("X", T0 + 300 * MS, 0.5, 1));
    add (tb, trade ("X", lo, 3, 1));
    add (tb, trade ("X", T0 + 700 * MS, 9, 1));
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 1);
    assert_bar (&r.v[0], "X", T0, 1, 9, 0.5, 8, 8, false);

    /* one tick: open = close; ties at one ts: open the first, close the last */
    add (tb, quote ("Y", T0 + SEC, 4));
    add (tb, quote ("Y", T0 + SEC, 6));
    add (tb, quote ("Y", T0 + SEC, 5));
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 2);
    assert_bar (&r.v[1], "Y", T0 + SEC, 4, 6, 4, 5, 3, false);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (trades_win_over_quotes)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    /* quotes only: OHLC of the mid, volume = number of quotes (volume field not read) */
    tickbar_tick_t q = quote ("Q", T0 + 1, 10);
    q.volume = 123;
    add (tb, q);
    add (tb, quote ("Q", T0 + 2, 12));
    add (tb, quote ("Q", T0 + 3, 9));
    /* a trade into a quote bar restarts it; quotes after it are ignored */
    add (tb, quote ("M", T0 + 1, 100));
    add (tb, quote ("M", T0 + 2, 200));
    ck_assert_int_eq (add (tb, trade ("M", T0 + 5, 50, 7)), TICKBAR_ADDED);
    ck_assert_int_eq (add (tb, quote ("M", T0 + 6, 300)), TICKBAR_ADDED);
    ck_assert_int_eq (add (tb, quote ("M", T0 + 0, 1)), TICKBAR_ADDED);
    add (tb, trade ("M", T0 + 4, 40, 2.5)); /* earlier ts than the first trade: new open */
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 2);
    assert_bar (&r.v[0], "Q", T0, 10, 12, 9, 9, 3, false);
    assert_bar (&r.v[1], "M", T0, 40, 50, 40, 50, 9.5, false);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (late_tick_reemits_a_corrected_bar)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 100 * MS, 3 * SEC);
    add (tb, trade ("A", T0 + 500 * MS, 10, 1));
    add (tb, trade ("B", T0 + SEC + 100 * MS, 20, 1)); /* W = end + grace: A closes */
    ck_assert_uint_eq (r.n, 1);
    assert_bar (&r.v[0], "A", T0, 10, 10, 10, 10, 1, false);
    /* late, within late_ns: corrected and emitted again at once */
    ck_assert_int_eq (add (tb, trade ("A", T0 + 200 * MS, 8, 2)), TICKBAR_LATE);
    ck_assert_uint_eq (r.n, 2);
    assert_bar (&r.v[1], "A", T0, 8, 10, 8, 10, 3, true);
    /* a quote into the trade bar changes nothing: late, not re-emitted */
    ck_assert_int_eq (add (tb, quote ("A", T0 + 900 * MS, 99)), TICKBAR_LATE);
    ck_assert_uint_eq (r.n, 2);
    /* a bar that never existed but would be closed, within late: new, at once */
    ck_assert_int_eq (add (tb, trade ("C", T0 + 10 * MS, 30, 1)), TICKBAR_LATE);
    ck_assert_uint_eq (r.n, 3);
    assert_bar (&r.v[2], "C", T0, 30, 30, 30, 30, 1, false);
    /* move W to 4.1 s: W - late = 1.1 s */
    add (tb, trade ("B", T0 + 4 * SEC + 100 * MS, 21, 1));
    ck_assert_uint_eq (r.n, 4);
    assert_bar (&r.v[3], "B", T0 + SEC, 20, 20, 20, 20, 1, false);
    tickbar_stats_t st;
    /* too late: the bar's ts < W - late */
    ck_assert_int_eq (add (tb, trade ("A", T0 + 900 * MS, 1, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("D", T0 + SEC + 99 * MS, 1, 1)), TICKBAR_DROPPED);
    /* but W - late itself is still in */
    ck_assert_int_eq (add (tb, trade ("D", T0 + SEC + 100 * MS, 1, 1)), TICKBAR_LATE);
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.late, 4);
    ck_assert_uint_eq (st.dropped, 2);
    ck_assert_uint_eq (st.corrections, 1);
    ck_assert_uint_eq (st.ticks, 9);
    ck_assert_uint_eq (st.bars, 4); /* A, C, B@1s, D */
    ck_assert_uint_eq (r.n, 5);
    assert_bar (&r.v[4], "D", T0 + SEC, 1, 1, 1, 1, 1, false);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (emit_returning_minus_one_stops)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    r.fail_at = 3;
    add (tb, trade ("A", T0, 1, 1));
    add (tb, trade ("B", T0, 1, 1));
    add (tb, trade ("C", T0, 1, 1));
    add (tb, trade ("D", T0, 1, 1));
    ck_assert_int_eq (tickbar_flush (tb), -1);
    ck_assert_uint_eq (r.n, 2);
    r.fail_at = 0; /* even if the consumer came back: closed stays closed */
    ck_assert_int_eq (add (tb, trade ("A", T0 + 5 * SEC, 1, 1)), -1);
    ck_assert_int_eq (tickbar_poll (tb, INT64_MAX - 1), -1);
    ck_assert_int_eq (tickbar_flush (tb), -1);
    ck_assert_uint_eq (r.n, 2);
    tickbar_destroy (&tb);
    rec_free (&r);

    /* from tickbar_add, when the watermark closes a bar */
    tb = mk (&r, SEC, 0, 0);
    r.fail_at = 1;
    ck_assert_int_eq (add (tb, trade ("A", T0, 1, 1)), TICKBAR_ADDED);
    ck_assert_int_eq (add (tb, trade ("A", T0 + SEC, 1, 1)), -1);
    ck_assert_uint_eq (r.n, 0);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (invalid_ticks_are_dropped)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    char long_sym[MDF_SYMBOL_MAX + 2];
    memset (long_sym, 'A', sizeof long_sym - 1);
    long_sym[sizeof long_sym - 1] = '\0';
    ck_assert_int_eq (add (tb, trade ("", T0, 1, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade (long_sym, T0, 1, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", 0, 1, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", -5, 1, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", T0, NAN, 1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, quote ("A", T0, INFINITY)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", T0, 1, -1)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", T0, 1, NAN)), TICKBAR_DROPPED);
    ck_assert_int_eq (add (tb, trade ("A", T0, 1, INFINITY)), TICKBAR_DROPPED);
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.ticks, 9);
    ck_assert_uint_eq (st.dropped, 9);
    ck_assert_int_eq (st.watermark, 0);
    ck_assert_uint_eq (st.symbols, 0);
    /* 64 bytes is fine */
    long_sym[MDF_SYMBOL_MAX] = '\0';
    ck_assert_int_eq (add (tb, trade (long_sym, T0, 1, 0)), TICKBAR_ADDED);
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 1);
    ck_assert_str_eq (r.v[0].bar.symbol, long_sym);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (retained_bars_are_freed)
{
    /* a long stream: memory stays bounded by symbols x (open + retained) */
    recorder_t r;
    const int64_t grace = 1500 * MS, late = 4 * SEC;
    tickbar_t *tb = mk (&r, SEC, grace, late);
    rng_state = 42;
    char syms[50][8];
    for (int s = 0; s < 50; s++)
        snprintf (syms[s], sizeof syms[s], "R%d", s);
    size_t max_open = 0, max_kept = 0;
    int64_t T = T0;
    for (int i = 0; i < 300000; i++) {
        T += rnd_below (2 * MS); /* ~1,000 ticks per second, 300 s */
        int s = (int)rnd_below (50);
        int64_t ts = T - rnd_below (grace);
        if (rnd_below (100) == 0)
            ts = T - grace - rnd_below (late); /* late */
        tickbar_tick_t t = trade (syms[s], ts, 10, 1);
        CHECK (tickbar_add (tb, &t, 0) >= 0, "tick %d", i);
        tickbar_stats_t st;
        tickbar_stats (tb, &st);
        max_open = st.open_bars > max_open ? st.open_bars : max_open;
        max_kept = st.retained_bars > max_kept ? st.retained_bars : max_kept;
        if (i % 10000 == 0)
            r.n = 0; /* the recorder only grows otherwise */
    }
    /* open: at most (grace / I + 2) per symbol; retained: (late / I + 2) per symbol */
    ck_assert_uint_le (max_open, 50 * 4);
    ck_assert_uint_le (max_kept, 50 * 6);
    ck_assert_uint_gt (max_kept, 50);
    /* a jump in event time frees everything */
    tickbar_tick_t t = trade ("R0", T + 3600 * SEC, 10, 1);
    tickbar_add (tb, &t, 0);
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.open_bars, 1);
    ck_assert_uint_eq (st.retained_bars, 0);
    ck_assert_uint_eq (st.symbols, 50);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (one_day_bars_start_at_utc_midnight)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, tickbar_parse_interval ("1d"), MIN, 0);
    const int64_t midnight = T0 + DAY; /* 2026-12-08T00:00:00Z */
    add (tb, trade ("EURUSD", midnight - 1, 1.1, 1));
    add (tb, trade ("EURUSD", T0 + 13 * HOUR, 1.2, 1));
    add (tb, trade ("EURUSD", midnight, 1.3, 1));
    add (tb, trade ("EURUSD", midnight + MIN - 1, 1.25, 1));
    ck_assert_uint_eq (r.n, 0);
    add (tb, trade ("EURUSD", midnight + MIN, 1.35, 1)); /* W = end + grace */
    ck_assert_uint_eq (r.n, 1);
    assert_bar (&r.v[0], "EURUSD", T0, 1.2, 1.2, 1.1, 1.1, 2, false);
    add (tb, trade ("EURUSD", midnight + 23 * HOUR, 1.4, 1));
    add (tb, trade ("EURUSD", midnight + DAY + MIN - 1, 1.5, 1));
    ck_assert_uint_eq (r.n, 1);
    add (tb, trade ("EURUSD", midnight + DAY + MIN, 1.5, 1));
    ck_assert_uint_eq (r.n, 2);
    assert_bar (&r.v[1], "EURUSD", midnight, 1.3, 1.4, 1.25, 1.4, 4, false);
    ck_assert_int_eq (r.v[1].bar.ts % DAY, 0);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (many_symbols_grow_the_table)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    char sym[MDF_SYMBOL_MAX + 1];
    for (int i = 0; i < 5000; i++) {
        /* lengths 1..64, sharing prefixes */
        int n = snprintf (sym, sizeof sym, "%d", i);
        memset (sym + n, 'x', (size_t)(i % (MDF_SYMBOL_MAX - n + 1)));
        sym[n + i % (MDF_SYMBOL_MAX - n + 1)] = '\0';
        ck_assert_int_eq (add (tb, trade (sym, T0 + i, i, 1)), TICKBAR_ADDED);
        ck_assert_int_eq (add (tb, trade (sym, T0 + i, i + 1, 1)), TICKBAR_ADDED);
    }
    tickbar_stats_t st;
    tickbar_stats (tb, &st);
    ck_assert_uint_eq (st.symbols, 5000);
    ck_assert_uint_eq (st.open_bars, 5000);
    ck_assert_int_eq (tickbar_flush (tb), 0);
    ck_assert_uint_eq (r.n, 5000);
    for (int i = 0; i < 5000; i++) {
        ck_assert_double_eq (r.v[i].bar.open, i);
        ck_assert_double_eq (r.v[i].bar.close, i + 1);
        ck_assert_double_eq (r.v[i].bar.volume, 2);
    }
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (rejects_bad_config)
{
    recorder_t r;
    memset (&r, 0, sizeof r);
    tickbar_config_t ok = { SEC, 0, 0 };
    tickbar_t *tb = tickbar_new (&ok, rec_emit, &r);
    ck_assert_ptr_nonnull (tb);
    tickbar_destroy (&tb);
    tickbar_destroy (&tb);
    tickbar_destroy (NULL);
    ck_assert_ptr_null (tickbar_new (&ok, NULL, &r));
    ck_assert_ptr_null (tickbar_new (NULL, rec_emit, &r));
    tickbar_config_t bad[]
        = { { 2 * SEC, 0, 0 }, { 0, 0, 0 }, { -SEC, 0, 0 }, { SEC, -1, 0 }, { SEC, 0, -1 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_ptr_null (tickbar_new (&bad[i], rec_emit, &r));
    const int64_t iv[] = { SEC, MIN, 5 * MIN, HOUR, DAY };
    for (size_t i = 0; i < 5; i++) {
        tickbar_config_t c = { iv[i], SEC, SEC };
        tb = tickbar_new (&c, rec_emit, &r);
        ck_assert_ptr_nonnull (tb);
        tickbar_destroy (&tb);
    }
}
END_TEST

/* A snapshot (export, import into a fresh operator) goes on exactly as the
 * original: the same ticks after it give the same emissions, corrections of
 * retained bars included, and the open bars close at the same watermark. */
static int
copy_bar (void *arg, const tickbar_state_t *b)
{
    return tickbar_import (arg, b) == 0 ? 0 : 1;
}

START_TEST (export_import_goes_on_as_the_original)
{
    recorder_t ra, rb;
    tickbar_t *a = mk (&ra, SEC, 500 * MS, 5 * SEC);
    /* open bars for two symbols, a closed and retained one, a quote bar */
    ck_assert_int_eq (add (a, trade ("AAA", T0 + 100 * MS, 10, 1)), TICKBAR_ADDED);
    ck_assert_int_eq (add (a, trade ("AAA", T0 + 900 * MS, 12, 2)), TICKBAR_ADDED);
    ck_assert_int_eq (add (a, quote ("FX", T0 + 950 * MS, 1.5)), TICKBAR_ADDED);
    ck_assert_int_eq (add (a, trade ("AAA", T0 + 1600 * MS, 11, 3)), TICKBAR_ADDED); /* closes T0 */
    ck_assert_int_eq (add (a, trade ("BBB", T0 + 1700 * MS, 50, 1)), TICKBAR_ADDED);
    ck_assert_uint_eq (ra.firsts, 2); /* AAA@T0 and FX@T0 */
    tickbar_stats_t sa;
    tickbar_stats (a, &sa);

    tickbar_t *b = mk (&rb, SEC, 500 * MS, 5 * SEC);
    tickbar_import_watermark (b, sa.watermark, 0);
    ck_assert_int_eq (tickbar_export (a, copy_bar, b), 0);
    tickbar_stats_t sb;
    tickbar_stats (b, &sb);
    ck_assert_int_eq (sb.watermark, sa.watermark);
    ck_assert_uint_eq (sb.open_bars, sa.open_bars);
    ck_assert_uint_eq (sb.retained_bars, sa.retained_bars);

    size_t base = ra.n;
    tickbar_tick_t more[] = {
        trade ("AAA", T0 + 200 * MS, 9, 1), /* late: corrects the retained AAA@T0 */
        quote ("FX", T0 + 990 * MS, 2.5),   /* late: corrects FX@T0 */
        trade ("AAA", T0 + 1650 * MS, 13, 1), trade ("BBB", T0 + 1800 * MS, 49, 2),
        trade ("AAA", T0 + 3000 * MS, 14, 1), /* closes the T0+1s bars */
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        ck_assert_int_eq (add (a, more[i]), add (b, more[i]));
    ck_assert_int_eq (tickbar_flush (a), 0);
    ck_assert_int_eq (tickbar_flush (b), 0);
    ck_assert_uint_eq (ra.n - base, rb.n);
    ck_assert_uint_ge (rb.n, 5);
    for (size_t i = 0; i < rb.n; i++) {
        const rec_t *x = &ra.v[base + i], *y = &rb.v[i];
        assert_bar (y, x->bar.symbol, x->bar.ts, x->bar.open, x->bar.high, x->bar.low, x->bar.close,
                    x->bar.volume, x->correction);
    }
    /* the corrected AAA@T0 holds the ticks before and after the snapshot */
    assert_bar (&rb.v[0], "AAA", T0, 10, 12, 9, 12, 4, true);
    tickbar_destroy (&a);
    tickbar_destroy (&b);
    rec_free (&ra);
    rec_free (&rb);
}
END_TEST

START_TEST (import_refuses_bars_that_do_not_fit)
{
    recorder_t r;
    tickbar_t *tb = mk (&r, SEC, 0, 0);
    tickbar_state_t b = { "AAA", 3, T0, T0, T0 + 10, 1, 2, 1, 2, 5, false, false };
    ck_assert_int_eq (tickbar_import (tb, &b), 0);
    ck_assert_int_eq (tickbar_import (tb, &b), -1); /* not after the last */
    b.start = T0 + 7;                               /* not aligned */
    ck_assert_int_eq (tickbar_import (tb, &b), -1);
    b.start = T0 + SEC;
    b.first_ts = b.last_ts = T0 + 2 * SEC; /* outside its bar */
    ck_assert_int_eq (tickbar_import (tb, &b), -1);
    b.first_ts = b.last_ts = T0 + SEC;
    b.high = NAN;
    ck_assert_int_eq (tickbar_import (tb, &b), -1);
    tickbar_destroy (&tb);
    rec_free (&r);
}
END_TEST

START_TEST (parse_interval)
{
    ck_assert_int_eq (tickbar_parse_interval ("1s"), SEC);
    ck_assert_int_eq (tickbar_parse_interval ("1m"), MIN);
    ck_assert_int_eq (tickbar_parse_interval ("5m"), 5 * MIN);
    ck_assert_int_eq (tickbar_parse_interval ("1h"), HOUR);
    ck_assert_int_eq (tickbar_parse_interval ("1d"), DAY);
    const char *bad[] = { "", "1", "2m", "1S", "1s ", " 1s", "60s", "1min", "1D", "15m" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq (tickbar_parse_interval (bad[i]), -1);
    ck_assert_int_eq (tickbar_parse_interval (NULL), -1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tickbar");
    TCase *tc = tcase_create ("tickbar");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, generated_streams_1s);
    tcase_add_test (tc, generated_streams_1s_grace_over_interval);
    tcase_add_test (tc, generated_streams_1m_5m_1h);
    tcase_add_test (tc, generated_streams_1d);
    tcase_add_test (tc, generated_streams_in_order_no_late);
    tcase_add_test (tc, generated_streams_with_quiet_pauses);
    tcase_add_test (tc, watermark_closes_exactly_at_end_plus_grace);
    tcase_add_test (tc, quiet_close_after_grace_of_wall_time);
    tcase_add_test (tc, several_open_bars_close_oldest_first);
    tcase_add_test (tc, ties_keep_arrival_order);
    tcase_add_test (tc, trades_win_over_quotes);
    tcase_add_test (tc, late_tick_reemits_a_corrected_bar);
    tcase_add_test (tc, emit_returning_minus_one_stops);
    tcase_add_test (tc, invalid_ticks_are_dropped);
    tcase_add_test (tc, retained_bars_are_freed);
    tcase_add_test (tc, one_day_bars_start_at_utc_midnight);
    tcase_add_test (tc, many_symbols_grow_the_table);
    tcase_add_test (tc, rejects_bad_config);
    tcase_add_test (tc, parse_interval);
    tcase_add_test (tc, export_import_goes_on_as_the_original);
    tcase_add_test (tc, import_refuses_bars_that_do_not_fit);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
