/*
 * provider: one thread per [[providers]] entry.  Live tick providers (exec,
 * zmq, tick_csv) are pipeline/live.h's; the rest of this comment is about
 * the paced ones (synthetic, csv), pulling bars from their source
 * at the pace its token bucket allows and handing them to the sender.
 *
 * Loop: coordinator_acquire (n tokens; blocks while paused, cooling down,
 * behind an open breaker or out of tokens) -> sender_reserve (blocks while
 * the send window is full) -> source_next writes the bars into the open batch
 * -> sender_commit -> coordinator_done, so a pause can wait until the bars
 * already paid for have reached the sender.  A source error is reported to
 * the coordinator (cooldown, then breaker) and logged; a finite source that ends
 * (csv without loop) ends the thread with state "done".  The thread exits when
 * the coordinator shuts down or the sender closes its input.
 *
 * Metrics: mdp_provider_errors_total{provider}, mdp_provider_state{provider}
 * (0 running, 1 cooldown, 2 breaker open, 3 done), mdp_csv_bad_rows_total{provider}.
 */
#ifndef PIPELINE_PROVIDER_H
#define PIPELINE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/coordinator.h"
#include "pipeline/sender.h"
#include "pipeline/settings.h"

typedef struct _provider_t provider_t;

/* Start the thread for provider `idx` described by `ps` (copied as needed);
 * `journal` ([journal], may be NULL: none) is for the live ones.
 * coord and sender are borrowed and must outlive the provider.  NULL with err. */
provider_t *provider_new (const provider_settings_t *ps, size_t idx, coordinator_t *coord,
                          sender_t *sender, mdf_metrics_t *metrics,
                          const journal_settings_t *journal, char *err, size_t errlen);

/* A live provider (exec, zmq, tick_csv: pipeline/live.h) stops reading its
 * source and hands its open bars to the sender; paced ones stop with
 * coordinator_shutdown.  Returns at once. */
void provider_stop (provider_t *self);

/* Wait up to timeout_ms for a live provider's open bars to be handed on
 * after provider_stop: true when they were (always for paced providers). */
bool provider_wait (provider_t *self, int64_t timeout_ms);

/* Wait for the thread to end (call coordinator_shutdown / sender_close_input
 * first).  The provider stays readable (provider_state) until destroyed. */
void provider_join (provider_t *self);

/* Join the thread if still running, and free. */
void provider_destroy (provider_t **self_p);

/* "running", "cooldown", "breaker_open", "done" or "stopped". */
const char *provider_state (provider_t *self);

/* A live provider's journal: live_journal_state; "off" for the others. */
const char *provider_journal_state (provider_t *self, char *error, size_t errlen);

#endif
