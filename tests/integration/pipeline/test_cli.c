/*
 * md-pipeline's command line: config errors exit 2 naming file:line and key,
 * --check-config validates, --version and --help exit 0 (--help with the
 * configuration reference, as md-store's), bad usage exits 2.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

static int
s_run (const char *config_text, char *const env[], const char *flag, char **out, char **path)
{
    char *dir = h_tmpdir ();
    *path = h_write_file (dir, "pipeline.toml", config_text);
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *argv[] = { bin, "--config", *path, (char *)flag, NULL };
    int rc = h_run (argv, env, 10000, out);
    free (bin);
    h_rmtree (dir);
    free (dir);
    return rc;
}

#define PROVIDER "[[providers]]\nname = \"p\"\ntype = \"synthetic\"\nsymbols = [\"A\"]\n"

START_TEST (scale_out_of_range_exits_2_naming_file_line_and_key)
{
    char *out = NULL, *path = NULL;
    int rc = s_run ("[feedback]\nscale_ok = 1.0\nscale_soft = 1.5\n" PROVIDER, NULL,
                    "--check-config", &out, &path);
    ck_assert_int_eq (rc, 2);
    char *where = h_strf ("%s:3", path);
    ck_assert_msg (strstr (out, where) && strstr (out, "feedback.scale_soft"), "%s", out);
    free (where);
    free (out);
    free (path);
}
END_TEST

START_TEST (unknown_policy_exits_2)
{
    char *out = NULL, *path = NULL;
    int rc = s_run ("[feedback]\npolicy = \"wishful\"\n" PROVIDER, NULL, NULL, &out, &path);
    ck_assert_int_eq (rc, 2);
    char *where = h_strf ("%s:2", path);
    ck_assert_msg (strstr (out, where) && strstr (out, "feedback.policy"), "%s", out);
    free (where);
    free (out);
    free (path);
}
END_TEST

START_TEST (bad_env_override_exits_2_naming_the_variable)
{
    char *out = NULL, *path = NULL;
    char *env[] = { "MDP_STORE_MAX_INFLIGHT=lots", NULL };
    int rc = s_run (PROVIDER, env, "--check-config", &out, &path);
    ck_assert_int_eq (rc, 2);
    ck_assert_msg (strstr (out, "MDP_STORE_MAX_INFLIGHT"), "%s", out);
    free (out);
    free (path);
}
END_TEST

START_TEST (check_config_accepts_the_example_and_shows_env_overrides)
{
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *example = h_source_path ("pipeline/pipeline.toml");
    char *argv[] = { bin, "--config", example, "--check-config", NULL };
    char *env[] = { "MDP_FEEDBACK_SCALE_SOFT=0.75", NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (argv, env, 10000, &out), 0);
    ck_assert_msg (strstr (out, "scale_soft = 0.75") && strstr (out, "MDP_FEEDBACK_SCALE_SOFT"),
                   "%s", out);
    free (out);
    free (example);
    free (bin);
}
END_TEST

START_TEST (version_help_and_bad_usage)
{
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *out = NULL;
    char *v[] = { bin, "--version", NULL };
    ck_assert_int_eq (h_run (v, NULL, 5000, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "md-pipeline"));
    free (out);
    char *h[] = { bin, "--help", NULL };
    ck_assert_int_eq (h_run (h, NULL, 5000, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "--check-config"));
    free (out);
    char *bad[] = { bin, "--frobnicate", NULL };
    ck_assert_int_eq (h_run (bad, NULL, 5000, &out), 2);
    free (out);
    char *none[] = { bin, NULL };
    ck_assert_int_eq (h_run (none, NULL, 5000, &out), 2);
    free (out);
    free (bin);
}
END_TEST

START_TEST (help_prints_the_configuration_reference)
{
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *argv[] = { bin, "--help", NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (argv, NULL, 5000, &out), 0);
    /* Every key with its type, default, range and variable, the providers'
     * keys in a table of their own, as the README's reference has them. */
    const char *rows[] = {
        "| `pipeline.id` | string | `pipeline-1` |  | restart | `MDP_PIPELINE_ID` |",
        "| `store.drain_timeout_ms` | integer | `5000` | 0 .. 600000 | restart |",
        "| `feedback.scale_soft` | number | `0.5` | 0 .. 1 | live | `MDP_FEEDBACK_SCALE_SOFT` |",
        "| `http.control_token_file` | string |",
        "[[providers]]",
        "| `refill_rate` | number | `1000` | 0 .. 1000000000 | live |",
        ("| `type` | string | `synthetic` | `synthetic`, `csv`, `exec`, `zmq`, `tick_csv` | "
         "restart | - |"),
        "| `bar_interval` | string | `1m` | `1s`, `1m`, `5m`, `1h`, `1d` | restart | - |",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strstr (out, rows[i])) {
            fprintf (stderr, "%s", out); /* whole: too long for a Check message */
            ck_abort_msg ("--help lacks '%s' (its output is above)", rows[i]);
        }
    free (out);
    free (bin);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("pipeline_cli");
    TCase *tc = tcase_create ("cli");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, scale_out_of_range_exits_2_naming_file_line_and_key);
    tcase_add_test (tc, unknown_policy_exits_2);
    tcase_add_test (tc, bad_env_override_exits_2_naming_the_variable);
    tcase_add_test (tc, check_config_accepts_the_example_and_shows_env_overrides);
    tcase_add_test (tc, version_help_and_bad_usage);
    tcase_add_test (tc, help_prints_the_configuration_reference);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
