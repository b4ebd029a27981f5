/*
 * live: the live tick providers.  See live.h.
 *
 * One thread per provider, running a common/loop.h loop that owns the
 * source (the child's pipes, the SUB socket or the file), a timer for the
 * quiet-feed close and the metrics, and the stop eventfd.  Invariants: the
 * operator (tickbar) is only touched by that thread; every bar it emits goes
 * to sender_push before the next tick is read; `finished` is set once the
 * open bars were handed on at the end (or the sender refused them).
 */
#include "pipeline/live.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "pipeline/child.h"
#include "pipeline/tickbar.h"
#include "proto/tick.h"

#define S_TICK_MS 50            /* quiet-close checks, reaping, metrics */
#define S_LINE_MAX (64 * 1024)  /* longer lines are bad ticks */
#define S_READ_MAX (256 * 1024) /* bytes read from the child per turn */
#define S_MSGS_PER_TURN 512     /* zmq messages per callback */
#define S_REPLAY_PER_TURN 4096  /* tick_csv lines per timer callback */
#define S_ZMQ_RCVHWM 100000     /* messages the SUB queues while we wait */
#define S_PEND 256              /* bars closed in a turn, handed on together */

enum { S_EXEC, S_ZMQ, S_FILE };
enum { S_RUNNING = 0, S_COOLDOWN = 1, S_OPEN = 2, S_DONE = 3, S_STOPPED = 4 };

typedef struct {
    char *buf;
    size_t len;
    bool overlong; /* dropping the rest of a line over S_LINE_MAX */
} s_lines_t;

struct _live_t {
    char name[MDF_ID_MAX + 1];
    size_t idx;
    int kind;
    bool ndjson;
    char **argv; /* exec */
    char *endpoint, *topic, *path;
    double speed;
    int64_t stop_grace_ns;
    tickbar_config_t opcfg;
    coordinator_t *coord;
    sender_t *sender;

    mdf_loop_thread_t *thread;
    int stop_efd;
    atomic_int state;
    atomic_bool finished;

    /* loop thread only */
    mdf_loop_t *loop;
    tickbar_t *op;
    bool stopping, closed, got_tick;
    uint64_t line_no; /* of the current child, or the file */
    /* exec */
    child_t child;
    int out_id, err_id;
    s_lines_t out, err;
    mdf_tick_csv_t *csv;
    int64_t kill_at; /* monotonic ns: SIGKILL then, 0 none */
    /* zmq */
    zsock_t *sub;
    /* tick_csv */
    FILE *file;
    char *fline;
    size_t fcap;
    int pump_id;
    bool have_next, have_t0;
    mdf_tick_t next;
    int64_t t0_ts, t0_mono, vnow;

    mdf_bar_t pend[S_PEND]; /* closed bars not yet handed to the sender */
    size_t npend;

    tickbar_stats_t synced;
    mdf_counter_t *m_ticks, *m_bad, *m_late, *m_dropped, *m_bars, *m_corr, *m_restarts, *m_errors;
    mdf_gauge_t *m_lag, *m_open, *m_state;
    mdf_ratelimit_t rl_bad, rl_stderr, rl_err;
};

/* ---- metrics and logs -------------------------------------------------- */

static void
s_add (mdf_counter_t *c, uint64_t now, uint64_t before)
{
    if (c && now > before)
        mdf_counter_add (c, now - before);
}

/* The operator's counts into the metrics (deltas since the last call). */
static int s_push (live_t *self);

static void
s_sync (live_t *self)
{
    s_push (self);
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

static void
s_set_state (live_t *self, int state)
{
    atomic_store (&self->state, state);
    if (self->m_state)
        mdf_gauge_set (self->m_state, state > S_DONE ? S_DONE : state);
}

static void
s_bad (live_t *self, const char *where, uint64_t n, const char *error)
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

/* ---- ticks into bars into the sender ----------------------------------- */

/* Hand the bars closed so far to the sender (blocking while its window is
 * full).  0, or -1 once it takes no more. */
static int
s_push (live_t *self)
{
    if (self->npend == 0)
        return self->closed ? -1 : 0;
    size_t n = self->npend;
    self->npend = 0;
    if (self->closed || sender_push (self->sender, self->idx, self->pend, n) < 0) {
        self->closed = true;
        return -1;
    }
    return 0;
}

/* A closed bar: kept for s_push, at the end of the turn or when S_PEND are
 * waiting (a lock per bar would cost more than the bar). */
static int
s_emit (void *arg, const mdf_bar_t *bar, bool correction)
{
    (void)correction;
    live_t *self = arg;
    if (self->closed)
        return -1;
    self->pend[self->npend++] = *bar;
    return self->npend == S_PEND ? s_push (self) : 0;
}

/* One good tick at (monotonic or replay) time now.  -1 once the sender is
 * closed. */
static int
s_tick (live_t *self, const mdf_tick_t *t, int64_t now)
{
    tickbar_tick_t in = {
        .symbol = t->symbol,
        .symbol_len = strlen (t->symbol),
        .ts = t->ts,
        .value = mdf_tick_value (t),
        .volume = t->kind == MDF_TICK_TRADE ? t->size : 1,
        .quote = t->kind == MDF_TICK_QUOTE,
    };
    self->got_tick = true;
    return tickbar_add (self->op, &in, now) < 0 ? -1 : 0;
}

/* A line of the child's stdout: parsed, aggregated. */
static int
s_line (live_t *self, const char *line, size_t len, int64_t now)
{
    mdf_tick_t t;
    char err[256];
    self->line_no++;
    mdf_tick_rc_t rc = self->ndjson ? mdf_tick_json_line (line, len, &t, err, sizeof err)
                                    : mdf_tick_csv_line (self->csv, line, len, &t, err, sizeof err);
    if (rc == MDF_TICK_BAD)
        s_bad (self, "line", self->line_no, err);
    if (rc != MDF_TICK_OK)
        return 0;
    return s_tick (self, &t, now);
}

/* Append data to ls and hand every complete line to fn; keeps the rest. */
static int
s_split (live_t *self, s_lines_t *ls, const char *data, size_t n,
         int (*fn) (live_t *, const char *, size_t, int64_t), int64_t now)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr (data + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (data + i)) : n - i;
        if (!ls->overlong && ls->len + take > S_LINE_MAX) {
            ls->overlong = true;
            ls->len = 0;
            if (fn == s_line)
                s_bad (self, "line", self->line_no + 1, "line over 64 KiB");
        }
        if (!ls->overlong) {
            memcpy (ls->buf + ls->len, data + i, take);
            ls->len += take;
        }
        i += take;
        if (!nl)
            break;
        i++; /* the '\n' */
        if (ls->overlong) {
            ls->overlong = false;
            if (fn == s_line)
                self->line_no++;
        } else if (fn (self, ls->buf, ls->len, now) < 0)
            return -1;
        ls->len = 0;
    }
    return 0;
}

/* ---- exec ---------------------------------------------------------------- */

static int
s_stderr_line (live_t *self, const char *line, size_t len, int64_t now)
{
    (void)now;
    uint64_t sup = 0;
    char q[600], text[512];
    snprintf (text, sizeof text, "%.*s", (int)(len < 500 ? len : 500), line);
    if (len > 0 && mdf_ratelimit_allow (&self->rl_stderr, &sup))
        mdf_info ("provider stderr", "provider=%s pid=%d line=%s suppressed=%llu", self->name,
                  (int)self->child.pid, mdf_log_quote (q, sizeof q, text), (unsigned long long)sup);
    return 0;
}

static void s_child_gone (live_t *self);

/* Read what the pipe has (bounded per turn); at its end, close it. */
static int
s_on_pipe (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)revents;
    live_t *self = arg;
    bool is_out = fd == self->child.out_fd;
    char buf[65536];
    int64_t now = mdf_loop_now_ns (loop);
    for (size_t total = 0; total < S_READ_MAX;) {
        ssize_t n = read (fd, buf, sizeof buf);
        if (n > 0) {
            total += (size_t)n;
            if (s_split (self, is_out ? &self->out : &self->err, buf, (size_t)n,
                         is_out ? s_line : s_stderr_line, now)
                < 0)
                return -1; /* the sender is closed: stop */
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        /* the end (or a read error): this pipe is done */
        mdf_loop_remove (loop, is_out ? self->out_id : self->err_id);
        close (fd);
        if (is_out) {
            self->child.out_fd = -1;
            self->out_id = -1;
            /* a child that closed its stdout is of no more use: ask it to go */
            if (self->child.pid > 0 && !self->kill_at) {
                child_signal (&self->child, SIGTERM);
                self->kill_at = now + self->stop_grace_ns;
            }
        } else {
            self->child.err_fd = -1;
            self->err_id = -1;
        }
        break;
    }
    s_sync (self);
    return 0;
}

static int
s_spawn (live_t *self)
{
    char err[512];
    if (child_spawn (&self->child, self->argv, NULL, err, sizeof err) < 0) {
        s_child_gone (self); /* counts as an exit: cooldown, breaker */
        uint64_t sup = 0;
        if (mdf_ratelimit_allow (&self->rl_err, &sup))
            mdf_warn ("provider cannot start its command", "provider=%s error=\"%s\"", self->name,
                      err);
        return 0;
    }
    self->line_no = 0;
    self->got_tick = false;
    self->kill_at = 0;
    self->out.len = self->err.len = 0;
    self->out.overlong = self->err.overlong = false;
    if (self->csv)
        mdf_tick_csv_reset (self->csv);
    self->out_id = mdf_loop_add_fd (self->loop, self->child.out_fd, POLLIN, s_on_pipe, self);
    self->err_id = mdf_loop_add_fd (self->loop, self->child.err_fd, POLLIN, s_on_pipe, self);
    s_set_state (self, S_RUNNING);
    mdf_info ("provider command started", "provider=%s pid=%d command=%s", self->name,
              (int)self->child.pid, self->argv[0]);
    return 0;
}

/* The child is gone (or could not start): a failure unless stopping. */
static void
s_child_gone (live_t *self)
{
    if (self->stopping)
        return;
    if (self->got_tick)
        coordinator_report_success (self->coord, self->idx);
    coordinator_report_failure (self->coord, self->idx);
    if (self->m_errors)
        mdf_counter_inc (self->m_errors);
    coordinator_state_t st = coordinator_state (self->coord, self->idx);
    s_set_state (self, st == COORD_BREAKER_OPEN ? S_OPEN : S_COOLDOWN);
}

/* Reap, kill after the grace, restart after the cooldown. */
static void
s_exec_tick (live_t *self, int64_t now)
{
    if (self->child.pid > 0) {
        if (self->kill_at && now >= self->kill_at) {
            child_signal (&self->child, SIGKILL);
            self->kill_at = 0;
        }
        char how[64];
        if (self->child.out_fd >= 0 || !child_reap (&self->child, how, sizeof how))
            return; /* still reading its output, or still running */
        if (self->child.err_fd >= 0) {
            mdf_loop_remove (self->loop, self->err_id);
            child_close_pipes (&self->child);
        }
        mdf_warn (self->stopping ? "provider command stopped" : "provider command ended",
                  "provider=%s how=\"%s\" lines=%llu", self->name, how,
                  (unsigned long long)self->line_no);
        s_child_gone (self);
        return;
    }
    if (self->stopping)
        return;
    if (coordinator_state (self->coord, self->idx) == COORD_RUNNING) {
        if (self->m_restarts && atomic_load (&self->state) != S_RUNNING)
            mdf_counter_inc (self->m_restarts);
        s_spawn (self);
    }
}

/* ---- zmq ------------------------------------------------------------------- */

static int
s_on_sub (mdf_loop_t *loop, void *sock, void *arg)
{
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    void *raw = zsock_resolve (sock);
    for (int k = 0; k < S_MSGS_PER_TURN; k++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&msg);
            break;
        }
        while (zmq_msg_more (&msg)) { /* the body is the last frame */
            zmq_msg_close (&msg);
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, raw, 0) < 0)
                break;
        }
        self->line_no++;
        mdf_tick_t t;
        char err[256];
        mdf_tick_rc_t rc = mdf_tick_msgpack_decode (zmq_msg_data (&msg), zmq_msg_size (&msg), &t,
                                                    err, sizeof err);
        zmq_msg_close (&msg);
        if (rc == MDF_TICK_BAD)
            s_bad (self, "message", self->line_no, err);
        else if (rc == MDF_TICK_OK && s_tick (self, &t, now) < 0)
            return -1;
    }
    s_sync (self);
    return 0;
}

/* ---- tick_csv ---------------------------------------------------------------- */

/* The next good tick of the file into self->next: 1, 0 at its end, -1 on a
 * read error. */
static int
s_file_next (live_t *self)
{
    for (;;) {
        errno = 0;
        ssize_t n = getline (&self->fline, &self->fcap, self->file);
        if (n < 0)
            return ferror (self->file) ? -1 : 0;
        self->line_no++;
        size_t len = (size_t)n;
        if (len > 0 && self->fline[len - 1] == '\n')
            len--;
        char err[256];
        mdf_tick_rc_t rc
            = mdf_tick_csv_line (self->csv, self->fline, len, &self->next, err, sizeof err);
        if (rc == MDF_TICK_BAD)
            s_bad (self, "line", self->line_no, err);
        if (rc == MDF_TICK_OK)
            return 1;
    }
}

static int
s_finish (live_t *self, int state)
{
    if (tickbar_flush (self->op) < 0)
        self->closed = true;
    s_sync (self);
    s_set_state (self, state);
    return -1; /* ends the loop */
}

static int
s_pump (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    for (int k = 0; k < S_REPLAY_PER_TURN; k++) {
        if (!self->have_next) {
            int rc = s_file_next (self);
            if (rc <= 0) {
                if (rc < 0)
                    mdf_warn ("tick file read failed", "provider=%s path=%s line=%llu error=%s",
                              self->name, self->path, (unsigned long long)self->line_no,
                              strerror (errno));
                mdf_info ("provider finished", "provider=%s lines=%llu", self->name,
                          (unsigned long long)self->line_no);
                return s_finish (self, S_DONE);
            }
            self->have_next = true;
        }
        if (!self->have_t0) {
            self->have_t0 = true;
            self->t0_ts = self->next.ts;
            self->t0_mono = now;
        }
        int64_t offset = self->next.ts - self->t0_ts; /* in the file's time */
        if (self->speed > 0) {
            int64_t due = self->t0_mono + (int64_t)((double)offset / self->speed);
            if (due > now) {
                int64_t ms = (due - now + 999999) / 1000000;
                mdf_loop_timer_reset (loop, self->pump_id, ms);
                s_sync (self);
                return 0;
            }
        }
        /* the operator's clock is the file's: a quiet stretch of the file
         * closes bars as the same silence of a live feed would */
        if (offset > self->vnow)
            self->vnow = offset;
        int64_t vclock = self->vnow + 1000000000LL;
        self->have_next = false;
        if (tickbar_poll (self->op, vclock) < 0 || s_tick (self, &self->next, vclock) < 0)
            return -1;
    }
    mdf_loop_timer_reset (loop, self->pump_id, 0);
    s_sync (self);
    return 0;
}

/* ---- the loop ------------------------------------------------------------------ */

static int
s_on_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    if (self->kind != S_FILE && tickbar_poll (self->op, now) < 0)
        return -1;
    if (self->kind == S_EXEC) {
        s_exec_tick (self, now);
        if (self->stopping && self->child.pid <= 0)
            return s_finish (self, S_STOPPED);
    }
    s_sync (self);
    return 0;
}

/* live_stop: the child gets SIGTERM and is read to its end; the others end now. */
static int
s_on_stop (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)revents;
    live_t *self = arg;
    uint64_t v;
    ssize_t rc = read (fd, &v, sizeof v);
    (void)rc;
    if (self->stopping)
        return 0;
    self->stopping = true;
    if (self->kind == S_EXEC && self->child.pid > 0) {
        child_signal (&self->child, SIGTERM);
        self->kill_at = mdf_loop_now_ns (loop) + self->stop_grace_ns;
        return 0;
    }
    return s_finish (self, S_STOPPED);
}

static int
s_setup (mdf_loop_t *loop, void *arg, char *err, size_t errlen)
{
    live_t *self = arg;
    self->loop = loop;
    if (mdf_loop_add_fd (loop, self->stop_efd, POLLIN, s_on_stop, self) < 0
        || mdf_loop_timer (loop, S_TICK_MS, true, s_on_timer, self) < 0) {
        snprintf (err, errlen, "provider %s: cannot set up its loop", self->name);
        return -1;
    }
    if (self->kind == S_ZMQ) {
        self->sub = zsock_new (ZMQ_SUB);
        if (!self->sub) {
            snprintf (err, errlen, "provider %s: cannot create a SUB socket", self->name);
            return -1;
        }
        zsock_set_rcvhwm (self->sub, S_ZMQ_RCVHWM);
        zsock_set_linger (self->sub, 0);
        zsock_set_subscribe (self->sub, self->topic);
        if (zsock_connect (self->sub, "%s", self->endpoint) < 0) {
            snprintf (err, errlen, "provider %s: cannot connect to %s: %s", self->name,
                      self->endpoint, zmq_strerror (zmq_errno ()));
            return -1;
        }
        if (mdf_loop_add_socket (loop, self->sub, s_on_sub, self) < 0) {
            snprintf (err, errlen, "provider %s: cannot poll its SUB socket", self->name);
            return -1;
        }
    } else if (self->kind == S_FILE) {
        self->file = fopen (self->path, "r");
        if (!self->file) {
            snprintf (err, errlen, "provider %s: cannot open %s: %s", self->name, self->path,
                      strerror (errno));
            return -1;
        }
        self->pump_id = mdf_loop_timer (loop, 0, false, s_pump, self);
        if (self->pump_id < 0) {
            snprintf (err, errlen, "provider %s: cannot set up its loop", self->name);
            return -1;
        }
    } else {
        s_spawn (self);
    }
    return 0;
}

static void
s_teardown (mdf_loop_t *loop, void *arg)
{
    (void)loop;
    live_t *self = arg;
    if (self->child.pid > 0) { /* the loop ended early (the sender closed) */
        child_signal (&self->child, SIGKILL);
        char how[64];
        while (!child_reap (&self->child, how, sizeof how))
            usleep (1000);
    }
    child_close_pipes (&self->child);
    if (!self->closed && tickbar_flush (self->op) == 0)
        s_sync (self);
    if (atomic_load (&self->state) != S_DONE)
        s_set_state (self, S_STOPPED);
    zsock_destroy (&self->sub);
    if (self->file)
        fclose (self->file);
    self->file = NULL;
    atomic_store (&self->finished, true);
}

/* ---- life cycle -------------------------------------------------------------- */

static void
s_metrics (live_t *self, mdf_metrics_t *m)
{
    const char *n = self->name;
#define S_C(field, name, help)                                                                     \
    self->field = mdf_metrics_counter (m, name, help, "provider", n, NULL)
    S_C (m_ticks, "mdp_ticks_total", "Good ticks read from a live provider");
    S_C (m_bad, "mdp_ticks_bad_total", "Ticks skipped as bad (unparsable or invalid)");
    S_C (m_late, "mdp_ticks_late_total", "Ticks that corrected a bar already closed");
    S_C (m_dropped, "mdp_ticks_dropped_total", "Ticks too late (beyond late_ms) to correct a bar");
    S_C (m_bars, "mdp_live_bars_total", "Bars closed from ticks (corrections included)");
    S_C (m_corr, "mdp_live_corrections_total",
         "Closed bars emitted again, corrected by late ticks");
    S_C (m_restarts, "mdp_live_restarts_total", "exec: times the command was started again");
    S_C (m_errors, "mdp_provider_errors_total", "Provider failures (each starts a cooldown)");
#undef S_C
    self->m_lag = mdf_metrics_gauge (m, "mdp_live_lag_seconds",
                                     "Wall clock minus the end of the last bar closed", "provider",
                                     n, NULL);
    self->m_open = mdf_metrics_gauge (m, "mdp_live_open_bars", "Bars open (not closed yet)",
                                      "provider", n, NULL);
    self->m_state = mdf_metrics_gauge (m, "mdp_provider_state",
                                       "0 running, 1 cooldown, 2 breaker open, 3 done/stopped",
                                       "provider", n, NULL);
}

static void
s_free (live_t *self)
{
    tickbar_destroy (&self->op);
    mdf_tick_csv_destroy (&self->csv);
    if (self->argv)
        for (char **a = self->argv; *a; a++)
            free (*a);
    free (self->argv);
    free (self->endpoint);
    free (self->topic);
    free (self->path);
    free (self->out.buf);
    free (self->err.buf);
    free (self->fline);
    if (self->stop_efd >= 0)
        close (self->stop_efd);
    free (self);
}

static int
s_copy (live_t *self, const provider_settings_t *ps)
{
    self->kind = strcmp (ps->type, "exec") == 0  ? S_EXEC
                 : strcmp (ps->type, "zmq") == 0 ? S_ZMQ
                                                 : S_FILE;
    self->ndjson = ps->format && strcmp (ps->format, "ndjson") == 0;
    self->speed = ps->speed;
    self->stop_grace_ns = ps->stop_grace_ms * 1000000;
    self->opcfg.interval_ns = tickbar_parse_interval (ps->bar_interval);
    self->opcfg.grace_ns = ps->grace_ms * 1000000;
    self->opcfg.late_ns = ps->late_ms * 1000000;
    self->argv = calloc (ps->command.count + 1, sizeof *self->argv);
    self->endpoint = strdup (ps->endpoint ? ps->endpoint : "");
    self->topic = strdup (ps->topic ? ps->topic : "");
    self->path = strdup (ps->path ? ps->path : "");
    self->out.buf = malloc (S_LINE_MAX);
    self->err.buf = malloc (S_LINE_MAX);
    if (!self->argv || !self->endpoint || !self->topic || !self->path || !self->out.buf
        || !self->err.buf)
        return -1;
    for (size_t i = 0; i < ps->command.count; i++)
        if (!(self->argv[i] = strdup (ps->command.items[i])))
            return -1;
    return self->opcfg.interval_ns > 0 ? 0 : -1;
}

live_t *
live_new (const provider_settings_t *ps, size_t idx, coordinator_t *coord, sender_t *sender,
          mdf_metrics_t *metrics, char *err, size_t errlen)
{
    live_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    snprintf (self->name, sizeof self->name, "%s", ps->name);
    self->idx = idx;
    self->coord = coord;
    self->sender = sender;
    self->child.out_fd = self->child.err_fd = -1;
    self->out_id = self->err_id = -1;
    self->stop_efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl_bad = self->rl_stderr = self->rl_err = rl;
    if (self->stop_efd < 0 || s_copy (self, ps) < 0) {
        snprintf (err, errlen, "provider %s: cannot set up (out of memory or bad settings)",
                  ps->name);
        s_free (self);
        return NULL;
    }
    self->op = tickbar_new (&self->opcfg, s_emit, self);
    self->csv = mdf_tick_csv_new ();
    if (!self->op || !self->csv) {
        snprintf (err, errlen, "out of memory");
        s_free (self);
        return NULL;
    }
    if (metrics)
        s_metrics (self, metrics);
    self->thread = mdf_loop_thread_start ("mdp-live", s_setup, s_teardown, self, err, errlen);
    if (!self->thread) {
        s_free (self);
        return NULL;
    }
    return self;
}

void
live_stop (live_t *self)
{
    if (!self)
        return;
    uint64_t one = 1;
    ssize_t rc = write (self->stop_efd, &one, sizeof one);
    (void)rc;
}

bool
live_wait (live_t *self, int64_t timeout_ms)
{
    int64_t end = mdf_mono_ns () + timeout_ms * 1000000;
    while (!atomic_load (&self->finished)) {
        if (mdf_mono_ns () >= end)
            return false;
        usleep (5000);
    }
    return true;
}

void
live_destroy (live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    live_t *self = *self_p;
    mdf_loop_thread_stop (&self->thread);
    s_free (self);
    *self_p = NULL;
}

const char *
live_state (live_t *self)
{
    static const char *const names[] = { "running", "cooldown", "breaker_open", "done", "stopped" };
    int s = atomic_load (&self->state);
    if (s == S_COOLDOWN || s == S_OPEN) {
        coordinator_state_t cs = coordinator_state (self->coord, self->idx);
        s = cs == COORD_BREAKER_OPEN ? S_OPEN : cs == COORD_COOLDOWN ? S_COOLDOWN : s;
    }
    return names[s];
}
