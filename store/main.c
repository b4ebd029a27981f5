/*
 * md-store: receives bars, queues them, writes them to a sink, and publishes
 * its backpressure level (docs/ARCHITECTURE.md).  This file is the table of contents:
 * arguments -> settings -> server -> run until a signal -> drain -> exit.
 *
 * Exit codes: 0 after a clean drain, 1 runtime failure (cannot bind, drain
 * timed out), 2 bad usage or configuration.
 * Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the live keys.
 * The signal flag is the program's only global.
 */
#include <curl/curl.h>
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "store/server.h"
#include "store/settings.h"

static volatile sig_atomic_t s_signal = 0;

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
            mdf_cfg_print_schema_reference (&store_settings_schema, "store.toml", stdout);
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
s_apply_live (void *arg, const void *running, const mdf_cfg_changes_t *changes)
{
    (void)running;
    (void)changes;
    server_apply_live (arg);
}

static void
s_reload (server_t *server, const char *path, store_settings_t *running)
{
    mdf_cfg_reloader_t r = { &store_settings_schema,
                             sizeof (store_settings_t),
                             store_settings_load_any,
                             store_settings_free_any,
                             s_apply_live,
                             server };
    char err[1024];
    mdf_cfg_reload (&r, path, running, NULL, err, sizeof err); /* logs either way */
}

int
main (int argc, char **argv)
{
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
            s_reload (server, path, &settings);
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
