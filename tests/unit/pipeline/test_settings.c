/*
 * settings: the pipeline's config table and cross-key rules; errors name
 * file:line and key; environment overrides; the /control/ bearer token from
 * the file, the environment or a token file, never printed.
 */
#include <check.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/settings.h"
#include "tests/integration/harness.h"

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

static char token_path[64];

static void
teardown (void)
{
    unlink (path);
    if (token_path[0])
        unlink (token_path);
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
    ck_assert_double_eq (s.policy.scale_soft, 0.5);
    ck_assert_int_eq (s.policy.failsafe, MDF_LEVEL_SOFT);
    ck_assert_str_eq (s.policy_name, "share");
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

/* The file options of a csv provider are checked when the config is read:
 * a bad one names its key and says what is expected. */
START_TEST (csv_file_options_are_checked_at_load_naming_the_key)
{
    s_write ("[[providers]]\nname = \"c\"\ntype = \"csv\"\npath = \"msft.csv.gz\"\n"
             "symbol = \"MSFT\"\ncolumns = \"ts=Date,close=Adj. Close*\"\n"
             "ts_format = \"%d-%b-%y\"\nts_offset = \"16:00\"\n");
    settings_t s;
    char err[512];
    ck_assert_msg (settings_load (&s, path, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq (s.providers[0].columns, "ts=Date,close=Adj. Close*");
    mdf_csv_opts_t o;
    const char *bad = NULL;
    ck_assert_int_eq (settings_csv_opts (&s.providers[0], &o, &bad, err, sizeof err), 0);
    ck_assert_str_eq (o.symbol, "MSFT");
    ck_assert_str_eq (o.column[5], "Adj. Close*");
    ck_assert_int_eq (o.ts_offset_ns, 16 * 3600 * 1000000000LL);
    settings_free (&s);
    unlink (path);

    /* the setting, the error, its line */
    static const char *bad_keys[][3] = {
        { "ts_offset = \"16h\"", "providers[0].ts_offset: ts_offset '16h': expected [-]HH:MM[:SS]",
          ":5:" },
        { "columns = \"date\"", "providers[0].columns: columns 'date': expected NAME=HEADER",
          ":5:" },
        { "ts_format = \"%Y-%Q\"", "providers[0].ts_format: ts_format '%Y-%Q'", ":5:" },
        { "symbol = \"X\"\ncolumns = \"symbol=Ticker\"", "providers[0].columns", ":6:" },
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char text[256];
        snprintf (text, sizeof text,
                  "[[providers]]\nname = \"c\"\ntype = \"csv\"\npath = \"a.csv\"\n%s\n",
                  bad_keys[i][0]);
        s_write (text);
        ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
        ck_assert_msg (strstr (err, bad_keys[i][1]) && strstr (err, bad_keys[i][2]),
                       "want '%s' at %s in: %s", bad_keys[i][1], bad_keys[i][2], err);
        settings_free (&s);
        unlink (path);
    }
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
    ck_assert_double_eq (s.policy.scale_soft, 0.75);
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

/* ---- http.control_token / http.control_token_file ---- */

#define TOKEN "tok-9f8e7d6c5b4a"

/* A token file with `content`; its path in token_path (removed by teardown). */
static void
s_write_token_file (const char *content)
{
    snprintf (token_path, sizeof token_path, "/tmp/test_token_XXXXXX");
    int fd = mkstemp (token_path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, content, strlen (content)), (ssize_t)strlen (content));
    close (fd);
}

/* settings_load with --check-config's dump captured into *out (malloc'd). */
static int
s_load_dump (settings_t *s, char **out, char *err, size_t errlen)
{
    size_t len = 0;
    FILE *mem = open_memstream (out, &len);
    ck_assert_ptr_nonnull (mem);
    int rc = settings_load (s, path, mem, err, errlen);
    fclose (mem);
    return rc;
}

START_TEST (control_token_is_off_by_default)
{
    s_write (PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    ck_assert_str_eq (s.control_token, "");
    settings_free (&s);
}
END_TEST

START_TEST (control_token_from_the_file_or_the_environment)
{
    s_write ("[http]\ncontrol_token = \"" TOKEN "\"\n" PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    ck_assert_str_eq (s.control_token, TOKEN);
    settings_free (&s);
    setenv ("MDP_HTTP_CONTROL_TOKEN", "from-env_42", 1);
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    unsetenv ("MDP_HTTP_CONTROL_TOKEN");
    ck_assert_str_eq (s.control_token, "from-env_42");
    settings_free (&s);
}
END_TEST

START_TEST (control_token_file_gives_its_first_line)
{
    s_write_token_file (TOKEN "\r\nsecond line is ignored\n");
    char *text = NULL;
    ck_assert_int_ge (
        asprintf (&text, "[http]\ncontrol_token_file = \"%s\"\n" PROVIDER, token_path), 0);
    s_write (text);
    free (text);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    ck_assert_str_eq (s.control_token, TOKEN);
    settings_free (&s);
    /* The environment can name the file too (a Kubernetes or compose secret). */
    unlink (path);
    s_write (PROVIDER);
    setenv ("MDP_HTTP_CONTROL_TOKEN_FILE", token_path, 1);
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), 0);
    unsetenv ("MDP_HTTP_CONTROL_TOKEN_FILE");
    ck_assert_str_eq (s.control_token, TOKEN);
    settings_free (&s);
}
END_TEST

START_TEST (control_token_and_its_file_are_mutually_exclusive)
{
    s_write_token_file (TOKEN "\n");
    char *text = NULL;
    ck_assert_int_ge (asprintf (&text,
                                "[http]\ncontrol_token = \"" TOKEN "\"\n"
                                "control_token_file = \"%s\"\n" PROVIDER,
                                token_path),
                      0);
    s_write (text);
    free (text);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    char want[128];
    snprintf (want, sizeof want, "%s:3", path);
    ck_assert_msg (strstr (err, want) && strstr (err, "http.control_token_file")
                       && strstr (err, "mutually exclusive"),
                   "%s", err);
    ck_assert_msg (!strstr (err, TOKEN), "the token is in the error: %s", err);
    settings_free (&s);
    /* File and environment mixed: the error names the variable. */
    unlink (path);
    s_write ("[http]\ncontrol_token = \"" TOKEN "\"\n" PROVIDER);
    setenv ("MDP_HTTP_CONTROL_TOKEN_FILE", token_path, 1);
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    unsetenv ("MDP_HTTP_CONTROL_TOKEN_FILE");
    ck_assert_msg (strstr (err, "$MDP_HTTP_CONTROL_TOKEN_FILE"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (bad_control_token_files_are_config_errors_naming_the_file)
{
    const char *contents[] = { "", "\n\n", "has a space\n", "" };
    const char *want[] = { "is empty", "is empty", "visible ASCII", "cannot read" };
    for (size_t i = 0; i < 4; i++) {
        s_write_token_file (contents[i]);
        if (i == 3)
            chmod (token_path, 0); /* unreadable (unless root: then a missing file) */
        char missing[128];
        snprintf (missing, sizeof missing, "%s.missing", token_path);
        const char *file = i == 3 && geteuid () == 0 ? missing : token_path;
        char *text = NULL;
        ck_assert_int_ge (asprintf (&text, "[http]\ncontrol_token_file = \"%s\"\n" PROVIDER, file),
                          0);
        s_write (text);
        free (text);
        settings_t s;
        char err[512];
        ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
        ck_assert_msg (strstr (err, file) && strstr (err, "http.control_token_file")
                           && strstr (err, want[i]) && strstr (err, ":2"),
                       "%zu: %s", i, err);
        ck_assert_msg (!strstr (err, "has a space"), "the token is in the error: %s", err);
        settings_free (&s);
        unlink (path);
        unlink (token_path);
    }
    /* A line longer than any token. */
    char long_line[600];
    memset (long_line, 'a', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = '\0';
    s_write_token_file (long_line);
    char *text = NULL;
    ck_assert_int_ge (
        asprintf (&text, "[http]\ncontrol_token_file = \"%s\"\n" PROVIDER, token_path), 0);
    s_write (text);
    free (text);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "visible ASCII") && !strstr (err, "aaaa"), "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (a_malformed_control_token_names_the_key_not_the_value)
{
    s_write ("[http]\ncontrol_token = \"two words\"\n" PROVIDER);
    settings_t s;
    char err[512];
    ck_assert_int_eq (settings_load (&s, path, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, ":2") && strstr (err, "http.control_token")
                       && !strstr (err, "two words"),
                   "%s", err);
    settings_free (&s);
}
END_TEST

START_TEST (check_config_dump_redacts_the_token)
{
    s_write ("[http]\ncontrol_token = \"" TOKEN "\"\n" PROVIDER);
    settings_t s;
    char err[512], *out = NULL;
    ck_assert_int_eq (s_load_dump (&s, &out, err, sizeof err), 0);
    ck_assert_msg (strstr (out, "http.control_token = \"(redacted)\"") && !strstr (out, TOKEN),
                   "%s", out);
    /* The running settings still hold the token. */
    ck_assert_str_eq (s.control_token, TOKEN);
    ck_assert_str_eq (s.http_control_token, TOKEN);
    free (out);
    settings_free (&s);
    /* From the environment: redacted too. */
    setenv ("MDP_HTTP_CONTROL_TOKEN", "env-secret-77", 1);
    ck_assert_int_eq (s_load_dump (&s, &out, err, sizeof err), 0);
    unsetenv ("MDP_HTTP_CONTROL_TOKEN");
    ck_assert_msg (strstr (out, "(redacted)") && !strstr (out, "env-secret-77"), "%s", out);
    free (out);
    settings_free (&s);
    /* From a file: the dump shows the path, never the content. */
    unlink (path);
    s_write_token_file ("file-secret-88\n");
    char *text = NULL;
    ck_assert_int_ge (
        asprintf (&text, "[http]\ncontrol_token_file = \"%s\"\n" PROVIDER, token_path), 0);
    s_write (text);
    free (text);
    ck_assert_int_eq (s_load_dump (&s, &out, err, sizeof err), 0);
    ck_assert_msg (strstr (out, token_path) && !strstr (out, "file-secret-88"), "%s", out);
    ck_assert_str_eq (s.control_token, "file-secret-88");
    free (out);
    settings_free (&s);
    /* No token: an empty value, nothing redacted. */
    unlink (path);
    s_write (PROVIDER);
    ck_assert_int_eq (s_load_dump (&s, &out, err, sizeof err), 0);
    ck_assert_msg (strstr (out, "http.control_token = \"\"") && !strstr (out, "(redacted)"), "%s",
                   out);
    free (out);
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
    tcase_add_test (tc, csv_file_options_are_checked_at_load_naming_the_key);
    tcase_add_test (tc, unknown_provider_type_is_rejected);
    tcase_add_test (tc, duplicate_names_and_unknown_feedback_providers_are_rejected);
    tcase_add_test (tc, environment_overrides_the_file);
    tcase_add_test (tc, no_providers_is_an_error);
    tcase_add_test (tc, a_malformed_endpoint_names_its_key);
    tcase_add_test (tc, control_token_is_off_by_default);
    tcase_add_test (tc, control_token_from_the_file_or_the_environment);
    tcase_add_test (tc, control_token_file_gives_its_first_line);
    tcase_add_test (tc, control_token_and_its_file_are_mutually_exclusive);
    tcase_add_test (tc, bad_control_token_files_are_config_errors_naming_the_file);
    tcase_add_test (tc, a_malformed_control_token_names_the_key_not_the_value);
    tcase_add_test (tc, check_config_dump_redacts_the_token);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
