/*
 * health: the JSON answers of GET /health, /health/live and /health/ready.
 *
 * Liveness: the process works.  The ingest thread stamps every turn of its
 * loop (it turns at least every 100 ms); live while the last stamp is less
 * than HEALTH_WEDGED_MS old.  A store whose sink is down is still live:
 * restarting it would not help and would drop its queue.
 *
 * Readiness: the store can take bars and commit them.  Not ready, with the
 * first reason that applies:
 *   draining          after SIGTERM (new batches get "retry")
 *   no_worker         no sink worker thread alive
 *   sink_down         the circuit breaker is open or half-open
 *   sink_failing      a write failed and is being retried
 *   sink_unreachable  the last sink check (ping) failed, or none succeeded
 *                     for 3 ping periods
 *   sink_starting     the first sink check has not finished
 *
 * GET /health, the summary:
 *   {"service":"md-store","state":"ok","version":"0.1.0","pid":4711,"live":true,
 *    "ready":true,"reason":"","components":{
 *     "ingest":{"state":"ok","loop_ms_ago":12},       ok | draining | wedged
 *     "queue":{"state":"ok","size":0,"capacity":10000},   ok | soft | hard
 *     "sink":{"state":"ok","type":"sqlite","reachable":true,"last_ok_ms_ago":812,
 *             "breaker":"closed","failing_writes":0,"workers_alive":1,"error":""},
 *                   ok | starting | unreachable | failing | down (breaker not closed)
 *     "feedback":{"state":"ok","subscribers":1},
 *     "webhook":{"state":"disabled"}}}               disabled | ok | failing
 * state: "draining" after SIGTERM, "wedged" when not live, "starting" before
 * the first sink check, "down" when otherwise not ready, else "ok".  HTTP 200
 * when "ok", else 503.
 *
 * /health/live:  {"service":"md-store","live":true,"loop_ms_ago":12}, 200 or 503.
 * /health/ready: {"service":"md-store","ready":false,"reason":"sink_unreachable",
 *                 "error":"postgres connect: ..."}, 200 or 503.
 */
#ifndef STORE_HEALTH_H
#define STORE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/http.h"
#include "proto/proto.h"
#include "store/workers.h"

/* The ingest loop is wedged when it has not turned for this long. */
#define HEALTH_WEDGED_MS 10000

typedef struct {
    bool draining;
    int64_t loop_ms_ago; /* since the ingest loop last turned */
    mdf_level_t level;
    int64_t size, capacity;
    const char *sink_type;
    workers_health_t sink;
    int64_t subscribers;
    const char *webhook;
} health_view_t;

/* Fill `reply` (status, JSON body malloc'd) from `view`. */
void health_render (const health_view_t *view, mdf_http_reply_t *reply);
void health_render_live (const health_view_t *view, mdf_http_reply_t *reply);
void health_render_ready (const health_view_t *view, mdf_http_reply_t *reply);

/* NULL when ready, else the reason (see above). */
const char *health_not_ready (const health_view_t *view);

#endif
