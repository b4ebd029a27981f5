/*
 * policy: level -> scale, by a named vtable.  See policy.h.
 *
 * The mutex guards name/params/state so a reload swaps them atomically with
 * respect to the feedback thread.
 */
#include "pipeline/policy.h"

#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double
s_step_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, int64_t now_ns)
{
    (void)state;
    (void)fill;
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

static double
s_or (double v, double dflt)
{
    return v > 0 ? v : dflt;
}

static int64_t
s_interval_ns (const policy_params_t *p)
{
    return (p->interval_ms > 0 ? p->interval_ms : 200) * 1000000;
}

/* ---- linear: a proportional map of the fill --------------------------- */

static double
s_linear_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill,
                int64_t now_ns)
{
    (void)state;
    (void)now_ns;
    if (level == MDF_LEVEL_HARD)
        return p->scale_hard;
    double hi = s_or (p->high_fill, 0.8);
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
s_aimd_new (double start)
{
    s_aimd_t *st = calloc (1, sizeof *st);
    if (st) {
        st->s = start;
        st->prev = MDF_LEVEL_OK;
    }
    return st;
}

static double
s_aimd_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, int64_t now_ns)
{
    (void)fill;
    s_aimd_t *st = state;
    double lo = p->min_scale < p->scale_ok ? p->min_scale : p->scale_ok;
    bool due = !st->have_last || now_ns - st->last_ns >= s_interval_ns (p);
    if (level == MDF_LEVEL_HARD) {
        st->s = p->scale_hard;
        due = true;
    } else if (level == MDF_LEVEL_SOFT && (st->prev != MDF_LEVEL_SOFT || due)) {
        st->s = s_clamp (st->s * s_or (p->decrease_ratio, 0.5), lo, p->scale_ok);
        due = true;
    } else if (level == MDF_LEVEL_OK && due) {
        st->s = s_clamp (st->s + s_or (p->increase_step, 0.05), lo, p->scale_ok);
    }
    if (due) {
        st->last_ns = now_ns;
        st->have_last = 1;
    }
    st->prev = level;
    return st->s;
}

/* ---- target: PI on the fill, velocity form -------------------------------
 * u += kp * (e - e_prev) + ki * e * dt with e = target - fill, then u is
 * clamped: the clamped output is the integrator, so it cannot wind up. */

typedef struct {
    double u, e_prev;
    int64_t last_ns;
    int have_last;
} s_pi_t;

static void *
s_pi_new (double start)
{
    s_pi_t *st = calloc (1, sizeof *st);
    if (st)
        st->u = start;
    return st;
}

static double
s_pi_scale (const policy_params_t *p, void *state, mdf_level_t level, double fill, int64_t now_ns)
{
    s_pi_t *st = state;
    double lo = p->min_scale < p->scale_ok ? p->min_scale : p->scale_ok;
    double e = s_or (p->target_fill, 0.2) - fill;
    if (level == MDF_LEVEL_HARD) {
        st->u = p->scale_hard;
        st->e_prev = e;
        st->last_ns = now_ns;
        st->have_last = 1;
        return st->u;
    }
    if (!st->have_last) {
        st->e_prev = e; /* no derivative kick on the first sample */
        st->last_ns = now_ns;
        st->have_last = 1;
        st->u = s_clamp (st->u, lo, p->scale_ok);
        return st->u;
    }
    int64_t iv = s_interval_ns (p);
    if (now_ns - st->last_ns < iv)
        return st->u;
    double dt = (double)iv / 1e9;
    st->u = s_clamp (st->u + p->kp * (e - st->e_prev) + p->ki * e * dt, lo, p->scale_ok);
    st->e_prev = e;
    st->last_ns = now_ns;
    return st->u;
}

static const policy_ops_t s_policies[] = {
    { "step", s_step_scale, NULL, NULL },
    { "linear", s_linear_scale, NULL, NULL },
    { "aimd", s_aimd_scale, s_aimd_new, free },
    { "target", s_pi_scale, s_pi_new, free },
};
#define S_NPOLICIES (sizeof s_policies / sizeof s_policies[0])

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
    return "step, linear, aimd, target";
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
    self->out = params->scale_ok;
    self->state = ops->state_new ? ops->state_new (self->out) : NULL;
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
        st = ops->state_new (self->have_out ? self->out : params->scale_ok);
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
        return p->failsafe;
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

double
policy_scale_ex (policy_t *self, int level, double fill, int failsafe, int64_t now_ns)
{
    pthread_mutex_lock (&self->lock);
    mdf_level_t lv = s_resolve (&self->params, level);
    double f = isfinite (fill) ? s_clamp (fill, 0, 1) : 1;
    double s;
    if (failsafe && self->ops->scale != s_step_scale) {
        /* controllers freeze; the failsafe level's step scale is a ceiling */
        double cap = s_clamp (s_step_scale (&self->params, NULL, lv, f, now_ns), 0, 1);
        s = self->have_out && self->out < cap ? self->out : cap;
    } else {
        s = s_clamp (self->ops->scale (&self->params, self->state, lv, f, now_ns), 0, 1);
    }
    s = s_shape (self, s, now_ns);
    pthread_mutex_unlock (&self->lock);
    return s;
}

double
policy_scale (policy_t *self, int level, double fill, int64_t now_ns)
{
    int known = level == MDF_LEVEL_OK || level == MDF_LEVEL_SOFT || level == MDF_LEVEL_HARD;
    return policy_scale_ex (self, level, fill, !known, now_ns);
}
