/*
 * app: one running md-store, its parts wired together (as pipeline/app.h is
 * md-pipeline's).
 *
 * Owns, in start order: the metrics registry and the stats, the queue, the
 * sink-speed estimate (sinkrate.h), the producers, the ingest ROUTER (with
 * CurveZMQ when security.curve), the feedback publisher, the webhook thread,
 * the workers (and their sink pinger), the ingest loop (server.h) and, last,
 * the HTTP server (/metrics, /health, /health/live, /health/ready), whose
 * views read the parts above.  Destroyed in the reverse order.
 */
#ifndef STORE_APP_H
#define STORE_APP_H

#include <signal.h>
#include <stddef.h>

#include "store/settings.h"

typedef struct _store_app_t store_app_t;

/* Build and start everything (binds sockets, starts threads and HTTP).
 * `settings` is borrowed and must outlive the app.  NULL with err. */
store_app_t *store_app_new (const store_settings_t *settings, char *err, size_t errlen);

/* Run the ingest loop until *signal_flag is non-zero; returns that signal
 * number and resets the flag to 0 (server_run). */
int store_app_run (store_app_t *self, volatile sig_atomic_t *signal_flag);

/* The running settings (the struct given to store_app_new) hold new LIVE
 * values (mdf_cfg_reload): apply them (log level, webhook, heartbeat and
 * report periods, sink throttle).  Call on the thread that runs
 * store_app_run. */
void store_app_apply_live (store_app_t *self);

/* Drain and stop (server_drain): 0 when every accepted batch was committed
 * and acked, -1 when store.drain_timeout_ms passed first. */
int store_app_drain (store_app_t *self);

/* The HTTP port actually bound (-1 without HTTP). */
int store_app_http_port (const store_app_t *self);

void store_app_destroy (store_app_t **self_p);

#endif
