/*
 * live_journal: a live provider's journal (pipeline/journal.h holds the
 * files): every tick is appended before the operator sees it, the journal is
 * replayed at start, and trimmed as the store acks the bars.
 *
 * Records:
 *   1 tick      i64 ts, u8 kind (0 trade, 1 quote), f64 price size | f64 bid
 *               ask bid_size ask_size, u8 n + symbol, u8 n + cursor
 *   2 bar       a snapshot's bar: i64 start first_ts last_ts, f64 open high
 *               low close volume, u8 flags (1 quote, 2 closed), u8 n + symbol
 *   3 snapshot  the end of a snapshot: i64 watermark, u64 bars emitted so
 *               far (informative), u8 n + cursor
 * Every segment begins with a snapshot of the operator as it was when the
 * segment was started (tickbar_export: open bars, closed bars kept for late
 * ticks, the watermark) and the last cursor.  So a replay restores the
 * oldest segment's snapshot and aggregates every tick after it: the open
 * bars are rebuilt, and every bar closed since is emitted again (the store's
 * upsert makes a bar sent twice harmless).
 *
 * Trimming: when segment k is started, the operator has emitted E bars.  A
 * bar closed before k's snapshot is either in the snapshot (retained) or
 * among those E; so once the sender says the first E bars of this provider
 * are settled (acked ok or rejected, sender_settled), every segment before
 * k can go.
 *
 * Blocking: the ticks read in a turn wait in `tq`; live_commit appends them
 * and, once written, aggregates them.  A full journal (max_bytes) or a
 * failed write leaves them in tq and pauses the source; the timer retries
 * every S_TICK_MS (a write error: every second).  A full journal is rolled
 * (a snapshot) once, so that acks can free every older segment.
 */
#include "pipeline/live_internal.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"

enum { S_R_TICK = 1, S_R_BAR = 2, S_R_SNAP = 3 };

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

static int
s_add_tick (live_t *self, const mdf_tick_t *t)
{
    s_enc_t e = { .n = 0 };
    uint8_t kind = t->kind == MDF_TICK_QUOTE;
    s_put (&e, &t->ts, 8);
    s_put (&e, &kind, 1);
    if (kind) {
        s_put (&e, &t->bid, 8);
        s_put (&e, &t->ask, 8);
        s_put (&e, &t->bid_size, 8);
        s_put (&e, &t->ask_size, 8);
    } else {
        s_put (&e, &t->price, 8);
        s_put (&e, &t->size, 8);
    }
    s_put_str (&e, t->symbol);
    s_put_str (&e, t->cursor);
    return journal_add (self->journal, S_R_TICK, e.b, e.n);
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

static int
s_add_bar (void *arg, const tickbar_state_t *b)
{
    live_t *self = arg;
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
    return journal_add (self->journal, S_R_BAR, e.b, e.n);
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
    snprintf (self->jerror, sizeof self->jerror, "%s", what);
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

/* ---- rolling and trimming ------------------------------------------------ */

/* A new segment that begins with a snapshot of the operator.  0 or -1. */
static int
s_roll (live_t *self, int64_t now)
{
    uint64_t id = journal_roll (self->journal);
    if (id == 0) {
        s_disk_error (self, journal_error (self->journal), now);
        return -1;
    }
    tickbar_stats_t st;
    tickbar_stats (self->op, &st);
    s_enc_t e = { .n = 0 };
    s_put (&e, &st.watermark, 8);
    s_put (&e, &self->emitted, 8);
    s_put_str (&e, self->cursor);
    if (tickbar_export (self->op, s_add_bar, self) != 0
        || journal_add (self->journal, S_R_SNAP, e.b, e.n) < 0) {
        errno = ENOMEM;
        s_disk_error (self, "snapshot: out of memory", now);
        return -1;
    }
    if (self->nrolls == S_ROLLS) /* keep the newest: it trims at least as much */
        self->nrolls--;
    self->rolls[self->nrolls].seg = id;
    self->rolls[self->nrolls].emitted = self->emitted;
    self->nrolls++;
    self->ticks_since_roll = false;
    return 0;
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

/* ---- ticks in --------------------------------------------------------------- */

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

int
live_tick (live_t *self, const mdf_tick_t *t, int64_t now)
{
    self->got_tick = true;
    if (!self->jdir)
        return s_aggregate (self, t, now);
    if (t->cursor[0])
        memcpy (self->cursor, t->cursor, sizeof self->cursor);
    if (self->ntq == self->captq) {
        size_t cap = self->captq ? self->captq * 2 : S_TQ;
        mdf_tick_t *tq = realloc (self->tq, cap * sizeof *tq);
        if (!tq) {
            live_bad (self, "line", self->line_no, "out of memory (tick not kept)");
            return 0;
        }
        self->tq = tq;
        self->captq = cap;
    }
    self->tq[self->ntq++] = *t;
    if (self->ntq >= S_TQ && !self->paused)
        return live_commit (self, now);
    return 0;
}

int
live_commit (live_t *self, int64_t now)
{
    if (!self->journal || (self->ntq == 0 && journal_buffered (self->journal) == 0))
        return self->closed ? -1 : 0;
    if (atomic_load (&self->jstate) == S_J_ERROR && now < self->retry_at)
        return 0;
    journal_t *j = self->journal;
    if (!self->tq_encoded) {
        if (journal_buffered (j) == 0) {
            s_trim (self);
            if (journal_roll_due (j) && self->ticks_since_roll && s_roll (self, now) < 0)
                return 0;
        }
        if (self->ntq > 0) {
            if (journal_full (j)) {
                /* roll once, so that acks can free every older segment */
                if (self->ticks_since_roll && journal_buffered (j) == 0 && s_roll (self, now) < 0)
                    return 0;
                if (journal_buffered (j) > 0 && journal_write (j) < 0) {
                    s_disk_error (self, journal_error (j), now);
                    return 0;
                }
                s_gauges (self);
                s_set_jstate (self, S_J_FULL);
                if (self->pause)
        self->pause (self, true);
                return 0;
            }
            for (size_t i = 0; i < self->ntq; i++)
                if (s_add_tick (self, &self->tq[i]) < 0) {
                    s_disk_error (self, "out of memory", now);
                    return 0;
                }
            self->tq_encoded = true;
        }
    }
    if (journal_write (j) < 0) {
        s_disk_error (self, journal_error (j), now);
        return 0;
    }
    size_t n = self->ntq;
    self->ntq = 0;
    if (self->tq_encoded)
        self->ticks_since_roll = true;
    self->tq_encoded = false;
    s_set_jstate (self, S_J_OK);
    if (self->pause)
        self->pause (self, false);
    s_gauges (self);
    for (size_t i = 0; i < n; i++)
        if (s_aggregate (self, &self->tq[i], now) < 0)
            return -1;
    return 0;
}

void
live_turn_end (live_t *self)
{
    if (self->jdir && self->loop)
        (void)live_commit (self, mdf_loop_now_ns (self->loop));
    live_sync (self);
}

/* ---- replay ----------------------------------------------------------------- */

typedef struct {
    live_t *self;
    int64_t now;
    uint64_t first_seg;
    bool any, ticks;
    uint64_t nticks, bad;
} s_replay_t;

static int
s_on_record (void *arg, uint8_t type, const uint8_t *p, size_t len, uint64_t seg)
{
    s_replay_t *r = arg;
    live_t *self = r->self;
    if (!r->any) {
        r->any = true;
        r->first_seg = seg;
    }
    bool restoring = seg == r->first_seg && !r->ticks;
    if (type == S_R_TICK) {
        mdf_tick_t t;
        if (!s_decode_tick (p, len, &t)) {
            r->bad++;
            return 0;
        }
        r->ticks = true;
        r->nticks++;
        if (t.cursor[0])
            memcpy (self->cursor, t.cursor, sizeof self->cursor);
        return s_aggregate (self, &t, r->now) < 0 ? -1 : 0;
    }
    if (type == S_R_BAR) {
        if (!restoring)
            return 0;
        tickbar_state_t b;
        uint8_t flags = 0;
        char sym[MDF_SYMBOL_MAX + 1];
        s_dec_t d = { p, len, false };
        s_get (&d, &b.start, 8);
        s_get (&d, &b.first_ts, 8);
        s_get (&d, &b.last_ts, 8);
        s_get (&d, &b.open, 8);
        s_get (&d, &b.high, 8);
        s_get (&d, &b.low, 8);
        s_get (&d, &b.close, 8);
        s_get (&d, &b.volume, 8);
        s_get (&d, &flags, 1);
        s_get_str (&d, sym, sizeof sym);
        b.symbol = sym;
        b.symbol_len = strlen (sym);
        b.quote = flags & 1;
        b.closed = (flags & 2) != 0;
        if (d.bad || tickbar_import (self->op, &b) < 0)
            r->bad++;
        return 0;
    }
    if (type == S_R_SNAP) {
        int64_t wm = 0;
        uint64_t emitted = 0;
        char cursor[MDF_TICK_CURSOR_MAX + 1];
        s_dec_t d = { p, len, false };
        s_get (&d, &wm, 8);
        s_get (&d, &emitted, 8);
        s_get_str (&d, cursor, sizeof cursor);
        if (d.bad) {
            r->bad++;
            return 0;
        }
        if (restoring)
            tickbar_import_watermark (self->op, wm, r->now);
        if (cursor[0] && !r->ticks)
            memcpy (self->cursor, cursor, sizeof self->cursor);
        return 0;
    }
    r->bad++;
    return 0;
}

int
live_journal_start (live_t *self, int64_t now)
{
    if (!self->jdir)
        return 0;
    char err[512];
    if (!self->journal) {
        self->journal = journal_open (&self->jcfg, err, sizeof err);
        if (!self->journal) {
            s_disk_error (self, err, now);
            return -1;
        }
    }
    if (!self->replayed) {
        s_replay_t r = { .self = self, .now = now };
        journal_replay_stats_t st;
        int64_t t0 = mdf_mono_ns ();
        int rc = journal_replay (self->journal, s_on_record, &r, &st, err, sizeof err);
        if (rc == -1 && err[0]) {
            s_disk_error (self, err, now);
            return -1;
        }
        self->replayed = true;
        if (self->m_jreplayed)
            mdf_counter_add (self->m_jreplayed, r.nticks);
        if (self->m_jcorrupt)
            mdf_counter_add (self->m_jcorrupt, st.skipped + st.cut + r.bad);
        if (st.segments > 0)
            mdf_info ("journal replayed", "provider=%s segments=%llu ticks=%llu bars=%llu "
                      "skipped=%llu cut=%llu cut_bytes=%llu cursor=\"%s\" ms=%lld",
                      self->name, (unsigned long long)st.segments,
                      (unsigned long long)r.nticks, (unsigned long long)self->emitted,
                      (unsigned long long)(st.skipped + r.bad), (unsigned long long)st.cut,
                      (unsigned long long)st.cut_bytes, self->cursor,
                      (long long)((mdf_mono_ns () - t0) / 1000000));
        if (rc != 0)
            return 0; /* the sender closed: stopping */
    }
    /* the replayed state, snapshotted into a new segment: the older ones go
     * once what the replay emitted is acked */
    if (journal_buffered (self->journal) == 0 && s_roll (self, now) < 0)
        return -1;
    if (journal_write (self->journal) < 0) {
        s_disk_error (self, journal_error (self->journal), now);
        return -1;
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
    if (self->ntq > 0 || journal_buffered (self->journal) > 0)
        (void)live_commit (self, now);
}

void
live_journal_close (live_t *self)
{
    if (!self->journal)
        return;
    if (self->ntq == 0 && journal_buffered (self->journal) == 0
        && sender_settled (self->sender, self->idx) >= self->emitted
        && journal_write (self->journal) == 0 && s_roll (self, mdf_mono_ns ()) == 0
        && journal_write (self->journal) == 0
        && journal_sync (self->journal, mdf_mono_ns (), true) == 0) {
        size_t n = journal_trim (self->journal, journal_newest (self->journal));
        mdf_info ("journal closed: every bar acked", "provider=%s segments_removed=%zu",
                  self->name, n);
    } else if (self->ntq > 0 || self->emitted > sender_settled (self->sender, self->idx)) {
        mdf_warn ("journal closed with bars not acked: they are sent again at the next start",
                  "provider=%s unacked_bars=%llu ticks_not_journalled=%zu cursor=\"%s\"",
                  self->name,
                  (unsigned long long)(self->emitted - sender_settled (self->sender, self->idx)),
                  self->ntq, self->cursor);
        (void)journal_sync (self->journal, mdf_mono_ns (), true);
    }
    journal_close (&self->journal);
}
