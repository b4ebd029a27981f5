/*
 * md-pipeline: providers -> token buckets -> acked sender -> md-store, paced by
 * the store's backpressure feedback.  See pipeline/README.md.
 *
 * Table of contents: parse arguments -> load and validate the config (exit 2
 * on error, naming file:line and key) -> take the signals and build the app
 * -> wait for signals (SIGHUP reloads, SIGTERM/SIGINT stop) -> stop: providers
 * stop, batches are flushed and acks awaited (bounded) -> exit 0 when every
 * bar was acked, 1 when some were not (app_stop logs how many), as md-store
 * exits 1 when its drain times out.  What md-store's main does the same way
 * (arguments, --check-config, signals, malloc) is in common/service_main.h:
 * here the main thread sleeps in mdf_service_wait and is the only one that
 * takes the signals.
 */
#include <signal.h>
#include <stdio.h>

#include "common/log.h"
#include "common/service_main.h"
#include "pipeline/app.h"
#include "pipeline/settings.h"

static const mdf_service_t s_service
    = { "md-pipeline",
        "pipeline TOML config (see pipeline/pipeline.toml)",
        true,
        "MDP_FEEDBACK_SCALE_SOFT=0.4",
        "MDP",
        "0 done (every bar acked), 1 runtime failure or stopped with bars\n"
        "not acked within store.drain_timeout_ms, 2 bad usage or config.",
        &pipeline_schema,
        "pipeline.toml" };

/* Wait for signals until SIGTERM/SIGINT; SIGHUP reloads. */
static void
s_run (app_t *app)
{
    int sig;
    while ((sig = mdf_service_wait ()) == SIGHUP) {
        char err[512];
        app_reload (app, err, sizeof err); /* logs either way */
    }
    mdf_service_log_stop (sig);
}

int
main (int argc, char **argv)
{
    mdf_service_init ();
    mdf_service_args_t args;
    int rc = mdf_service_args (&s_service, argc, argv, &args);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    settings_t settings;
    char err[1024];
    if (settings_load (&settings, args.config, args.check ? stdout : NULL, err, sizeof err) < 0) {
        fprintf (stderr, "md-pipeline: %s\n", err);
        settings_free (&settings);
        return 2;
    }
    if (args.check) {
        mdf_service_check_ok (&args);
        settings_free (&settings);
        return 0;
    }
    mdf_service_signals (); /* before any thread starts */
    app_t *app = app_new (&settings, args.config, err, sizeof err);
    if (!app) {
        mdf_error ("cannot start", "error=\"%s\"", err);
        fprintf (stderr, "md-pipeline: %s\n", err);
        return 1;
    }
    s_run (app);
    rc = app_stop (app) == 0 ? 0 : 1;
    app_destroy (&app);
    mdf_info ("stopped", "exit=%d", rc);
    return rc;
}
