/*
 * md-store: receives bars, queues them, writes them to a sink, and publishes
 * its backpressure level (DESIGN.md).  This file is the table of contents:
 * arguments -> settings -> server -> run until a signal -> drain -> exit.
 *
 * Exit codes: 0 after a clean drain, 1 runtime failure (cannot bind, drain
 * timed out), 2 bad usage or configuration.
 * Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the live keys.
 * The signal flag is the program's only global.
 */
#include <curl/curl.h>
#include <czmq.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/server.h"
#include "store/settings.h"

static volatile sig_atomic_t s_signal = 0;

/* One malloc arena for every thread instead of one per thread (glibc makes
 * up to 8 per core): each arena keeps its own free memory, and the services'
 * threads allocate little and rarely at once.  Measured with bench/memory.sh:
 * 0.1-0.15 MiB less private memory idle and 0.2 MiB less after a minute of
 * overload, in each service; no change in throughput could be seen.
 * MALLOC_ARENA_MAX in the environment, when set, wins. */
static void
s_tune_malloc (void)
{
#ifdef M_ARENA_MAX /* glibc */
    if (!getenv ("MALLOC_ARENA_MAX"))
        mallopt (M_ARENA_MAX, 1);
#endif
}

static void
s_on_signal (int sig)
{
    s_signal = sig;
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: md-store [--config FILE] [--check-config] [--version] [--help]\n\n"
                  "  --config FILE    TOML settings (default: built-in defaults + environment)\n"
                  "  --check-config   validate the settings, print them with their origin, exit\n"
                  "  --version        print the version\n"
                  "  --help           this text and the configuration reference\n\n"
                  "Every key can be overridden by MDS_<SECTION>_<KEY>, e.g. "
                  "MDS_QUEUE_CAPACITY=20000.\n\n");
}

static void
s_install_signals (void)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: the poll wakes up */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}

/* Parse argv; returns -1 to exit 0 (help/version), 2 on bad usage, else 0. */
static int
s_args (int argc, char **argv, const char **config, bool *check)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--config") && i + 1 < argc)
            *config = argv[++i];
        else if (!strncmp (argv[i], "--config=", 9))
            *config = argv[i] + 9;
        else if (!strcmp (argv[i], "--check-config"))
            *check = true;
        else if (!strcmp (argv[i], "--version")) {
            printf ("md-store %s\n", MDF_VERSION);
            return -1;
        } else if (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h")) {
            s_usage (stdout);
            mdf_cfg_print_reference (store_settings_table, store_settings_count, "MDS", stdout);
            return -1;
        } else {
            fprintf (stderr, "md-store: unexpected argument '%s'\n", argv[i]);
            s_usage (stderr);
            return 2;
        }
    }
    return 0;
}

static void
s_reload (server_t *server, const char *path)
{
    store_settings_t fresh;
    char err[1024];
    mdf_cfg_t *cfg = store_settings_load (path, &fresh, err, sizeof err);
    if (cfg)
        server_reload (server, &fresh);
    else {
        char q[1100];
        mdf_error ("reload failed, keeping the running configuration", "error=%s",
                   mdf_log_quote (q, sizeof q, err));
    }
    mdf_cfg_destroy (&cfg);
    store_settings_free (&fresh);
}

int
main (int argc, char **argv)
{
    s_tune_malloc (); /* before any thread starts */
    const char *path = NULL;
    bool check = false;
    int rc = s_args (argc, argv, &path, &check);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    store_settings_t settings;
    char err[1024];
    mdf_cfg_t *cfg = store_settings_load (path, &settings, err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "md-store: %s\n", err);
        store_settings_free (&settings);
        return 2;
    }
    if (check) {
        mdf_cfg_dump (cfg, &settings, stdout);
        printf ("# configuration ok\n");
        mdf_cfg_destroy (&cfg);
        store_settings_free (&settings);
        return 0;
    }
    mdf_log_level_t level;
    if (mdf_log_level_parse (settings.log_level, &level) == 0)
        mdf_log_set_level (level);
    zsys_handler_set (NULL); /* our handler, not czmq's */
    s_install_signals ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
    server_t *server = server_new (&settings, err, sizeof err);
    if (!server) {
        char q[1100];
        mdf_error ("cannot start", "error=%s", mdf_log_quote (q, sizeof q, err));
        rc = 1;
    } else {
        int sig;
        while ((sig = server_run (server, &s_signal)) == SIGHUP)
            s_reload (server, path);
        mdf_info ("signal received, shutting down", "signal=%s", sig == SIGINT ? "INT" : "TERM");
        rc = server_drain (server) == 0 ? 0 : 1;
        server_destroy (&server);
    }
    mdf_cfg_destroy (&cfg);
    store_settings_free (&settings);
    curl_global_cleanup ();
    zsys_shutdown ();
    return rc;
}
