/*
 * md-store: receives bars, queues them, writes them to a sink, and publishes
 * its backpressure level (docs/ARCHITECTURE.md).  This file is the table of
 * contents: arguments -> settings -> app -> run until a signal -> drain ->
 * exit.  What md-pipeline's main does the same way (arguments,
 * --check-config, signals, malloc) is in common/service_main.h.
 *
 * Exit codes: 0 after a clean drain, 1 runtime failure (cannot bind, drain
 * timed out), 2 bad usage or configuration.
 * Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the live keys; they
 * are taken by the ingest loop (this thread); SIGBUS: store/sigbus.h.
 */
#include <curl/curl.h>
#include <czmq.h>
#include <signal.h>
#include <stdio.h>

#include "common/log.h"
#include "common/service_main.h"
#include "store/app.h"
#include "store/settings.h"
#include "store/sigbus.h"

static const mdf_service_t s_service
    = { "md-store",
        "TOML settings (default: built-in defaults + environment)",
        false,
        "MDS_QUEUE_CAPACITY=20000",
        "MDS",
        "0 drained cleanly, 1 runtime failure or drain timed out, 2 bad usage or config.",
        &store_settings_schema,
        "store.toml" };

static void
s_apply_live (void *arg, const void *running, const mdf_cfg_changes_t *changes)
{
    (void)running;
    (void)changes;
    store_app_apply_live (arg);
}

static void
s_reload (store_app_t *app, const char *path, store_settings_t *running)
{
    mdf_cfg_reloader_t r = { &store_settings_schema,
                             sizeof (store_settings_t),
                             store_settings_load_any,
                             store_settings_free_any,
                             s_apply_live,
                             app };
    char err[1024];
    mdf_cfg_reload (&r, path, running, NULL, err, sizeof err); /* logs either way */
}

/* Run until SIGTERM/SIGINT (SIGHUP reloads), then drain: the exit code. */
static int
s_serve (store_app_t *app, const char *path, store_settings_t *settings)
{
    mdf_service_unblock (); /* the ingest loop takes the signals */
    int sig;
    while ((sig = store_app_run (app, mdf_service_flag ())) == SIGHUP)
        s_reload (app, path, settings);
    mdf_service_log_stop (sig);
    return store_app_drain (app) == 0 ? 0 : 1;
}

int
main (int argc, char **argv)
{
    mdf_service_init ();
    mdf_service_args_t args;
    int rc = mdf_service_args (&s_service, argc, argv, &args);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    store_settings_t settings;
    char err[1024];
    mdf_cfg_t *cfg = store_settings_load (args.config, &settings, err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "md-store: %s\n", err);
        store_settings_free (&settings);
        return 2;
    }
    if (args.check) {
        mdf_cfg_dump_schema (cfg, &store_settings_schema, &settings, stdout);
        mdf_service_check_ok (&args);
    } else {
        mdf_log_level_t level;
        if (mdf_log_level_parse (settings.log_level, &level) == 0)
            mdf_log_set_level (level);
        mdf_service_signals ();
        store_sigbus_install (&settings);
        curl_global_init (CURL_GLOBAL_DEFAULT);
        store_app_t *app = store_app_new (&settings, err, sizeof err);
        if (!app) {
            char q[1100];
            mdf_error ("cannot start", "error=%s", mdf_log_quote (q, sizeof q, err));
            rc = 1;
        } else
            rc = s_serve (app, args.config, &settings);
        store_app_destroy (&app);
        curl_global_cleanup ();
        zsys_shutdown ();
    }
    mdf_cfg_destroy (&cfg);
    store_settings_free (&settings);
    return rc;
}
