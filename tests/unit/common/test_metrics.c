/*
 * test_metrics: the registry's types, label handling, exposition text (exact
 * and checked by promtool), quantile estimates and lock-free concurrency.
 */
#include "common/metrics.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static mdf_metrics_t *reg;

static void
s_setup (void)
{
    reg = mdf_metrics_new ();
    ck_assert_ptr_nonnull (reg);
}

static void
s_teardown (void)
{
    mdf_metrics_destroy (&reg);
    ck_assert_ptr_null (reg);
}

START_TEST (counter_renders_with_escaped_labels_and_help)
{
    mdf_counter_t *c
        = mdf_metrics_counter (reg, "mds_batches_total", "Batches \\ answered\nby status", "status",
                               "ok", "path", "C:\\dir \"x\"\nnext", NULL);
    ck_assert_ptr_nonnull (c);
    mdf_counter_inc (c);
    mdf_counter_add (c, 41);
    ck_assert_uint_eq (mdf_counter_value (c), 42);
    char *text = mdf_metrics_render (reg);
    ck_assert_str_eq (text,
                      "# HELP mds_batches_total Batches \\\\ answered\\nby status\n"
                      "# TYPE mds_batches_total counter\n"
                      "mds_batches_total{status=\"ok\",path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 42\n");
    free (text);
}
END_TEST

START_TEST (gauge_holds_doubles_and_special_values)
{
    mdf_gauge_t *g = mdf_metrics_gauge (reg, "pipeline_rate_scale_factor", "Scale", NULL);
    mdf_gauge_t *neg = mdf_metrics_gauge (reg, "test_temp_celsius", "T", "room", "a", NULL);
    mdf_gauge_t *inf = mdf_metrics_gauge (reg, "test_temp_celsius", "T", "room", "b", NULL);
    mdf_gauge_t *nan = mdf_metrics_gauge (reg, "test_temp_celsius", "T", "room", "c", NULL);
    ck_assert_double_eq (mdf_gauge_value (g), 0.0);
    mdf_gauge_set (g, 0.5);
    mdf_gauge_add (g, 0.25);
    ck_assert_double_eq (mdf_gauge_value (g), 0.75);
    mdf_gauge_set (neg, -3.1);
    mdf_gauge_set (inf, INFINITY);
    mdf_gauge_set (nan, NAN);
    char *text = mdf_metrics_render (reg);
    ck_assert_str_eq (text, "# HELP pipeline_rate_scale_factor Scale\n"
                            "# TYPE pipeline_rate_scale_factor gauge\n"
                            "pipeline_rate_scale_factor 0.75\n"
                            "# HELP test_temp_celsius T\n"
                            "# TYPE test_temp_celsius gauge\n"
                            "test_temp_celsius{room=\"a\"} -3.1\n"
                            "test_temp_celsius{room=\"b\"} +Inf\n"
                            "test_temp_celsius{room=\"c\"} NaN\n");
    free (text);
}
END_TEST

START_TEST (histogram_renders_cumulative_buckets_sum_count)
{
    const double bounds[] = { 0.1, 0.5, 1 };
    mdf_histogram_t *h = mdf_metrics_histogram (reg, "test_latency_seconds", "Latency", bounds, 3,
                                                "op", "a\"b", NULL);
    ck_assert_ptr_nonnull (h);
    mdf_histogram_observe (h, 0.05);
    mdf_histogram_observe (h, 0.1); /* le is inclusive */
    mdf_histogram_observe (h, 0.3);
    mdf_histogram_observe (h, 2);
    ck_assert_uint_eq (mdf_histogram_count (h), 4);
    ck_assert_double_eq_tol (mdf_histogram_sum (h), 2.45, 1e-12);
    char *text = mdf_metrics_render (reg);
    ck_assert_str_eq (text, "# HELP test_latency_seconds Latency\n"
                            "# TYPE test_latency_seconds histogram\n"
                            "test_latency_seconds_bucket{op=\"a\\\"b\",le=\"0.1\"} 2\n"
                            "test_latency_seconds_bucket{op=\"a\\\"b\",le=\"0.5\"} 3\n"
                            "test_latency_seconds_bucket{op=\"a\\\"b\",le=\"1\"} 3\n"
                            "test_latency_seconds_bucket{op=\"a\\\"b\",le=\"+Inf\"} 4\n"
                            "test_latency_seconds_sum{op=\"a\\\"b\"} 2.45\n"
                            "test_latency_seconds_count{op=\"a\\\"b\"} 4\n");
    free (text);
}
END_TEST

START_TEST (families_sorted_series_in_registration_order)
{
    mdf_metrics_counter (reg, "zz_total", "z", "k", "2", NULL);
    mdf_metrics_counter (reg, "aa_total", "a", NULL);
    mdf_metrics_counter (reg, "zz_total", "z", "k", "1", NULL);
    mdf_metrics_gauge (reg, "mm", "m", NULL);
    char *text = mdf_metrics_render (reg);
    const char *aa = strstr (text, "# HELP aa_total");
    const char *mm = strstr (text, "# HELP mm");
    const char *z2 = strstr (text, "zz_total{k=\"2\"}");
    const char *z1 = strstr (text, "zz_total{k=\"1\"}");
    ck_assert (aa && mm && z1 && z2);
    ck_assert (aa < mm && mm < z2 && z2 < z1);
    free (text);
}
END_TEST

START_TEST (a_hidden_gauge_leaves_the_exposition_until_asked_for_again)
{
    mdf_gauge_t *a = mdf_metrics_gauge (reg, "depth", "Depth", "source", "a", NULL);
    mdf_gauge_t *b = mdf_metrics_gauge (reg, "depth", "Depth", "source", "b", NULL);
    mdf_gauge_set (a, 1);
    mdf_gauge_set (b, 2);
    mdf_gauge_hide (a);
    mdf_gauge_set (a, 3); /* the handle stays valid */
    char *text = mdf_metrics_render (reg);
    ck_assert_msg (!strstr (text, "depth{source=\"a\"}"), "%s", text);
    ck_assert_msg (strstr (text, "depth{source=\"b\"} 2\n"), "%s", text);
    free (text);
    ck_assert_ptr_eq (mdf_metrics_gauge (reg, "depth", "Depth", "source", "a", NULL), a);
    text = mdf_metrics_render (reg);
    ck_assert_msg (strstr (text, "depth{source=\"a\"} 3\n"), "%s", text);
    free (text);
}
END_TEST

START_TEST (same_name_and_labels_give_same_handle)
{
    mdf_counter_t *a = mdf_metrics_counter (reg, "x_total", "x", "level", "ok", NULL);
    mdf_counter_t *b = mdf_metrics_counter (reg, "x_total", "x", "level", "ok", NULL);
    mdf_counter_t *c = mdf_metrics_counter (reg, "x_total", "x", "level", "soft", NULL);
    ck_assert_ptr_eq (a, b);
    ck_assert_ptr_ne (a, c);
    const double bounds[] = { 1, 2 };
    mdf_histogram_t *h1 = mdf_metrics_histogram (reg, "h_seconds", "h", bounds, 2, NULL);
    ck_assert_ptr_eq (h1, mdf_metrics_histogram (reg, "h_seconds", "h", bounds, 2, NULL));
}
END_TEST

START_TEST (misuse_returns_null)
{
    const double bounds[] = { 1, 2 };
    const double unsorted[] = { 2, 1 };
    ck_assert_ptr_null (mdf_metrics_counter (reg, "", "x", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "9lives", "x", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "has-dash", "x", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, NULL, "x", NULL));
    ck_assert_ptr_nonnull (mdf_metrics_counter (reg, "ns:sub_total", "colons ok", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "a_total", "x", "bad:label", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "a_total", "x", "1st", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "a_total", "x", "__reserved", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "a_total", "x", "k", "v", "k", "w", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "a_total", "x", "odd", (char *)NULL, NULL));
    ck_assert_ptr_null (mdf_metrics_histogram (reg, "b_seconds", "x", bounds, 2, "le", "1", NULL));
    ck_assert_ptr_null (mdf_metrics_histogram (reg, "b_seconds", "x", unsorted, 2, NULL));
    /* Existing name with another type or other label names. */
    ck_assert_ptr_nonnull (mdf_metrics_counter (reg, "c_total", "x", "k", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_gauge (reg, "c_total", "x", "k", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "c_total", "x", "j", "v", NULL));
    ck_assert_ptr_null (mdf_metrics_counter (reg, "c_total", "x", NULL));
    ck_assert_ptr_nonnull (mdf_metrics_histogram (reg, "d_seconds", "x", bounds, 2, NULL));
    ck_assert_ptr_null (mdf_metrics_histogram (reg, "d_seconds", "x", bounds, 1, NULL));
    /* Nothing half-registered leaks into the output. */
    char *text = mdf_metrics_render (reg);
    ck_assert_ptr_null (strstr (text, "a_total"));
    ck_assert_ptr_null (strstr (text, "b_seconds"));
    free (text);
}
END_TEST

START_TEST (empty_registry_renders_empty_text)
{
    char *text = mdf_metrics_render (reg);
    ck_assert_str_eq (text, "");
    free (text);
    ck_assert_ptr_null (mdf_metrics_render (NULL));
}
END_TEST

START_TEST (quantile_interpolates_like_promql)
{
    const double bounds[] = { 1, 2, 4 };
    mdf_histogram_t *h = mdf_metrics_histogram (reg, "q_seconds", "q", bounds, 3, NULL);
    ck_assert (isnan (mdf_histogram_quantile (h, 0.5)));
    /* 10 in (0,1], 10 in (1,2], 0 in (2,4], 0 above. */
    for (int i = 0; i < 10; i++) {
        mdf_histogram_observe (h, 0.5);
        mdf_histogram_observe (h, 1.5);
    }
    ck_assert_double_eq_tol (mdf_histogram_quantile (h, 0.5), 1.0, 1e-12);
    ck_assert_double_eq_tol (mdf_histogram_quantile (h, 0.25), 0.5, 1e-12);
    ck_assert_double_eq_tol (mdf_histogram_quantile (h, 0.75), 1.5, 1e-12);
    ck_assert_double_eq_tol (mdf_histogram_quantile (h, 1.0), 2.0, 1e-12);
    ck_assert (isinf (mdf_histogram_quantile (h, 1.5)) && mdf_histogram_quantile (h, 1.5) > 0);
    ck_assert (isinf (mdf_histogram_quantile (h, -0.1)) && mdf_histogram_quantile (h, -1) < 0);
    /* Mass in +Inf: the answer is the highest finite bound. */
    for (int i = 0; i < 100; i++)
        mdf_histogram_observe (h, 100);
    ck_assert_double_eq_tol (mdf_histogram_quantile (h, 0.99), 4.0, 1e-12);
}
END_TEST

START_TEST (latency_buckets_are_ascending_100us_to_10s)
{
    ck_assert_uint_ge (mdf_buckets_latency_n, 2);
    ck_assert_double_eq (mdf_buckets_latency[0], 0.0001);
    ck_assert_double_eq (mdf_buckets_latency[mdf_buckets_latency_n - 1], 10);
    mdf_histogram_t *h = mdf_metrics_histogram (reg, "l_seconds", "l", mdf_buckets_latency,
                                                mdf_buckets_latency_n, NULL);
    ck_assert_ptr_nonnull (h);
}
END_TEST

#define THREADS 8
#define ROUNDS 50000

typedef struct {
    mdf_counter_t *c;
    mdf_gauge_t *g;
    mdf_histogram_t *h;
} s_hot_t;

static void *
s_hammer (void *arg)
{
    s_hot_t *hot = arg;
    for (int i = 0; i < ROUNDS; i++) {
        mdf_counter_inc (hot->c);
        mdf_gauge_add (hot->g, 1.0);
        mdf_histogram_observe (hot->h, (i % 2) ? 0.5 : 5.0);
    }
    return NULL;
}

START_TEST (concurrent_updates_are_exact)
{
    const double bounds[] = { 1 };
    s_hot_t hot = {
        mdf_metrics_counter (reg, "hot_total", "h", NULL),
        mdf_metrics_gauge (reg, "hot_gauge", "h", NULL),
        mdf_metrics_histogram (reg, "hot_seconds", "h", bounds, 1, NULL),
    };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq (pthread_create (&t[i], NULL, s_hammer, &hot), 0);
    /* Rendering while writers run must not block them or crash. */
    char *mid = mdf_metrics_render (reg);
    ck_assert_ptr_nonnull (mid);
    free (mid);
    for (int i = 0; i < THREADS; i++)
        pthread_join (t[i], NULL);
    ck_assert_uint_eq (mdf_counter_value (hot.c), (uint64_t)THREADS * ROUNDS);
    ck_assert_double_eq (mdf_gauge_value (hot.g), (double)THREADS * ROUNDS);
    ck_assert_uint_eq (mdf_histogram_count (hot.h), (uint64_t)THREADS * ROUNDS);
    ck_assert_double_eq (mdf_histogram_sum (hot.h), THREADS * (ROUNDS / 2) * 5.5);
    char *text = mdf_metrics_render (reg);
    char want[128];
    snprintf (want, sizeof want, "hot_seconds_bucket{le=\"1\"} %d\n", THREADS * ROUNDS / 2);
    ck_assert_ptr_nonnull (strstr (text, want));
    free (text);
}
END_TEST

/* Path of promtool, or NULL. */
static const char *
s_promtool (void)
{
    static char path[512];
    const char *env_path = getenv ("PATH");
    char dirs[2048];
    snprintf (dirs, sizeof dirs, "%s:/usr/bin:/usr/local/bin", env_path ? env_path : "");
    for (char *save = NULL, *dir = strtok_r (dirs, ":", &save); dir;
         dir = strtok_r (NULL, ":", &save)) {
        snprintf (path, sizeof path, "%s/promtool", dir);
        if (access (path, X_OK) == 0)
            return path;
    }
    return NULL;
}

START_TEST (promtool_accepts_the_exposition)
{
    const char *promtool = s_promtool ();
    ck_assert_msg (promtool != NULL,
                   "promtool not found: install the `prometheus` package (apt-get install "
                   "prometheus) so the exposition can be checked; CI installs it");
    const double bounds[] = { 0.001, 0.01, 0.1 };
    mdf_counter_t *c
        = mdf_metrics_counter (reg, "mds_feedback_events_total", "Feedback \\ events\nby level",
                               "level", "soft", "note", "q\"uo\\te\nnl", NULL);
    mdf_counter_add (c, 3);
    mdf_metrics_counter (reg, "mds_feedback_events_total", "x", "level", "hard", "note", "", NULL);
    mdf_gauge_set (mdf_metrics_gauge (reg, "coordinator_queue_depth", "Queue depth",
                                      "coordinator_id", "c-1", NULL),
                   12.5);
    mdf_gauge_set (mdf_metrics_gauge (reg, "mds_feedback_subscribers", "Subscribers", NULL), 2);
    mdf_histogram_t *h = mdf_metrics_histogram (reg, "mds_batch_latency_seconds", "Latency", bounds,
                                                3, "service", "a,b=c", NULL);
    mdf_histogram_observe (h, 0.005);
    mdf_histogram_observe (h, 3);
    mdf_histogram_observe (mdf_metrics_histogram (reg, "mds_batch_latency_seconds", "Latency",
                                                  bounds, 3, "service", "other", NULL),
                           0.0005);

    char *text = mdf_metrics_render (reg);
    char in[] = "/tmp/mdf_metrics_XXXXXX";
    int fd = mkstemp (in);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t)strlen (text));
    close (fd);
    char cmd[1200];
    snprintf (cmd, sizeof cmd, "%s check metrics < %s 2>&1", promtool, in);
    FILE *p = popen (cmd, "r");
    ck_assert_ptr_nonnull (p);
    char out[4096] = "";
    size_t n = fread (out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose (p);
    unlink (in);
    ck_assert_msg (status == 0 && n == 0, "promtool rejected the exposition (status %d): %s\n%s",
                   status, out, text);
    free (text);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("metrics");
    TCase *tc = tcase_create ("metrics");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, counter_renders_with_escaped_labels_and_help);
    tcase_add_test (tc, gauge_holds_doubles_and_special_values);
    tcase_add_test (tc, histogram_renders_cumulative_buckets_sum_count);
    tcase_add_test (tc, families_sorted_series_in_registration_order);
    tcase_add_test (tc, a_hidden_gauge_leaves_the_exposition_until_asked_for_again);
    tcase_add_test (tc, same_name_and_labels_give_same_handle);
    tcase_add_test (tc, misuse_returns_null);
    tcase_add_test (tc, empty_registry_renders_empty_text);
    tcase_add_test (tc, quantile_interpolates_like_promql);
    tcase_add_test (tc, latency_buckets_are_ascending_100us_to_10s);
    tcase_add_test (tc, concurrent_updates_are_exact);
    tcase_add_test (tc, promtool_accepts_the_exposition);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
