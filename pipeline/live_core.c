/*
 * live_core: what every live source does with a tick (live.h): the operator
 * (tickbar), the bars it closes handed to the sender once a turn, bad ticks
 * counted and logged, the metrics kept in step.  The sources are in live.c
 * (zmq, tick_csv) and live_exec.c (exec); they call in here, never the
 * other way round.
 */
#include "pipeline/live_internal.h"

#include <string.h>

#include "common/clock.h"

/* ---- metrics and logs -------------------------------------------------- */

static void
s_add (mdf_counter_t *c, uint64_t now, uint64_t before)
{
    if (c && now > before)
        mdf_counter_add (c, now - before);
}

void
live_sync (live_t *self)
{
    live_push (self);
    tickbar_stats_t st;
    tickbar_stats (self->op, &st);
    s_add (self->m_ticks, st.ticks, self->synced.ticks);
    s_add (self->m_late, st.late, self->synced.late);
    s_add (self->m_dropped, st.dropped, self->synced.dropped);
    s_add (self->m_bars, st.bars, self->synced.bars);
    s_add (self->m_corr, st.corrections, self->synced.corrections);
    self->synced = st;
    if (self->m_open)
        mdf_gauge_set (self->m_open, (double)st.open_bars);
    if (self->m_lag && st.last_closed_end > 0)
        mdf_gauge_set (self->m_lag, (double)(mdf_wall_ns () - st.last_closed_end) / 1e9);
}

void
live_set_state (live_t *self, int state)
{
    atomic_store (&self->state, state);
    if (self->m_state)
        mdf_gauge_set (self->m_state, state > S_DONE ? S_DONE : state);
}

void
live_bad (live_t *self, const char *where, uint64_t n, const char *error)
{
    if (self->m_bad)
        mdf_counter_inc (self->m_bad);
    uint64_t sup = 0;
    char q[300];
    if (mdf_ratelimit_allow (&self->rl_bad, &sup))
        mdf_warn ("tick skipped", "provider=%s %s=%llu error=%s suppressed=%llu", self->name, where,
                  (unsigned long long)n, mdf_log_quote (q, sizeof q, error),
                  (unsigned long long)sup);
}

/* ---- bars into the sender ------------------------------------------------ */

int
live_push (live_t *self)
{
    if (self->closed)
        return -1;
    if (self->npend == 0)
        return 0;
    if (self->jdir && !self->draining) {
        size_t taken = 0;
        if (sender_try_push (self->sender, self->idx, self->pend, self->npend, &taken) < 0) {
            self->closed = true;
            return -1;
        }
        memmove (self->pend, self->pend + taken, (self->npend - taken) * sizeof *self->pend);
        self->npend -= taken;
        return 0;
    }
    size_t n = self->npend;
    self->npend = 0;
    if (sender_push (self->sender, self->idx, self->pend, n) < 0) {
        self->closed = true;
        return -1;
    }
    return 0;
}

/* A closed bar: kept for live_push, at the end of the turn or when S_PEND
 * are waiting (a lock per bar would cost more than the bar).  With a
 * journal the reader stops at S_PEND, and a sweep that closes more (one bar
 * per symbol) grows the array. */
int
live_emit (void *arg, const mdf_bar_t *bar, bool correction)
{
    (void)correction;
    live_t *self = arg;
    if (self->closed)
        return -1;
    if (self->npend == self->cappend) {
        size_t cap = self->cappend * 2;
        mdf_bar_t *p = realloc (self->pend, cap * sizeof *p);
        if (!p) {
            /* no memory: wait for the sender instead */
            bool d = self->draining;
            self->draining = true;
            int rc = live_push (self);
            self->draining = d;
            if (rc < 0)
                return -1;
        } else {
            self->pend = p;
            self->cappend = cap;
        }
    }
    self->emitted++;
    self->pend[self->npend++] = *bar;
    return self->npend >= S_PEND && !self->jdir ? live_push (self) : 0;
}
