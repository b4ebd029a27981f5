/*
 * server: md-store assembled.  Owns the queue, the workers, the feedback
 * publisher, the webhook, the HTTP server and the ingest ROUTER, and runs the
 * ingest thread's loop (the thread that calls server_run owns every ZeroMQ
 * socket except the workers' PUSH sockets).
 *
 * The loop polls: the done socket (worker completions -> "ok" acks; first, so
 * room frees before new batches are judged), the ROUTER (batches -> reject,
 * retry or queue), the XPUB (subscriptions -> "subscribe" event), and wakes at
 * least every 100 ms for heartbeats, level changes and the signal flag.
 * After every push and every completion the queue's level is compared with the
 * last one published; a change is published (reason "watermark") and POSTed to
 * the webhook.  When the sink's circuit breaker opens, an event with reason
 * "sink_down" is published once.
 *
 * Answers (proto/README.md, "Ack"):
 *   "rejected": a bar breaks a rule (error names the bar index), a malformed
 *               body whose batch_seq could still be read, or a batch larger
 *               than the whole queue capacity (it could never fit);
 *   "retry":    the batch does not fit now, or the store is draining;
 *   "ok":       after the worker committed it (an empty batch at once).
 * Messages that are not one body frame, empty bodies and bodies without a
 * readable batch_seq get no answer (there is nothing to name); they are
 * counted in mds_ingest_malformed_total{reason} and logged rate-limited.
 */
#ifndef STORE_SERVER_H
#define STORE_SERVER_H

#include <signal.h>

#include "store/settings.h"

typedef struct _server_t server_t;

/* Build and start everything (binds sockets, starts threads and HTTP).
 * `settings` is borrowed and must outlive the server.  NULL with err. */
server_t *server_new (const store_settings_t *settings, char *err, size_t errlen);

/* Serve until *signal_flag is non-zero; returns that signal number and resets
 * the flag to 0. */
int server_run (server_t *self, volatile sig_atomic_t *signal_flag);

/* The running settings (the struct given to server_new) hold new LIVE values
 * (mdf_cfg_reload): apply them (log level, webhook, heartbeat and report
 * periods, sink throttle).  Call on the thread that runs server_run. */
void server_apply_live (server_t *self);

/* Stop taking batches ("retry"), drain the queue into the sink and ack every
 * committed batch, publish the "shutdown" event.  0 when everything was
 * committed and acked; -1 when drain_timeout_ms passed first (the rest is
 * left unacked: producers resend it). */
int server_drain (server_t *self);

/* The HTTP port actually bound (-1 without HTTP). */
int server_http_port (const server_t *self);

void server_destroy (server_t **self_p);

#endif
