/*
 * members: per-store state, sanity rules, staleness, routing.  See members.h.
 *
 * A fixed array of MEMBERS_MAX slots; a slot is `used` from members_add
 * until the store is removed for good.  Per slot, `cur` is the incarnation
 * whose events drive the store's state and `prev` the one it replaced (kept
 * so a single event of a bogus newer incarnation cannot silence the real one
 * for longer than stale_after).
 *
 * Invariants: heard_ns is 0 exactly when the store was never heard since it
 * was added or forgotten (state candidate, or live without feedback);
 * inflight and inflight_bars count what the link sent there and has not
 * seen answered.
 */
#include "pipeline/members.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bool set;
    char id[MDF_ID_MAX + 1];
    int64_t epoch;
    uint64_t seq;
    int64_t seen_ns; /* last event of this incarnation, applied or not */
} s_incarnation_t;

typedef struct {
    bool used;
    int64_t added_ns; /* clock time of members_add */
    member_t m;
    s_incarnation_t cur, prev;
    mdf_feedback_t prev_ev; /* the last event of `prev` (ignored when it came) */
    bool has_prev_ev;
} s_slot_t;

struct _members_t {
    s_slot_t slots[MEMBERS_MAX];
    int64_t stale_ns, forget_ns;
    mdf_level_t failsafe;
    bool feedback_on;
    mdf_clock_t clock;
    uint64_t unlisted_left; /* unlisted stores that left (silent, or goodbye) */
};

members_t *
members_new (int64_t stale_after_ns, int64_t forget_after_ns, mdf_level_t failsafe,
             bool feedback_on, const mdf_clock_t *clock)
{
    if (!clock || stale_after_ns <= 0)
        return NULL;
    members_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->stale_ns = stale_after_ns;
    self->forget_ns = forget_after_ns > stale_after_ns ? forget_after_ns : stale_after_ns;
    self->failsafe = failsafe;
    self->feedback_on = feedback_on;
    self->clock = *clock;
    return self;
}

void
members_destroy (members_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
members_set_failsafe (members_t *self, mdf_level_t failsafe, int64_t stale_after_ns)
{
    self->failsafe = failsafe;
    if (stale_after_ns > 0) {
        self->stale_ns = stale_after_ns;
        if (self->forget_ns < stale_after_ns)
            self->forget_ns = stale_after_ns;
    }
}

mdf_level_t
members_failsafe (const members_t *self)
{
    return self->failsafe;
}

const char *
member_state_name (member_state_t state)
{
    static const char *names[] = { "candidate", "live", "stale", "leaving" };
    return (unsigned)state < 4 ? names[state] : "?";
}

/* ---- the list ------------------------------------------------------------ */

int
members_find (const members_t *self, const char *ingest)
{
    for (int i = 0; i < MEMBERS_MAX; i++)
        if (self->slots[i].used && strcmp (self->slots[i].m.ingest, ingest) == 0)
            return i;
    return -1;
}

/* Forget a store's coordinator state (not its endpoints or its batches). */
static void
s_forget (s_slot_t *s, bool feedback_on)
{
    uint32_t gen = s->m.generation + 1;
    member_t keep = s->m;
    memset (&s->m, 0, sizeof s->m);
    memcpy (s->m.ingest, keep.ingest, sizeof s->m.ingest);
    memcpy (s->m.feedback, keep.feedback, sizeof s->m.feedback);
    s->m.retired = keep.retired;
    s->m.inflight = keep.inflight;
    s->m.inflight_bars = keep.inflight_bars;
    s->m.generation = gen;
    s->m.state = feedback_on ? MEMBER_CANDIDATE : MEMBER_LIVE;
    memset (&s->cur, 0, sizeof s->cur);
    memset (&s->prev, 0, sizeof s->prev);
    s->has_prev_ev = false;
}

int
members_add (members_t *self, const char *ingest, const char *feedback, bool *added)
{
    *added = false;
    int slot = members_find (self, ingest);
    if (slot >= 0) {
        s_slot_t *s = &self->slots[slot];
        s->m.retired = false;
        s->m.unlisted = false;
        if (s->m.state == MEMBER_LEAVING && !s->cur.set)
            s->m.state = self->feedback_on ? MEMBER_CANDIDATE : MEMBER_LIVE;
        return slot;
    }
    for (int i = 0; i < MEMBERS_MAX; i++) {
        s_slot_t *s = &self->slots[i];
        if (s->used)
            continue;
        uint32_t gen = s->m.generation;
        memset (s, 0, sizeof *s);
        s->used = true;
        s->added_ns = mdf_clock_now (&self->clock);
        snprintf (s->m.ingest, sizeof s->m.ingest, "%s", ingest);
        snprintf (s->m.feedback, sizeof s->m.feedback, "%s", feedback ? feedback : "");
        s->m.generation = gen + 1;
        s->m.state = self->feedback_on ? MEMBER_CANDIDATE : MEMBER_LIVE;
        *added = true;
        return i;
    }
    return -1;
}

void
members_retire (members_t *self, int slot)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return;
    member_t *m = &self->slots[slot].m;
    m->retired = true;
    m->state = MEMBER_LEAVING;
}

members_unlist_t
members_unlist (members_t *self, int slot)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return MEMBERS_UNLIST_NONE;
    member_t *m = &self->slots[slot].m;
    if (m->retired || m->unlisted)
        return MEMBERS_UNLIST_NONE;
    if (self->feedback_on && m->heard_ns != 0 && m->state == MEMBER_LIVE) {
        m->unlisted = true; /* its heartbeats, not DNS, say when it leaves */
        return MEMBERS_UNLIST_KEPT;
    }
    /* stale already, or said goodbye, or never heard */
    if (m->inflight == 0 && self->feedback_on && m->heard_ns == 0) {
        self->slots[slot].used = false;
        return MEMBERS_UNLIST_DROPPED;
    }
    members_retire (self, slot);
    return MEMBERS_UNLIST_RETIRED;
}

bool
members_evict (members_t *self, int slot)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return false;
    s_slot_t *s = &self->slots[slot];
    if (!self->feedback_on || s->m.heard_ns != 0 || s->m.inflight != 0
        || mdf_clock_now (&self->clock) - s->added_ns < self->stale_ns)
        return false;
    s->used = false;
    return true;
}

size_t
members_unlisted (const members_t *self)
{
    size_t n = 0;
    for (int i = 0; i < MEMBERS_MAX; i++)
        n += self->slots[i].used && self->slots[i].m.unlisted;
    return n;
}

uint64_t
members_unlisted_left (const members_t *self)
{
    return self->unlisted_left;
}

const member_t *
members_get (const members_t *self, int slot)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return NULL;
    return &self->slots[slot].m;
}

/* ---- events -------------------------------------------------------------- */

static bool
s_same (const s_incarnation_t *inc, const mdf_feedback_t *ev)
{
    return inc->set && inc->epoch == ev->epoch && strcmp (inc->id, ev->coordinator_id) == 0;
}

static void
s_adopt (s_incarnation_t *inc, const mdf_feedback_t *ev, int64_t now)
{
    inc->set = true;
    snprintf (inc->id, sizeof inc->id, "%s", ev->coordinator_id);
    inc->epoch = ev->epoch;
    inc->seq = ev->seq;
    inc->seen_ns = now;
}

/* The event's values become the store's state. */
static void
s_apply (members_t *self, s_slot_t *s, const mdf_feedback_t *ev, int64_t now, members_result_t *out)
{
    member_t *m = &s->m;
    snprintf (m->coordinator_id, sizeof m->coordinator_id, "%s", ev->coordinator_id);
    m->epoch = ev->epoch;
    m->seq = ev->seq;
    m->level = ev->level;
    m->queue_size = ev->queue_size;
    m->capacity = ev->capacity;
    m->service_rate = !ev->has_service_rate || !isfinite (ev->service_rate) ? -1
                      : ev->service_rate > 0                                ? ev->service_rate
                                                                            : 0;
    m->producers = ev->producers > 0 ? ev->producers : 0;
    m->credit = ev->credit > 0 ? ev->credit : 0;
    m->heard_ns = now;
    out->shutdown = strcmp (ev->reason, "shutdown") == 0 || strcmp (ev->reason, "draining") == 0;
    if (out->shutdown && m->unlisted) { /* gone from DNS and said goodbye */
        m->unlisted = false;
        m->retired = true;
        self->unlisted_left++;
    }
    if (out->shutdown)
        m->state = MEMBER_LEAVING;
    else if (!m->retired)
        m->state = MEMBER_LIVE;
}

static bool
s_plausible (const mdf_feedback_t *ev, double wall_now_s)
{
    if (!isfinite (ev->ts) || fabs (ev->ts - wall_now_s) > MEMBERS_TS_SKEW_S)
        return false;
    /* epoch is the store's start time in ms: not after the event it sent */
    return ev->epoch <= (int64_t)(ev->ts * 1000.0) + 1000;
}

/* Same incarnation: the seq rules. */
static void
s_same_incarnation (members_t *self, s_slot_t *s, const mdf_feedback_t *ev, int64_t now,
                    members_result_t *out)
{
    uint64_t last = s->cur.seq;
    s->cur.seen_ns = now;
    if (ev->seq > last && ev->seq - last <= MEMBERS_SEQ_WINDOW) {
        out->gap = ev->seq - last - 1;
    } else if (ev->seq <= last && last - ev->seq <= MEMBERS_SEQ_WINDOW) {
        out->verdict = MEMBERS_DUPLICATE;
        return;
    } else {
        out->resync = true;
    }
    s->cur.seq = ev->seq;
    s_apply (self, s, ev, now, out);
}

void
members_observe (members_t *self, int slot, const mdf_feedback_t *ev, double wall_now_s,
                 members_result_t *out)
{
    memset (out, 0, sizeof *out);
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used) {
        out->verdict = MEMBERS_UNKNOWN_SLOT;
        return;
    }
    s_slot_t *s = &self->slots[slot];
    int64_t now = mdf_clock_now (&self->clock);
    if (!s_plausible (ev, wall_now_s)) {
        out->verdict = MEMBERS_IMPLAUSIBLE;
        return;
    }
    if (!s->cur.set) {
        s_adopt (&s->cur, ev, now);
        out->first = true;
        s_apply (self, s, ev, now, out);
        return;
    }
    if (s_same (&s->cur, ev)) {
        s_same_incarnation (self, s, ev, now, out);
        return;
    }
    if (ev->epoch > s->cur.epoch) {
        /* a restart, or a new store at this address */
        s->prev = s->cur;
        s->has_prev_ev = false;
        s_adopt (&s->cur, ev, now);
        s->m.generation++;
        out->restart = true;
        s_apply (self, s, ev, now, out);
        return;
    }
    if (s_same (&s->prev, ev) && now - s->cur.seen_ns >= self->stale_ns) {
        /* the incarnation that replaced this one went silent: it was not real */
        s_incarnation_t bogus = s->cur;
        s->cur = s->prev;
        s->prev = bogus;
        s->cur.seq = ev->seq;
        s->cur.seen_ns = now;
        s->m.generation++;
        out->reverted = true;
        s_apply (self, s, ev, now, out);
        return;
    }
    if (s_same (&s->prev, ev)) {
        s->prev.seen_ns = now;
        s->prev_ev = *ev; /* for members_tick, should the new one fall silent */
        s->has_prev_ev = true;
    }
    bool same_id = strcmp (ev->coordinator_id, s->cur.id) == 0;
    out->verdict = same_id || s_same (&s->prev, ev) ? MEMBERS_OLD_EPOCH : MEMBERS_FOREIGN;
}

/* ---- time ---------------------------------------------------------------- */

/* The incarnation that replaced `prev` has been silent for stale_after while
 * `prev` still talks: `prev` is current again, from its last event, without
 * waiting for its next one. */
static bool
s_revert_if_bogus (members_t *self, s_slot_t *s, int64_t now)
{
    if (!s->cur.set || !s->prev.set || !s->has_prev_ev)
        return false;
    if (now - s->cur.seen_ns < self->stale_ns || now - s->prev.seen_ns >= self->stale_ns)
        return false;
    s_incarnation_t bogus = s->cur;
    s->cur = s->prev;
    s->prev = bogus;
    s->cur.seq = s->prev_ev.seq;
    s->has_prev_ev = false;
    s->m.generation++;
    members_result_t r;
    memset (&r, 0, sizeof r);
    s_apply (self, s, &s->prev_ev, s->cur.seen_ns, &r);
    s->m.reverts++;
    return true;
}

size_t
members_tick (members_t *self, int *removed, size_t max)
{
    int64_t now = mdf_clock_now (&self->clock);
    size_t n = 0;
    for (int i = 0; i < MEMBERS_MAX; i++) {
        s_slot_t *s = &self->slots[i];
        if (!s->used)
            continue;
        member_t *m = &s->m;
        s_revert_if_bogus (self, s, now);
        bool heard = m->heard_ns != 0;
        int64_t silent = heard ? now - m->heard_ns : 0;
        if (self->feedback_on && m->state == MEMBER_LIVE && heard && silent >= self->stale_ns)
            m->state = MEMBER_STALE;
        if (m->unlisted && heard && silent >= self->stale_ns) {
            /* gone from DNS and silent: it leaves, its batches go elsewhere */
            m->unlisted = false;
            m->retired = true;
            self->unlisted_left++;
        }
        bool forget = self->feedback_on && heard && silent >= self->forget_ns;
        if (forget)
            s_forget (s, self->feedback_on);
        bool gone = m->retired && (forget || !heard) && m->inflight == 0;
        if (m->retired && !self->feedback_on && m->inflight == 0)
            gone = true;
        if (gone) {
            s->used = false;
            if (n < max)
                removed[n++] = i;
        } else if (m->retired) {
            m->state = MEMBER_LEAVING;
        }
    }
    return n;
}

/* ---- routing ------------------------------------------------------------- */

bool
members_routable (const members_t *self, int slot)
{
    const member_t *m = members_get (self, slot);
    return m && !m->retired && (m->state == MEMBER_LIVE || m->state == MEMBER_STALE);
}

/* a + b for a, b >= 0 (queue_size comes off the wire: any int64), held at
 * INT64_MAX instead of overflowing. */
static int64_t
s_sat_add (int64_t a, int64_t b)
{
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static bool
s_has_room (const member_t *m, int64_t bars, size_t max_inflight)
{
    if (m->inflight >= max_inflight)
        return false;
    return m->inflight == 0 || m->credit <= 0 || s_sat_add (m->inflight_bars, bars) <= m->credit;
}

/* Smaller is more headroom: level (a stale store at the failsafe level, after
 * the live ones), then the delay its queue means for a new batch, then
 * batches in flight. */
static double
s_score (const members_t *self, const member_t *m)
{
    mdf_level_t level = m->state == MEMBER_STALE ? self->failsafe : m->level;
    int stale = m->state == MEMBER_STALE;
    double rate
        = m->service_rate > 0 ? m->service_rate : (double)(m->capacity > 0 ? m->capacity : 1);
    double delay = (double)s_sat_add (m->queue_size, m->inflight_bars) / rate; /* seconds */
    delay = delay < 0 ? 0 : delay > 1e5 ? 1e5 : delay;
    return ((double)level * 2 + stale) * 1e12 + delay * 1e6 + (double)m->inflight;
}

int
members_pick (const members_t *self, int64_t bars, size_t max_inflight)
{
    int best = -1;
    double best_score = 0;
    bool below_hard = false; /* a routable member not at HARD, with room or not */
    for (int i = 0; i < MEMBERS_MAX; i++) {
        if (!members_routable (self, i))
            continue;
        const member_t *m = &self->slots[i].m;
        mdf_level_t level = m->state == MEMBER_STALE ? self->failsafe : m->level;
        below_hard |= level != MDF_LEVEL_HARD;
        if (!s_has_room (m, bars, max_inflight))
            continue;
        double score = s_score (self, m);
        if (best < 0 || score < best_score) {
            best = i;
            best_score = score;
        }
    }
    if (best >= 0 && below_hard) {
        const member_t *m = &self->slots[best].m;
        mdf_level_t level = m->state == MEMBER_STALE ? self->failsafe : m->level;
        if (level == MDF_LEVEL_HARD)
            return -1; /* wait for room below HARD rather than feed a full store */
    }
    return best;
}

void
members_sent (members_t *self, int slot, int64_t bars)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return;
    self->slots[slot].m.inflight++;
    self->slots[slot].m.inflight_bars = s_sat_add (self->slots[slot].m.inflight_bars, bars);
}

void
members_answered (members_t *self, int slot, int64_t bars)
{
    if (slot < 0 || slot >= MEMBERS_MAX || !self->slots[slot].used)
        return;
    member_t *m = &self->slots[slot].m;
    if (m->inflight > 0)
        m->inflight--;
    m->inflight_bars = m->inflight_bars > bars ? m->inflight_bars - bars : 0;
}

void
members_count (const members_t *self, size_t *live, size_t *stale, size_t *leaving,
               size_t *candidate)
{
    size_t c[4] = { 0 };
    for (int i = 0; i < MEMBERS_MAX; i++)
        if (self->slots[i].used && (unsigned)self->slots[i].m.state < 4)
            c[self->slots[i].m.state]++;
    if (candidate)
        *candidate = c[MEMBER_CANDIDATE];
    if (live)
        *live = c[MEMBER_LIVE];
    if (stale)
        *stale = c[MEMBER_STALE];
    if (leaving)
        *leaving = c[MEMBER_LEAVING];
}
