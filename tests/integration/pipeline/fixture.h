/*
 * fixture: start md-pipeline against a stand-in store for one test.
 *
 * fx_start writes a pipeline.toml into a fresh temp dir (ports chosen free,
 * `extra` TOML appended, `provider` as the [[providers]] table), spawns the
 * binary with `env`, and waits for its HTTP port.  fx_stop sends SIGTERM and
 * returns the exit code (-1 when the test already stopped the process and
 * set proc.pid = 0); everything started is stopped by PID.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stdbool.h>

#include "standin.h"
#include "tests/integration/harness.h"

typedef struct {
    char *dir;
    char *config;
    int ingest_port, feedback_port, http_port;
    h_proc_t proc;
    standin_t *store;
} fx_t;

#define FX_SYNTHETIC                                                                               \
    "[[providers]]\nname = \"syn\"\ntype = \"synthetic\"\ncapacity = 50\n"                         \
    "refill_rate = 2000\nsymbols = [\"AAA\", \"BBB\"]\n"

/* `store_tuning` replaces the default [store] tuning lines, `feedback_section`
 * the default [feedback] table (the step policy, whose scales the stand-in's
 * levels test directly), `providers` the [[providers]] tables (each
 * may be NULL for the defaults); `env` adds KEY=VALUE strings. */
void fx_start (fx_t *fx, const char *store_tuning, const char *feedback_section,
               const char *providers, char *const env[]);
int fx_stop (fx_t *fx);

/* Scrape one series (NAN when absent). */
double fx_metric (fx_t *fx, const char *series);

/* Wait until |series - value| <= tol; returns true on success. */
bool fx_wait_metric (fx_t *fx, const char *series, double value, double tol, int timeout_ms);

/* Bars/s the stand-in stored (distinct) over window_ms, measured now. */
double fx_measure_rate (fx_t *fx, int window_ms);

/* POST path, return the HTTP status. */
int fx_post (fx_t *fx, const char *path);

/* Rewrite the pipeline's config file: the first `from` becomes `to` (fails
 * the test when `from` is not there). */
void fx_edit_config (fx_t *fx, const char *from, const char *to);

#endif
