/*
 * live_journal: a live provider's journal (pipeline/journal.h holds the
 * files).  The model is a tickerplant's log: every tick read is appended
 * first, the operator aggregates what the journal holds, and a restart
 * replays it.
 *
 *   source -> tq (a turn's ticks) -> journal (write) -> reader -> tickbar -> pend -> sender
 *
 * The writer (live_commit, at the end of every turn of the source) appends
 * the turn's ticks in one write.  The reader follows the journal and hands
 * its ticks to the operator, as long as the sender takes the bars without
 * waiting (sender_try_push); while it does not (a store down or slow), the
 * reader stays behind and the source is still read, into the journal, until
 * journal.max_bytes.  Then the source is paused (the child's pipe fills and
 * it blocks; the SUB socket queues to its high-water mark), logged, counted
 * and shown by /health, and read again once acks let old segments go.
 *
 * Records (journal.h frames them):
 *   1 tick    i64 ts, u8 kind (0 trade, 1 quote), f64 price size | f64 bid
 *             ask bid_size ask_size, u8 n + symbol, u8 n + cursor
 *   4 cursor  u8 n + the last cursor accepted, first in every segment (so the
 *             cursor survives when every tick before it was trimmed)
 * A snapshot (ID.snap) is written when the reader enters segment ID: the
 * operator's bars (tickbar_export: open, and closed ones kept for late
 * ticks) as records 2 (i64 start first_ts last_ts, f64 open high low close
 * volume, u8 flags 1 quote 2 closed, u8 n + symbol) and a record 3 (i64
 * watermark, u64 bars emitted so far).
 *
 * Trimming: when the reader entered segment k the operator had emitted E
 * bars; a bar closed before that is in k's snapshot (kept for late ticks)
 * or among those E.  So once the sender says the first E bars of this
 * provider are settled (acked ok, or rejected for good: sender_settled),
 * every segment before k goes.
 *
 * Start: the segments are checked (journal_scan: torn tails cut, garbled
 * records skipped, both logged and counted), the last cursor found, the
 * oldest segment's snapshot restored, and the reader starts at its first
 * record: the open bars are rebuilt, and every bar closed since is sent
 * again (the store's upsert makes that harmless) while the source already
 * appends after them.
 */
#include "pipeline/live_internal.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"

enum { S_R_TICK = 1, S_R_BAR = 2, S_R_SNAP = 3, S_R_CURSOR = 4 };

#define S_RETRY_NS 1000000000LL /* after a disk error */

/* ---- encoding ---------------------------------------------------------------- */

typedef struct {
    uint8_t b[512];
    size_t n;
} s_enc_t;

static void
s_put (s_enc_t *e, const void *p, size_t n)
{
    memcpy (e->b + e->n, p, n);
    e->n += n;
}

static void
s_put_str (s_enc_t *e, const char *s)
{
    size_t n = strlen (s);
    uint8_t len = (uint8_t)(n > 255 ? 255 : n);
    s_put (e, &len, 1);
    s_put (e, s, len);
}

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} s_dec_t;

static void
s_get (s_dec_t *d, void *out, size_t n)
{
    if (d->bad || d->left < n) {
        d->bad = true;
        memset (out, 0, n);
        return;
    }
    memcpy (out, d->p, n);
    d->p += n;
    d->left -= n;
}

static void
s_get_str (s_dec_t *d, char *out, size_t cap)
{
    uint8_t n = 0;
    s_get (d, &n, 1);
    if (d->bad || n >= cap || d->left < n) {
        d->bad = true;
        out[0] = '\0';
        return;
    }
    memcpy (out, d->p, n);
    out[n] = '\0';
    d->p += n;
    d->left -= n;
}

/* A tick record, encoded in place in the journal's buffer. */
static int
s_add_tick (live_t *self, const mdf_tick_t *t)
{
    size_t ns = strnlen (t->symbol, MDF_SYMBOL_MAX), nc = strnlen (t->cursor, MDF_TICK_CURSOR_MAX);
    uint8_t *p = journal_reserve (self->journal, 9 + 32 + 2 + ns + nc);
    if (!p)
        return -1;
    uint8_t *q = p;
    memcpy (q, &t->ts, 8);
    q[8] = t->kind == MDF_TICK_QUOTE;
    q += 9;
    if (t->kind == MDF_TICK_QUOTE) {
        memcpy (q, &t->bid, 8);
        memcpy (q + 8, &t->ask, 8);
        memcpy (q + 16, &t->bid_size, 8);
        memcpy (q + 24, &t->ask_size, 8);
        q += 32;
    } else {
        memcpy (q, &t->price, 8);
        memcpy (q + 8, &t->size, 8);
        q += 16;
    }
    *q++ = (uint8_t)ns;
    memcpy (q, t->symbol, ns);
    q += ns;
    *q++ = (uint8_t)nc;
    memcpy (q, t->cursor, nc);
    q += nc;
    journal_commit_record (self->journal, S_R_TICK, (size_t)(q - p));
    return 0;
}

static bool
s_decode_tick (const uint8_t *p, size_t len, mdf_tick_t *t)
{
    s_dec_t d = { p, len, false };
    uint8_t kind = 0;
    memset (t, 0, sizeof *t);
    s_get (&d, &t->ts, 8);
    s_get (&d, &kind, 1);
    t->kind = kind ? MDF_TICK_QUOTE : MDF_TICK_TRADE;
    if (kind) {
        s_get (&d, &t->bid, 8);
        s_get (&d, &t->ask, 8);
        s_get (&d, &t->bid_size, 8);
        s_get (&d, &t->ask_size, 8);
    } else {
        s_get (&d, &t->price, 8);
        s_get (&d, &t->size, 8);
    }
    s_get_str (&d, t->symbol, sizeof t->symbol);
    s_get_str (&d, t->cursor, sizeof t->cursor);
    return !d.bad && d.left == 0 && kind <= 1 && mdf_tick_validate (t, NULL, 0) == 0;
}

/* A snapshot being built: records [u32 length][u8 type][payload]. */
typedef struct {
    uint8_t *b;
    size_t n, cap;
    bool oom;
} s_blob_t;

static void
s_blob_add (s_blob_t *bl, uint8_t type, const s_enc_t *e)
{
    size_t need = bl->n + 5 + e->n;
    if (need > bl->cap) {
        size_t cap = bl->cap ? bl->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc (bl->b, cap);
        if (!p) {
            bl->oom = true;
            return;
        }
        bl->b = p;
        bl->cap = cap;
    }
    uint32_t len = (uint32_t)(e->n + 1);
    memcpy (bl->b + bl->n, &len, 4);
    bl->b[bl->n + 4] = type;
    memcpy (bl->b + bl->n + 5, e->b, e->n);
    bl->n = need;
}

static int
s_add_bar (void *arg, const tickbar_state_t *b)
{
    s_blob_t *bl = arg;
    s_enc_t e = { .n = 0 };
    uint8_t flags = (uint8_t)((b->quote ? 1 : 0) | (b->closed ? 2 : 0));
    s_put (&e, &b->start, 8);
    s_put (&e, &b->first_ts, 8);
    s_put (&e, &b->last_ts, 8);
    s_put (&e, &b->open, 8);
    s_put (&e, &b->high, 8);
    s_put (&e, &b->low, 8);
    s_put (&e, &b->close, 8);
    s_put (&e, &b->volume, 8);
    s_put (&e, &flags, 1);
    char sym[MDF_SYMBOL_MAX + 1];
    snprintf (sym, sizeof sym, "%.*s", (int)b->symbol_len, b->symbol);
    s_put_str (&e, sym);
    s_blob_add (bl, S_R_BAR, &e);
    return bl->oom ? -1 : 0;
}

/* ---- state, metrics, errors -------------------------------------------- */

static void
s_gauges (live_t *self)
{
    if (!self->journal)
        return;
    if (self->m_jbytes)
        mdf_gauge_set (self->m_jbytes, (double)journal_bytes (self->journal));
    if (self->m_jsegs)
        mdf_gauge_set (self->m_jsegs, (double)journal_segments (self->journal));
}

static void
s_set_jstate (live_t *self, int st)
{
    int was = atomic_exchange (&self->jstate, st);
    if (self->m_jstate)
        mdf_gauge_set (self->m_jstate, st == S_J_OFF ? 0 : st - 1);
    if (was == st)
        return;
    if (st == S_J_FULL) {
        if (self->m_jfull)
            mdf_counter_inc (self->m_jfull);
        mdf_warn ("journal full: the source is not read until the store acks free room",
                  "provider=%s dir=%s bytes=%lld max_bytes=%lld", self->name, self->jdir,
                  (long long)(self->journal ? journal_bytes (self->journal) : 0),
                  (long long)self->jcfg.max_bytes);
    } else if (st == S_J_OK && was == S_J_FULL)
        mdf_info ("journal has room again: reading the source", "provider=%s", self->name);
    else if (st == S_J_OK && was == S_J_ERROR)
        mdf_info ("journal writable again: reading the source", "provider=%s dir=%s", self->name,
                  self->jdir);
}

/* A disk error: counted, logged (rate-limited), /health not ready, retried. */
static void
s_disk_error (live_t *self, const char *what, int64_t now)
{
    if (self->m_jerrors)
        mdf_counter_inc (self->m_jerrors);
    pthread_mutex_lock (&self->jerror_lock);
    snprintf (self->jerror, sizeof self->jerror, "%s", what);
    pthread_mutex_unlock (&self->jerror_lock);
    self->retry_at = now + S_RETRY_NS;
    uint64_t sup = 0;
    char q[300];
    if (atomic_load (&self->jstate) != S_J_ERROR || mdf_ratelimit_allow (&self->rl_err, &sup))
        mdf_error ("journal error: the source is not read until it can be written",
                   "provider=%s dir=%s error=%s suppressed=%llu", self->name, self->jdir,
                   mdf_log_quote (q, sizeof q, what), (unsigned long long)sup);
    s_set_jstate (self, S_J_ERROR);
    if (self->pause)
        self->pause (self, true);
}

/* ---- the writer's segments, the reader's snapshots, trimming ---------------- */

/* A new segment, its first record the cursor.  0 or -1. */
static int
s_roll (live_t *self, int64_t now)
{
    if (journal_roll (self->journal) == 0) {
        s_disk_error (self, journal_error (self->journal), now);
        return -1;
    }
    s_enc_t e = { .n = 0 };
    s_put_str (&e, self->cursor);
    if (journal_add (self->journal, S_R_CURSOR, e.b, e.n) < 0) {
        s_disk_error (self, "out of memory", now);
        return -1;
    }
    self->ticks_since_roll = false;
    return 0;
}

/* The reader enters segment seg: the operator's state into seg's snapshot,
 * and seg's trimming point. */
static void
s_on_enter (void *arg, uint64_t seg)
{
    live_t *self = arg;
    s_blob_t bl = { 0 };
    tickbar_stats_t st;
    tickbar_stats (self->op, &st);
    s_enc_t e = { .n = 0 };
    s_put (&e, &st.watermark, 8);
    s_put (&e, &self->emitted, 8);
    if (tickbar_export (self->op, s_add_bar, &bl) == 0)
        s_blob_add (&bl, S_R_SNAP, &e);
    if (bl.oom || journal_snapshot_write (self->journal, seg, bl.b, bl.n) < 0) {
        /* no trimming point: the older segments stay until a later one */
        s_disk_error (self, bl.oom ? "snapshot: out of memory" : journal_error (self->journal),
                      self->rnow);
        free (bl.b);
        return;
    }
    free (bl.b);
    if (self->nrolls == S_ROLLS) /* keep the newest: it trims at least as much */
        self->nrolls--;
    self->rolls[self->nrolls].seg = seg;
    self->rolls[self->nrolls].emitted = self->emitted;
    self->nrolls++;
}

/* Remove the segments whose bars are all settled. */
static void
s_trim (live_t *self)
{
    if (self->nrolls == 0)
        return;
    uint64_t settled = sender_settled (self->sender, self->idx);
    size_t k = 0;
    uint64_t before = 0;
    while (k < self->nrolls && self->rolls[k].emitted <= settled)
        before = self->rolls[k++].seg;
    if (k == 0)
        return;
    size_t n = journal_trim (self->journal, before);
    if (n > 0 && self->m_jtrimmed)
        mdf_counter_add (self->m_jtrimmed, n);
    memmove (self->rolls, self->rolls + k, (self->nrolls - k) * sizeof self->rolls[0]);
    self->nrolls -= k;
    s_gauges (self);
}

/* Restore a snapshot blob into the (fresh) operator.  The records it could
 * not take are counted in *bad. */
static void
s_restore (live_t *self, const uint8_t *b, size_t n, int64_t now, uint64_t *bad)
{
    for (size_t off = 0; off + 5 <= n;) {
        uint32_t len;
        memcpy (&len, b + off, 4);
        if (len == 0 || len > n - off - 4) {
            (*bad)++;
            return;
        }
        uint8_t type = b[off + 4];
        s_dec_t d = { b + off + 5, len - 1, false };
        off += 4 + len;
        if (type == S_R_BAR) {
            tickbar_state_t bar;
            uint8_t flags = 0;
            char sym[MDF_SYMBOL_MAX + 1];
            s_get (&d, &bar.start, 8);
            s_get (&d, &bar.first_ts, 8);
            s_get (&d, &bar.last_ts, 8);
            s_get (&d, &bar.open, 8);
            s_get (&d, &bar.high, 8);
            s_get (&d, &bar.low, 8);
            s_get (&d, &bar.close, 8);
            s_get (&d, &bar.volume, 8);
            s_get (&d, &flags, 1);
            s_get_str (&d, sym, sizeof sym);
            bar.symbol = sym;
            bar.symbol_len = strlen (sym);
            bar.quote = flags & 1;
            bar.closed = (flags & 2) != 0;
            if (d.bad || tickbar_import (self->op, &bar) < 0)
                (*bad)++;
        } else if (type == S_R_SNAP) {
            int64_t wm = 0;
            s_get (&d, &wm, 8);
            if (d.bad)
                (*bad)++;
            else
                tickbar_import_watermark (self->op, wm, now);
        }
    }
}

/* ---- ticks in, through the journal, into the operator ------------------------- */

static int
s_aggregate (live_t *self, const mdf_tick_t *t, int64_t now)
{
    tickbar_tick_t in = {
        .symbol = t->symbol,
        .symbol_len = strlen (t->symbol),
        .ts = t->ts,
        .value = mdf_tick_value (t),
        .volume = t->kind == MDF_TICK_TRADE ? t->size : 1,
        .quote = t->kind == MDF_TICK_QUOTE,
    };
    return tickbar_add (self->op, &in, now) < 0 ? -1 : 0;
}

/* A tick record straight into the operator's input (the symbol points into
 * the record).  false for a record that does not decode. */
static bool
s_record_tick (const uint8_t *p, size_t len, tickbar_tick_t *t)
{
    uint8_t kind;
    double a, b;
    if (len < 9 + 16 + 1)
        return false;
    memcpy (&t->ts, p, 8);
    kind = p[8];
    memcpy (&a, p + 9, 8);
    memcpy (&b, p + 17, 8);
    size_t off = kind ? 9 + 32 : 9 + 16;
    if (kind > 1 || len < off + 1 || len < off + 1 + p[off])
        return false;
    t->symbol = (const char *)p + off + 1;
    t->symbol_len = p[off];
    t->quote = kind == 1;
    t->value = kind ? (a + b) / 2 : a;
    t->volume = kind ? 1 : b;
    return true;
}

int
live_tick (live_t *self, const mdf_tick_t *t, int64_t now)
{
    self->got_tick = true;
    if (!self->jdir)
        return s_aggregate (self, t, now);
    if (t->cursor[0])
        snprintf (self->cursor, sizeof self->cursor, "%s", t->cursor);
    journal_t *j = self->journal;
    /* a segment is rolled between writes: its first record is the cursor
     * before this tick (a failed roll leaves the tick to the old segment) */
    if (self->ntq == 0 && journal_buffered (j) == 0 && journal_roll_due (j)
        && (journal_segments (j) == 0 || self->ticks_since_roll))
        (void)s_roll (self, now);
    if (s_add_tick (self, t) < 0) {
        live_bad (self, "line", self->line_no, "out of memory (tick not journalled)");
        return 0;
    }
    self->ntq++;
    if (self->ntq >= S_TQ && !self->paused)
        return live_commit (self, now);
    return 0;
}

/* A record the reader hands over: a tick into the operator.  Non-zero stops
 * the reader after it: the sender takes no more for now (or is closed). */
static int
s_on_read (void *arg, uint8_t type, const uint8_t *p, size_t len, uint64_t seg)
{
    (void)seg;
    live_t *self = arg;
    tickbar_tick_t t;
    if (type != S_R_TICK || !s_record_tick (p, len, &t))
        return 0;
    if (tickbar_add (self->op, &t, self->rnow) < 0)
        return 1;
    if (self->npend >= S_PEND && !self->direct && (live_push (self) < 0 || self->npend >= S_PEND))
        return 1;
    return 0;
}

/* The reader: aggregate what the journal holds, as far as the sender takes
 * the bars without waiting (all of it while draining).  0, or -1 once the
 * sender is closed. */
static int
s_read (live_t *self, int64_t now)
{
    if (live_push (self) < 0)
        return -1;
    if (self->npend >= S_PEND)
        return 0; /* the sender is full: the reader waits */
    self->rnow = now;
    char err[512] = "";
    int rc = journal_read (self->journal, s_on_read, s_on_enter, self, SIZE_MAX, err, sizeof err);
    if (rc < 0)
        s_disk_error (self, err, now);
    self->read_all = rc == 1;
    if (live_push (self) < 0)
        return -1;
    return self->closed ? -1 : 0;
}

int
live_commit (live_t *self, int64_t now)
{
    if (!self->journal)
        return self->closed ? -1 : 0;
    journal_t *j = self->journal;
    if (journal_buffered (j) == 0
        || (atomic_load (&self->jstate) == S_J_ERROR && now < self->retry_at))
        return s_read (self, now);
    if (journal_full (j)) {
        s_gauges (self);
        s_set_jstate (self, S_J_FULL);
        if (self->pause)
            self->pause (self, true);
        return s_read (self, now);
    }
    /* the fast path: a reader that is not behind takes the ticks from the
     * bytes just written, instead of reading them back */
    bool direct = journal_reader_at_end (j) && self->npend < S_PEND;
    if (journal_write (j) < 0) {
        s_disk_error (self, journal_error (j), now);
        return s_read (self, now);
    }
    if (self->ntq > 0)
        self->ticks_since_roll = true;
    self->ntq = 0;
    s_set_jstate (self, S_J_OK);
    if (self->pause)
        self->pause (self, false);
    s_gauges (self);
    if (!direct)
        return s_read (self, now);
    size_t len;
    const uint8_t *p = journal_last_write (j, &len);
    journal_reader_to_end (j);
    self->rnow = now;
    self->direct = true; /* one write's bars may pass S_PEND: pend grows */
    int rc = journal_each (p, len, s_on_read, self, journal_newest (j));
    self->direct = false;
    self->read_all = true;
    return rc != 0 || live_push (self) < 0 || self->closed ? -1 : 0;
}

void
live_turn_end (live_t *self)
{
    if (self->jdir && self->loop)
        (void)live_commit (self, mdf_loop_now_ns (self->loop));
    live_sync (self);
}

/* ---- start, the timer, the end ------------------------------------------------ */

typedef struct {
    live_t *self;
    uint64_t ticks, bad;
} s_scan_t;

/* journal_scan: the last cursor, and a count. */
static int
s_on_scan (void *arg, uint8_t type, const uint8_t *p, size_t len, uint64_t seg)
{
    (void)seg;
    s_scan_t *sc = arg;
    if (type == S_R_TICK) {
        mdf_tick_t t;
        if (!s_decode_tick (p, len, &t)) {
            sc->bad++;
            return 0;
        }
        sc->ticks++;
        if (t.cursor[0])
            memcpy (sc->self->cursor, t.cursor, sizeof sc->self->cursor);
    } else if (type == S_R_CURSOR) {
        s_dec_t d = { p, len, false };
        char c[MDF_TICK_CURSOR_MAX + 1];
        s_get_str (&d, c, sizeof c);
        if (d.bad)
            sc->bad++;
        else if (c[0])
            memcpy (sc->self->cursor, c, sizeof c);
    } else {
        sc->bad++;
    }
    return 0;
}

int
live_journal_start (live_t *self, int64_t now)
{
    if (!self->jdir)
        return 0;
    char err[512] = "";
    if (!self->journal) {
        self->journal = journal_open (&self->jcfg, err, sizeof err);
        if (!self->journal) {
            s_disk_error (self, err, now);
            return -1;
        }
    }
    if (!self->replayed) {
        s_scan_t sc = { .self = self };
        journal_replay_stats_t st;
        int64_t t0 = mdf_mono_ns ();
        if (journal_scan (self->journal, s_on_scan, &sc, &st, err, sizeof err) < 0) {
            s_disk_error (self, err, now);
            return -1;
        }
        uint64_t oldest = journal_oldest (self->journal);
        uint8_t *blob = NULL;
        size_t n = 0;
        if (oldest > 0 && journal_snapshot_read (self->journal, oldest, &blob, &n) == 0) {
            s_restore (self, blob, n, now, &sc.bad);
            free (blob);
        } else if (oldest > 1) {
            sc.bad++;
            mdf_warn ("journal: no readable snapshot for the oldest segment; its bars start "
                      "from its first tick",
                      "provider=%s segment=%llu error=%s", self->name, (unsigned long long)oldest,
                      strerror (errno));
        }
        journal_reader_reset (self->journal);
        self->replayed = true;
        if (self->m_jreplayed)
            mdf_counter_add (self->m_jreplayed, sc.ticks);
        if (self->m_jcorrupt)
            mdf_counter_add (self->m_jcorrupt, st.skipped + st.cut + sc.bad);
        if (st.segments > 0)
            mdf_info ("journal replay",
                      "provider=%s segments=%llu ticks=%llu skipped=%llu "
                      "cut=%llu cut_bytes=%llu cursor=\"%s\" scan_ms=%lld",
                      self->name, (unsigned long long)st.segments, (unsigned long long)sc.ticks,
                      (unsigned long long)(st.skipped + sc.bad), (unsigned long long)st.cut,
                      (unsigned long long)st.cut_bytes, self->cursor,
                      (long long)((mdf_mono_ns () - t0) / 1000000));
    }
    s_set_jstate (self, S_J_OK);
    s_gauges (self);
    return 0;
}

void
live_journal_tick (live_t *self, int64_t now)
{
    if (!self->journal)
        return;
    if (journal_sync (self->journal, now, false) < 0)
        s_disk_error (self, journal_error (self->journal), now);
    s_trim (self);
    (void)live_commit (self, now);
}

int
live_journal_drain (live_t *self, int64_t now)
{
    if (!self->journal)
        return self->closed ? -1 : 0;
    self->draining = true;
    return live_commit (self, now);
}

void
live_journal_close (live_t *self)
{
    if (!self->journal)
        return;
    uint64_t settled = sender_settled (self->sender, self->idx);
    int64_t now = mdf_mono_ns ();
    if (self->read_all && journal_buffered (self->journal) == 0 && settled >= self->emitted
        && s_roll (self, now) == 0 && journal_write (self->journal) == 0) {
        /* the reader enters the new segment: the last state is its snapshot */
        self->draining = true;
        self->rnow = now;
        char err[256];
        (void)journal_read (self->journal, s_on_read, s_on_enter, self, SIZE_MAX, err, sizeof err);
        s_trim (self);
        mdf_info ("journal closed: every bar acked", "provider=%s segments=%zu bytes=%lld",
                  self->name, journal_segments (self->journal),
                  (long long)journal_bytes (self->journal));
    } else {
        mdf_warn ("journal closed with bars not acked or ticks not aggregated: they are sent at "
                  "the next start",
                  "provider=%s unacked_bars=%llu ticks_not_journalled=%zu cursor=\"%s\"",
                  self->name,
                  (unsigned long long)(self->emitted > settled ? self->emitted - settled : 0),
                  self->ntq, self->cursor);
    }
    (void)journal_sync (self->journal, now, true);
    journal_close (&self->journal);
}
