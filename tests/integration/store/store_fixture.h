/*
 * store_fixture: start a real md-store on free loopback ports for a test, and
 * a czmq test client: a DEALER that sends batches and reads acks, a SUB that
 * reads feedback events.  Everything waits with deadlines, never sleeps.
 */
#ifndef MDS_STORE_FIXTURE_H
#define MDS_STORE_FIXTURE_H

#include <czmq.h>
#include <stdbool.h>

#include "proto/batch.h"
#include "proto/feedback.h"
#include "tests/integration/harness.h"

typedef struct {
    char *dir;    /* temporary directory (config, database, log) */
    char *config; /* path of the generated store.toml */
    char db[512]; /* dir/data/bars.db unless the test set [sink] itself */
    int ingest_port, feedback_port, http_port;
    h_proc_t proc;
    bool running;
} mds_t;

/* Write a config (ports, heartbeat_ms, database path) plus `extra` TOML
 * (sections other than [ingest], [feedback], [http]; when it has no [sink]
 * the sink is sqlite in dir/data/bars.db), start md-store with `env` (may be
 * NULL) and wait until its HTTP answers.  0 or -1. */
int mds_start (mds_t *m, int heartbeat_ms, const char *extra, char *const env[]);

/* Start md-store again with the same config (after mds_stop). 0 or -1. */
int mds_relaunch (mds_t *m);

/* Config file only (for tests that run md-store themselves). */
void mds_prepare (mds_t *m, int heartbeat_ms, const char *extra);

/* SIGTERM and wait (timeout_ms); returns the exit code; removes nothing. */
int mds_stop (mds_t *m, int timeout_ms);

/* Stop if running, dump the log on request, remove the directory.  Returns -1
 * (and dumps the log) when md-store's log holds a sanitizer report, else 0. */
int mds_cleanup (mds_t *m, bool dump_log);

char *mds_endpoint (int port); /* "tcp://127.0.0.1:port", malloc'd */

/* The md-store of the running test, for Check suites: add
 * tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown) and start
 * it with MDS_START.  A failed assertion ends the test process without
 * teardown: main's h_reaper_reap() (harness.h) stops what it left and
 * removes its directory. */
extern mds_t mds_cur;
void mds_test_setup (void);    /* zeroes mds_cur */
void mds_test_teardown (void); /* mds_cleanup; fails the test on a sanitizer report */
#define MDS_START(hb, extra, env)                                                                  \
    ck_assert_msg (mds_start (&mds_cur, (hb), (extra), (env)) == 0, "md-store did not start")

/* GET path on 127.0.0.1:port until it answers `status` (at least once, then
 * until timeout_ms); fails the test when it does not.  The last body
 * (malloc'd, may be NULL). */
char *mds_wait_status (int port, const char *path, int status, int timeout_ms);

zsock_t *mds_dealer (const mds_t *m);
zsock_t *mds_sub (const mds_t *m);

/* A valid batch of n bars (symbols S0..S2, ts = ts0 + i * 1000 ns). */
void mds_make_batch (mdf_batch_t *b, const char *producer, uint64_t seq, const char *provider,
                     size_t n, int64_t ts0);
int mds_send_batch (zsock_t *dealer, const mdf_batch_t *b);
/* Send n bars in one batch, starting at ts0 milliseconds (so batches sent with
 * different ts0 never share a row while n < 1000); 0 or -1. */
int mds_send (zsock_t *dealer, uint64_t seq, size_t n, int64_t ts0);
/* Read one ack (timeout_ms); 0 or -1. */
int mds_recv_ack (zsock_t *dealer, mdf_ack_t *ack, int timeout_ms);
/* Read one event (timeout_ms); topic checked to start with "feedback.".  0 or -1. */
int mds_recv_event (zsock_t *sub, mdf_feedback_t *ev, int timeout_ms);
/* Read events until one with `reason` (and level, unless level < 0) arrives. */
int mds_wait_event (zsock_t *sub, const char *reason, int level, mdf_feedback_t *ev,
                    int timeout_ms);

/* Start md-store with a sink that fails until the caller removes the file
 * *blocker_p (a regular file where the database's directory should be):
 * every write fails, retries every 10-50 ms, and the breaker opens after 2
 * failures for 50 ms.  *tmp_p (remove it with h_rmtree), *blocker_p and
 * *db_p are malloc'd.  Fails the test when md-store does not start. */
void mds_start_failing_sink (char **tmp_p, char **blocker_p, char **db_p);

#endif
