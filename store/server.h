/*
 * server: md-store's ingest loop.  It borrows the parts store/app.c builds
 * (the queue, the workers, the feedback publisher, the webhook and the ingest
 * ROUTER) and owns only the loop's own state (the inflight table, timers, the
 * level last published, the draining flag).  The thread that calls
 * server_run owns every ZeroMQ socket except the workers' PUSH sockets.
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

#include <czmq.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/sinkrate.h"
#include "store/producers.h"
#include "store/publisher.h"
#include "store/queue.h"
#include "store/settings.h"
#include "store/stats.h"
#include "store/webhook.h"
#include "store/workers.h"

typedef struct _server_t server_t;

/* What the loop works on, built by store/app.c; all borrowed, and all must
 * outlive the server. */
typedef struct {
    const store_settings_t *settings;
    stats_t *stats;
    queue_t *queue;
    sinkrate_t *sinkrate;
    producers_t *producers;
    workers_t *workers;
    publisher_t *publisher;
    webhook_t *webhook;
    zsock_t *router;
} server_parts_t;

/* NULL when out of memory. */
server_t *server_new (const server_parts_t *parts);

/* Serve until *signal_flag is non-zero; returns that signal number and resets
 * the flag to 0. */
int server_run (server_t *self, volatile sig_atomic_t *signal_flag);

/* The settings hold new LIVE values: restart the heartbeat and report periods
 * from now.  Call on the thread that runs server_run. */
void server_apply_live (server_t *self);

/* Stop taking batches ("retry"), publish the "draining" event, drain the
 * queue into the sink and ack every committed batch, join the workers,
 * publish the "shutdown" event.  0 when everything was committed and acked;
 * -1 when drain_timeout_ms passed first (the rest is left unacked: producers
 * resend it). */
int server_drain (server_t *self);

/* For other threads (the health views): whether server_drain began, and the
 * milliseconds since the loop last turned. */
bool server_draining (server_t *self);
int64_t server_loop_age_ms (server_t *self);

void server_destroy (server_t **self_p);

#endif
