/*
 * test_mdctl_parts: the pure pieces of mdctl, without processes or sockets:
 * the /metrics parser and rates, logfmt quoting, and the watch view (plain
 * lines, stale marker, dashboard) driven with explicit times instead of
 * sleeps.  send's file loader is proto/csv.c's mdf_csv_load, tested in
 * tests/unit/proto/test_proto_csv.c.
 */
#include "tools/mdctl/mdctl.h"
#include "tools/mdctl/scrape.h"
#include "tools/mdctl/view.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

/* ---- /metrics parsing ----------------------------------------------------------- */

static const char *s_exposition
    = "# HELP mdp_bars_ingested_total bars taken from providers\n"
      "# TYPE mdp_bars_ingested_total counter\n"
      "mdp_bars_ingested_total{provider=\"a\"} 100\n"
      "mdp_bars_ingested_total{provider=\"b} {weird\\\" one\"} 50 1700000000000\n"
      "mdp_bars_ingested_total_created{provider=\"a\"} 1.7e9\n"
      "mdp_bars_ingested 7\n"
      "pipeline_rate_scale_factor{provider=\"a\"} 0.5\n"
      "pipeline_rate_scale_factor{provider=\"b\"} 1\n"
      "mds_bars_written_total 12345\n";

START_TEST (metrics_parser_sums_and_mins_series_across_labels)
{
    ck_assert_double_eq (scrape_fold_text (s_exposition, "mdp_bars_ingested_total", SCRAPE_SUM),
                         150.0);
    ck_assert_double_eq (scrape_fold_text (s_exposition, "pipeline_rate_scale_factor", SCRAPE_MIN),
                         0.5);
    /* the largest: how mdctl watch reads the worst mdp_live_lag_seconds */
    ck_assert_double_eq (scrape_fold_text (s_exposition, "pipeline_rate_scale_factor", SCRAPE_MAX),
                         1.0);
    ck_assert_double_eq (scrape_fold_text (s_exposition, "mds_bars_written_total", SCRAPE_SUM),
                         12345.0);
    ck_assert (isnan (scrape_fold_text (s_exposition, "mdp_bars_acked_total", SCRAPE_SUM)));
    ck_assert (isnan (scrape_fold_text ("", "x", SCRAPE_SUM)));
}
END_TEST

START_TEST (rates_come_from_counter_differences_and_restart_on_a_reset)
{
    scrape_rate_t r = { 0 };
    ck_assert (isnan (scrape_rate_update (&r, 1000, 10000)));
    ck_assert_double_eq_tol (scrape_rate_update (&r, 1500, 10500), 1000.0, 1e-9);
    ck_assert (isnan (scrape_rate_update (&r, 10, 11000))); /* counter reset */
    ck_assert_double_eq_tol (scrape_rate_update (&r, 110, 12000), 100.0, 1e-9);
    ck_assert (isnan (scrape_rate_update (&r, NAN, 13000))); /* scrape failed */
    ck_assert (isnan (scrape_rate_update (&r, 200, 14000)));
}
END_TEST

START_TEST (http_addresses_and_logfmt_quoting)
{
    char url[128], err[128], q[64];
    ck_assert_int_eq (
        mdctl_http_url ("127.0.0.1:9102", "/metrics", url, sizeof url, err, sizeof err), 0);
    ck_assert_str_eq (url, "http://127.0.0.1:9102/metrics");
    ck_assert_int_eq (mdctl_http_url ("127.0.0.1", "/m", url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq (mdctl_http_url ("host:99999", "/m", url, sizeof url, err, sizeof err), -1);
    ck_assert_int_eq (mdctl_http_url ("http://h:1", "/m", url, sizeof url, err, sizeof err), -1);
    ck_assert_str_eq (mdctl_quote ("bars-coordinator", q, sizeof q), "bars-coordinator");
    ck_assert_str_eq (mdctl_quote ("a b=\"c\"", q, sizeof q), "\"a b=\\\"c\\\"\"");
    ck_assert_str_eq (mdctl_quote ("", q, sizeof q), "-");
}
END_TEST

/* ---- watch view ---------------------------------------------------------------- */

static mdf_feedback_t
s_event (const char *id, mdf_level_t level, int64_t queue, uint64_t seq, int64_t epoch)
{
    mdf_feedback_t ev;
    memset (&ev, 0, sizeof ev);
    ev.v = 1;
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "%s", id);
    ev.level = level;
    ev.queue_size = queue;
    ev.capacity = 10000;
    ev.seq = seq;
    ev.epoch = epoch;
    ev.ts = 1700000000.25;
    snprintf (ev.reason, sizeof ev.reason, "watermark");
    snprintf (ev.source, sizeof ev.source, "store");
    return ev;
}

static const char *s_fill = "==================================================";

typedef struct {
    char *text;
    size_t len;
    FILE *f;
} s_mem_t;

static void
s_mem_open (s_mem_t *m)
{
    m->text = NULL;
    m->len = 0;
    m->f = open_memstream (&m->text, &m->len);
}

static void
s_mem_close (s_mem_t *m)
{
    fclose (m->f);
    free (m->text);
}

START_TEST (plain_view_prints_a_stable_line_per_event_and_one_stale_line)
{
    view_opts_t opts = { .dashboard = false, .stale_ms = 3000, .recent = 3 };
    char *eps[] = { "tcp://a:1" };
    view_t *v = view_new (&opts, eps, 1);
    s_mem_t m;
    s_mem_open (&m);
    mdf_feedback_t ev = s_event ("store-1", MDF_LEVEL_SOFT, 6000, 4, 99);
    view_event (v, &ev, 0, 1000, m.f);
    fflush (m.f);
    ck_assert_str_eq (m.text, "ts=2023-11-14T22:13:20.250Z coordinator=store-1 level=soft "
                              "queue=6000 capacity=10000 seq=4 epoch=99 reason=watermark\n");
    size_t before = m.len;
    view_tick (v, 4000, m.f); /* silent 3000 ms: not yet stale */
    fflush (m.f);
    ck_assert_uint_eq (m.len, before);
    view_tick (v, 4001, m.f);
    view_tick (v, 9000, m.f); /* reported once per silence */
    fflush (m.f);
    const char *stale = m.text + before;
    ck_assert_ptr_nonnull (
        strstr (stale, "coordinator=store-1 stale=true silent_ms=3001 last_seq=4\n"));
    ck_assert_ptr_null (strstr (strstr (stale, "stale=true") + 1, "stale=true"));
    view_destroy (&v, m.f);
    ck_assert_ptr_null (v);
    s_mem_close (&m);
}
END_TEST

START_TEST (dashboard_marks_watermarks_stale_coordinators_and_silent_endpoints)
{
    view_opts_t opts = { .dashboard = true, .color = false, .stale_ms = 1000, .recent = 2 };
    char *eps[] = { "tcp://a:1", "tcp://b:2" };
    view_t *v = view_new (&opts, eps, 2);
    s_mem_t m;
    s_mem_open (&m);
    mdf_feedback_t ev = s_event ("store-1", MDF_LEVEL_HARD, 9000, 1, 5);
    view_event (v, &ev, 0, 0, m.f);
    ev.seq = 4; /* seqs 2 and 3 lost */
    view_event (v, &ev, 0, 100, m.f);
    ev.epoch = 6; /* a restart */
    ev.seq = 1;
    view_event (v, &ev, 0, 200, m.f);
    view_pipeline_t p = { .ok = true, .scale = 0.5, .ingested = 2500, .acked = NAN };
    view_pipeline (v, "127.0.0.1:9102", &p);
    view_tick (v, 5000, m.f);
    fflush (m.f);
    ck_assert_ptr_nonnull (strstr (m.text, "store-1  hard"));
    ck_assert_ptr_nonnull (strstr (m.text, "STALE"));
    char bar[128]; /* 9000 of 10000 in 50 cells: 45 filled, L at 25, H at 40 */
    snprintf (bar, sizeof bar, "queue [%.25sL%.14sH%.4s%.5s]", s_fill, s_fill, s_fill, "     ");
    ck_assert_msg (strstr (m.text, bar), "no '%s' in:\n%s", bar, m.text);
    ck_assert_ptr_nonnull (strstr (m.text, "9000/10000 90.0%  low 5000 high 8000"));
    ck_assert_ptr_nonnull (strstr (m.text, "restarts 1  lost 2"));
    ck_assert_ptr_nonnull (strstr (m.text, "waiting for tcp://b:2"));
    ck_assert_ptr_null (strstr (m.text, "waiting for tcp://a:1"));
    ck_assert_ptr_nonnull (strstr (m.text, "scale 0.50  ingested 2500/s  acked -"));
    ck_assert_ptr_null (strstr (m.text, "\033[1;31m")); /* no colour when disabled */
    view_destroy (&v, m.f);
    s_mem_close (&m);

    opts.color = true;
    opts.low = 2000;
    opts.high = 3000;
    v = view_new (&opts, eps, 1);
    s_mem_open (&m);
    view_event (v, &ev, 0, 0, m.f);
    view_tick (v, 10, m.f);
    fflush (m.f);
    ck_assert_ptr_nonnull (strstr (m.text, "\033[1;31mhard"));
    ck_assert_ptr_nonnull (strstr (m.text, "low 2000 high 3000"));
    ck_assert_ptr_null (strstr (m.text, "STALE"));
    view_destroy (&v, m.f);
    s_mem_close (&m);
}
END_TEST

START_TEST (watermarks_default_to_half_and_four_fifths_of_capacity)
{
    view_opts_t opts = { 0 };
    int64_t low, high;
    view_watermarks (&opts, 10000, &low, &high);
    ck_assert_int_eq (low, 5000);
    ck_assert_int_eq (high, 8000);
    view_watermarks (&opts, 20000, &low, &high);
    ck_assert_int_eq (low, 10000);
    ck_assert_int_eq (high, 16000);
    opts.low = 100;
    view_watermarks (&opts, 20000, &low, &high);
    ck_assert_int_eq (low, 100);
    ck_assert_int_eq (high, 16000);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("mdctl_parts");
    TCase *tc = tcase_create ("parts");
    tcase_add_test (tc, metrics_parser_sums_and_mins_series_across_labels);
    tcase_add_test (tc, rates_come_from_counter_differences_and_restart_on_a_reset);
    tcase_add_test (tc, http_addresses_and_logfmt_quoting);
    tcase_add_test (tc, plain_view_prints_a_stable_line_per_event_and_one_stale_line);
    tcase_add_test (tc, dashboard_marks_watermarks_stale_coordinators_and_silent_endpoints);
    tcase_add_test (tc, watermarks_default_to_half_and_four_fifths_of_capacity);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
