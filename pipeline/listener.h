/*
 * listener: the actor that listens to the stores' backpressure and rescales
 * the providers' token buckets.
 *
 * The actor thread owns a SUB socket connected to every [store] feedback
 * endpoint and subscribed to "feedback.".  Each event is decoded (proto/),
 * fed to fbstate (levels, epochs, seq gaps, restarts) and then applied: the
 * worst level over the stores (failsafe for silent or unheard ones) goes
 * through the policy, and the resulting scale is set on every driven
 * provider's bucket.  The same evaluation also runs every 50 ms, so staleness
 * and reloads take effect without an event.  Malformed events are counted,
 * logged (rate-limited) and ignored.
 *
 * Metrics: pipeline_rate_scale_factor{provider}, pipeline_backpressure_state
 * {provider} (0 ok, 1 soft, 2 hard), pipeline_feedback_queue_depth{source}
 * (source = coordinator_id), mdp_feedback_events_total{level},
 * mdp_feedback_malformed_total, mdp_feedback_ignored_total,
 * mdp_feedback_gaps_total (missed events), mdp_feedback_restarts_total,
 * mdp_feedback_stale_coordinators, mdp_feedback_failsafe (0/1),
 * mdp_feedback_apply_delay_seconds (event ts -> scale applied).
 */
#ifndef PIPELINE_LISTENER_H
#define PIPELINE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/curve.h"
#include "pipeline/coordinator.h"
#include "pipeline/policy.h"

typedef struct {
    char *const *endpoints; /* feedback endpoints */
    size_t nendpoints;
    int64_t stale_after_ms;
    mdf_level_t failsafe;
    const size_t *driven; /* provider indices feedback drives */
    size_t ndriven;
    const char *const *providers; /* names, by index (for labels) */
    size_t nproviders;
    coordinator_t *coord;     /* borrowed */
    policy_t *policy;         /* borrowed */
    mdf_metrics_t *metrics;   /* borrowed, may be NULL */
    const mdp_curve_t *curve; /* NULL or off: plain TCP (copied) */
} listener_config_t;

typedef struct _listener_t listener_t;

/* Start the actor.  NULL with err (bad endpoint, ...). */
listener_t *listener_new (const listener_config_t *cfg, char *err, size_t errlen);
void listener_destroy (listener_t **self_p);

/* Reload: new failsafe level and staleness; thread-safe, applied on the next tick. */
void listener_set_failsafe (listener_t *self, mdf_level_t failsafe, int64_t stale_after_ms);

/* For /health (thread-safe snapshots). */
typedef struct {
    int level;     /* driving level, 0..2 */
    bool failsafe; /* a store counts as failsafe */
    int stale;     /* stores silent too long */
    int unheard;   /* stores never heard */
    uint64_t events;
} listener_status_t;
void listener_status (listener_t *self, listener_status_t *out);

#endif
