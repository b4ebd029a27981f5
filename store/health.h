/*
 * health: the JSON answer of GET /health.
 *
 *   {"service":"md-store","state":"ok","version":"0.1.0","components":{
 *     "ingest":{"state":"ok"},                       ok | draining
 *     "queue":{"state":"ok","size":0,"capacity":10000},   ok | soft | hard
 *     "sink":{"state":"ok","type":"sqlite","workers_alive":1,"error":""},
 *                                      ok | failing | down (breaker open or half-open)
 *     "feedback":{"state":"ok","subscribers":1},
 *     "webhook":{"state":"disabled"}}}               disabled | ok | failing
 *
 * Overall state: "draining" after SIGTERM, "down" while the sink breaker is
 * not closed (open, or half-open while a probe runs) or no worker is alive,
 * else "ok".  HTTP 200 when "ok", else 503.
 */
#ifndef STORE_HEALTH_H
#define STORE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/http.h"
#include "proto/proto.h"
#include "store/workers.h"

typedef struct {
    bool draining;
    mdf_level_t level;
    int64_t size, capacity;
    const char *sink_type;
    breaker_state_t breaker;
    const char *sink_error;
    int workers_alive;
    int64_t subscribers;
    const char *webhook;
} health_view_t;

/* Fill `reply` (status, JSON body malloc'd) from `view`. */
void health_render (const health_view_t *view, mdf_http_reply_t *reply);

#endif
