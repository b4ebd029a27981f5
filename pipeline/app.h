/*
 * app: one running md-pipeline, its components wired together.
 *
 * Owns, in start order: the metrics registry, the coordinator (buckets), the
 * policy, the sender (DEALER actor), the feedback actor (SUB), one provider
 * thread per [[providers]] entry, and the HTTP server (/metrics, /health,
 * POST /control/pause|resume|reload).  Stop order is the reverse of the data
 * flow: providers stop taking bars, the sender sends what is batched and waits
 * (bounded by store.drain_timeout_ms) for the acks, then everything is freed.
 *
 * Reload (SIGHUP or POST /control/reload) re-reads the config file and applies
 * what can change live: the policy and its scales, the failsafe level and
 * staleness, every provider's refill_rate, and the log level.  A config that
 * does not load leaves everything as it was.
 */
#ifndef PIPELINE_APP_H
#define PIPELINE_APP_H

#include <stddef.h>

#include "pipeline/settings.h"

typedef struct _app_t app_t;

/* Build and start everything from `settings` (ownership taken, freed by
 * app_destroy even on failure).  `config_path` (copied) is what reload reads.
 * NULL with err on a runtime failure (port in use, bad endpoint, ...). */
app_t *app_new (settings_t *settings, const char *config_path, char *err, size_t errlen);

/* Re-read the config and apply the live keys.  0, or -1 with err. Thread-safe. */
int app_reload (app_t *self, char *err, size_t errlen);

/* Stop providers, flush, wait for acks (bounded by store.drain_timeout_ms).
 * 0 when every bar taken in was acked (or rejected); -1, after logging how
 * many batches and bars are unacked, when the drain timed out. */
int app_stop (app_t *self);

void app_destroy (app_t **self_p);

#endif
