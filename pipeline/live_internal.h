/*
 * live_internal: what the three files of the live providers share:
 * live_core.c (ticks into bars into the sender, metrics), live_exec.c (the
 * exec source) and live.c (the thread, zmq, tick_csv, the life cycle).
 * Calls go live.c -> live_exec.c -> live_core.c (and live.c -> live_core.c).  Not an API: live.h
 * is.  Everything here runs on the provider's loop thread, except `state` and `finished` (atomics).
 */
#ifndef PIPELINE_LIVE_INTERNAL_H
#define PIPELINE_LIVE_INTERNAL_H

#include <czmq.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "pipeline/child.h"
#include "pipeline/coordinator.h"
#include "pipeline/live.h"
#include "pipeline/sender.h"
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

/* live_core.c.  tickbar's emit: a closed bar kept to be handed on with the
 * turn's others (0, or -1 once the sender takes no more). */
int live_emit (void *arg, const mdf_bar_t *bar, bool correction);
/* The operator's counts into the metrics, after handing on the bars the
 * turn closed. */
void live_sync (live_t *self);
void live_set_state (live_t *self, int state);
/* A bad tick: counted, logged (rate-limited) with `where`=n. */
void live_bad (live_t *self, const char *where, uint64_t n, const char *error);
/* One good tick at (monotonic or replay) time now; -1 once the sender is closed. */
int live_tick (live_t *self, const mdf_tick_t *t, int64_t now);

/* exec (live_exec.c): start the command (a failure to is a provider
 * failure: cooldown, breaker), and every S_TICK_MS reap it, SIGKILL it past
 * its grace, restart it once the cooldown is over. */
int live_exec_spawn (live_t *self);
void live_exec_tick (live_t *self, int64_t now);

#endif
