/*
 * service_main: the part of main() md-store and md-pipeline share, so both
 * start, parse, validate and take signals the same way.
 *
 *   mdf_service_init      the malloc set-up (one arena, a heap that is kept),
 *                         before any thread starts;
 *   mdf_service_args      -c/--config FILE, --check-config, -V/--version,
 *                         -h/--help (usage and the configuration reference);
 *                         anything else is bad usage: exit 2;
 *   mdf_service_check_ok  the line --check-config ends with, after the
 *                         settings dump: "# FILE: configuration ok";
 *   signals               ONE way, a handler: SIGTERM, SIGINT and SIGHUP set
 *                         a flag.  mdf_service_signals installs it and blocks
 *                         the three in the calling thread, so every thread
 *                         started afterwards has them blocked; the one thread
 *                         that should take them then either calls
 *                         mdf_service_wait (sleeps in sigsuspend, the
 *                         pipeline's main thread) or mdf_service_unblock and
 *                         watches mdf_service_flag in its own loop (its
 *                         poll(2) returns EINTR: the store's ingest loop).
 *                         SIGPIPE is ignored and czmq's own handler is off.
 */
#ifndef MDF_SERVICE_MAIN_H
#define MDF_SERVICE_MAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/cfg.h"

typedef struct {
    const char *name;               /* "md-store" */
    const char *config_help;        /* what --config FILE is */
    bool config_required;           /* no built-in defaults to run on */
    const char *env_example;        /* "MDS_QUEUE_CAPACITY=20000" */
    const char *env_prefix;         /* "MDS" */
    const char *exit_codes;         /* the usage's "Exit codes:" text */
    const mdf_cfg_schema_t *schema; /* --help's configuration reference */
    const char *config_name;        /* "store.toml" */
} mdf_service_t;

typedef struct {
    const char *config; /* NULL: none given */
    bool check;         /* --check-config */
} mdf_service_args_t;

/* The malloc set-up both services make (common/malloc_tune.h, and a heap
 * kept rather than trimmed); first thing in main. */
void mdf_service_init (void);

/* Parse argv.  0: run with *args; 1: done, exit 0 (--help, --version); 2:
 * bad usage (already reported on stderr), exit 2. */
int mdf_service_args (const mdf_service_t *svc, int argc, char **argv, mdf_service_args_t *args);

/* The usage text (as --help prints it before the reference). */
void mdf_service_usage (const mdf_service_t *svc, FILE *out);

/* After the settings dump of --check-config. */
void mdf_service_check_ok (const mdf_service_args_t *args);

/* Install the handler, block the three signals in this thread (and so in
 * every thread started from here on), ignore SIGPIPE, turn czmq's handler
 * off.  Call before starting any thread. */
void mdf_service_signals (void);

/* Unblock the signals in the calling thread: it alone takes them. */
void mdf_service_unblock (void);

/* The flag the handler sets (the signal number). */
volatile sig_atomic_t *mdf_service_flag (void);

/* Sleep until a signal came (unblocked only while sleeping); returns its
 * number and clears the flag. */
int mdf_service_wait (void);

/* The one log line when a stop signal is taken. */
void mdf_service_log_stop (int sig);

#endif
