/*
 * md-pipeline switches its scale policy live: with the stand-in
 * store held at SOFT (queue_size 4000 of 10000, fill 0.4) each policy gives a
 * scale the step policy never would, so the scale gauge shows which one runs:
 *  - step: 0.5;
 *  - target (target_depth 0.6 > fill): the PI ramps the scale up to 1.0,
 *    even without new level changes (the feedback actor's timer drives it);
 *  - aimd (SIGHUP): a lasting soft halves it every interval down to min_scale;
 *  - linear (low 0.3, high 0.5): 0.5 at fill 0.4;
 *  - an unknown name is refused with 400 and the running policy stays;
 *  - min_dwell_ms holds the recovery after hard for that long;
 *  - an empty config file is refused and the running settings stay.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SCALE "pipeline_rate_scale_factor{provider=\"syn\"}"

START_TEST (policy_switches_live_by_reload_and_sighup)
{
    fx_t fx;
    fx_start (&fx, NULL,
              "[feedback]\npolicy = \"step\"\ninterval_ms = 100\nkp = 1.0\nki = 2.0\n"
              "target_depth = 0.6\nlow_fill = 0.3\nhigh_fill = 0.5\nstale_after_ms = 2000",
              NULL, NULL);
    standin_set_level (fx.store, MDF_LEVEL_SOFT);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.5, 1e-9, 5000));

    fx_edit_config (&fx, "policy = \"step\"", "policy = \"target\"");
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 200);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 5000));

    fx_edit_config (&fx, "policy = \"target\"", "policy = \"aimd\"");
    h_signal (&fx.proc, SIGHUP);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.01, 0.005, 5000));

    fx_edit_config (&fx, "policy = \"aimd\"", "policy = \"pid\"");
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 400);
    ck_assert_double_le (fx_metric (&fx, SCALE), 0.02); /* still aimd */

    fx_edit_config (&fx, "policy = \"pid\"", "policy = \"linear\"");
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 200);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.5, 1e-6, 5000));
    standin_set_level (fx.store, MDF_LEVEL_OK); /* fill 0 */
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 5000));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

/* An empty (or truncated to nothing) file would reset every live key to its
 * default (scale_soft 0.5): reload refuses it, over HTTP and by SIGHUP. */
START_TEST (an_empty_config_file_is_refused)
{
    fx_t fx;
    fx_start (&fx, NULL, "[feedback]\npolicy = \"step\"\nscale_soft = 0.25\nstale_after_ms = 2000",
              NULL, NULL);
    standin_set_level (fx.store, MDF_LEVEL_SOFT);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.25, 1e-9, 5000));
    free (h_write_file (fx.dir, "pipeline.toml", "\n# nothing left\n"));
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 400);
    h_signal (&fx.proc, SIGHUP);
    ck_assert (!fx_wait_metric (&fx, SCALE, 0.5, 1e-9, 1000));
    ck_assert_double_eq_tol (fx_metric (&fx, SCALE), 0.25, 1e-9);
    ck_assert (h_log_contains (&fx.proc, "holds no setting"));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (dwell_holds_recovery_after_a_live_switch)
{
    fx_t fx;
    fx_start (&fx, NULL,
              "[feedback]\npolicy = \"step\"\nmin_dwell_ms = 1500\nstale_after_ms = 2000", NULL,
              NULL);
    standin_set_level (fx.store, MDF_LEVEL_HARD);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.0, 1e-9, 5000));
    standin_set_level (fx.store, MDF_LEVEL_OK);
    /* the increase waits for the dwell, then comes in full */
    ck_assert (!fx_wait_metric (&fx, SCALE, 1.0, 0.01, 800));
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 5000));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("pipeline_policy_switch");
    TCase *tc = tcase_create ("switch");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, policy_switches_live_by_reload_and_sighup);
    tcase_add_test (tc, dwell_holds_recovery_after_a_live_switch);
    tcase_add_test (tc, an_empty_config_file_is_refused);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
