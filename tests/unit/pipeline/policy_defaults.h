/*
 * policy_defaults: the policy parameters as the settings table defaults them
 * ([feedback] keys of pipeline/settings.c), for tests that build a policy by
 * hand: a field added to policy_params_t gets its real default here, never a
 * silent 0.  Tests override only the fields they are about.
 */
#ifndef TESTS_UNIT_PIPELINE_POLICY_DEFAULTS_H
#define TESTS_UNIT_PIPELINE_POLICY_DEFAULTS_H

#include <stdlib.h>

#include "pipeline/policy.h"
#include "pipeline/settings.h"

static inline policy_params_t
policy_test_defaults (void)
{
    settings_t s;
    if (settings_defaults (&s) != 0)
        abort ();
    policy_params_t pp = s.policy;
    settings_free (&s);
    return pp;
}

#endif
