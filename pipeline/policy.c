/*
 * policy: level -> scale, by a named vtable.  See policy.h.
 *
 * The mutex guards name/params/state so a reload swaps them atomically with
 * respect to the feedback thread.
 */
#include "pipeline/policy.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
s_step_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, double applied,
              int64_t now_ns)
{
    (void)state;
    (void)fill;
    (void)applied;
    (void)now_ns;
    switch (level) {
    case MDF_LEVEL_OK:
        return p->scale_ok;
    case MDF_LEVEL_SOFT:
        return p->scale_soft;
    case MDF_LEVEL_HARD:
    default:
        return p->scale_hard;
    }
}

/* ---- helpers ---------------------------------------------------------- */

static double
s_clamp (double v, double lo, double hi)
{
    if (!(v > lo))
        return lo;
    return v > hi ? hi : v;
}

/* interval_ms is at least 1 (its table bound); guard a hand-made struct. */
static int64_t
s_interval_ns (const policy_params_t *p)
{
    return (p->interval_ms > 0 ? p->interval_ms : 1) * 1000000;
}

/* ---- linear: a proportional map of the fill --------------------------- */

static double
s_linear_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill,
                double applied, int64_t now_ns)
{
    (void)state;
    (void)applied;
    (void)now_ns;
    if (level == MDF_LEVEL_HARD)
        return p->scale_hard;
    double hi = p->high_fill;
    double lo = p->low_fill < hi ? p->low_fill : hi;
    if (fill <= lo)
        return p->scale_ok;
    if (fill >= hi || hi - lo <= 0)
        return p->scale_hard;
    return p->scale_ok - (p->scale_ok - p->scale_hard) * (fill - lo) / (hi - lo);
}

/* ---- aimd ---------------------------------------------------------------
 * State: the scale, when it last moved and the level seen last time, so the
 * first soft decreases at once and a lasting soft keeps decreasing. */

typedef struct {
    double s;
    int64_t last_ns;
    int have_last;
    mdf_level_t prev;
} s_aimd_t;

static void *
s_aimd_new (const policy_params_t *p, double start, int fresh)
{
    (void)p;
    (void)fresh;
    s_aimd_t *st = calloc (1, sizeof *st);
    if (st) {
        st->s = start;
        st->prev = MDF_LEVEL_OK;
    }
    return st;
}

static double
s_aimd_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, double applied,
              int64_t now_ns)
{
    (void)fill;
    (void)applied;
    s_aimd_t *st = state;
    double lo = p->min_scale < p->scale_ok ? p->min_scale : p->scale_ok;
    bool due = !st->have_last || now_ns - st->last_ns >= s_interval_ns (p);
    if (level == MDF_LEVEL_HARD) {
        st->s = p->scale_hard;
        due = true;
    } else if (level == MDF_LEVEL_SOFT && (st->prev != MDF_LEVEL_SOFT || due)) {
        st->s = s_clamp (st->s * p->decrease_ratio, lo, p->scale_ok);
        due = true;
    } else if (level == MDF_LEVEL_OK && due) {
        st->s = s_clamp (st->s + p->increase_step, lo, p->scale_ok);
    }
    if (due) {
        st->last_ns = now_ns;
        st->have_last = 1;
    }
    st->prev = level;
    return st->s;
}

/* ---- target: positional PI on the fill, see policy.h ------------------
 * State: the integral i (the scale held at zero error), the last output u,
 * and whether the slow start still runs.  A state made by a live switch
 * (fresh = 0) takes i from the output applied at its first sample. */

typedef struct {
    double u, i;
    double fill_prev; /* fill at the last update */
    int64_t last_ns;
    int have_last;
    int ramp;  /* slow start running */
    int fresh; /* made by policy_new, not by a switch */
} s_pi_t;

static double
s_pi_lo (const policy_params_t *p)
{
    return p->min_scale < p->scale_ok ? p->min_scale : p->scale_ok;
}

static double
s_pi_initial (const policy_params_t *p)
{
    double lo = s_pi_lo (p);
    double start = lo > POLICY_TARGET_START_MIN ? lo : POLICY_TARGET_START_MIN;
    return start < p->scale_ok ? start : p->scale_ok;
}

static void *
s_pi_new (const policy_params_t *p, double start, int fresh)
{
    s_pi_t *st = calloc (1, sizeof *st);
    if (st) {
        st->fresh = fresh;
        st->u = fresh ? s_pi_initial (p) : start;
        st->i = st->u;
        st->ramp = fresh;
    }
    return st;
}

/* One PI step (not slow start) with error e; `held`: the output applied was
 * below the last one asked for. */
static void
s_pi_step (const policy_params_t *p, s_pi_t *st, double e, double fill, int held, double dt)
{
    double lo = s_pi_lo (p), hi = p->scale_ok, tf = p->target_depth;
    double di = p->ki * e * dt;
    if (e > 0 && fill < POLICY_TARGET_EMPTY * tf) {
        /* nearly empty: probe slowly, do not wind up over an idle pause */
        double u = st->u > POLICY_TARGET_START_MIN ? st->u : POLICY_TARGET_START_MIN;
        double probe = u * POLICY_TARGET_PROBE * dt;
        di = di < probe ? di : probe;
    }
    /* conditional integration: i moves only until the output reaches a
     * clamp (never further into it), and not upwards while held */
    double i = st->i + di;
    if (e < 0) {
        double floor_i = lo - p->kp * e; /* i at which the output is lo */
        floor_i = floor_i < st->i ? floor_i : st->i;
        i = i > floor_i ? i : floor_i;
    } else if (held) {
        i = st->i;
    } else {
        double ceil_i = hi - p->kp * e; /* i at which the output is hi */
        ceil_i = ceil_i > st->i ? ceil_i : st->i;
        i = i < ceil_i ? i : ceil_i;
    }
    st->i = s_clamp (i, lo, hi);
    st->u = s_clamp (p->kp * e + st->i, lo, hi);
}

/* Slow start's factor per update of iv_ns: x 2 per POLICY_TARGET_DOUBLING_MS,
 * and at most x sqrt(2) per update (a longer interval is a longer loop delay). */
static double
s_pi_growth (int64_t iv_ns)
{
    double g = pow (2.0, (double)iv_ns / 1e6 / POLICY_TARGET_DOUBLING_MS);
    return g < M_SQRT2 ? g : M_SQRT2;
}

static double
s_pi_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, double applied,
            int64_t now_ns)
{
    s_pi_t *st = state;
    double lo = s_pi_lo (p), hi = p->scale_ok, tf = p->target_depth;
    double e = tf - fill;
    if (level == MDF_LEVEL_HARD) {
        st->ramp = 0;
        st->u = p->scale_hard;
        return st->u;
    }
    int64_t iv = s_interval_ns (p);
    if (st->have_last && now_ns - st->last_ns < iv)
        return st->u;
    double dt = (double)iv / 1e9;
    int first = !st->have_last;
    st->last_ns = now_ns;
    st->have_last = 1;
    if (first && !st->fresh) {
        /* live switch: the output so far is the estimate i; never above it */
        double a = isfinite (applied) ? applied : st->u;
        st->i = s_clamp (a, lo, hi);
        double u = s_clamp (p->kp * e + st->i, lo, hi);
        st->u = u < a ? u : a;
        return st->u;
    }
    int held = isfinite (applied) && applied < st->u - 1e-9;
    double prev = st->fill_prev;
    st->fill_prev = fill;
    if (st->ramp) {
        /* on until the queue grows (two readings in a row above 0 and
         * rising: the provider's first burst, draining, does not end it;
         * one batch seen being written does not either), reaches the
         * target, or the level leaves ok */
        int grows = prev > 0 && fill > prev;
        if (!grows && fill < tf && level == MDF_LEVEL_OK) {
            if (!first && !held)
                st->u = s_clamp (st->u * s_pi_growth (iv), lo, hi);
            st->i = st->u;
            return st->u;
        }
        /* The queue grows: the scale passed what the sink takes about a
         * loop delay ago.  Back off by half (one doubling: TCP's slow start
         * does the same), take that as the estimate i, and hand over to the
         * PI, not above it. */
        st->ramp = 0;
        double a = isfinite (applied) && applied < st->u ? applied : st->u;
        st->i = s_clamp (a / 2, lo, hi);
        double u = s_clamp (p->kp * e + st->i, lo, hi);
        st->u = u < st->i ? u : st->i;
        return st->u;
    }
    s_pi_step (p, st, e, fill, held, dt);
    return st->u;
}

/* ---- share: each store's drain, shared among its producers ---------------
 * Per member m, with N = its producers (at least 1), mu its service rate and
 * q its queue:
 *    Q* = min (target_depth x capacity, mu x target_delay)   (the target)
 *    a  = (mu + gain x (Q* - q)) / N + I                     (bars/s to m)
 *    I += integral x (Q* - q) / N x dt
 * and the pipeline's rate is the sum of the a over its members, as a scale
 * of what its providers ask.  mu / N is a fair share of what the sink takes
 * (the feed-forward: the rate follows a change of the sink at once, not a
 * loop delay later); the proportional term holds the queue near Q*, so the
 * sink never starves and the delay stays near target_delay; the integral
 * gives a pipeline the share another one leaves unused (a producer asking
 * less than its share): it moves only while this pipeline's own rate is
 * what limits it (not its providers), within [-mu / 4N, mu], and leaks back
 * towards 0 with a time constant of POLICY_SHARE_LEAK_S (so pipelines that
 * started at different moments converge to equal shares); it starts over
 * at 0 whenever the store's producer count changes, so pipelines that joined
 * one after the other hold equal integrals once the last one is in.
 * Live bars (policy_input_t.live: tick providers nothing paces) count against
 * the shares: the members' a are computed for demand + live, and the driven
 * providers get (sum a - live) / demand, so history takes what live leaves.
 * A member at HARD gets nothing (a = 0, I kept); a stale one keeps its last
 * a (at most what the providers ask), times the failsafe level's step scale.  Without a known mu (a
 * store that has not drained yet, or does not publish it) Q* is target_depth x capacity and mu
 * counts as 0; a known mu of 0 (the sink takes nothing: an outage) makes Q* 0, so nothing more is
 * sent until it drains again. */

#define S_SHARE_SLOTS 256 /* MEMBERS_MAX: per-store state by slot */

typedef struct {
    uint32_t generation;
    int used;
    double i, a;
    double producers; /* as last seen: the integral starts over when it changes */
} s_share_slot_t;

typedef struct {
    s_share_slot_t slot[S_SHARE_SLOTS];
    int64_t last_ns;
    int have_last;
} s_share_t;

static void *
s_share_new (const policy_params_t *p, double start, int fresh)
{
    (void)p;
    (void)start;
    (void)fresh;
    return calloc (1, sizeof (s_share_t));
}

static double
s_share_target (const policy_params_t *p, const policy_member_t *m)
{
    double q = p->target_depth * m->capacity;
    double by_delay = m->service_rate * (double)p->target_delay_ms / 1000.0;
    return m->service_rate >= 0 && by_delay < q ? by_delay : q;
}

/* Bars/s to member m now (at most `demand`, what the pipeline could use);
 * integrates when `integrate`. */
static double
s_share_member (const policy_params_t *p, s_share_slot_t *st, const policy_member_t *m,
                double demand, double dt, int integrate)
{
    double n = m->producers >= 1 ? m->producers : 1;
    double mu = m->service_rate > 0 ? m->service_rate : 0; /* unknown counts as 0 */
    if (m->stale) {
        double cap = s_step_scale (p, NULL, m->level, 0, NAN, 0);
        return st->a * cap;
    }
    if (m->level == MDF_LEVEL_HARD) {
        st->a = 0;
        return 0;
    }
    double qstar = s_share_target (p, m);
    double e = qstar - m->queue_size;
    if (m->producers != st->producers) {
        /* the shares changed (a producer came or went): pipelines that saw
         * different histories start their corrections over together */
        st->producers = m->producers;
        st->i = 0;
    }
    if (integrate && dt > 0) {
        /* the floor keeps most of the feed-forward: an overshoot is the
         * proportional term's to correct, and an integral deep below would
         * starve the sink for seconds while it climbs back */
        double lo = -0.25 * mu / n, hi = mu > 0 ? mu : qstar;
        /* a slow leak towards 0: pipelines that started at different
         * times would otherwise keep different integrals for good */
        double leak = st->i * dt / POLICY_SHARE_LEAK_S;
        st->i = s_clamp (st->i - leak + p->integral * e / n * dt, lo, hi);
    }
    double a = (mu + p->gain * e) / n + st->i;
    a = a < demand ? a : demand;
    st->a = a > 0 ? a : 0;
    return st->a;
}

static double
s_share_members (const policy_params_t *p, void *state, const policy_input_t *in, double applied,
                 int64_t now_ns)
{
    s_share_t *st = state;
    double dt = st->have_last ? (double)(now_ns - st->last_ns) / 1e9 : 0;
    dt = dt < 0 ? 0 : dt > 0.5 ? 0.5 : dt;
    st->last_ns = now_ns;
    st->have_last = 1;
    /* our own rate limits us (not the providers): the integral may move */
    int limited = !isfinite (applied) || applied < p->scale_ok - 1e-9;
    double live = isfinite (in->live) && in->live > 0 ? in->live : 0;
    double rate = 0;
    for (size_t k = 0; k < in->n; k++) {
        const policy_member_t *m = &in->members[k];
        s_share_slot_t *sl = &st->slot[(unsigned)m->slot % S_SHARE_SLOTS];
        if (!sl->used || sl->generation != m->generation) {
            memset (sl, 0, sizeof *sl);
            sl->used = 1;
            sl->generation = m->generation;
        }
        double e_sign = s_share_target (p, m) - m->queue_size;
        int integrate = limited || e_sign < 0;
        rate += s_share_member (p, sl, m, in->demand + live, dt, integrate);
    }
    if (in->demand <= 0)
        return p->scale_ok;
    /* live bars are sent whatever the scale: history gets the rest */
    return s_clamp ((rate - live) / in->demand, 0, p->scale_ok);
}

static double
s_share_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill,
               double applied, int64_t now_ns)
{
    /* one store known only by its level and fill (no rates): the step map */
    (void)state;
    (void)fill;
    (void)applied;
    (void)now_ns;
    return s_step_scale (p, NULL, level, fill, NAN, 0);
}

static const policy_ops_t s_policies[] = {
    { "step", s_step_scale, NULL, NULL, NULL, NULL },
    { "linear", s_linear_scale, NULL, NULL, NULL, NULL },
    { "aimd", s_aimd_scale, s_aimd_new, free, NULL, NULL },
    { "target", s_pi_scale, s_pi_new, free, s_pi_initial, NULL },
    { "share", s_share_scale, s_share_new, free, NULL, s_share_members },
};
#define S_NPOLICIES (sizeof s_policies / sizeof s_policies[0])

/* The names above, for the settings table (policy.h). */
const char *const policy_name_list[] = { "step", "linear", "aimd", "target", "share", NULL };
_Static_assert(sizeof policy_name_list / sizeof policy_name_list[0] == S_NPOLICIES + 1,
               "one name per policy in policy_name_list");

struct _policy_t {
    pthread_mutex_t lock;
    const policy_ops_t *ops;
    void *state;
    policy_params_t params;
    double out; /* last output (shaping, and start of a new policy) */
    int have_out;
    int64_t changed_ns; /* when `out` last changed (dwell) */
};

static const policy_ops_t *
s_find (const char *name)
{
    for (size_t i = 0; name && i < S_NPOLICIES; i++)
        if (strcmp (s_policies[i].name, name) == 0)
            return &s_policies[i];
    return NULL;
}

int
policy_known (const char *name)
{
    return s_find (name) != NULL;
}

const char *
policy_names (void)
{
    return "step, linear, aimd, target, share";
}

policy_t *
policy_new (const char *name, const policy_params_t *params, char *err, size_t errlen)
{
    const policy_ops_t *ops = s_find (name);
    if (!ops) {
        snprintf (err, errlen, "unknown policy \"%s\" (known: %s)", name ? name : "",
                  policy_names ());
        return NULL;
    }
    policy_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->ops = ops;
    self->params = *params;
    self->out = ops->initial ? ops->initial (params) : params->scale_ok;
    if (ops->initial) {
        /* a controller with its own start: that is the output from now on,
         * failsafe included (no dwell pending) */
        self->have_out = 1;
        self->changed_ns = INT64_MIN / 4;
    }
    self->state = ops->state_new ? ops->state_new (params, self->out, 1) : NULL;
    if (ops->state_new && !self->state) {
        snprintf (err, errlen, "out of memory");
        policy_destroy (&self);
        return NULL;
    }
    return self;
}

void
policy_destroy (policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    policy_t *self = *self_p;
    if (self->ops->state_free)
        self->ops->state_free (self->state);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

int
policy_update (policy_t *self, const char *name, const policy_params_t *params, char *err,
               size_t errlen)
{
    const policy_ops_t *ops = s_find (name);
    if (!ops) {
        snprintf (err, errlen, "unknown policy \"%s\" (known: %s)", name ? name : "",
                  policy_names ());
        return -1;
    }
    void *st = NULL;
    pthread_mutex_lock (&self->lock);
    if (ops != self->ops && ops->state_new) {
        st = ops->state_new (params, self->have_out ? self->out : params->scale_ok, 0);
        if (!st) {
            pthread_mutex_unlock (&self->lock);
            snprintf (err, errlen, "out of memory");
            return -1;
        }
    }
    if (ops != self->ops) {
        if (self->ops->state_free)
            self->ops->state_free (self->state);
        self->ops = ops;
        self->state = st;
    }
    self->params = *params;
    pthread_mutex_unlock (&self->lock);
    return 0;
}

static mdf_level_t
s_resolve (const policy_params_t *p, int level)
{
    if (level == MDF_LEVEL_OK || level == MDF_LEVEL_SOFT || level == MDF_LEVEL_HARD)
        return (mdf_level_t)level;
    if (p->failsafe == MDF_LEVEL_OK || p->failsafe == MDF_LEVEL_SOFT)
        return (mdf_level_t)p->failsafe;
    return MDF_LEVEL_HARD;
}

mdf_level_t
policy_resolve (policy_t *self, int level)
{
    pthread_mutex_lock (&self->lock);
    mdf_level_t out = s_resolve (&self->params, level);
    pthread_mutex_unlock (&self->lock);
    return out;
}

/* Decreases at once; increases only after min_dwell_ms since the last
 * change, and by at most max_step.  Records the output. */
static double
s_shape (policy_t *self, double want, int64_t now_ns)
{
    const policy_params_t *p = &self->params;
    double out = want;
    if (self->have_out && want > self->out) {
        if (p->min_dwell_ms > 0 && now_ns - self->changed_ns < p->min_dwell_ms * 1000000)
            out = self->out;
        else if (p->max_step > 0 && want - self->out > p->max_step)
            out = self->out + p->max_step;
    }
    if (!self->have_out || out != self->out)
        self->changed_ns = now_ns;
    self->out = out;
    self->have_out = 1;
    return out;
}

/* The output for one level and fill, under the lock (see policy_scale_ex). */
static double
s_eval (policy_t *self, int level, double fill, int failsafe, int64_t now_ns)
{
    mdf_level_t lv = s_resolve (&self->params, level);
    double f = isfinite (fill) ? s_clamp (fill, 0, 1) : 1;
    double s;
    if (failsafe && self->ops->scale != s_step_scale) {
        /* controllers freeze; the failsafe level's step scale is a ceiling */
        double cap = s_clamp (s_step_scale (&self->params, NULL, lv, f, NAN, now_ns), 0, 1);
        s = self->have_out && self->out < cap ? self->out : cap;
    } else {
        double applied = self->have_out ? self->out : NAN;
        s = s_clamp (self->ops->scale (&self->params, self->state, lv, f, applied, now_ns), 0, 1);
    }
    return s_shape (self, s, now_ns);
}

double
policy_scale_ex (policy_t *self, int level, double fill, int failsafe, int64_t now_ns)
{
    pthread_mutex_lock (&self->lock);
    double s = s_eval (self, level, fill, failsafe, now_ns);
    pthread_mutex_unlock (&self->lock);
    return s;
}

/* The level whose step scale is nearest h (ties: the higher level). */
static mdf_level_t
s_nearest_level (const policy_params_t *p, double h)
{
    mdf_level_t best = MDF_LEVEL_HARD;
    double best_d = fabs (p->scale_hard - h);
    const mdf_level_t order[] = { MDF_LEVEL_SOFT, MDF_LEVEL_OK };
    for (int i = 0; i < 2; i++) {
        double d = fabs (s_step_scale (p, NULL, order[i], 0, NAN, 0) - h);
        if (d < best_d - 1e-12) {
            best = order[i];
            best_d = d;
        }
    }
    return best;
}

/* Aggregate headroom for the policies that take one level and one fill. */
static double
s_eval_aggregate (policy_t *self, const policy_input_t *in, int64_t now_ns)
{
    const policy_params_t *p = &self->params;
    double cap_sum = 0, q_sum = 0, h = 0, w_sum = 0, mapped = 0;
    int stale = 0;
    for (size_t k = 0; k < in->n; k++)
        cap_sum += in->members[k].capacity > 0 ? in->members[k].capacity : 0;
    for (size_t k = 0; k < in->n; k++) {
        const policy_member_t *m = &in->members[k];
        double w = cap_sum > 0 ? (m->capacity > 0 ? m->capacity : 0) / cap_sum : 1.0 / in->n;
        double fill = m->capacity > 0 ? m->queue_size / m->capacity : 1;
        mdf_level_t lv = m->stale ? s_resolve (p, POLICY_LEVEL_FAILSAFE) : m->level;
        stale |= m->stale;
        q_sum += m->queue_size;
        h += w * s_step_scale (p, NULL, lv, 0, NAN, 0);
        if (!self->state) /* stateless maps: each member's own scale, weighted */
            mapped += w
                      * s_clamp (self->ops->scale (p, NULL, lv, s_clamp (fill, 0, 1),
                                                   m->stale ? NAN : 0, now_ns),
                                 0, 1);
        w_sum += w;
    }
    if (!self->state)
        return s_shape (self, s_clamp (mapped / (w_sum > 0 ? w_sum : 1), 0, 1), now_ns);
    double fill = cap_sum > 0 ? q_sum / cap_sum : 1;
    return s_eval (self, (int)s_nearest_level (p, h / (w_sum > 0 ? w_sum : 1)), fill, stale,
                   now_ns);
}

double
policy_scale_members (policy_t *self, const policy_input_t *in, int64_t now_ns)
{
    pthread_mutex_lock (&self->lock);
    double s;
    if (in->n == 0)
        s = s_eval (self, POLICY_LEVEL_FAILSAFE, 1, 1, now_ns);
    else if (self->ops->scale_members) {
        double applied = self->have_out ? self->out : NAN;
        s = s_clamp (self->ops->scale_members (&self->params, self->state, in, applied, now_ns), 0,
                     1);
        s = s_shape (self, s, now_ns);
    } else
        s = s_eval_aggregate (self, in, now_ns);
    pthread_mutex_unlock (&self->lock);
    return s;
}

double
policy_scale (policy_t *self, int level, double fill, int64_t now_ns)
{
    int known = level == MDF_LEVEL_OK || level == MDF_LEVEL_SOFT || level == MDF_LEVEL_HARD;
    return policy_scale_ex (self, level, fill, !known, now_ns);
}
