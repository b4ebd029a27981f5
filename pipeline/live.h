/*
 * live: a provider of live ticks (type exec, zmq or tick_csv), turned into
 * bars in event time and handed to the sender ahead of history.
 *
 * Each live provider is one thread running a common/loop.h loop with a tick
 * source on it:
 *  - exec: `command` (argv, no shell) is started with its stdout and stderr
 *    on pipes; stdout is read line by line in `format` (csv: a header line
 *    first, or ndjson), stderr goes to the log (rate-limited).  The child
 *    gets PR_SET_PDEATHSIG (SIGKILL), so it dies with the pipeline.  When the
 *    child exits (or closes its stdout) it is a provider failure: it is
 *    started again after the provider's cooldown, and `breaker_threshold`
 *    failures in a row open the breaker for breaker_timeout_ms.  On stop the
 *    child gets SIGTERM, its output is read until it ends, and it gets
 *    SIGKILL if it is still there stop_grace_ms later.
 *  - zmq: a SUB socket connected to `endpoint`, subscribed to `topic`; each
 *    message is one tick as a msgpack map (proto/README.md); the last frame
 *    is the body, earlier frames (a topic) are ignored.
 *  - tick_csv: the tick CSV file `path`, replayed with a time warp: a tick
 *    whose ts is d after the file's first is handed on d / speed after the
 *    start (speed 0: as fast as possible).  The quiet-feed close runs in the
 *    file's own time, so a replay aggregates exactly as the live feed did,
 *    at any speed.  The end of the file closes every open bar; the provider
 *    is then "done".
 *
 * Ticks are read by proto/tick.h (the same keys and ts rules in every form);
 * a bad tick is skipped, counted (mdp_ticks_bad_total) and logged with its
 * line or message number, rate-limited.  Good ticks go through the
 * pipeline/tickbar.h operator (bar_interval, grace_ms, late_ms); each bar it
 * closes, or corrects, goes to the sender as a bar of this provider, which is
 * marked live (batcher.h: sealed, taken and sent first).  Nothing paces a
 * live provider: while the send window is full the thread waits, the source
 * is not read, and the child's pipe (or the SUB's high-water mark) fills.
 *
 * Metrics (label provider): mdp_ticks_total, mdp_ticks_bad_total,
 * mdp_ticks_late_total, mdp_ticks_dropped_total, mdp_live_bars_total,
 * mdp_live_corrections_total, mdp_live_lag_seconds (wall clock minus the end
 * of the last bar closed), mdp_live_open_bars, mdp_live_restarts_total (exec).
 */
#ifndef PIPELINE_LIVE_H
#define PIPELINE_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/metrics.h"
#include "pipeline/coordinator.h"
#include "pipeline/sender.h"
#include "pipeline/settings.h"

typedef struct _live_t live_t;

/* Start provider `idx` (a live type) on its own thread.  coord (cooldown and
 * breaker) and sender are borrowed.  NULL with err. */
live_t *live_new (const provider_settings_t *ps, size_t idx, coordinator_t *coord, sender_t *sender,
                  mdf_metrics_t *metrics, const journal_settings_t *journal, char *err,
                  size_t errlen);

/* Ask the thread to stop: the source is closed (the child gets SIGTERM)
 * and every open bar is closed and handed to the sender.  Returns at once. */
void live_stop (live_t *self);

/* Wait up to timeout_ms for the thread to finish after live_stop: true when
 * it has (the open bars were handed on). */
bool live_wait (live_t *self, int64_t timeout_ms);

/* Join (after live_stop; call sender_close_input first if live_wait timed
 * out) and free. */
void live_destroy (live_t **self_p);

/* The journal: "off" (none: tick_csv, or journal.dir empty), "ok", "full"
 * (the source waits for acks to free room) or "error" (a disk error, its text
 * in error; the source waits).  Any thread. */
const char *live_journal_state (live_t *self, char *error, size_t errlen);

/* "running", "cooldown", "breaker_open", "done" or "stopped". */
const char *live_state (live_t *self);

#endif
