/*
 * md-pipeline against a stand-in store: the send rate follows the store's
 * level (OK = refill_rate, SOFT = half, HARD = ~0, back at OK), a silent store
 * counts as failsafe until heard again, MDP_ env overrides and live reload
 * change the scales.  Rates are measured at the stand-in (distinct bars/s)
 * with tolerant bounds: CI machines are small and loaded.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define SCALE "pipeline_rate_scale_factor{provider=\"syn\"}"
#define STATE "pipeline_backpressure_state{provider=\"syn\"}"
#define INFLIGHT "mdp_batches_inflight"

/* Quantile q of the apply-delay histogram, from the exposition text. */
static double
s_quantile (const char *text, double q)
{
    double le[64], cnt[64];
    int n = 0;
    const char *key = "mdp_feedback_apply_delay_seconds_bucket{le=\"";
    for (const char *p = strstr (text, key); p && n < 64; p = strstr (p + 1, key)) {
        const char *v = p + strlen (key);
        le[n] = strncmp (v, "+Inf", 4) == 0 ? INFINITY : strtod (v, NULL);
        const char *sp = strchr (v, ' ');
        cnt[n++] = sp ? strtod (sp + 1, NULL) : 0;
    }
    if (n == 0 || cnt[n - 1] <= 0)
        return NAN;
    double rank = q * cnt[n - 1];
    for (int i = 0; i < n; i++)
        if (cnt[i] >= rank) {
            double lo = i ? le[i - 1] : 0, lc = i ? cnt[i - 1] : 0;
            if (isinf (le[i]))
                return lo;
            return lo + (le[i] - lo) * (cnt[i] > lc ? (rank - lc) / (cnt[i] - lc) : 1);
        }
    return NAN;
}

START_TEST (send_rate_follows_ok_soft_hard_and_back)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 5000));
    double ok1 = fx_measure_rate (&fx, 1500);

    standin_set_level (fx.store, MDF_LEVEL_SOFT);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.5, 1e-9, 3000));
    ck_assert (fx_wait_metric (&fx, STATE, 1, 0, 1000));
    double soft = fx_measure_rate (&fx, 1500);

    standin_set_level (fx.store, MDF_LEVEL_HARD);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.0, 1e-9, 3000));
    ck_assert (fx_wait_metric (&fx, INFLIGHT, 0, 0, 3000)); /* what was batched got out */
    double hard = fx_measure_rate (&fx, 1000);

    standin_set_level (fx.store, MDF_LEVEL_OK);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 3000));
    double ok2 = fx_measure_rate (&fx, 1500);

    int status = 0;
    char *metrics = h_http ("GET", fx.http_port, "/metrics", NULL, &status, 2000);
    fprintf (stderr,
             "rate (refill 2000/s): ok %.0f (%.1f%%), soft %.0f (%.1f%% of 1000), hard %.1f, "
             "ok again %.0f (%.1f%%); apply delay p50 %.2f ms p99 %.2f ms\n",
             ok1, ok1 / 20, soft, soft / 10, hard, ok2, ok2 / 20, s_quantile (metrics, 0.5) * 1e3,
             s_quantile (metrics, 0.99) * 1e3);
    free (metrics);
    ck_assert_double_ge (ok1, 1400);
    ck_assert_double_le (ok1, 2400);
    ck_assert_double_ge (soft, 650);
    ck_assert_double_le (soft, 1300);
    ck_assert_double_le (hard, 20);
    ck_assert_double_ge (ok2, 1400);
    ck_assert_double_le (ok2, 2400);
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (silent_store_counts_as_failsafe_until_heard_again)
{
    fx_t fx;
    fx_start (&fx, NULL, NULL, NULL, NULL);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 5000));
    standin_set_silent (fx.store, true);
    ck_assert (fx_wait_metric (&fx, "mdp_feedback_stale_coordinators", 1, 0, 3000));
    ck_assert (fx_wait_metric (&fx, SCALE, 0.5, 1e-9, 1000)); /* failsafe = soft */
    ck_assert_double_eq (fx_metric (&fx, "mdp_feedback_failsafe"), 1);
    standin_set_silent (fx.store, false);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 3000));
    ck_assert_double_eq (fx_metric (&fx, "mdp_feedback_stale_coordinators"), 0);
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (env_override_changes_the_soft_scale)
{
    fx_t fx;
    char *env[] = { "MDP_FEEDBACK_SCALE_SOFT=0.25", NULL };
    fx_start (&fx, NULL, NULL, NULL, env);
    standin_set_level (fx.store, MDF_LEVEL_SOFT);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.25, 1e-9, 5000));
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (reload_and_sighup_apply_new_scales_and_rates)
{
    fx_t fx;
    fx_start (&fx, NULL, "[feedback]\npolicy = \"step\"\nscale_soft = 0.5\nstale_after_ms = 600",
              NULL, NULL);
    standin_set_level (fx.store, MDF_LEVEL_SOFT);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.5, 1e-9, 5000));

    fx_edit_config (&fx, "scale_soft = 0.5", "scale_soft = 0.8");
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 200);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.8, 1e-9, 3000));

    /* A broken file is refused and the running config stays. */
    fx_edit_config (&fx, "scale_soft = 0.8", "scale_soft = 7");
    ck_assert_int_eq (fx_post (&fx, "/control/reload"), 400);
    ck_assert_double_eq_tol (fx_metric (&fx, SCALE), 0.8, 1e-9);

    /* SIGHUP re-reads it too, refill_rate included. */
    fx_edit_config (&fx, "scale_soft = 7", "scale_soft = 0.3");
    fx_edit_config (&fx, "refill_rate = 2000", "refill_rate = 500");
    h_signal (&fx.proc, SIGHUP);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.3, 1e-9, 3000));
    standin_set_level (fx.store, MDF_LEVEL_OK);
    ck_assert (fx_wait_metric (&fx, SCALE, 1.0, 1e-9, 3000));
    double rate = fx_measure_rate (&fx, 1000);
    ck_assert_double_le (rate, 800); /* 500/s now, was 2000/s */
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

START_TEST (feedback_drives_only_the_listed_providers_and_can_be_off)
{
    fx_t fx;
    fx_start (&fx, NULL,
              "[feedback]\npolicy = \"step\"\nproviders = [\"syn\"]\nstale_after_ms = 600",
              FX_SYNTHETIC "\n[[providers]]\nname = \"free\"\nsymbols = [\"F\"]\n"
                           "refill_rate = 100\n",
              NULL);
    standin_set_level (fx.store, MDF_LEVEL_HARD);
    ck_assert (fx_wait_metric (&fx, SCALE, 0.0, 1e-9, 5000));
    ck_assert_double_eq (fx_metric (&fx, "pipeline_rate_scale_factor{provider=\"free\"}"), 1.0);
    double before = fx_metric (&fx, "mdp_bars_acked_total{provider=\"free\"}");
    ck_assert_double_ge (h_wait_metric_ge (fx.http_port, "mdp_bars_acked_total{provider=\"free\"}",
                                           before + 20, 5000),
                         before + 20);
    ck_assert_int_eq (fx_stop (&fx), 0);

    fx_start (&fx, NULL, "[feedback]\nenabled = false", NULL, NULL);
    standin_set_level (fx.store, MDF_LEVEL_HARD);
    ck_assert_double_ge (
        h_wait_metric_ge (fx.http_port, "mdp_bars_acked_total{provider=\"syn\"}", 500, 5000), 500);
    ck_assert_double_eq (fx_metric (&fx, SCALE), 1.0);
    int status = 0;
    char *health = h_http ("GET", fx.http_port, "/health", NULL, &status, 2000);
    ck_assert_ptr_nonnull (strstr (health, "\"disabled\""));
    free (health);
    ck_assert_int_eq (fx_stop (&fx), 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("pipeline_rate");
    TCase *tc = tcase_create ("rate");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, send_rate_follows_ok_soft_hard_and_back);
    tcase_add_test (tc, silent_store_counts_as_failsafe_until_heard_again);
    tcase_add_test (tc, env_override_changes_the_soft_scale);
    tcase_add_test (tc, reload_and_sighup_apply_new_scales_and_rates);
    tcase_add_test (tc, feedback_drives_only_the_listed_providers_and_can_be_off);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
