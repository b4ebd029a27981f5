/*
 * live: the live tick providers.  See live.h.  The exec source (the child's
 * pipes and restarts) is in live_exec.c, what every source does with a tick
 * in live_core.c; what they share, live_internal.h.
 *
 * One thread per provider, running a common/loop.h loop that owns the
 * source (the child's pipes, the SUB socket or the file), a timer for the
 * quiet-feed close and the metrics, and the stop eventfd.  Invariants: the
 * operator (tickbar) is only touched by that thread; every bar it emits goes
 * to sender_push before the next tick is read; `finished` is set once the
 * open bars were handed on at the end (or the sender refused them).
 */
#include "pipeline/live.h"
#include "pipeline/live_internal.h"

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

/* ---- zmq ------------------------------------------------------------------- */

static int
s_on_sub (mdf_loop_t *loop, void *sock, void *arg)
{
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    void *raw = zsock_resolve (sock);
    for (int k = 0; k < S_MSGS_PER_TURN && !self->paused; k++) {
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
            live_bad (self, "message", self->line_no, err);
        else if (rc == MDF_TICK_OK && live_tick (self, &t, now) < 0)
            return -1;
    }
    live_turn_end (self);
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
            live_bad (self, "line", self->line_no, err);
        if (rc == MDF_TICK_OK)
            return 1;
    }
}

static int
s_finish (live_t *self, int state)
{
    if (self->jdir && self->loop && live_journal_drain (self, mdf_loop_now_ns (self->loop)) < 0)
        self->closed = true;
    if (self->ntq > 0)
        mdf_warn ("ticks not journalled at stop (the journal is full or failing): the source "
                  "resumes from the cursor",
                  "provider=%s ticks=%zu cursor=\"%s\"", self->name, self->ntq, self->cursor);
    if (!self->closed && tickbar_flush (self->op) < 0)
        self->closed = true;
    live_turn_end (self);
    live_set_state (self, state);
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
                live_turn_end (self);
                return 0;
            }
        }
        /* the operator's clock is the file's: a quiet stretch of the file
         * closes bars as the same silence of a live feed would */
        if (offset > self->vnow)
            self->vnow = offset;
        int64_t vclock = self->vnow + 1000000000LL;
        self->have_next = false;
        if (tickbar_poll (self->op, vclock) < 0 || live_tick (self, &self->next, vclock) < 0)
            return -1;
    }
    mdf_loop_timer_reset (loop, self->pump_id, 0);
    live_turn_end (self);
    return 0;
}

/* ---- the loop ------------------------------------------------------------------ */

static int
s_on_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    live_journal_tick (self, now);
    if (self->kind != S_FILE && tickbar_poll (self->op, now) < 0)
        return -1;
    if (self->kind == S_EXEC) {
        live_exec_tick (self, now);
        if (self->stopping && self->child.pid <= 0)
            return s_finish (self, S_STOPPED);
    }
    live_turn_end (self);
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
    if (!self->started) /* still replaying, or the journal cannot be opened */
        return s_finish (self, S_STOPPED);
    if (self->paused && self->kind == S_EXEC && self->child.out_fd >= 0) {
        /* what the pipe holds was never journalled: the cursor resumes it */
        mdf_loop_remove (loop, self->out_id);
        self->out_id = -1;
        close (self->child.out_fd);
        self->child.out_fd = -1;
    }
    if (self->kind == S_EXEC && self->child.pid > 0) {
        child_signal (&self->child, SIGTERM);
        self->kill_at = mdf_loop_now_ns (loop) + self->stop_grace_ns;
        return 0;
    }
    return s_finish (self, S_STOPPED);
}

/* Stop or go on reading the source while the journal is full or failing
 * (live_journal.c): the child's pipe fills and it blocks in write, the SUB
 * socket queues up to its high-water mark, then drops. */
static void
s_pause (live_t *self, bool pause)
{
    if (self->paused == pause)
        return;
    self->paused = pause;
    if (!self->started)
        return;
    if (self->kind == S_EXEC) {
        if (pause && self->out_id >= 0) {
            mdf_loop_remove (self->loop, self->out_id);
            self->out_id = -1;
        } else if (!pause && self->out_id < 0 && self->child.out_fd >= 0)
            self->out_id = live_exec_watch (self);
    } else if (self->kind == S_ZMQ) {
        if (pause && self->sub_id >= 0) {
            mdf_loop_remove (self->loop, self->sub_id);
            self->sub_id = -1;
        } else if (!pause && self->sub_id < 0)
            self->sub_id = mdf_loop_add_socket (self->loop, self->sub, s_on_sub, self);
    }
}

/* The journal's replay, then the source: once, from a timer (again a second
 * later while the journal cannot be opened or written). */
static int
s_start (mdf_loop_t *loop, int id, void *arg)
{
    live_t *self = arg;
    int64_t now = mdf_loop_now_ns (loop);
    if (live_journal_start (self, now) < 0) {
        mdf_loop_timer_reset (loop, id, 1000);
        return 0;
    }
    if (self->closed)
        return -1;
    self->started = true;
    if (self->kind == S_ZMQ) {
        self->sub_id = mdf_loop_add_socket (loop, self->sub, s_on_sub, self);
        if (self->sub_id < 0) {
            mdf_error ("provider cannot poll its SUB socket", "provider=%s", self->name);
            return -1;
        }
    } else if (self->kind == S_FILE) {
        mdf_loop_timer_reset (loop, self->pump_id, 0);
    } else {
        live_exec_spawn (self);
    }
    live_turn_end (self);
    return 0;
}

static int
s_setup (mdf_loop_t *loop, void *arg, char *err, size_t errlen)
{
    live_t *self = arg;
    self->loop = loop;
    self->pause = s_pause;
    self->start_id = mdf_loop_timer (loop, 0, false, s_start, self);
    if (self->start_id < 0 || mdf_loop_add_fd (loop, self->stop_efd, POLLIN, s_on_stop, self) < 0
        || mdf_loop_timer (loop, S_TICK_MS, true, s_on_timer, self) < 0) {
        snprintf (err, errlen, "provider %s: cannot set up its loop", self->name);
        return -1;
    }
    if (self->kind == S_ZMQ) {
        /* connected now, so that it queues while the journal is replayed */
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
            zsock_destroy (&self->sub);
            return -1;
        }
    } else if (self->kind == S_FILE) {
        self->file = fopen (self->path, "r");
        if (!self->file) {
            snprintf (err, errlen, "provider %s: cannot open %s: %s", self->name, self->path,
                      strerror (errno));
            return -1;
        }
        self->pump_id = mdf_loop_timer (loop, 3600000, false, s_pump, self);
        if (self->pump_id < 0) {
            snprintf (err, errlen, "provider %s: cannot set up its loop", self->name);
            return -1;
        }
    }
    return 0;
}

static void
s_teardown (mdf_loop_t *loop, void *arg)
{
    live_t *self = arg;
    if (self->child.pid > 0) { /* the loop ended early (the sender closed) */
        child_signal (&self->child, SIGKILL);
        char how[64];
        while (!child_reap (&self->child, how, sizeof how))
            usleep (1000);
    }
    child_close_pipes (&self->child);
    if (self->jdir && live_journal_drain (self, mdf_loop_now_ns (loop)) < 0)
        self->closed = true;
    if (!self->closed && tickbar_flush (self->op) == 0)
        live_sync (self);
    if (atomic_load (&self->state) != S_DONE)
        live_set_state (self, S_STOPPED);
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
    self->m_lag = mdf_metrics_gauge (m, "mdp_live_lag_seconds",
                                     "Wall clock minus the end of the last bar closed", "provider",
                                     n, NULL);
    self->m_open = mdf_metrics_gauge (m, "mdp_live_open_bars", "Bars open (not closed yet)",
                                      "provider", n, NULL);
    if (self->jdir) {
        S_C (m_jreplayed, "mdp_journal_replayed_ticks_total",
             "Ticks read back from the journal at start");
        S_C (m_jcorrupt, "mdp_journal_corrupt_total",
             "Journal records skipped or tails cut at start (bad checksum, torn write)");
        S_C (m_jerrors, "mdp_journal_errors_total",
             "Journal disk errors (ENOSPC, EIO, EROFS, ...); the source waits meanwhile");
        S_C (m_jfull, "mdp_journal_full_total",
             "Times the journal reached journal.max_bytes (the source waits for acks)");
        S_C (m_jtrimmed, "mdp_journal_trimmed_segments_total",
             "Journal segments removed once every bar from them was acked");
#undef S_C
        self->m_jbytes = mdf_metrics_gauge (m, "mdp_journal_bytes", "Bytes in the journal",
                                            "provider", n, NULL);
        self->m_jsegs = mdf_metrics_gauge (m, "mdp_journal_segments", "Segments in the journal",
                                           "provider", n, NULL);
        self->m_jstate
            = mdf_metrics_gauge (m, "mdp_journal_state",
                                 "0 ok, 1 full (source paused), 2 disk error", "provider", n, NULL);
    }
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
    free (self->pend);
    free (self->jdir);
    if (self->stop_efd >= 0)
        close (self->stop_efd);
    pthread_mutex_destroy (&self->jerror_lock);
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
    self->pend = malloc (S_PEND * sizeof *self->pend);
    self->cappend = S_PEND;
    self->out.buf = malloc (S_LINE_MAX);
    self->err.buf = malloc (S_LINE_MAX);
    if (!self->argv || !self->endpoint || !self->topic || !self->path || !self->pend
        || !self->out.buf || !self->err.buf)
        return -1;
    for (size_t i = 0; i < ps->command.count; i++)
        if (!(self->argv[i] = strdup (ps->command.items[i])))
            return -1;
    return self->opcfg.interval_ns > 0 ? 0 : -1;
}

/* DIR/NAME for the journal of an exec or zmq provider (NULL: none).  0 or -1. */
static int
s_journal_config (live_t *self, const journal_settings_t *j)
{
    if (!j || !j->dir || !*j->dir || self->kind == S_FILE)
        return 0;
    if (asprintf (&self->jdir, "%s/%s", j->dir, self->name) < 0) {
        self->jdir = NULL;
        return -1;
    }
    self->jcfg.dir = self->jdir;
    self->jcfg.max_bytes = j->max_bytes;
    self->jcfg.fsync_ms = j->fsync_ms;
    return 0;
}

live_t *
live_new (const provider_settings_t *ps, size_t idx, coordinator_t *coord, sender_t *sender,
          mdf_metrics_t *metrics, const journal_settings_t *journal, char *err, size_t errlen)
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
    self->out_id = self->err_id = self->sub_id = -1;
    self->stop_efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init (&self->jerror_lock, NULL);
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 5);
    self->rl_bad = self->rl_stderr = self->rl_err = rl;
    if (self->stop_efd < 0 || s_copy (self, ps) < 0 || s_journal_config (self, journal) < 0) {
        snprintf (err, errlen, "provider %s: cannot set up (out of memory or bad settings)",
                  ps->name);
        s_free (self);
        return NULL;
    }
    self->op = tickbar_new (&self->opcfg, live_emit, self);
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
    live_journal_close (self);
    s_free (self);
    *self_p = NULL;
}

const char *
live_journal_state (live_t *self, char *error, size_t errlen)
{
    static const char *const names[] = { "off", "ok", "full", "error" };
    int st = atomic_load (&self->jstate);
    if (error && errlen) {
        pthread_mutex_lock (&self->jerror_lock);
        snprintf (error, errlen, "%s", st == S_J_ERROR ? self->jerror : "");
        pthread_mutex_unlock (&self->jerror_lock);
    }
    return names[st];
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
