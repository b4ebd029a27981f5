/*
 * webhook: POST each level change as JSON to an HTTP endpoint, from a thread
 * of its own, so a slow or dead webhook never slows ingestion.
 *
 * webhook_notify formats the JSON and appends it to a small bounded queue
 * (never blocks; when the queue is full the event is dropped and counted).
 * The thread POSTs one at a time with libcurl, Content-Type application/json,
 * with the configured timeout; a non-2xx answer or a transport error counts as
 * an error.  There is no retry: the next level change carries the new state.
 *
 *   {"coordinator_id":"bars-coordinator","epoch":1763850000000,"seq":7,
 *    "level":"soft","previous":"ok","queue_size":6100,"capacity":10000,
 *    "reason":"watermark","ts":1763850001.25}
 *
 * Reconfigurable live (SIGHUP): webhook_configure swaps enabled/url/timeout.
 * curl_global_init must have been called by main.
 */
#ifndef STORE_WEBHOOK_H
#define STORE_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"
#include "store/stats.h"

typedef struct _webhook_t webhook_t;

typedef struct {
    const char *coordinator_id;
    int64_t epoch;
    uint64_t seq;
    mdf_level_t level, previous;
    int64_t queue_size, capacity;
    const char *reason;
} webhook_event_t;

/* Start the thread.  `stats` borrowed; strings copied.  NULL on failure. */
webhook_t *webhook_new (bool enabled, const char *url, int64_t timeout_ms, int64_t queue_max,
                        stats_t *stats);

/* Change the settings (takes effect for the next POST). */
void webhook_configure (webhook_t *self, bool enabled, const char *url, int64_t timeout_ms);

/* Queue one event (no-op when disabled).  Never blocks. */
void webhook_notify (webhook_t *self, const webhook_event_t *ev);

/* "disabled", "ok" (last POST succeeded or none yet), "failing". Thread-safe. */
const char *webhook_state (webhook_t *self);

/* Wait (up to timeout_ms) until queued POSTs are done, then stop the thread. */
void webhook_destroy (webhook_t **self_p, int timeout_ms);

#endif
