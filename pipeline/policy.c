/*
 * policy: level -> scale, by a named vtable.  See policy.h.
 *
 * The mutex guards name/params/state so a reload swaps them atomically with
 * respect to the feedback thread.
 */
#include "pipeline/policy.h"

#include <math.h>
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

static const policy_ops_t s_policies[] = {
    { "step", s_step_scale, NULL, NULL },
};
#define S_NPOLICIES (sizeof s_policies / sizeof s_policies[0])

struct _policy_t {
    pthread_mutex_t lock;
    const policy_ops_t *ops;
    void *state;
    policy_params_t params;
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
    return "step";
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
    self->state = ops->state_new ? ops->state_new () : NULL;
    self->params = *params;
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
    pthread_mutex_lock (&self->lock);
    if (ops != self->ops) {
        if (self->ops->state_free)
            self->ops->state_free (self->state);
        self->ops = ops;
        self->state = ops->state_new ? ops->state_new () : NULL;
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

double
policy_scale (policy_t *self, int level, double fill, int64_t now_ns)
{
    pthread_mutex_lock (&self->lock);
    mdf_level_t lv = s_resolve (&self->params, level);
    double s = self->ops->scale (&self->params, self->state, lv, fill, now_ns);
    pthread_mutex_unlock (&self->lock);
    if (!(s > 0))
        return 0;
    return s > 1 ? 1 : s;
}
