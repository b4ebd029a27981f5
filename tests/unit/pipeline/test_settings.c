/*
 * settings: the pipeline's config table and cross-key rules; errors name
 * file:line and key; environment overrides.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/settings.h"

static char path[64];

static void
s_write (const char *content)
{
    snprintf (path, sizeof path, "/tmp/test_settings_XXXXXX");
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t)strlen (content));
    close (fd);
}

static void
teardown (void)
{
    unlink (path);
}

#define PROVIDER "[[providers]]\nname = \"p\"\ntype = \"synthetic\"\nsymbols = [\"A\"]\n"

START_TEST (minimal_config_gets_the_documented_defaults)
{
    s_write (PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq (s.batch_max, 500);
    ck_assert_int_eq (s.max_inflight, 8);
    ck_assert_double_eq (s.scale_soft, 0.5);
    ck_assert_str_eq (s.failsafe, "soft");
    ck_assert_str_eq (s.policy, "step");
    ck_assert_int_eq (s.nproviders, 1);
    ck_assert_int_eq (s.providers[0].capacity, 1000);
    settings_free (&s);
}
END_TEST

START_TEST (scale_outside_0_1_names_file_line_and_key)
{
    s_write ("[feedback]\nscale_ok = 1.0\nscale_soft = 1.5\n" PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    char want[128];
    snprintf (want, sizeof want, "%s:3", path);
    ck_assert_msg (strstr (err, want) && strstr (err, "feedback.scale_soft"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (unknown_policy_is_rejected)
{
    s_write ("[feedback]\npolicy = \"magic\"\n" PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, ":2") && strstr (err, "feedback.policy"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (csv_provider_needs_a_path)
{
    s_write ("[[providers]]\nname = \"c\"\ntype = \"csv\"\n");
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "providers[0].path"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (unknown_provider_type_is_rejected)
{
    s_write ("[[providers]]\nname = \"c\"\ntype = \"kafka\"\n");
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "type") && strstr (err, ":3"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (duplicate_names_and_unknown_feedback_providers_are_rejected)
{
    s_write (PROVIDER PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "used twice"), "%s", err);
    settings_free (&s);
    unlink (path);
    s_write ("[feedback]\nproviders = [\"ghost\"]\n" PROVIDER);
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "ghost") && strstr (err, ":2"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (environment_overrides_the_file)
{
    s_write ("[feedback]\nscale_soft = 0.5\n" PROVIDER);
    setenv ("MDP_FEEDBACK_SCALE_SOFT", "0.75", 1);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    ck_assert_double_eq (s.scale_soft, 0.75);
    settings_free (&s);
    unsetenv ("MDP_FEEDBACK_SCALE_SOFT");
}
END_TEST

START_TEST (no_providers_is_an_error)
{
    s_write ("[pipeline]\nid = \"x\"\n");
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "providers"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (a_malformed_endpoint_names_its_key)
{
    s_write ("[store]\ningest = [\"localhost:5555\"]\n" PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, ":2") && strstr (err, "store.ingest"), "%s", err);
    settings_free (&s);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("settings");
    TCase *tc = tcase_create ("settings");
    tcase_add_checked_fixture (tc, NULL, teardown);
    tcase_add_test (tc, minimal_config_gets_the_documented_defaults);
    tcase_add_test (tc, scale_outside_0_1_names_file_line_and_key);
    tcase_add_test (tc, unknown_policy_is_rejected);
    tcase_add_test (tc, csv_provider_needs_a_path);
    tcase_add_test (tc, unknown_provider_type_is_rejected);
    tcase_add_test (tc, duplicate_names_and_unknown_feedback_providers_are_rejected);
    tcase_add_test (tc, environment_overrides_the_file);
    tcase_add_test (tc, no_providers_is_an_error);
    tcase_add_test (tc, a_malformed_endpoint_names_its_key);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
