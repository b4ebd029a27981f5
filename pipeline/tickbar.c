/*
 * tickbar: ticks to OHLCV bars in event time (see tickbar.h for the rules).
 *
 * Layout: an open-addressing table (linear probing, at most half full) of
 * (hash tag, symbol index) slots over an array of per-symbol states.  Each
 * symbol holds its newest bar inline (`cur`, where nearly every tick goes)
 * and, in a small array sorted by start, its older bars still open (ticks
 * out of order within grace) or retained (closed, waiting for late ticks).
 *
 * The watermark check per tick is one comparison against next_due, the
 * earliest W at which something is due: the earliest open bar end + grace,
 * or the earliest retained bar end + late.  When W reaches it, one sweep over
 * the symbols closes and frees what is due and recomputes both minima.  A bar
 * created for a new interval only lowers the minima (min()), so no sweep is
 * needed for it.
 */
#include "pipeline/tickbar.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/symhash.h"

#define S_NONE INT64_MIN /* cur.start of a symbol without bars */

/* For the tick path: clang would otherwise call s_bar_update (it has three
 * callers), which costs it 10 % of the bench's throughput. */
#define S_HOT static inline __attribute__ ((always_inline))

typedef struct {
    int64_t start;    /* bar start (its ts); S_NONE: no bar */
    int64_t first_ts; /* ts of the open */
    int64_t last_ts;  /* ts of the close */
    double open, high, low, close, volume;
    bool quote;  /* built from quotes only so far */
    bool closed; /* emitted (and true for S_NONE, so the fast path skips it) */
} s_bar_t;

/* 192 bytes on a cache line boundary: a tick into `cur` with a symbol of up
 * to 52 bytes touches the first two lines only. */
typedef struct {
    _Alignas(64) s_bar_t cur; /* the newest bar (largest start) */
    uint32_t len;
    char symbol[MDF_SYMBOL_MAX + 1];
    /* cold: the sweeps' */
    int64_t due_at; /* W at which one of its bars is due (INT64_MAX: none) */
    s_bar_t *old;   /* older bars old[lo..hi), open or retained, by start ascending */
    uint32_t lo, hi, cap;
    uint32_t nopen; /* open bars in old */
} s_sym_t;

typedef struct {
    uint32_t tag; /* the hash's high 32 bits */
    uint32_t idx; /* symbol index + 1; 0: empty */
} s_slot_t;

struct _tickbar_t {
    int64_t interval, grace, late;
    int64_t i_grace; /* interval + grace (saturated): closed when start <= W - i_grace */
    int64_t i_late;  /* interval + max (late, grace): freed when start <= W - i_late */
    int64_t i_free;  /* a sweep frees a bar at W = start + i_free: see tickbar_new */
    tickbar_emit_fn *emit;
    void *arg;
    bool dead; /* emit returned -1 */

    s_slot_t *slots;
    size_t mask; /* slots: mask + 1, a power of two */
    s_sym_t *syms;
    size_t nsyms, capsyms;

    int64_t wm;           /* watermark: largest ts seen */
    int64_t next_due;     /* W >= next_due: something to close or free (min of due_at) */
    int64_t last_arrival; /* monotonic ns of the last tick */
    int64_t quiet_gap;    /* grace, at least 1 ns */
    size_t open_bars, kept_bars;

    uint64_t ticks, bars, corrections, late_n, dropped;
    int64_t last_closed_end;
};

static inline int64_t
s_sat_add (int64_t a, int64_t b)
{
    /* b >= 0 everywhere it is used */
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Something of sym is due at W = at. */
static inline void
s_due (tickbar_t *self, s_sym_t *sym, int64_t at)
{
    if (at < sym->due_at)
        sym->due_at = at;
    if (at < self->next_due)
        self->next_due = at;
}

static inline uint64_t
s_dbits (double d)
{
    uint64_t u;
    memcpy (&u, &d, sizeof u);
    return u;
}

static inline bool
s_finite (double d)
{
    const uint64_t exp = 0x7ff0000000000000ULL;
    return (s_dbits (d) & exp) != exp;
}

/* Finite and >= 0 (-0 included). */
static inline bool
s_finite_nonneg (double d)
{
    uint64_t u = s_dbits (d);
    return u < 0x7ff0000000000000ULL || u == 0x8000000000000000ULL;
}

/* ---- symbol table (keyed by pipeline/symhash.h) ---- */

S_HOT s_sym_t *
s_lookup (const tickbar_t *self, const char *symbol, size_t len, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = (size_t)h & self->mask;
    for (;;) {
        const s_slot_t *sl = &self->slots[i];
        if (sl->idx == 0)
            return NULL;
        if (sl->tag == tag) {
            s_sym_t *s = &self->syms[sl->idx - 1];
            if (s->len == len && memcmp (s->symbol, symbol, len) == 0)
                return s;
        }
        i = (i + 1) & self->mask;
    }
}

static void
s_place (s_slot_t *slots, size_t mask, uint64_t h, uint32_t idx)
{
    size_t i = (size_t)h & mask;
    while (slots[i].idx != 0)
        i = (i + 1) & mask;
    slots[i].tag = (uint32_t)(h >> 32);
    slots[i].idx = idx;
}

/* A new symbol (not in the table).  NULL when out of memory. */
static __attribute__ ((noinline)) s_sym_t *
s_intern (tickbar_t *self, const char *symbol, size_t len, uint64_t h)
{
    if (self->nsyms >= UINT32_MAX - 1)
        return NULL;
    if ((self->nsyms + 1) * 2 > self->mask + 1) {
        size_t cap = (self->mask + 1) * 2;
        s_slot_t *slots = calloc (cap, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t i = 0; i < self->nsyms; i++) {
            const s_sym_t *s = &self->syms[i];
            s_place (slots, cap - 1, symhash (s->symbol, s->len), (uint32_t)(i + 1));
        }
        free (self->slots);
        self->slots = slots;
        self->mask = cap - 1;
    }
    if (self->nsyms == self->capsyms) {
        size_t cap = self->capsyms ? self->capsyms * 2 : 64;
        s_sym_t *syms = aligned_alloc (_Alignof(s_sym_t), cap * sizeof *syms);
        if (!syms)
            return NULL;
        if (self->nsyms)
            memcpy (syms, self->syms, self->nsyms * sizeof *syms);
        free (self->syms);
        self->syms = syms;
        self->capsyms = cap;
    }
    s_sym_t *s = &self->syms[self->nsyms++];
    memset (s, 0, sizeof *s);
    s->cur.start = S_NONE;
    s->cur.closed = true;
    s->due_at = INT64_MAX;
    s->len = (uint32_t)len;
    memcpy (s->symbol, symbol, len);
    s->symbol[len] = '\0';
    s_place (self->slots, self->mask, h, (uint32_t)self->nsyms);
    return s;
}

/* ---- bars ---- */

static inline void
s_bar_init (s_bar_t *b, int64_t start, const tickbar_tick_t *t)
{
    b->start = start;
    b->first_ts = b->last_ts = t->ts;
    b->open = b->high = b->low = b->close = t->value;
    b->volume = t->quote ? 1.0 : t->volume;
    b->quote = t->quote;
}

/* Add a tick to its bar; false when the bar did not change (a quote into a
 * bar built from trades). */
S_HOT bool
s_bar_update (s_bar_t *b, const tickbar_tick_t *t)
{
    double v = t->value, vol;
    if (t->quote) {
        if (!b->quote)
            return false;
        vol = 1.0;
    } else {
        if (b->quote) { /* the first trade: the quotes no longer count */
            bool closed = b->closed;
            s_bar_init (b, b->start, t);
            b->closed = closed;
            return true;
        }
        vol = t->volume;
    }
    int64_t ts = t->ts;
    if (ts < b->first_ts) {
        b->first_ts = ts;
        b->open = v;
    }
    if (ts >= b->last_ts) {
        b->last_ts = ts;
        b->close = v;
    }
    if (v > b->high)
        b->high = v;
    if (v < b->low)
        b->low = v;
    b->volume += vol;
    return true;
}

static int
s_emit (tickbar_t *self, const s_sym_t *sym, const s_bar_t *b, bool correction)
{
    mdf_bar_t out;
    memcpy (out.symbol, sym->symbol, sizeof out.symbol); /* zero past len */
    out.ts = b->start;
    out.open = b->open;
    out.high = b->high;
    out.low = b->low;
    out.close = b->close;
    out.volume = b->volume;
    if (self->emit (self->arg, &out, correction) != 0) {
        self->dead = true;
        return -1;
    }
    return 0;
}

/* Close an open bar: emit it, keep it for late ticks. */
static int
s_close (tickbar_t *self, const s_sym_t *sym, s_bar_t *b)
{
    int64_t end = s_sat_add (b->start, self->interval);
    b->closed = true;
    self->open_bars--;
    self->kept_bars++;
    self->bars++;
    if (end > self->last_closed_end)
        self->last_closed_end = end;
    return s_emit (self, sym, b, false);
}

/* One symbol: close what is due by wclose (every open bar for INT64_MAX), free
 * the retained bars no late tick can reach, recompute due_at.  Visits the
 * bars that change, the first retained one and the open ones, not every
 * retained bar: closed bars are freed in start order from the front, open
 * bars are nearly always the newest.  A bar [s, s + I) is due to close when
 * s + I + grace <= W, i.e. s <= close_lim, and can be freed when s <=
 * free_lim.  0 or -1 (emit closed). */
static int
s_sweep_sym (tickbar_t *self, s_sym_t *sym, int64_t wclose)
{
    const int64_t W = self->wm;
    const int64_t close_lim = wclose == INT64_MAX ? INT64_MAX : wclose - self->i_grace;
    const int64_t free_lim = W - self->i_late;
    int64_t open_min = INT64_MAX, kept_min = INT64_MAX; /* starts of what stays */
    /* the front: free, closing on the way what is due */
    while (sym->lo < sym->hi) {
        s_bar_t *b = &sym->old[sym->lo];
        if (!b->closed) {
            if (b->start > close_lim)
                break;
            sym->nopen--;
            if (s_close (self, sym, b) < 0)
                return -1;
        }
        if (b->start > free_lim)
            break;
        sym->lo++;
        self->kept_bars--;
    }
    /* the open bars: nearly always the newest, so found from the back, then
     * closed oldest first */
    uint32_t j0 = sym->hi;
    for (uint32_t j = sym->hi, left = sym->nopen; left > 0 && j-- > sym->lo;)
        if (!sym->old[j].closed) {
            left--;
            j0 = j;
        }
    for (uint32_t j = j0; j < sym->hi; j++) {
        s_bar_t *b = &sym->old[j];
        if (b->closed)
            continue;
        if (b->start <= close_lim) {
            sym->nopen--;
            if (s_close (self, sym, b) < 0)
                return -1;
        } else if (b->start < open_min)
            open_min = b->start;
    }
    /* the earliest retained bar still reachable (one behind an open bar at
     * the front may be past it: freed once the front moves) */
    for (uint32_t j = sym->lo; j < sym->hi; j++)
        if (sym->old[j].closed && sym->old[j].start > free_lim) {
            kept_min = sym->old[j].start;
            break;
        }
    if (sym->lo == sym->hi)
        sym->lo = sym->hi = 0;
    /* the newest bar */
    s_bar_t *b = &sym->cur;
    if (b->start != S_NONE) {
        if (!b->closed) {
            if (b->start <= close_lim) {
                if (s_close (self, sym, b) < 0)
                    return -1;
            } else if (b->start < open_min)
                open_min = b->start;
        }
        if (b->closed) {
            if (b->start <= free_lim) {
                self->kept_bars--;
                if (sym->hi > sym->lo) {
                    /* the next newest takes its place; its due is counted above */
                    *b = sym->old[--sym->hi];
                    if (!b->closed)
                        sym->nopen--;
                } else {
                    b->start = S_NONE;
                    b->closed = true;
                }
            } else if (b->start < kept_min)
                kept_min = b->start;
        }
    }
    int64_t a = open_min == INT64_MAX ? INT64_MAX : s_sat_add (open_min, self->i_grace);
    int64_t k = kept_min == INT64_MAX ? INT64_MAX : s_sat_add (kept_min, self->i_free);
    sym->due_at = a < k ? a : k;
    return 0;
}

/* Sweep the symbols with something due and recompute next_due: bars close
 * by the watermark `wclose` (the real one; past it after a quiet spell;
 * INT64_MAX closes every open bar), retained bars are freed by the real
 * watermark only.  0 or -1 (emit closed). */
static __attribute__ ((noinline)) int
s_sweep (tickbar_t *self, int64_t wclose)
{
    int64_t next = INT64_MAX;
    int64_t pick = wclose > self->wm ? wclose : self->wm;
    for (size_t i = 0; i < self->nsyms; i++) {
        s_sym_t *sym = &self->syms[i];
        if (sym->due_at <= pick && s_sweep_sym (self, sym, wclose) < 0)
            return -1;
        if (sym->due_at < next)
            next = sym->due_at;
    }
    self->next_due = next;
    return 0;
}

static s_bar_t *
s_find (s_sym_t *sym, int64_t start)
{
    if (sym->cur.start == start)
        return &sym->cur;
    for (uint32_t j = sym->hi; j-- > sym->lo;) {
        if (sym->old[j].start == start)
            return &sym->old[j];
        if (sym->old[j].start < start)
            break;
    }
    return NULL;
}

/* Room for one more bar at old[hi]. */
static bool
s_old_room (s_sym_t *sym)
{
    if (sym->hi < sym->cap)
        return true;
    if (sym->lo > 0) {
        memmove (sym->old, &sym->old[sym->lo], (sym->hi - sym->lo) * sizeof *sym->old);
        sym->hi -= sym->lo;
        sym->lo = 0;
        return true;
    }
    uint32_t cap = sym->cap ? sym->cap * 2 : 4;
    s_bar_t *old = realloc (sym->old, cap * sizeof *old);
    if (!old)
        return false;
    sym->old = old;
    sym->cap = cap;
    return true;
}

/* Room for a new bar at `start` (not held yet), keeping the order.  NULL
 * when out of memory. */
static s_bar_t *
s_insert (s_sym_t *sym, int64_t start)
{
    if (sym->cur.start == S_NONE)
        return &sym->cur;
    if (!s_old_room (sym))
        return NULL;
    if (start > sym->cur.start) {
        if (!sym->cur.closed)
            sym->nopen++;
        sym->old[sym->hi++] = sym->cur;
        return &sym->cur;
    }
    uint32_t pos = sym->hi;
    while (pos > sym->lo && sym->old[pos - 1].start > start)
        pos--;
    memmove (&sym->old[pos + 1], &sym->old[pos], (sym->hi - pos) * sizeof *sym->old);
    sym->hi++;
    return &sym->old[pos];
}

/* A tick that is not for the symbol's newest open bar. */
static __attribute__ ((noinline)) int
s_slow (tickbar_t *self, s_sym_t *sym, const tickbar_tick_t *t)
{
    int64_t ts = t->ts;
    int64_t start = ts - ts % self->interval;
    int64_t end = s_sat_add (start, self->interval);
    s_bar_t *b = s_find (sym, start);
    if (b) {
        if (!b->closed) {
            s_bar_update (b, t);
            return TICKBAR_ADDED;
        }
        if (ts < self->wm - self->late) {
            self->dropped++;
            return TICKBAR_DROPPED;
        }
        self->late_n++;
        if (!s_bar_update (b, t))
            return TICKBAR_LATE;
        self->corrections++;
        return s_emit (self, sym, b, true) < 0 ? -1 : TICKBAR_LATE;
    }
    bool due = s_sat_add (end, self->grace) <= self->wm;
    if (due && ts < self->wm - self->late) {
        self->dropped++;
        return TICKBAR_DROPPED;
    }
    b = s_insert (sym, start);
    if (!b) {
        self->dropped++;
        return TICKBAR_DROPPED;
    }
    s_bar_init (b, start, t);
    if (!due) {
        b->closed = false;
        self->open_bars++;
        if (b != &sym->cur)
            sym->nopen++;
        s_due (self, sym, s_sat_add (end, self->grace));
        return TICKBAR_ADDED;
    }
    /* Would already be closed, but within late: a new bar, emitted at once
     * and kept (end + late > W since ts >= W - late). */
    b->closed = true;
    self->kept_bars++;
    self->bars++;
    self->late_n++;
    if (end > self->last_closed_end)
        self->last_closed_end = end;
    s_due (self, sym, s_sat_add (start, self->i_free));
    return s_emit (self, sym, b, false) < 0 ? -1 : TICKBAR_LATE;
}

/* ---- API ---- */

int64_t
tickbar_parse_interval (const char *text)
{
    static const struct {
        const char *name;
        int64_t ns;
    } table[] = {
        { "1s", 1000000000LL },          { "1m", 60 * 1000000000LL },
        { "5m", 5 * 60 * 1000000000LL }, { "1h", 3600 * 1000000000LL },
        { "1d", 86400 * 1000000000LL },
    };
    if (!text)
        return -1;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp (text, table[i].name) == 0)
            return table[i].ns;
    return -1;
}

tickbar_t *
tickbar_new (const tickbar_config_t *cfg, tickbar_emit_fn *emit, void *arg)
{
    if (!cfg || !emit || cfg->grace_ns < 0 || cfg->late_ns < 0)
        return NULL;
    int64_t I = cfg->interval_ns;
    if (I != tickbar_parse_interval ("1s") && I != tickbar_parse_interval ("1m")
        && I != tickbar_parse_interval ("5m") && I != tickbar_parse_interval ("1h")
        && I != tickbar_parse_interval ("1d"))
        return NULL;
    tickbar_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->interval = I;
    self->grace = cfg->grace_ns;
    self->late = cfg->late_ns;
    self->emit = emit;
    self->arg = arg;
    self->mask = 63;
    self->slots = calloc (self->mask + 1, sizeof *self->slots);
    if (!self->slots) {
        free (self);
        return NULL;
    }
    self->quiet_gap = cfg->grace_ns > 0 ? cfg->grace_ns : 1;
    self->i_grace = s_sat_add (I, cfg->grace_ns);
    int64_t keep = cfg->late_ns > cfg->grace_ns ? cfg->late_ns : cfg->grace_ns;
    self->i_late = s_sat_add (I, keep);
    /* Bars close at W = start + I + grace, start a multiple of I, so the close
     * sweeps come at W = grace modulo I.  A retained bar is freed at the first
     * of those at or after start + i_late (at most one interval after): one
     * sweep per interval instead of two, and nothing changes but the memory
     * held (late ticks are judged by ts >= W - late, not by what is held). */
    int64_t extra = keep - cfg->grace_ns; /* >= 0 */
    int64_t up = extra / I + (extra % I != 0);
    self->i_free = up > (INT64_MAX - self->i_grace) / I ? INT64_MAX : self->i_grace + up * I;
    self->next_due = INT64_MAX;
    return self;
}

void
tickbar_destroy (tickbar_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tickbar_t *self = *self_p;
    for (size_t i = 0; i < self->nsyms; i++)
        free (self->syms[i].old);
    free (self->syms);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

/* The watermark after a quiet spell: it moves on with the clock from the
 * last tick, as the ticks would have moved it on a live feed. */
static int64_t
s_idle_wm (const tickbar_t *self, int64_t now_ns)
{
    int64_t idle = now_ns - self->last_arrival;
    return s_sat_add (self->wm, idle > 0 ? idle : 0);
}

int
tickbar_add (tickbar_t *self, const tickbar_tick_t *t, int64_t now_ns)
{
    if (self->dead)
        return -1;
    self->ticks++;
    size_t len = t->symbol_len;
    int64_t ts = t->ts;
    if (len - 1 >= MDF_SYMBOL_MAX || ts <= 0 || !s_finite (t->value)
        || (!t->quote && !s_finite_nonneg (t->volume))) {
        self->dropped++;
        return TICKBAR_DROPPED;
    }
    if (now_ns - self->last_arrival >= self->quiet_gap && self->open_bars > 0
        && s_sweep (self, s_idle_wm (self, now_ns)) < 0)
        return -1;
    self->last_arrival = now_ns;
    if (ts > self->wm) {
        self->wm = ts;
        if (ts >= self->next_due && s_sweep (self, self->wm) < 0)
            return -1;
    }
    uint64_t h = symhash (t->symbol, len);
    s_sym_t *sym = s_lookup (self, t->symbol, len, h);
    if (!sym && !(sym = s_intern (self, t->symbol, len, h))) {
        self->dropped++;
        return TICKBAR_DROPPED;
    }
    s_bar_t *b = &sym->cur;
    if (!b->closed && (uint64_t)ts - (uint64_t)b->start < (uint64_t)self->interval) {
        s_bar_update (b, t);
        return TICKBAR_ADDED;
    }
    return s_slow (self, sym, t);
}

int
tickbar_poll (tickbar_t *self, int64_t now_ns)
{
    if (self->dead)
        return -1;
    if (self->open_bars > 0 && now_ns - self->last_arrival >= self->quiet_gap)
        return s_sweep (self, s_idle_wm (self, now_ns));
    return 0;
}

int64_t
tickbar_deadline (const tickbar_t *self)
{
    if (self->open_bars == 0)
        return INT64_MAX;
    /* the quiet spell, and enough of it for the idle watermark to reach the
     * first thing due (at worst a freeing: an early wake that does nothing) */
    int64_t need = self->next_due == INT64_MAX ? INT64_MAX : self->next_due - self->wm;
    if (need < self->quiet_gap)
        need = self->quiet_gap;
    return s_sat_add (self->last_arrival, need);
}

int
tickbar_flush (tickbar_t *self)
{
    if (self->dead)
        return -1;
    return s_sweep (self, INT64_MAX);
}

void
tickbar_stats (const tickbar_t *self, tickbar_stats_t *out)
{
    memset (out, 0, sizeof *out);
    out->ticks = self->ticks;
    out->bars = self->bars;
    out->corrections = self->corrections;
    out->late = self->late_n;
    out->dropped = self->dropped;
    out->watermark = self->wm;
    out->last_closed_end = self->last_closed_end;
    out->open_bars = self->open_bars;
    out->symbols = self->nsyms;
    out->retained_bars = self->kept_bars;
}

/* ---- state ---- */

static int
s_export_bar (const s_sym_t *sym, const s_bar_t *b, tickbar_state_fn *fn, void *arg)
{
    tickbar_state_t st = {
        .symbol = sym->symbol,
        .symbol_len = sym->len,
        .start = b->start,
        .first_ts = b->first_ts,
        .last_ts = b->last_ts,
        .open = b->open,
        .high = b->high,
        .low = b->low,
        .close = b->close,
        .volume = b->volume,
        .quote = b->quote,
        .closed = b->closed,
    };
    return fn (arg, &st);
}

int
tickbar_export (const tickbar_t *self, tickbar_state_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->nsyms; i++) {
        const s_sym_t *sym = &self->syms[i];
        for (uint32_t j = sym->lo; j < sym->hi; j++) {
            int rc = s_export_bar (sym, &sym->old[j], fn, arg);
            if (rc)
                return rc;
        }
        if (sym->cur.start != S_NONE) {
            int rc = s_export_bar (sym, &sym->cur, fn, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

void
tickbar_import_watermark (tickbar_t *self, int64_t wm, int64_t now_ns)
{
    if (wm > self->wm)
        self->wm = wm;
    self->last_arrival = now_ns;
}

int
tickbar_import (tickbar_t *self, const tickbar_state_t *in)
{
    size_t len = in->symbol_len;
    if (len - 1 >= MDF_SYMBOL_MAX || in->start <= 0 || in->start % self->interval != 0
        || in->first_ts < in->start || in->last_ts < in->first_ts
        || in->last_ts - in->start >= self->interval || !s_finite (in->open) || !s_finite (in->high)
        || !s_finite (in->low) || !s_finite (in->close) || !s_finite_nonneg (in->volume))
        return -1;
    uint64_t h = symhash (in->symbol, len);
    s_sym_t *sym = s_lookup (self, in->symbol, len, h);
    if (!sym && !(sym = s_intern (self, in->symbol, len, h)))
        return -1;
    if (sym->cur.start != S_NONE && in->start <= sym->cur.start)
        return -1; /* export order is ascending */
    s_bar_t *b = s_insert (sym, in->start);
    if (!b)
        return -1;
    b->start = in->start;
    b->first_ts = in->first_ts;
    b->last_ts = in->last_ts;
    b->open = in->open;
    b->high = in->high;
    b->low = in->low;
    b->close = in->close;
    b->volume = in->volume;
    b->quote = in->quote;
    b->closed = in->closed;
    int64_t end = s_sat_add (in->start, self->interval);
    if (in->closed) {
        self->kept_bars++;
        s_due (self, sym, s_sat_add (in->start, self->i_free));
    } else {
        self->open_bars++;
        if (b != &sym->cur)
            sym->nopen++;
        s_due (self, sym, s_sat_add (end, self->grace));
    }
    return 0;
}
