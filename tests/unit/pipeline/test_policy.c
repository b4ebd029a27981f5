/*
 * policy: level -> scale mapping of the step policy, failsafe, reload (the
 * controllers are in test_policy_ctl.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/policy.h"
#include "tests/integration/harness.h"
#include "tests/unit/pipeline/policy_defaults.h"

/* pipeline/settings.c's defaults (set in main) */
static policy_params_t defaults;

/* The defaults with the step map's scales replaced. */
static policy_params_t
s_scales (double ok, double soft, double hard)
{
    policy_params_t pp = policy_test_defaults ();
    pp.scale_ok = ok;
    pp.scale_soft = soft;
    pp.scale_hard = hard;
    return pp;
}

START_TEST (step_maps_each_level_to_its_scale)
{
    char err[128];
    policy_t *p = policy_new ("step", &defaults, err, sizeof err);
    ck_assert_ptr_nonnull (p);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_OK, 0, 0), 1.0);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_SOFT, 0, 0), 0.5);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_HARD, 0, 0), 0.0);
    policy_destroy (&p);
    ck_assert_ptr_null (p);
}
END_TEST

START_TEST (unknown_level_maps_through_failsafe)
{
    char err[128];
    policy_params_t pp = s_scales (1.0, 0.6, 0.1);
    policy_t *p = policy_new ("step", &pp, err, sizeof err);
    ck_assert_double_eq (policy_scale (p, POLICY_LEVEL_FAILSAFE, 0, 0), 0.6);
    ck_assert_double_eq (policy_scale (p, 7, 0, 0), 0.6);
    ck_assert_double_eq (policy_scale (p, -42, 0, 0), 0.6);
    ck_assert_int_eq (policy_resolve (p, 99), MDF_LEVEL_SOFT);
    pp.failsafe = MDF_LEVEL_HARD;
    ck_assert_int_eq (policy_update (p, "step", &pp, err, sizeof err), 0);
    ck_assert_double_eq (policy_scale (p, 99, 0, 0), 0.1);
    policy_destroy (&p);
}
END_TEST

START_TEST (unknown_policy_name_is_an_error)
{
    char err[128];
    ck_assert_ptr_null (policy_new ("pid", &defaults, err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, "pid"));
    ck_assert (!policy_known ("pid"));
    ck_assert (policy_known ("linear") && policy_known ("aimd") && policy_known ("target"));
    ck_assert (policy_known ("step"));
    policy_t *p = policy_new ("step", &defaults, err, sizeof err);
    ck_assert_int_eq (policy_update (p, "nope", &defaults, err, sizeof err), -1);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_SOFT, 0, 0), 0.5); /* unchanged */
    policy_destroy (&p);
}
END_TEST

START_TEST (reload_changes_scales_live)
{
    char err[128];
    policy_t *p = policy_new ("step", &defaults, err, sizeof err);
    policy_params_t pp = s_scales (0.9, 0.75, 0.05);
    ck_assert_int_eq (policy_update (p, "step", &pp, err, sizeof err), 0);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_OK, 0, 0), 0.9);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_SOFT, 0, 0), 0.75);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_HARD, 0, 0), 0.05);
    policy_destroy (&p);
}
END_TEST

START_TEST (out_of_range_scales_are_clamped)
{
    char err[128];
    policy_params_t pp = s_scales (3.0, -1, 0.0);
    policy_t *p = policy_new ("step", &pp, err, sizeof err);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_OK, 0, 0), 1.0);
    ck_assert_double_eq (policy_scale (p, MDF_LEVEL_SOFT, 0, 0), 0.0);
    policy_destroy (&p);
}
END_TEST

int
main (void)
{
    defaults = policy_test_defaults ();
    Suite *s = suite_create ("policy");
    TCase *tc = tcase_create ("policy");
    tcase_add_test (tc, step_maps_each_level_to_its_scale);
    tcase_add_test (tc, unknown_level_maps_through_failsafe);
    tcase_add_test (tc, unknown_policy_name_is_an_error);
    tcase_add_test (tc, reload_changes_scales_live);
    tcase_add_test (tc, out_of_range_scales_are_clamped);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
