/*
 * md-pipeline: providers -> token buckets -> acked sender -> md-store, paced by
 * the store's backpressure feedback.  See pipeline/README.md.
 *
 * Table of contents: parse arguments -> load and validate the config (exit 2
 * on error, naming file:line and key) -> block the signals and build the app
 * -> wait for signals (SIGHUP reloads, SIGTERM/SIGINT stop) -> stop: providers
 * stop, batches are flushed and acks awaited (bounded) -> exit 0 when every
 * bar was acked, 1 when some were not (app_stop logs how many), as md-store
 * exits 1 when its drain times out.
 *
 * Signals are blocked in every thread and taken synchronously with
 * sigtimedwait here, so there is no handler and no global flag.
 */
#include <czmq.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/malloc_tune.h"
#include "pipeline/app.h"
#include "pipeline/settings.h"

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: md-pipeline --config FILE [--check-config]\n"
             "       md-pipeline --version | --help\n\n"
             "  -c, --config FILE   pipeline TOML config (see pipeline/pipeline.toml)\n"
             "      --check-config  validate the config, print the effective settings, exit\n"
             "  -V, --version       print the version\n"
             "  -h, --help          this text and the configuration reference\n\n"
             "Every key can be overridden by MDP_<SECTION>_<KEY>, e.g. MDP_FEEDBACK_SCALE_SOFT.\n"
             "Signals: SIGHUP reloads the keys marked live below; SIGTERM/SIGINT stop.\n"
             "Exit codes: 0 done (every bar acked), 1 runtime failure or stopped with bars\n"
             "not acked within store.drain_timeout_ms, 2 bad usage or config.\n");
}

/* --help: the usage, then every key of pipeline.toml as md-store --help
 * prints its own (the tables the README's configuration reference is
 * generated from). */
static void
s_help (void)
{
    s_usage (stdout);
    printf ("\n");
    mdf_cfg_print_schema_reference (&pipeline_schema, "pipeline.toml", stdout);
}

typedef struct {
    const char *config;
    int check;
} s_args_t;

/* -1: exit 2; 1: exit 0 (help/version); 0: run. */
static int
s_parse_args (int argc, char **argv, s_args_t *a)
{
    static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                          { "check-config", no_argument, NULL, 'k' },
                                          { "version", no_argument, NULL, 'V' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long (argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'k':
            a->check = 1;
            break;
        case 'V':
            printf ("md-pipeline %s\n", MDF_VERSION);
            return 1;
        case 'h':
            s_help ();
            return 1;
        default:
            s_usage (stderr);
            return -1;
        }
    }
    if (optind < argc || !a->config) {
        fprintf (stderr, "md-pipeline: %s\n",
                 a->config ? "unexpected argument" : "--config FILE is required");
        s_usage (stderr);
        return -1;
    }
    return 0;
}

/* Wait for signals until SIGTERM/SIGINT; SIGHUP reloads. */
static void
s_run (app_t *app, const sigset_t *set)
{
    while (true) {
        struct timespec tick = { 1, 0 };
        int sig = sigtimedwait (set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            mdf_info ("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
        if (sig == SIGHUP) {
            char err[512];
            app_reload (app, err, sizeof err);
        }
    }
}

int
main (int argc, char **argv)
{
    mdf_malloc_tune (); /* before any thread starts */
    s_args_t args = { NULL, 0 };
    int rc = s_parse_args (argc, argv, &args);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    settings_t settings;
    char err[1024];
    if (settings_load (&settings, args.config, args.check ? stdout : NULL, err, sizeof err) < 0) {
        fprintf (stderr, "md-pipeline: %s\n", err);
        settings_free (&settings);
        return 2;
    }
    if (args.check) {
        printf ("# %s: config OK\n", args.config);
        settings_free (&settings);
        return 0;
    }

    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    zsys_handler_set (NULL);
    /* Keep the heap, as md-store does (store/main.c): each batch's encoded
     * body is allocated and freed on different threads, and glibc's default
     * trimming after those frees flushes every CPU's TLB batch after batch.
     * The window bounds what is held; freed memory is kept for reuse. */
    mallopt (M_MMAP_THRESHOLD, 32 << 20);
    mallopt (M_TRIM_THRESHOLD, 64 << 20);

    app_t *app = app_new (&settings, args.config, err, sizeof err);
    if (!app) {
        mdf_error ("cannot start", "error=\"%s\"", err);
        fprintf (stderr, "md-pipeline: %s\n", err);
        return 1;
    }
    s_run (app, &set);
    rc = app_stop (app) == 0 ? 0 : 1;
    app_destroy (&app);
    mdf_info ("stopped", "exit=%d", rc);
    return rc;
}
