/*
 * test_log: the log module's line format, quoting, level filtering, env
 * configuration and rate limiter.  Output is captured through a pipe given to
 * mdf_log_set_fd; the rate limiter is driven with explicit times (no sleeps).
 */
#include "common/log.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static int s_pipe[2];

static void
s_setup (void)
{
    ck_assert_int_eq (pipe (s_pipe), 0);
    /* Non-blocking read end: "nothing logged" reads as empty, never hangs. */
    fcntl (s_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl (s_pipe[1], F_SETPIPE_SZ, 1 << 20);
    mdf_log_set_fd (s_pipe[1]);
    mdf_log_set_level (MDF_LOG_INFO);
}

static void
s_teardown (void)
{
    mdf_log_set_fd (2);
    close (s_pipe[0]);
    close (s_pipe[1]);
}

/* Everything written so far (static buffer, NUL-terminated). */
static const char *
s_captured (void)
{
    static char buf[1 << 20];
    ssize_t n = read (s_pipe[0], buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static int
s_count_lines (const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

START_TEST (line_is_logfmt_with_utc_ms_timestamp)
{
    mdf_log (MDF_LOG_WARN, "batch rejected", "producer=%s batch_seq=%d", "p1", 7);
    const char *out = s_captured ();
    regex_t re;
    ck_assert_int_eq (
        regcomp (&re,
                 "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                 "level=warn msg=\"batch rejected\" producer=p1 batch_seq=7\n$",
                 REG_EXTENDED),
        0);
    int rc = regexec (&re, out, 0, NULL, 0);
    regfree (&re);
    ck_assert_msg (rc == 0, "unexpected line: %s", out);
}
END_TEST

START_TEST (plain_message_is_not_quoted_and_kv_is_optional)
{
    mdf_log (MDF_LOG_ERROR, "started", NULL);
    const char *out = s_captured ();
    ck_assert_ptr_nonnull (strstr (out, " level=error msg=started\n"));
    ck_assert_int_eq (s_count_lines (out), 1);
}
END_TEST

START_TEST (quote_escapes_logfmt_specials)
{
    char buf[128];
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "plain-token_1.2"), "plain-token_1.2");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, ""), "\"\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, NULL), "\"\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "a b"), "\"a b\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "k=v"), "\"k=v\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "say \"hi\""), "\"say \\\"hi\\\"\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "back\\slash"), "\"back\\\\slash\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "two\nlines"), "\"two\\nlines\"");
    ck_assert_str_eq (mdf_log_quote (buf, sizeof buf, "bell\a"), "\"bell\\x07\"");
}
END_TEST

START_TEST (quote_truncates_but_stays_quoted)
{
    char buf[8];
    const char *q = mdf_log_quote (buf, sizeof buf, "a very long value");
    ck_assert_str_eq (q, "\"a ver\"");
    char tiny[4];
    ck_assert_str_eq (mdf_log_quote (tiny, sizeof tiny, "abcdef"), "abc");
}
END_TEST

START_TEST (levels_below_threshold_are_dropped)
{
    mdf_log_set_level (MDF_LOG_WARN);
    mdf_log (MDF_LOG_DEBUG, "d", NULL);
    mdf_log (MDF_LOG_INFO, "i", NULL);
    mdf_log (MDF_LOG_WARN, "w", NULL);
    mdf_log (MDF_LOG_ERROR, "e", NULL);
    const char *out = s_captured ();
    ck_assert_int_eq (s_count_lines (out), 2);
    ck_assert_ptr_null (strstr (out, "msg=i"));
    ck_assert_ptr_nonnull (strstr (out, "level=warn msg=w\n"));
    ck_assert_ptr_nonnull (strstr (out, "level=error msg=e\n"));
    mdf_log_set_level (MDF_LOG_DEBUG);
    mdf_debug ("now visible", "n=%d", 1);
    ck_assert_ptr_nonnull (strstr (s_captured (), "level=debug msg=\"now visible\" n=1\n"));
}
END_TEST

START_TEST (level_names_parse_and_print)
{
    mdf_log_level_t l;
    ck_assert_int_eq (mdf_log_level_parse ("DEBUG", &l), 0);
    ck_assert_int_eq (l, MDF_LOG_DEBUG);
    ck_assert_int_eq (mdf_log_level_parse ("warning", &l), 0);
    ck_assert_int_eq (l, MDF_LOG_WARN);
    ck_assert_int_eq (mdf_log_level_parse ("Error", &l), 0);
    ck_assert_int_eq (l, MDF_LOG_ERROR);
    ck_assert_int_eq (mdf_log_level_parse ("loud", &l), -1);
    ck_assert_int_eq (mdf_log_level_parse (NULL, &l), -1);
    ck_assert_str_eq (mdf_log_level_name (MDF_LOG_INFO), "info");
    ck_assert_str_eq (mdf_log_level_name (MDF_LOG_WARN), "warn");
}
END_TEST

START_TEST (env_sets_level_and_rejects_garbage)
{
    char err[256] = "";
    unsetenv ("MDF_LOG_LEVEL");
    ck_assert_int_eq (mdf_log_init_from_env (err, sizeof err), 0);
    ck_assert_int_eq (mdf_log_get_level (), MDF_LOG_INFO);
    setenv ("MDF_LOG_LEVEL", "error", 1);
    ck_assert_int_eq (mdf_log_init_from_env (err, sizeof err), 0);
    ck_assert_int_eq (mdf_log_get_level (), MDF_LOG_ERROR);
    setenv ("MDF_LOG_LEVEL", "very loud", 1);
    ck_assert_int_eq (mdf_log_init_from_env (err, sizeof err), -1);
    ck_assert_int_eq (mdf_log_get_level (), MDF_LOG_ERROR);
    ck_assert_ptr_nonnull (strstr (err, "MDF_LOG_LEVEL"));
    ck_assert_ptr_nonnull (strstr (err, "\"very loud\""));
    unsetenv ("MDF_LOG_LEVEL");
}
END_TEST

START_TEST (long_line_is_cut_to_4k_and_marked)
{
    static char big[8192];
    memset (big, 'x', sizeof big - 1);
    mdf_log (MDF_LOG_INFO, "big", "v=%s", big);
    const char *out = s_captured ();
    ck_assert_uint_eq (strlen (out), 4095);
    ck_assert_int_eq (s_count_lines (out), 1);
    size_t len = strlen (out);
    ck_assert_str_eq (out + len - strlen (" truncated=true\n"), " truncated=true\n");
}
END_TEST

static void *
s_log_many (void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 200; i++)
        mdf_info ("from thread", "thread=%d i=%d pad=%s", id, i,
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    return NULL;
}

START_TEST (concurrent_lines_never_interleave)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create (&t[i], NULL, s_log_many, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join (t[i], NULL);
    const char *out = s_captured ();
    ck_assert_int_eq (s_count_lines (out), 800);
    /* Every line starts with ts= and ends with the pad: nothing spliced. */
    int ok = 0;
    for (const char *line = out; *line;) {
        const char *nl = strchr (line, '\n');
        ck_assert_int_eq (strncmp (line, "ts=", 3), 0);
        ck_assert_int_eq (strncmp (nl - 5, "aaaaa", 5), 0);
        ok++;
        line = nl + 1;
    }
    ck_assert_int_eq (ok, 800);
}
END_TEST

START_TEST (ratelimit_allows_burst_then_counts_suppressed)
{
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 3);
    uint64_t held = 99;
    int64_t t0 = 5000;
    for (int i = 0; i < 3; i++) {
        ck_assert (mdf_ratelimit_allow_at (&rl, t0 + i, &held));
        ck_assert_uint_eq (held, 0);
    }
    for (int i = 0; i < 5; i++) {
        ck_assert (!mdf_ratelimit_allow_at (&rl, t0 + 10 + i, &held));
        ck_assert_uint_eq (held, 0);
    }
    /* Still inside the window at t0+999. */
    ck_assert (!mdf_ratelimit_allow_at (&rl, t0 + 999, NULL));
    /* New window: allowed, and told about the 6 held back. */
    ck_assert (mdf_ratelimit_allow_at (&rl, t0 + 1000, &held));
    ck_assert_uint_eq (held, 6);
    ck_assert (mdf_ratelimit_allow_at (&rl, t0 + 1001, &held));
    ck_assert_uint_eq (held, 0);
}
END_TEST

START_TEST (ratelimit_runtime_init_and_real_clock)
{
    mdf_ratelimit_t rl;
    mdf_ratelimit_init (&rl, 60000, 1);
    uint64_t held = 7;
    ck_assert (mdf_ratelimit_allow (&rl, &held));
    ck_assert_uint_eq (held, 0);
    ck_assert (!mdf_ratelimit_allow (&rl, &held));
    ck_assert (!mdf_ratelimit_allow (&rl, NULL));
}
END_TEST

typedef struct {
    mdf_ratelimit_t *rl;
    int allowed;
} s_rl_arg_t;

static void *
s_hammer (void *arg)
{
    s_rl_arg_t *a = arg;
    for (int i = 0; i < 10000; i++)
        a->allowed += mdf_ratelimit_allow_at (a->rl, 42, NULL);
    return NULL;
}

START_TEST (ratelimit_is_exact_under_threads)
{
    mdf_ratelimit_t rl = MDF_RATELIMIT_INIT (1000, 100);
    pthread_t t[4];
    s_rl_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (s_rl_arg_t){ &rl, 0 };
        pthread_create (&t[i], NULL, s_hammer, &args[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join (t[i], NULL);
        total += args[i].allowed;
    }
    ck_assert_int_eq (total, 100);
    uint64_t held = 0;
    ck_assert (mdf_ratelimit_allow_at (&rl, 1042, &held));
    ck_assert_uint_eq (held, 40000 - 100);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("log");
    TCase *tc = tcase_create ("log");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, line_is_logfmt_with_utc_ms_timestamp);
    tcase_add_test (tc, plain_message_is_not_quoted_and_kv_is_optional);
    tcase_add_test (tc, quote_escapes_logfmt_specials);
    tcase_add_test (tc, quote_truncates_but_stays_quoted);
    tcase_add_test (tc, levels_below_threshold_are_dropped);
    tcase_add_test (tc, level_names_parse_and_print);
    tcase_add_test (tc, env_sets_level_and_rejects_garbage);
    tcase_add_test (tc, long_line_is_cut_to_4k_and_marked);
    tcase_add_test (tc, concurrent_lines_never_interleave);
    tcase_add_test (tc, ratelimit_allows_burst_then_counts_suppressed);
    tcase_add_test (tc, ratelimit_runtime_init_and_real_clock);
    tcase_add_test (tc, ratelimit_is_exact_under_threads);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
