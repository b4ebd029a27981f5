/*
 * live_internal: what the three files of the live providers share:
 * live_core.c (ticks into bars into the sender, metrics), live_journal.c
 * (ticks through the journal), live_exec.c (the exec source) and live.c
 * (the thread, zmq, tick_csv, the life cycle).
 * Calls go live.c -> live_exec.c -> live_journal.c -> live_core.c (and
 * live.c to each); live_journal.c pauses the source through self->pause.  Not an API: live.h
 * is.  Everything here runs on the provider's loop thread, except `state` and `finished` (atomics).
 */
#ifndef PIPELINE_LIVE_INTERNAL_H
#define PIPELINE_LIVE_INTERNAL_H

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "pipeline/child.h"
#include "pipeline/coordinator.h"
#include "pipeline/journal.h"
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
#define S_TQ 4096               /* ticks read, written to the journal together */
#define S_ROLLS 64              /* segments waiting for their bars' acks to be trimmed */

enum { S_EXEC, S_ZMQ, S_FILE };
enum { S_J_OFF = 0, S_J_OK = 1, S_J_FULL = 2, S_J_ERROR = 3 }; /* journal state */
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
    int sub_id;
    /* tick_csv */
    FILE *file;
    char *fline;
    size_t fcap;
    int pump_id;
    bool have_next, have_t0;
    mdf_tick_t next;
    int64_t t0_ts, t0_mono, vnow;

    mdf_bar_t *pend; /* closed bars not yet handed to the sender */
    size_t npend, cappend;
    bool draining;    /* stopping: pushes wait for the sender (journal mode) */
    uint64_t emitted; /* bars the operator emitted (the sender counts them the same way) */
    bool started;     /* the source was started (after the journal's replay) */
    int start_id;     /* the one-shot timer that replays, then starts the source */

    /* the journal (live_journal.c): ticks read -> journal -> operator */
    char *jdir; /* NULL: no journal */
    journal_config_t jcfg;
    journal_t *journal;
    atomic_int jstate;           /* S_J_*, read by other threads (/health) */
    pthread_mutex_t jerror_lock; /* jerror: written by the loop, read by /health */
    char jerror[256];            /* the last disk error */
    bool replayed, paused;       /* paused: the source is not read (full, or an error) */
    void (*pause) (live_t *self, bool pause); /* live.c: stop or go on reading the source */
    size_t ntq;                               /* ticks in the journal's buffer, not yet written */
    bool ticks_since_roll;                    /* the newest segment holds ticks */
    bool read_all;                            /* the reader has aggregated every tick written */
    bool direct;                              /* live_commit hands the ticks over itself */
    int64_t rnow;                             /* now, for the ticks the reader hands over */
    int64_t retry_at;                         /* monotonic ns: next write attempt after an error */
    char cursor[MDF_TICK_CURSOR_MAX + 1];     /* the last cursor accepted */
    struct {
        uint64_t seg, emitted;
    } rolls[S_ROLLS]; /* trim before seg once `emitted` bars are settled */
    size_t nrolls;

    tickbar_stats_t synced;
    mdf_counter_t *m_ticks, *m_bad, *m_late, *m_dropped, *m_bars, *m_corr, *m_restarts, *m_errors;
    mdf_gauge_t *m_lag, *m_open, *m_state;
    mdf_counter_t *m_jreplayed, *m_jcorrupt, *m_jerrors, *m_jfull, *m_jtrimmed;
    mdf_gauge_t *m_jbytes, *m_jsegs, *m_jstate;
    mdf_ratelimit_t rl_bad, rl_stderr, rl_err;
};

/* live_core.c.  tickbar's emit: a closed bar kept to be handed on with the
 * turn's others (0, or -1 once the sender takes no more). */
int live_emit (void *arg, const mdf_bar_t *bar, bool correction);
/* Hand the kept bars to the sender: all of them, waiting for room (no
 * journal, or draining), or as many as it takes now (journal).  0, or -1
 * once it takes no more. */
int live_push (live_t *self);
/* The operator's counts into the metrics, after handing on the bars the
 * turn closed. */
void live_sync (live_t *self);
void live_set_state (live_t *self, int state);
/* A bad tick: counted, logged (rate-limited) with `where`=n. */
void live_bad (live_t *self, const char *where, uint64_t n, const char *error);
/* One good tick at (monotonic or replay) time now; -1 once the sender is
 * closed (live_journal.c: journalled first when there is a journal). */
int live_tick (live_t *self, const mdf_tick_t *t, int64_t now);

/* journal (live_journal.c).  live_tick queues the tick (or, without a
 * journal, aggregates it at once); live_commit journals the queue and then
 * aggregates it: call it at the end of every turn that read ticks (live_sync
 * does).  While the journal is full or failing the queue waits, the source
 * is paused (self->pause, set by live.c) and the timer retries (live_journal_tick).
 * live_journal_start: open, check, restore the oldest snapshot, and set the
 * reader to replay; 0, or -1 to retry later. */
int live_commit (live_t *self, int64_t now);
/* The end of a turn that may have read ticks: live_commit, then live_sync. */
void live_turn_end (live_t *self);
int live_journal_start (live_t *self, int64_t now);
void live_journal_tick (live_t *self, int64_t now);
/* Stopping: journal what was read and aggregate all of it, waiting for the
 * sender.  0, or -1 once the sender is closed. */
int live_journal_drain (live_t *self, int64_t now);
/* At the end (the loop is over, the sender drained): with every bar settled,
 * a last snapshot and nothing older kept. */
void live_journal_close (live_t *self);

/* exec (live_exec.c): start the command (a failure to is a provider
 * failure: cooldown, breaker), and every S_TICK_MS reap it, SIGKILL it past
 * its grace, restart it once the cooldown is over. */
int live_exec_spawn (live_t *self);
/* Read the child's stdout again (after a pause): the loop entry's id, or -1. */
int live_exec_watch (live_t *self);
void live_exec_tick (live_t *self, int64_t now);

#endif
