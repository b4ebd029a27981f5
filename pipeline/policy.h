/*
 * policy: turns a backpressure level into a rate scale for the token buckets.
 *
 * A policy is a small vtable (policy_ops_t) chosen by name from a table, so new
 * policies (linear in queue fill, AIMD, a PI controller aiming at a target
 * fill, a share of each store's sink) plug in without touching the listener
 * (pipeline/listener.h): each gets the level, the queue fill in [0, 1] and
 * the monotonic time, and may keep state.  The table (policy_name_list)
 * holds:
 *  - `share`, the default ([feedback] policy): from every store's event
 *    (policy_scale_members, one policy_member_t per store), this pipeline's
 *    share of each store's service_rate plus a correction towards a queue of
 *    target_delay_ms of sink time, summed over the stores, minus the live
 *    bars the pipeline sends unpaced (policy_input_t.live)
 *    (docs/ARCHITECTURE.md, "The share policy"); with one store known only
 *    by its level it is the step map;
 *  - `step`: ok/soft/hard -> scale_ok/scale_soft/scale_hard (stateless);
 *  - `linear`: scale falls linearly with the fill from scale_ok at low_fill to
 *    scale_hard at high_fill;
 *  - `aimd`: +increase_step every interval_ms while ok, x decrease_ratio at
 *    once on entering soft and every interval_ms while soft (floor min_scale);
 *  - `target`: a PI controller holding the fill near target_depth, updated
 *    every interval_ms, output in [min_scale, scale_ok]; see "target" below.
 * For the controllers (aimd, target, share), level hard means scale_hard at
 * once.
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
 * target, in full (positional PI, e = target_depth - fill, every interval_ms):
 *    i += ki * e * interval;  scale = clamp(kp * e + i, min_scale, scale_ok)
 *  - i is the scale held at zero error (the controller's estimate of what the
 *    sink takes), kept in [min_scale, scale_ok].  It moves only until the
 *    output reaches a clamp, never further into it, and not upwards while
 *    the shaping or the failsafe held the output below what was asked
 *    (conditional integration: no windup; after a sink outage the scale
 *    comes back near where it was, not at min_scale and not above).
 *  - Below POLICY_TARGET_EMPTY x the target the queue is nearly empty: the
 *    sink may have got faster, or nothing is being sent (a paused or bursty
 *    provider).  The controller cannot tell which, so there i grows by at
 *    most POLICY_TARGET_PROBE x the scale per second instead of ki * e: an
 *    idle pause does not wind the scale up into a burst at the next resume,
 *    and a faster sink is still found, more slowly.
 *  - Slow start: a new target policy starts at min_scale (at least
 *    POLICY_TARGET_START_MIN), before the store is even heard, and doubles
 *    every POLICY_TARGET_DOUBLING_MS (at most x sqrt 2 per update) until
 *    the queue grows (two readings above 0 and rising), reaches the target,
 *    or the level leaves ok; then it halves (the queue shows an excess one
 *    loop delay old) and the PI goes on from there.  A pipeline starting at
 *    full scale would overfill the queue before the first event came back.
 *    A live switch to target starts from the current output instead (no
 *    slow start, never above it).
 *  - Level hard: scale_hard at once, i kept.
 * Gains are per unit of fill, so the loop gain is kp x refill_rate /
 * capacity (bars): the defaults (target_depth 0.1, kp 0.5, ki 1) are tuned
 * for a provider asking 10x what the sink takes and a queue draining in 2 s
 * (bench/controllers/README.md); a provider asking much more needs smaller
 * gains (or interval_ms), and a queue reported less often than every 100 ms
 * (the store's [feedback] report_ms) a longer interval_ms.

 * A level that is not ok/soft/hard (for instance POLICY_LEVEL_FAILSAFE) maps
 * through the configured failsafe level, so garbage can never speed a provider up.
 *
 * Thread-safe: policy_update (reload, from the HTTP or main thread) and
 * policy_scale / policy_scale_members (the listener's thread) take an
 * internal mutex.
 */
#ifndef PIPELINE_POLICY_H
#define PIPELINE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Any level outside ok/soft/hard means "use the failsafe level". */
#define POLICY_LEVEL_FAILSAFE (-1)

/* The [feedback] keys of pipeline/settings.c, which hold their defaults,
 * bounds and help; the settings struct embeds this one, so the policy gets
 * them exactly as configured. */
typedef struct {
    double scale_ok, scale_soft, scale_hard; /* each in [0, 1] */
    int failsafe;                            /* an mdf_level_t: level assumed when unsure */
    int64_t interval_ms;                     /* aimd/target update period, > 0 */
    double decrease_ratio;                   /* aimd: multiplier on soft */
    double increase_step;                    /* aimd: added per interval while ok */
    double target_depth;                     /* target: wanted queue_size/capacity, > 0 */
    double kp, ki;                           /* target: PI gains per unit of fill (ki per second) */
    double min_scale;                        /* aimd/target: lowest output outside hard */
    double low_fill, high_fill;              /* linear: fill where the fall starts/ends */
    int64_t min_dwell_ms;                    /* no increase sooner than this after a change */
    double max_step;                         /* largest increase per update (0 = unlimited) */
    int64_t target_delay_ms;                 /* share: queue delay to hold at each store */
    double gain;                             /* share: queue error corrected per second (1/s) */
    double integral;                         /* share: integral gain (1/s^2) */
} policy_params_t;

/* One store as the policies see it (pipeline/members.h): a live or stale
 * member; leaving and unheard stores are not given. */
typedef struct {
    int slot;            /* stable id of the store, for per-store state */
    uint32_t generation; /* changes when the store's state was replaced */
    mdf_level_t level;   /* its level (a stale one: the failsafe level) */
    int stale;           /* silent for stale_after_ms */
    double queue_size, capacity;
    double service_rate; /* rows/s its sink takes while busy; < 0 unknown */
    double producers;    /* producers it counts; 0 unknown */
} policy_member_t;

/* Everything a policy decides from. */
typedef struct {
    const policy_member_t *members;
    size_t n;      /* 0: no member at all (the failsafe level applies) */
    double demand; /* bars/s the driven providers ask at scale 1 */
    double live;   /* bars/s the pipeline's live providers send (unpaced): share
                    * gives the driven ones what is left of the stores' shares */
} policy_input_t;

/* target's fixed shape (see above). */
#define POLICY_TARGET_EMPTY 0.5         /* "nearly empty": fill below this x target_depth */
#define POLICY_TARGET_PROBE 0.1         /* i's growth there, relative per second */
#define POLICY_TARGET_DOUBLING_MS 200.0 /* slow start: the scale doubles this often */
#define POLICY_TARGET_START_MIN 0.001   /* slow start from max(min_scale, this) */
#define POLICY_SHARE_LEAK_S 20.0        /* share: the integral's leak time constant */

typedef struct {
    const char *name;
    /* Scale in [0, 1] for a known level (ok/soft/hard).  `state` is the
     * policy's own (NULL for stateless ones); `applied` is the output the
     * pipeline used since the last call (after shaping and failsafe). */
    double (*scale) (const policy_params_t *params, void *state, mdf_level_t level, double fill,
                     double applied, int64_t now_ns);
    /* May be NULL.  `start` = the current output; `fresh` = a new policy
     * (policy_new), not a live switch. */
    void *(*state_new) (const policy_params_t *params, double start, int fresh);
    void (*state_free) (void *st); /* may be NULL */
    /* First output of a new policy (before any event, failsafe still caps
     * it); NULL means scale_ok. */
    double (*initial) (const policy_params_t *params);
    /* A policy that works per store (share): the scale from every member at
     * once.  NULL: the policy gets one level and one fill (see
     * policy_scale_members). */
    double (*scale_members) (const policy_params_t *params, void *state, const policy_input_t *in,
                             double applied, int64_t now_ns);
} policy_ops_t;

typedef struct _policy_t policy_t;

/* Every policy's name, NULL-terminated (the settings table's choices). */
extern const char *const policy_name_list[];

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

/* The scale from every member of the pipeline (the link's view, several
 * stores).  A per-store policy (share) gets them as they are.  The others
 * get the aggregate headroom: for step and linear, the capacity-weighted
 * mean of each member's own scale (a stale member at the failsafe level);
 * for aimd and target, the total queue over the total capacity as the fill
 * and, as the level, the one whose step scale is nearest that mean; a stale
 * member freezes them as a failsafe does.  No member at all: the failsafe
 * level, as for a store never heard.  Always in [0, 1]. */
double policy_scale_members (policy_t *self, const policy_input_t *in, int64_t now_ns);

/* The level actually used for `level` (resolves failsafe/unknown). */
mdf_level_t policy_resolve (policy_t *self, int level);

#endif
