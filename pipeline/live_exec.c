/*
 * live_exec: the exec source of a live provider (see live.h): the child's
 * stdout read line by line into ticks, its stderr into the log, its exits
 * turned into restarts under the provider's cooldown and breaker.
 */
#include "pipeline/live_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

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
        live_bad (self, "line", self->line_no, err);
    if (rc != MDF_TICK_OK)
        return 0;
    return live_tick (self, &t, now);
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
                live_bad (self, "line", self->line_no + 1, "line over 64 KiB");
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
            if (is_out && self->paused)
                break; /* the journal is full or failing: leave the rest in the pipe */
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
    live_turn_end (self);
    return 0;
}

int
live_exec_watch (live_t *self)
{
    return mdf_loop_add_fd (self->loop, self->child.out_fd, POLLIN, s_on_pipe, self);
}

int
live_exec_spawn (live_t *self)
{
    char err[512];
    /* the journal's last cursor: a feed handler that can resumes after it */
    char env_cursor[sizeof "MDP_RESUME_CURSOR=" + MDF_TICK_CURSOR_MAX];
    char *env[2] = { NULL, NULL };
    if (self->jdir && self->cursor[0]) {
        snprintf (env_cursor, sizeof env_cursor, "MDP_RESUME_CURSOR=%s", self->cursor);
        env[0] = env_cursor;
    }
    if (child_spawn (&self->child, self->argv, env, err, sizeof err) < 0) {
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
    self->out_id = self->paused ? -1 : live_exec_watch (self);
    self->err_id = mdf_loop_add_fd (self->loop, self->child.err_fd, POLLIN, s_on_pipe, self);
    live_set_state (self, S_RUNNING);
    mdf_info ("provider command started", "provider=%s pid=%d command=%s resume_cursor=\"%s\"",
              self->name, (int)self->child.pid, self->argv[0], env[0] ? self->cursor : "");
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
    live_set_state (self, st == COORD_BREAKER_OPEN ? S_OPEN : S_COOLDOWN);
}

/* Reap, kill after the grace, restart after the cooldown. */
void
live_exec_tick (live_t *self, int64_t now)
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
        live_exec_spawn (self);
    }
}
