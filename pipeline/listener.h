/*
 * listener: the actor that listens to the stores' feedback and rescales the
 * providers' token buckets.
 *
 * The actor thread owns one SUB socket per store of the roster (roster.h;
 * common/sockset.h connects and closes them as stores come and go),
 * subscribed to "feedback.", so it knows which store each event comes from.
 * Each event is decoded (proto/) and fed to the store's entry in the roster
 * (members.h: membership, epochs, seq, the sanity rules), then the policy
 * turns every member into one scale (policy_scale_members: per store for
 * `share`, the aggregate headroom for the others), set on every driven
 * provider's bucket.  The same evaluation also runs every 50 ms, so
 * staleness, forgetting and reloads take effect without an event.
 * Malformed events are counted, logged (rate-limited) and ignored; events
 * the sanity rules refuse are counted by reason.
 *
 * Metrics: sets pipeline_rate_scale_factor{provider} and
 * pipeline_backpressure_state{provider} (0 ok, 1 soft, 2 hard: the worst level
 * among the members; both registered by the caller), and registers
 * pipeline_feedback_queue_depth{source} (source = coordinator_id),
 * mdp_feedback_events_total{level}, mdp_feedback_malformed_total,
 * mdp_feedback_ignored_total{reason=duplicate|old_epoch|foreign|implausible},
 * mdp_feedback_gaps_total, mdp_feedback_restarts_total,
 * mdp_feedback_resyncs_total, mdp_feedback_stale_coordinators,
 * mdp_feedback_failsafe (0/1), mdp_stores{state=live|stale|leaving|candidate},
 * mdp_feedback_apply_delay_seconds (event ts -> scale applied).
 */
#ifndef PIPELINE_LISTENER_H
#define PIPELINE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/coordinator.h"
#include "pipeline/curve.h"
#include "pipeline/policy.h"
#include "pipeline/roster.h"

typedef struct {
    roster_t *roster;        /* borrowed: the stores */
    const char *producer_id; /* [pipeline] id: subscribed as "producer.<id>" (copied) */
    const size_t *driven;    /* provider indices feedback drives */
    size_t ndriven;
    coordinator_t *coord;     /* borrowed */
    policy_t *policy;         /* borrowed */
    mdf_metrics_t *metrics;   /* borrowed, may be NULL */
    const mdp_curve_t *curve; /* NULL or off: plain TCP (copied) */
    /* pipeline_rate_scale_factor and pipeline_backpressure_state of each
     * provider, by index (registered by the caller; entries may be NULL) */
    mdf_gauge_t *const *scale_g, *const *state_g;
    /* NULL, or the bars the live (tick) providers have sent so far: their
     * rate (averaged over about a second) is taken out of what the policy
     * gives the driven providers, so history gets what live leaves */
    uint64_t (*live_bars) (void *arg);
    void *live_arg;
} listener_config_t;

typedef struct _listener_t listener_t;

/* Start the actor.  NULL with err. */
listener_t *listener_new (const listener_config_t *cfg, char *err, size_t errlen);
void listener_destroy (listener_t **self_p);

/* Say goodbye to every store (the pipeline stops): unsubscribe from the
 * producer topics, so the stores stop counting this pipeline at once and
 * give its share to the others, while its last batches are still acked.
 * Thread-safe; returns once the actor has done it. */
void listener_goodbye (listener_t *self);

/* Reload: new failsafe level and staleness; thread-safe, applied on the next tick. */
void listener_set_failsafe (listener_t *self, mdf_level_t failsafe, int64_t stale_after_ms);

/* For /health (thread-safe snapshots). */
typedef struct {
    int level;     /* worst level among the members, 0..2 */
    bool failsafe; /* no member, or a stale one */
    int live, stale, leaving, candidate;
    uint64_t events;
} listener_status_t;
void listener_status (listener_t *self, listener_status_t *out);

/* Milliseconds since the listener thread last turned its loop (at least
 * every 50 ms tick): far more means it is wedged (/health/live). */
int64_t listener_loop_ms_ago (listener_t *self);

#endif
