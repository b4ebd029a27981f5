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

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_NONE INT64_MIN /* cur.start of a symbol without bars */

typedef struct {
    int64_t start;    /* bar start (its ts); S_NONE: no bar */
    int64_t first_ts; /* ts of the open */
    int64_t last_ts;  /* ts of the close */
    double open, high, low, close, volume;
    bool quote;  /* built from quotes only so far */
    bool closed; /* emitted (and true for S_NONE, so the fast path skips it) */
} s_bar_t;

typedef struct {
    s_bar_t cur;  /* the newest bar (largest start) */
    s_bar_t *old; /* older bars, open or retained, by start ascending */
    uint32_t nold, capold;
    uint32_t len;
    char symbol[MDF_SYMBOL_MAX + 1];
} s_sym_t;

typedef struct {
    uint32_t tag; /* the hash's high 32 bits */
    uint32_t idx; /* symbol index + 1; 0: empty */
} s_slot_t;

struct _tickbar_t {
    int64_t interval, grace, late;
    tickbar_emit_fn *emit;
    void *arg;
    bool dead; /* emit returned -1 */

    s_slot_t *slots;
    size_t mask; /* slots: mask + 1, a power of two */
    s_sym_t *syms;
    size_t nsyms, capsyms;

    int64_t wm;           /* watermark: largest ts seen */
    int64_t next_due;     /* W >= next_due: something to close or free */
    int64_t min_open_end; /* earliest end of an open bar (INT64_MAX: none) */
    int64_t min_kept_end; /* earliest end of a retained bar (INT64_MAX: none) */
    int64_t quiet_at;     /* monotonic: last arrival + grace (at least 1 ns) */
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

static void
s_set_next_due (tickbar_t *self)
{
    int64_t a = s_sat_add (self->min_open_end, self->grace);
    int64_t b = s_sat_add (self->min_kept_end, self->late);
    self->next_due = a < b ? a : b;
}

/* ---- symbol table ---- */

static inline uint64_t
s_load64 (const char *p)
{
    uint64_t w;
    memcpy (&w, p, 8);
    return w;
}

static inline uint64_t
s_load32 (const char *p)
{
    uint32_t w;
    memcpy (&w, p, 4);
    return w;
}

/* A multiply-xorshift hash of n >= 1 bytes, 8 at a time (bench/agg uses the
 * same one for its bare loop). */
static inline uint64_t
s_hash (const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
    while (n > 8) {
        h = (h ^ s_load64 (p)) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w;
    if (n >= 4)
        w = s_load32 (p) | s_load32 (p + n - 4) << 32;
    else
        w = (uint64_t)(uint8_t)p[0] << 16 | (uint64_t)(uint8_t)p[n >> 1] << 8
            | (uint64_t)(uint8_t)p[n - 1];
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 29;
    return h;
}

static inline s_sym_t *
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
static s_sym_t *
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
            s_place (slots, cap - 1, s_hash (s->symbol, s->len), (uint32_t)(i + 1));
        }
        free (self->slots);
        self->slots = slots;
        self->mask = cap - 1;
    }
    if (self->nsyms == self->capsyms) {
        size_t cap = self->capsyms ? self->capsyms * 2 : 64;
        s_sym_t *syms = realloc (self->syms, cap * sizeof *syms);
        if (!syms)
            return NULL;
        self->syms = syms;
        self->capsyms = cap;
    }
    s_sym_t *s = &self->syms[self->nsyms++];
    memset (s, 0, sizeof *s);
    s->cur.start = S_NONE;
    s->cur.closed = true;
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
static inline bool
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
    memcpy (out.symbol, sym->symbol, sym->len);
    memset (out.symbol + sym->len, 0, sizeof out.symbol - sym->len);
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

/* Close b if due (or close_all), free it if due.  1: keep, 0: freed, -1:
 * emit closed.  Updates the minima of what is kept. */
static int
s_settle (tickbar_t *self, const s_sym_t *sym, s_bar_t *b, bool close_all, int64_t *min_open,
          int64_t *min_kept)
{
    int64_t end = s_sat_add (b->start, self->interval);
    if (!b->closed) {
        if (!close_all && s_sat_add (end, self->grace) > self->wm) {
            if (end < *min_open)
                *min_open = end;
            return 1;
        }
        b->closed = true;
        self->open_bars--;
        self->kept_bars++;
        self->bars++;
        if (end > self->last_closed_end)
            self->last_closed_end = end;
        if (s_emit (self, sym, b, false) < 0)
            return -1;
    }
    if (s_sat_add (end, self->late) <= self->wm) {
        self->kept_bars--;
        return 0;
    }
    if (end < *min_kept)
        *min_kept = end;
    return 1;
}

/* Close what is due by W (every open bar with close_all), free what no late
 * tick can reach, recompute next_due.  0 or -1 (emit closed). */
static int
s_sweep (tickbar_t *self, bool close_all)
{
    int64_t min_open = INT64_MAX, min_kept = INT64_MAX;
    for (size_t i = 0; i < self->nsyms; i++) {
        s_sym_t *sym = &self->syms[i];
        uint32_t k = 0;
        for (uint32_t j = 0; j < sym->nold; j++) {
            int rc = s_settle (self, sym, &sym->old[j], close_all, &min_open, &min_kept);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                if (k != j)
                    sym->old[k] = sym->old[j];
                k++;
            }
        }
        sym->nold = k;
        if (sym->cur.start != S_NONE) {
            int rc = s_settle (self, sym, &sym->cur, close_all, &min_open, &min_kept);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                if (sym->nold > 0)
                    sym->cur = sym->old[--sym->nold];
                else {
                    sym->cur.start = S_NONE;
                    sym->cur.closed = true;
                }
            }
        }
    }
    self->min_open_end = min_open;
    self->min_kept_end = min_kept;
    s_set_next_due (self);
    return 0;
}

static s_bar_t *
s_find (s_sym_t *sym, int64_t start)
{
    if (sym->cur.start == start)
        return &sym->cur;
    for (uint32_t j = sym->nold; j-- > 0;) {
        if (sym->old[j].start == start)
            return &sym->old[j];
        if (sym->old[j].start < start)
            break;
    }
    return NULL;
}

static bool
s_old_room (s_sym_t *sym)
{
    if (sym->nold < sym->capold)
        return true;
    uint32_t cap = sym->capold ? sym->capold * 2 : 4;
    s_bar_t *old = realloc (sym->old, cap * sizeof *old);
    if (!old)
        return false;
    sym->old = old;
    sym->capold = cap;
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
        sym->old[sym->nold++] = sym->cur;
        return &sym->cur;
    }
    uint32_t pos = sym->nold;
    while (pos > 0 && sym->old[pos - 1].start > start)
        pos--;
    memmove (&sym->old[pos + 1], &sym->old[pos], (sym->nold - pos) * sizeof *sym->old);
    sym->nold++;
    return &sym->old[pos];
}

/* A tick that is not for the symbol's newest open bar. */
static int
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
        if (end < self->min_open_end) {
            self->min_open_end = end;
            s_set_next_due (self);
        }
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
    if (end < self->min_kept_end) {
        self->min_kept_end = end;
        s_set_next_due (self);
    }
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
    self->min_open_end = INT64_MAX;
    self->min_kept_end = INT64_MAX;
    self->next_due = INT64_MAX;
    self->quiet_at = INT64_MAX;
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

int
tickbar_add (tickbar_t *self, const tickbar_tick_t *t, int64_t now_ns)
{
    if (self->dead)
        return -1;
    self->ticks++;
    size_t len = t->symbol_len;
    int64_t ts = t->ts;
    if (len - 1 >= MDF_SYMBOL_MAX || ts <= 0 || !isfinite (t->value)
        || (!t->quote && !(t->volume >= 0 && t->volume <= DBL_MAX))) {
        self->dropped++;
        return TICKBAR_DROPPED;
    }
    if (now_ns >= self->quiet_at && self->open_bars > 0 && s_sweep (self, true) < 0)
        return -1;
    self->quiet_at = s_sat_add (now_ns, self->grace > 0 ? self->grace : 1);
    if (ts > self->wm) {
        self->wm = ts;
        if (ts >= self->next_due && s_sweep (self, false) < 0)
            return -1;
    }
    uint64_t h = s_hash (t->symbol, len);
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
    if (self->open_bars > 0 && now_ns >= self->quiet_at)
        return s_sweep (self, true);
    return 0;
}

int64_t
tickbar_deadline (const tickbar_t *self)
{
    return self->open_bars > 0 ? self->quiet_at : INT64_MAX;
}

int
tickbar_flush (tickbar_t *self)
{
    if (self->dead)
        return -1;
    return s_sweep (self, true);
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
