/*
 * harness: what integration tests need to drive the real binaries.
 *
 * Tests spawn md-store / md-pipeline / mdctl as child processes on free loopback
 * ports, wait on observable events (a port answering, a metric reaching a value,
 * a process exiting) with deadlines rather than sleeps, and always stop what they
 * started by PID.  Binaries are found under $MDF_BUILD_ROOT (set by meson test),
 * source files (example configs, samples) under $MDF_SOURCE_ROOT.
 */
#ifndef MDF_HARNESS_H
#define MDF_HARNESS_H

#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

#include "common/metrics.h"

/* "$MDF_BUILD_ROOT/rel" / "$MDF_SOURCE_ROOT/rel" (static buffer per call site is
 * not needed: returns a malloc'd string the caller frees). */
char *h_build_path (const char *rel);
char *h_source_path (const char *rel);

/* A TCP port on 127.0.0.1 that was free a moment ago: picked at random below
 * the kernel's ephemeral range (so no outgoing connection of a concurrent
 * test can take it before the service binds it), never the same twice in
 * this process, and checked with a bind.  -1 if none is found. */
int h_free_port (void);

/* A fresh temporary directory (malloc'd path), removed with h_rmtree. */
char *h_tmpdir (void);
void h_rmtree (const char *dir);

/* Write `content` to dir/name; returns the malloc'd path. */
char *h_write_file (const char *dir, const char *name, const char *content);

/* printf into a malloc'd string. */
char *h_strf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

typedef struct {
    pid_t pid;
    char log_path[512]; /* stdout+stderr of the child */
} h_proc_t;

/* Start argv[0] (a path) with argv; `env` is a NULL-terminated list of extra
 * "KEY=VALUE" strings added to the test's environment (may be NULL).  Output goes
 * to `log_path` (NULL: /dev/null).  The child is recorded (see "Processes left
 * behind" below).  Returns 0 or -1. */
int h_spawn (h_proc_t *proc, char *const argv[], char *const env[], const char *log_path);

/* Wait up to timeout_ms for the child to exit; returns its exit code (0-255),
 * 128+signal if killed, or -1 on timeout (child still running). */
int h_wait (h_proc_t *proc, int timeout_ms);

/* Whether the child still runs (an exited one is reaped: pid becomes 0). */
bool h_running (h_proc_t *proc);

/* Send a signal; no-op when the process is gone. */
void h_signal (h_proc_t *proc, int sig);

/* SIGTERM, wait up to timeout_ms, then SIGKILL; returns the exit code as h_wait. */
int h_stop (h_proc_t *proc, int timeout_ms);

/* Print the child's log to stderr (for failing tests). */
void h_dump_log (const h_proc_t *proc);

/* True when the log file contains `needle`. */
bool h_log_contains (const h_proc_t *proc, const char *needle);

/* True when the child's log holds a sanitizer report (ASan, UBSan, TSan). */
bool h_log_sanitizer (const h_proc_t *proc);

/* ---- Processes left behind ----
 * Check runs each test in a forked process, and a failed assertion ends it
 * with _exit: no teardown runs.  The services it spawned die with it
 * (PR_SET_PDEATHSIG), but nobody would show their logs or remove their
 * temporary directories.  So h_spawn records every child (PID, command line,
 * log) in the test process, and h_own_dir the directories to remove; then
 *   - a test about to fail calls h_kill_all: every recorded child still
 *     running is killed, every log printed, every owned directory removed;
 *   - a test that ends well calls h_stop_all: the children still running
 *     are stopped, and it says whether a log holds a sanitizer report;
 *   - the runner's main calls h_reaper_open before srunner_run_all and
 *     h_reaper_reap after: every child and directory any forked test
 *     recorded is also written to a registry file, and reap kills each
 *     recorded child still running (only when /proc/PID/cmdline is still
 *     its command line, so a reused PID is never touched) and removes each
 *     recorded directory. */

/* Remove `dir` when the test is killed or reaped (copied). */
void h_own_dir (const char *dir);

/* SIGKILL every recorded child still running, print every recorded log,
 * remove the owned directories, forget them all. */
void h_kill_all (void);

/* h_stop (timeout_ms) every recorded child still running; forget them all
 * (directories are left to the caller).  -1, with the log printed, when a
 * recorded child's log holds a sanitizer report; else 0. */
int h_stop_all (int timeout_ms);

void h_reaper_open (void);
void h_reaper_reap (void);

/* Run argv to completion (timeout_ms), capturing stdout+stderr into *output
 * (malloc'd, may be NULL).  Returns the exit code as h_wait, -1 on timeout. */
int h_run (char *const argv[], char *const env[], int timeout_ms, char **output);

/* HTTP on 127.0.0.1:port.  Returns the malloc'd body (NULL on connection
 * failure), *status gets the HTTP status (0 on failure). */
char *h_http (const char *method, int port, const char *path, const char *body, int *status,
              int timeout_ms);

/* h_http with "Authorization: Bearer TOKEN" when `token` is not NULL (for a
 * pipeline whose http.control_token protects POST /control/...). */
char *h_http_auth (const char *method, int port, const char *path, const char *body,
                   const char *token, int *status, int timeout_ms);

/* ---- HTTP over a plain socket ----
 * For what libcurl would not send: a target spelled byte for byte (a NUL,
 * %XX, a dot segment, a double slash), a request left half-sent, a
 * connection from a chosen loopback address (127.0.0.2 ...) so that a
 * per-address limit can be filled from one and checked from another. */

/* A TCP connection to 127.0.0.1:port from loopback address `from` (NULL:
 * the kernel's choice); -1 when it cannot be made. */
int h_raw_dial (const char *from, int port);

/* Read the answer on fd for at most timeout_ms, up to the end of its
 * headers: its status, or -1 (closed, or no answer in time). */
int h_raw_status (int fd, int timeout_ms);

/* Send `len` bytes of `req` over a new connection from `from` and read the
 * status (h_raw_status); -1 also when it cannot connect or send. */
int h_raw (const char *from, int port, const char *req, size_t len, int timeout_ms);

/* h_raw of "GET path HTTP/1.1" with "Connection: close". */
int h_raw_get (const char *from, int port, const char *path, int timeout_ms);

/* h_raw from 127.0.0.1 of "METHOD target HTTP/1.1", the target sent as its
 * `tlen` bytes (it may hold a NUL), with "Authorization: VALUE" when
 * `authorization` is not NULL, Content-Length: 0 and "Connection: close". */
int h_raw_request (int port, const char *method, const char *target, size_t tlen,
                   const char *authorization, int timeout_ms);

/* True once the server has closed fd (EOF or reset); false while it is open. */
bool h_raw_closed (int fd);

/* Wait up to timeout_ms for the server to close fd: the ms from `since`
 * (h_now_ms) to the close, or -1 when it is still open. */
long long h_raw_wait_closed (int fd, long long since, int timeout_ms);

/* Wait until GET /health on port answers at all (any status); 0 or -1. */
int h_wait_http (int port, int timeout_ms);

/* Wait until the service `proc` runs answers GET /health on port with its
 * own "pid" (not merely something on that port: another test's service that
 * took the port first would answer too); 0, or -1 on timeout or once the
 * process has exited (a port already in use, a bad config: see its log). */
int h_wait_service (h_proc_t *proc, int port, int timeout_ms);

/* Value of one series in a Prometheus exposition, e.g.
 * h_metric (text, "mds_batches_total{status=\"ok\"}") or a bare name.  NAN when
 * absent. */
double h_metric (const char *exposition, const char *series);

/* One series of a registry in this process (a module under test registered
 * it), read through its exposition; NAN when absent. */
double h_registry_value (mdf_metrics_t *reg, const char *series);

/* Poll it until it is >= min: 0, or -1 after timeout_ms.  For counters
 * another thread bumps just after what the test saw. */
int h_wait_registry_ge (mdf_metrics_t *reg, const char *series, double min, int timeout_ms);

/* GET /metrics and read one series; NAN when absent or unreachable. */
double h_scrape (int port, const char *series);

/* Poll the series until it is >= min (or timeout); returns the last value read
 * (NAN if never seen). */
double h_wait_metric_ge (int port, const char *series, double min, int timeout_ms);

/* Poll until `cond(arg)` is true or the deadline passes; 0 or -1.
 * Polls every 20 ms. */
int h_wait_until (bool (*cond) (void *arg), void *arg, int timeout_ms);

/* Wait up to timeout_ms for *flag (set by another thread) to be non-zero:
 * true when it is.  A thread that should be blocked is "still blocked" when
 * this returns false after a short wait; polls every millisecond. */
bool h_wait_flag (atomic_int *flag, int timeout_ms);

/* SELECT count(*) FROM bars in the SQLite file `db`, read-only with a busy
 * timeout (-1 on error). */
long h_db_rows (const char *db);

/* Milliseconds on the monotonic clock. */
long long h_now_ms (void);

/* Sleep ms milliseconds (through EINTR); for poll loops with a deadline. */
void h_sleep_ms (int ms);

/* A Check suite's main: run every test of `s` (each forked, unless
 * CK_FORK=no), print the results, free; EXIT_SUCCESS when none failed. */
static inline int
h_run_suite (Suite *s)
{
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* h_run_suite for suites that spawn services: h_reaper_open before the
 * tests and h_reaper_reap after, so whatever a failed test left running is
 * stopped and its directories removed (see "Processes left behind"). */
int h_run_suite_reaped (Suite *s);

#endif
