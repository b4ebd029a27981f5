/*
 * workers: the threads that move batches from the queue into the sink.
 *
 * Each of `count` threads owns one sink connection.  Loop:
 *   take whole batches from the queue (up to batch_max bars; when throttled, up
 *   to a tenth of a second's worth) -> wait for the throttle -> write them in
 *   one transaction, retrying until it commits -> release their bars and hand
 *   a done_t back through the queue (queue_finish), which the ingest thread
 *   takes (queue_answers_take) to ack them "ok".
 * So a bar is acked only after its commit, and while the sink fails nothing is
 * acked, released or lost: the queue fills and the level rises.
 *
 * Retries back off exponentially (retry_initial_ms doubling to retry_max_ms).
 * A circuit breaker shared by all workers (store/breaker.h) opens after
 * breaker_failures consecutive failures; while open, no worker writes except
 * one probe per breaker_cooldown_ms (half-open); a committed probe closes it.
 *
 * max_rows_per_sec > 0 throttles all workers together (store/throttle.h):
 * each transaction of n bars reserves n / rate seconds of a shared schedule
 * and waits for its slot.
 *
 * Sink health, for readiness (workers_health): a dedicated pinger thread with
 * a sink connection of its own calls sink_ping at start and every ping_ms
 * (bounded by ping_timeout_ms; never on the ingest thread, never holding a
 * worker), and sink_check every second in between; after a failed ping it
 * pings every second until one succeeds.  The sink counts as
 * reachable while the last ping succeeded, or a write committed since, and
 * that success is recent (3 ping periods); a write that failed keeps the
 * sink "failing" until that write commits.  Idle workers (nothing to take
 * for a second) run sink_check on their own connection, so a SQLite
 * connection to files that were deleted or replaced is let go of within a
 * second even without traffic.
 */
#ifndef STORE_WORKERS_H
#define STORE_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"
#include "store/breaker.h"
#include "store/sinkrate.h"
#include "store/queue.h"
#include "store/sink.h"
#include "store/stats.h"

#define WORK_IDENTITY_MAX 256

/* One received batch and who to answer.  Workers only read an item; the
 * ingest thread fills it before queue_push and reads it again when the done_t
 * comes back. */
typedef struct {
    uint8_t identity[WORK_IDENTITY_MAX]; /* ROUTER routing id it arrived with */
    size_t identity_len;
    mdf_batch_t batch;
    int64_t received_ns; /* monotonic, at receipt */
    bool tracked;        /* registered in the server's inflight set */
} work_item_t;

work_item_t *work_item_new (void);
void work_item_destroy (work_item_t **self_p);

/* What a worker hands back to the ingest thread, one per transaction, through
 * the queue's answers (queue_finish; the queue's mutex orders the worker's
 * writes before the ingest thread's reads).  The receiver owns it. */
typedef struct {
    queue_answer_t link; /* first member: the answers list links done_t */
    size_t n;
    int64_t bars;
    bool committed;       /* false: aborted at shutdown, not stored, must not be acked */
    work_item_t *items[]; /* n items, owned */
} done_t;

/* The done_t an answer taken from the queue is. */
static inline done_t *
done_from_answer (queue_answer_t *answer)
{
    return (done_t *)(void *)answer;
}

void done_destroy (done_t **self_p);

typedef struct {
    sink_config_t sink;
    int count;
    int64_t batch_max;
    int64_t retry_initial_ms, retry_max_ms;
    int64_t breaker_failures, breaker_cooldown_ms;
    int64_t max_rows_per_sec;
    int64_t ping_ms;         /* sink ping period (> 0) */
    int64_t ping_timeout_ms; /* bound of one ping (connect, query) */
    sinkrate_t *sinkrate;    /* borrowed, may be NULL: each transaction is reported */
} workers_config_t;

typedef struct _workers_t workers_t;

/* Sink facts for /health and /health/ready (one consistent snapshot). */
typedef struct {
    breaker_state_t breaker;
    int alive;              /* worker threads running */
    bool checked;           /* a ping finished (or a write committed) since start */
    bool reachable;         /* the last ping succeeded or a write committed since; recent */
    int failing_writes;     /* workers retrying a write that failed */
    int64_t last_ok_ms_ago; /* since the last successful ping or commit; -1: never */
    char error[256];        /* the failure behind a state that is not ok; "" otherwise */
} workers_health_t;

/* Start the threads (workers and pinger) and wait for the first ping, at
 * most ping_timeout_ms + 1 s.  `queue` and `stats` are borrowed and must
 * outlive the workers; strings of cfg are copied.  NULL with err if a sink
 * type is unknown or a thread cannot start. */
workers_t *workers_new (const workers_config_t *cfg, queue_t *queue, stats_t *stats, char *err,
                        size_t errlen);

/* Make workers give up: stop retrying and waiting for the throttle; a batch in
 * hand is returned uncommitted (done_t.committed = false).  Use with
 * queue_stop (q, false) when a drain times out. */
void workers_abort (workers_t *self);

/* Wait for every thread to end (after queue_stop; the pinger is stopped
 * here).  Idempotent; the object stays readable (breaker, last error) until
 * workers_destroy. */
void workers_join (workers_t *self);

/* Join (if not yet) and free. */
void workers_destroy (workers_t **self_p);

/* Change sink.max_rows_per_sec live (SIGHUP; 0 = unthrottled). */
void workers_set_max_rows (workers_t *self, int64_t max_rows_per_sec);

breaker_state_t workers_breaker (workers_t *self);
int workers_alive (workers_t *self);
void workers_health (workers_t *self, workers_health_t *out);

#endif
