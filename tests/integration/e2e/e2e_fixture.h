/*
 * e2e_fixture: the closed loop for a test: real md-store(s) with a SQLite sink
 * and a real md-pipeline with a synthetic provider, on free loopback ports in a
 * fresh temporary directory.
 *
 * Check runs each test in a forked child and a failed ck_assert leaves with
 * _exit (no atexit, no teardown).  So every process started here is
 * recorded by the harness (harness.h, "Processes left behind"), and tests
 * assert with E2E_CHECK, which SIGKILLs everything recorded, prints the logs
 * and removes the test's directory before failing.  Ports are chosen once in *_init, so a store
 * started again after a kill -9 comes back on the same endpoints and database.
 *
 * Nothing here sleeps to let things settle: waits poll an observable (HTTP
 * answering, a metric, a process exit) against a deadline.
 */
#ifndef E2E_FIXTURE_H
#define E2E_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/integration/harness.h"

typedef struct {
    char id[32];      /* [store] id, the coordinator_id label */
    char config[512]; /* DIR/ID.toml */
    char db[512];     /* DIR/ID.db */
    char log[512];    /* DIR/ID.log (appended across restarts) */
    int ingest_port, feedback_port, http_port;
    h_proc_t proc;
    bool running;
} e2e_store_t;

/* Choose ports and write the store's config: id, endpoints, heartbeat_ms, a
 * SQLite sink at DIR/ID.db throttled to max_rows_per_sec (0: not throttled),
 * then `extra` TOML (other tables, e.g. [queue] or [workers]; may be NULL).
 * 0 or -1. */
int e2e_store_init (e2e_store_t *s, const char *dir, const char *id, long max_rows_per_sec,
                    int heartbeat_ms, const char *extra);

/* Spawn md-store (env: extra KEY=VALUE strings, may be NULL) and wait up to
 * 10 s for its HTTP to answer.  0 or -1. */
int e2e_store_start (e2e_store_t *s, char *const env[]);

/* SIGTERM (the store drains), wait up to timeout_ms; the exit code as h_wait. */
int e2e_store_stop (e2e_store_t *s, int timeout_ms);

/* SIGKILL and reap; returns the exit code as h_wait (137). */
int e2e_store_kill (e2e_store_t *s);

/* "tcp://127.0.0.1:PORT" into buf. */
const char *e2e_endpoint (int port, char *buf, size_t size);

typedef struct {
    double refill_rate; /* provider bars/s at scale 1.0 */
    int bucket;         /* token bucket capacity (burst) */
    int batch_max;
    int max_inflight;
    int ack_timeout_ms;
    bool feedback; /* [feedback] enabled */
    int stale_after_ms;
} e2e_pipe_opts_t;

#define E2E_PIPE_OPTS_DEFAULT                                                                      \
    {                                                                                              \
        50000, 1000, 500, 32, 10000, true, 3000                                                    \
    }

typedef struct {
    char config[512];
    char log[512];
    int http_port;
    h_proc_t proc;
    bool running;
} e2e_pipe_t;

/* Write DIR/pipeline.toml: one synthetic provider "syn" (symbols AAA, BBB,
 * CCC) and the ingest/feedback endpoints of `stores` (n of them).  0 or -1. */
int e2e_pipe_init (e2e_pipe_t *p, const char *dir, const e2e_pipe_opts_t *o,
                   e2e_store_t *const *stores, size_t n);

/* Spawn md-pipeline and wait for its HTTP.  0 or -1. */
int e2e_pipe_start (e2e_pipe_t *p, char *const env[]);

/* SIGTERM and wait; the exit code as h_wait. */
int e2e_pipe_stop (e2e_pipe_t *p, int timeout_ms);

/* POST /control/pause, then wait until mdp_batches_inflight is 0 and
 * mdp_bars_acked_total equals mdp_bars_ingested_total.  *ingested gets the
 * latter.  0, or -1 when the deadline passes first. */
int e2e_pipe_drain (e2e_pipe_t *p, int timeout_ms, double *ingested);

/* The waiting half of e2e_pipe_drain, for a pipeline paused by other means:
 * until nothing is in flight and mdp_bars_acked_total equals
 * mdp_bars_ingested_total.  0, or -1 after timeout_ms; *ingested as above. */
int e2e_pipe_wait_drained (e2e_pipe_t *p, int timeout_ms, double *ingested);

/* What a store looked like while the test watched it. */
typedef struct {
    double max_depth;   /* highest coordinator_queue_depth seen */
    double capacity;    /* coordinator_queue_capacity */
    double rate;        /* mds_bars_written_total per second after the warm-up */
    double retries;     /* mds_batches_total{status="retry"} at the end */
    double hard_events; /* mds_feedback_events_total{level="hard"} at the end */
    int samples;
} e2e_watch_t;

/* Scrape the store's metrics every ~20 ms for duration_ms; the committed rate
 * is measured from warmup_ms on.  When stop_on_retry is set, returns as soon
 * as a "retry" ack has been counted.  0, or -1 when the store stopped
 * answering. */
int e2e_watch_store (const e2e_store_t *s, int duration_ms, int warmup_ms, bool stop_on_retry,
                     e2e_watch_t *w);

/* The end of a fault test, once the fault is over: the pipeline is paused
 * and drained (every bar acked), and the rows (count_rows (arg), or the
 * store's SQLite file when count_rows is NULL) must equal the bars it
 * ingested: zero loss.  Then both services must exit 0 with no sanitizer
 * report, and *dir is removed.  One line on stderr:
 * "WHAT: DETAIL, ingested N, rows M".  Fails the test (E2E_CHECK) otherwise. */
void e2e_finish_without_loss (const char *what, const char *detail, e2e_pipe_t *pipe,
                              e2e_store_t *store, long (*count_rows) (void *arg), void *arg,
                              char **dir);

/* A fresh temporary directory for the test (malloc'd), removed by
 * e2e_kill_all or e2e_cleanup. */
char *e2e_dir (void);

/* SIGKILL every process this test started that is still running, print their
 * logs to stderr, remove the test's directory (h_kill_all). */
void e2e_kill_all (void);

/* Stop everything still running (SIGTERM, then SIGKILL), remove dir.  -1 when
 * a service's log holds a sanitizer report (printed), else 0. */
int e2e_cleanup (char **dir);

#define E2E_CHECK(expr, ...)                                                                       \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            e2e_kill_all ();                                                                       \
            ck_abort_msg (__VA_ARGS__);                                                            \
        }                                                                                          \
    } while (0)

#endif
