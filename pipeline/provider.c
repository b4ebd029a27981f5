/*
 * provider: the per-provider thread.  See provider.h.
 */
#include "pipeline/provider.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "pipeline/live.h"
#include "pipeline/source.h"

#define S_CHUNK 64 /* bars per acquire */

enum { S_RUNNING = 0, S_COOLDOWN = 1, S_OPEN = 2, S_DONE = 3, S_STOPPED = 4 };

struct _provider_t {
    live_t *live; /* a live tick provider (live.h): none of the rest is used */
    char name[MDF_ID_MAX + 1];
    size_t idx;
    size_t chunk;
    coordinator_t *coord;
    sender_t *sender;
    source_t *source;
    pthread_t thread;
    bool started;
    atomic_int state;
    mdf_counter_t *errors, *bad_rows;
    mdf_gauge_t *state_g;
    mdf_ratelimit_t rl_bad, rl_err;
};

static void
s_bad_row (void *arg, size_t line, const char *error)
{
    provider_t *self = arg;
    if (self->bad_rows)
        mdf_counter_inc (self->bad_rows);
    uint64_t sup = 0;
    char q[300];
    if (mdf_ratelimit_allow (&self->rl_bad, &sup))
        mdf_warn ("csv row skipped", "provider=%s line=%zu error=%s suppressed=%llu", self->name,
                  line, mdf_log_quote (q, sizeof q, error), (unsigned long long)sup);
}

static void
s_set_state (provider_t *self, int state)
{
    atomic_store (&self->state, state);
    if (self->state_g)
        mdf_gauge_set (self->state_g, state > S_DONE ? S_DONE : state);
}

static void
s_failed (provider_t *self, const char *error)
{
    if (self->errors)
        mdf_counter_inc (self->errors);
    coordinator_report_failure (self->coord, self->idx);
    coordinator_state_t st = coordinator_state (self->coord, self->idx);
    s_set_state (self, st == COORD_BREAKER_OPEN ? S_OPEN : S_COOLDOWN);
    uint64_t sup = 0;
    char q[300];
    if (mdf_ratelimit_allow (&self->rl_err, &sup))
        mdf_warn (st == COORD_BREAKER_OPEN ? "provider failed, breaker open"
                                           : "provider failed, cooling down",
                  "provider=%s error=%s suppressed=%llu", self->name,
                  mdf_log_quote (q, sizeof q, error), (unsigned long long)sup);
}

/* Make `want` bars straight into the sender's open batch (no scratch copy),
 * in as many pieces as the batch has room.  Returns what the source said
 * last (> 0 bars, 0 ended, -1 failed: err); *closed once the sender takes no
 * more. */
static int
s_make (provider_t *self, size_t want, bool *closed, char *err, size_t errlen)
{
    int n = 0;
    for (size_t made = 0; made < want;) {
        mdf_bar_t *dst;
        size_t room = sender_reserve (self->sender, self->idx, want - made, &dst);
        if (room == 0) {
            *closed = true;
            return n;
        }
        n = source_next (self->source, dst, room, err, errlen);
        if (sender_commit (self->sender, self->idx, n > 0 ? (size_t)n : 0) < 0)
            *closed = true;
        if (n <= 0 || *closed || (size_t)n < room) /* a source may give fewer */
            return n;
        made += (size_t)n;
    }
    return n;
}

static void *
s_run (void *arg)
{
    provider_t *self = arg;
    pthread_setname_np (pthread_self (), "mdp-provider");
    while (true) {
        int64_t got = coordinator_acquire (self->coord, self->idx, (double)self->chunk);
        if (got < 0)
            break;
        if (atomic_load (&self->state) != S_RUNNING
            && coordinator_state (self->coord, self->idx) == COORD_RUNNING)
            s_set_state (self, S_RUNNING);
        char err[256] = "";
        bool closed = false;
        int n = s_make (self, (size_t)got, &closed, err, sizeof err);
        coordinator_done (self->coord, self->idx);
        if (n < 0) {
            s_failed (self, err);
            continue;
        }
        coordinator_report_success (self->coord, self->idx);
        if (n == 0 && !closed) { /* a finite source ran out */
            mdf_info ("provider finished", "provider=%s", self->name);
            s_set_state (self, S_DONE);
            return NULL;
        }
        if (closed)
            break;
    }
    s_set_state (self, S_STOPPED);
    return NULL;
}

static source_t *
s_make_source (provider_t *self, const provider_settings_t *ps)
{
    if (strcmp (ps->type, "csv") == 0) {
        mdf_csv_opts_t opts; /* checked when the config was loaded */
        const char *bad = NULL;
        char err[300];
        if (settings_csv_opts (ps, &opts, &bad, err, sizeof err) != 0)
            return NULL;
        return source_csv_new (ps->path, &opts, ps->loop, s_bad_row, self);
    }
    return source_synthetic_new ((const char *const *)ps->symbols.items, ps->symbols.count,
                                 (uint64_t)ps->seed, ps->start_price);
}

provider_t *
provider_new (const provider_settings_t *ps, size_t idx, coordinator_t *coord, sender_t *sender,
              mdf_metrics_t *metrics, const journal_settings_t *journal, char *err, size_t errlen)
{
    provider_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (settings_provider_is_live (ps)) {
        self->live = live_new (ps, idx, coord, sender, metrics, journal, err, errlen);
        if (!self->live) {
            free (self);
            return NULL;
        }
        return self;
    }
    snprintf (self->name, sizeof self->name, "%s", ps->name);
    self->idx = idx;
    self->chunk = ps->capacity < S_CHUNK ? (size_t)ps->capacity : S_CHUNK;
    self->coord = coord;
    self->sender = sender;
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl_bad = rl;
    self->rl_err = rl;
    if (metrics) {
        self->errors = mdf_metrics_counter (metrics, "mdp_provider_errors_total",
                                            "Provider failures (each starts a cooldown)",
                                            "provider", ps->name, NULL);
        self->bad_rows
            = mdf_metrics_counter (metrics, "mdp_csv_bad_rows_total", "CSV rows skipped as invalid",
                                   "provider", ps->name, NULL);
        self->state_g = mdf_metrics_gauge (metrics, "mdp_provider_state",
                                           "0 running, 1 cooldown, 2 breaker open, 3 done/stopped",
                                           "provider", ps->name, NULL);
        if (self->state_g)
            mdf_gauge_set (self->state_g, 0);
    }
    self->source = s_make_source (self, ps);
    if (!self->source) {
        snprintf (err, errlen, "provider %s: cannot create its source", ps->name);
        free (self);
        return NULL;
    }
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        snprintf (err, errlen, "provider %s: cannot start its thread", ps->name);
        source_destroy (&self->source);
        free (self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
provider_stop (provider_t *self)
{
    if (self && self->live)
        live_stop (self->live);
}

bool
provider_wait (provider_t *self, int64_t timeout_ms)
{
    return !self || !self->live || live_wait (self->live, timeout_ms);
}

void
provider_join (provider_t *self)
{
    if (self && self->started) {
        pthread_join (self->thread, NULL);
        self->started = false;
    }
}

void
provider_destroy (provider_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    provider_t *self = *self_p;
    live_destroy (&self->live);
    provider_join (self);
    source_destroy (&self->source);
    free (self);
    *self_p = NULL;
}

const char *
provider_state (provider_t *self)
{
    static const char *const names[] = { "running", "cooldown", "breaker_open", "done", "stopped" };
    if (self->live)
        return live_state (self->live);
    int s = atomic_load (&self->state);
    if (s == S_RUNNING || s == S_COOLDOWN || s == S_OPEN) {
        coordinator_state_t cs = coordinator_state (self->coord, self->idx);
        s = cs == COORD_BREAKER_OPEN ? S_OPEN : cs == COORD_COOLDOWN ? S_COOLDOWN : S_RUNNING;
    }
    return names[s];
}

const char *
provider_journal_state (provider_t *self, char *error, size_t errlen)
{
    if (self && self->live)
        return live_journal_state (self->live, error, errlen);
    if (error && errlen)
        error[0] = '\0';
    return "off";
}
