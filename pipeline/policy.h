/*
 * policy: turns a backpressure level into a rate scale for the token buckets.
 *
 * A policy is a small vtable (policy_ops_t) chosen by name from a table, so new
 * policies (linear in queue fill, AIMD, a PI controller aiming at a target
 * fill) plug in without touching the feedback handler: each gets the level,
 * the queue fill in [0, 1] and the monotonic time, and may keep state.
 * The table holds (issue 6):
 *  - `step`: ok/soft/hard -> scale_ok/scale_soft/scale_hard (stateless);
 *  - `linear`: scale falls linearly with the fill from scale_ok at low_fill to
 *    scale_hard at high_fill;
 *  - `aimd`: +increase_step every interval_ms while ok, x decrease_ratio at
 *    once on entering soft and every interval_ms while soft (floor min_scale);
 *  - `target`: a PI controller (velocity form, so the integrator is the
 *    clamped output itself: no windup) holding the fill near target_fill,
 *    updated every interval_ms, output in [min_scale, scale_ok].
 * For the three controllers, level hard means scale_hard at once.
 *
 * Shaping, common to every policy (defaults make it a no-op, so `step`
 * behaves as before): a decrease applies at once; an increase waits until
 * min_dwell_ms have passed since the last change and is at most max_step
 * (0 = unlimited) per update ("react fast, recover slow").  Failsafe (a
 * silent store) wins: the controllers are frozen and the output is at most
 * the failsafe level's step scale; `step` maps the failsafe level as before.
 * Switching policy live keeps the current output as the new controller's
 * starting point, so a reload never makes the rate jump up.
 *
 * A level that is not ok/soft/hard (for instance POLICY_LEVEL_FAILSAFE) maps
 * through the configured failsafe level, so garbage can never speed a provider up.
 *
 * Thread-safe: policy_update (reload, from the HTTP or main thread) and
 * policy_scale (feedback thread) take an internal mutex.
 */
#ifndef PIPELINE_POLICY_H
#define PIPELINE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Any level outside ok/soft/hard means "use the failsafe level". */
#define POLICY_LEVEL_FAILSAFE (-1)

typedef struct {
    double scale_ok, scale_soft, scale_hard; /* each in [0, 1] */
    mdf_level_t failsafe;                    /* level assumed when unsure */
    /* issue 6; 0 means "default" for interval_ms, decrease_ratio,
     * increase_step, target_fill, high_fill; max_step 0 = unlimited. */
    int64_t interval_ms;        /* aimd/target update period (default 200) */
    double decrease_ratio;      /* aimd: multiplier on soft (default 0.5) */
    double increase_step;       /* aimd: added per interval while ok (default 0.05) */
    double target_fill;         /* target: wanted queue_size/capacity (default 0.2) */
    double kp, ki;              /* target: PI gains per unit of fill (ki per second) */
    double min_scale;           /* aimd/target: lowest output outside hard */
    double low_fill, high_fill; /* linear: fill where the fall starts/ends */
    int64_t min_dwell_ms;       /* no increase sooner than this after a change */
    double max_step;            /* largest increase per update (0 = unlimited) */
} policy_params_t;

typedef struct {
    const char *name;
    /* Scale in [0, 1] for a known level (ok/soft/hard).  `state` is the
     * policy's own (NULL for stateless ones). */
    double (*scale) (const policy_params_t *params, void *state, mdf_level_t level, double fill,
                     int64_t now_ns);
    void *(*state_new) (double start); /* may be NULL; start = current output */
    void (*state_free) (void *st);     /* may be NULL */
} policy_ops_t;

typedef struct _policy_t policy_t;

/* True when `name` names a known policy. */
int policy_known (const char *name);

/* Comma-separated list of known names (static string), for error messages. */
const char *policy_names (void);

/* New policy `name` with `params` (copied).  NULL with err on an unknown name. */
policy_t *policy_new (const char *name, const policy_params_t *params, char *err, size_t errlen);

void policy_destroy (policy_t **self_p);

/* Replace name and parameters (reload).  0, or -1 with err (policy unchanged). */
int policy_update (policy_t *self, const char *name, const policy_params_t *params, char *err,
                   size_t errlen);

/* Scale for `level` (an mdf_level_t, or anything else meaning failsafe) with
 * queue fill `fill` in [0, 1] at monotonic time now_ns.  Always in [0, 1]. */
double policy_scale (policy_t *self, int level, double fill, int64_t now_ns);

/* Same, with `failsafe` true when the level comes from a silent/unheard
 * store (fbstate_view_t.failsafe): controllers freeze and the output is at
 * most the step scale of `level`.  policy_scale(level) is policy_scale_ex
 * with failsafe = (level is not ok/soft/hard). */
double policy_scale_ex (policy_t *self, int level, double fill, int failsafe, int64_t now_ns);

/* The level actually used for `level` (resolves failsafe/unknown). */
mdf_level_t policy_resolve (policy_t *self, int level);

#endif
