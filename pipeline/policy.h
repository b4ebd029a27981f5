/*
 * policy: turns a backpressure level into a rate scale for the token buckets.
 *
 * A policy is a small vtable (policy_ops_t) chosen by name from a table, so new
 * policies (linear in queue fill, AIMD, a PI controller aiming at a target
 * fill) plug in without touching the feedback handler: each gets the level,
 * the queue fill in [0, 1] and the monotonic time, and may keep state.
 * Today's table holds `step`: ok/soft/hard -> scale_ok/scale_soft/scale_hard.
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
} policy_params_t;

typedef struct {
    const char *name;
    /* Scale in [0, 1] for a known level (ok/soft/hard).  `state` is the
     * policy's own (NULL for stateless ones). */
    double (*scale) (const policy_params_t *params, void *state, mdf_level_t level, double fill,
                     int64_t now_ns);
    void *(*state_new) (void);     /* may be NULL */
    void (*state_free) (void *st); /* may be NULL */
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

/* The level actually used for `level` (resolves failsafe/unknown). */
mdf_level_t policy_resolve (policy_t *self, int level);

#endif
