/*
 * settings: the documented defaults, the cross-key checks (with file:line and key
 * in the message), environment overrides, and the diff SIGHUP reports.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/settings.h"
#include "tests/integration/harness.h"

static char s_path[64];

static const char *
s_file (const char *text)
{
    snprintf (s_path, sizeof s_path, "/tmp/mds-settings-%d.toml", (int)getpid ());
    FILE *f = fopen (s_path, "w");
    ck_assert_ptr_nonnull (f);
    fputs (text, f);
    fclose (f);
    return s_path;
}

static void
s_teardown (void)
{
    unlink (s_path);
}

START_TEST (defaults_are_those_of_design)
{
    store_settings_t s;
    char err[512];
    mdf_cfg_t *cfg = store_settings_load (NULL, &s, err, sizeof err);
    ck_assert_msg (cfg != NULL, "%s", err);
    ck_assert_str_eq (s.store_id, "bars-coordinator");
    ck_assert_str_eq (s.ingest_endpoint, "tcp://127.0.0.1:5555");
    ck_assert_str_eq (s.feedback_endpoint, "tcp://127.0.0.1:5556");
    ck_assert_int_eq (s.heartbeat_ms, 1000);
    ck_assert_int_eq (s.capacity, 10000);
    ck_assert_int_eq (s.high_watermark, 8000);
    ck_assert_int_eq (s.low_watermark, 5000);
    ck_assert_int_eq (s.hysteresis, 200);
    ck_assert_int_eq (s.workers, 1);
    ck_assert_int_eq (s.batch_max, 5000);
    ck_assert_str_eq (s.sink_type, "sqlite");
    ck_assert_str_eq (s.sink_path, "data/bars.db");
    ck_assert_int_eq (s.max_rows_per_sec, 0);
    ck_assert_str_eq (s.http_listen, "127.0.0.1:9101");
    ck_assert (!s.webhook_enabled);
    ck_assert_int_eq (s.webhook_timeout_ms, 2000);
    ck_assert_str_eq (s.log_level, "info");
    mdf_cfg_destroy (&cfg);
    store_settings_free (&s);
}
END_TEST

static void
s_expect_error (const char *text, const char *where, const char *key)
{
    store_settings_t s;
    char err[512] = "";
    mdf_cfg_t *cfg = store_settings_load (s_file (text), &s, err, sizeof err);
    ck_assert_ptr_null (cfg);
    char loc[128];
    snprintf (loc, sizeof loc, "%s:%s", s_path, where);
    ck_assert_msg (strstr (err, loc) && strstr (err, key), "'%s' lacks %s / %s", err, loc, key);
    store_settings_free (&s);
}

START_TEST (watermarks_must_be_ordered)
{
    s_expect_error ("[queue]\nlow_watermark = 8000\n", "2", "queue.low_watermark");
    /* the message points at the line the user wrote */
    s_expect_error ("[queue]\ncapacity = 7000\n", "2", "queue.high_watermark");
}
END_TEST

START_TEST (small_queue_with_default_hysteresis_loads)
{
    /* hysteresis 200 > low 50 is clamped by the level machine, not an error */
    store_settings_t s;
    char err[512];
    mdf_cfg_t *cfg = store_settings_load (
        s_file ("[queue]\ncapacity = 100\nhigh_watermark = 80\nlow_watermark = 50\n"), &s, err,
        sizeof err);
    ck_assert_msg (cfg != NULL, "%s", err);
    ck_assert_int_eq (s.hysteresis, 200);
    mdf_cfg_destroy (&cfg);
    store_settings_free (&s);
}
END_TEST

START_TEST (sink_and_webhook_need_their_targets)
{
    s_expect_error ("[sink]\ntype = \"postgres\"\n", "2", "sink.conninfo");
    s_expect_error ("[webhook]\nenabled = true\n", "2", "webhook.url");
    s_expect_error ("[workers]\nretry_initial_ms = 100\nretry_max_ms = 10\n", "3",
                    "workers.retry_max_ms");
}
END_TEST

START_TEST (environment_overrides_file)
{
    setenv ("MDS_QUEUE_CAPACITY", "20000", 1);
    setenv ("MDS_SINK_TYPE", "null", 1);
    store_settings_t s;
    char err[512];
    mdf_cfg_t *cfg
        = store_settings_load (s_file ("[queue]\ncapacity = 9000\n"), &s, err, sizeof err);
    ck_assert_msg (cfg != NULL, "%s", err);
    ck_assert_int_eq (s.capacity, 20000);
    ck_assert_str_eq (s.sink_type, "null");
    ck_assert_str_eq (mdf_cfg_where (cfg, "queue.capacity"), "$MDS_QUEUE_CAPACITY");
    mdf_cfg_destroy (&cfg);
    store_settings_free (&s);
    unsetenv ("MDS_QUEUE_CAPACITY");
    unsetenv ("MDS_SINK_TYPE");
}
END_TEST

START_TEST (reload_moves_the_live_keys_only)
{
    store_settings_t a, b;
    char err[512];
    mdf_cfg_t *ca = store_settings_load (NULL, &a, err, sizeof err);
    mdf_cfg_t *cb = store_settings_load (s_file ("[queue]\ncapacity = 20000\n[log]\n"
                                                 "level = \"debug\"\n[sink]\n"
                                                 "max_rows_per_sec = 100\n"),
                                         &b, err, sizeof err);
    ck_assert_ptr_nonnull (ca);
    ck_assert_ptr_nonnull (cb);
    mdf_cfg_changes_t ch;
    mdf_cfg_merge_live (&store_settings_schema, &a, &b, &ch);
    ck_assert_str_eq (ch.applied, "sink.max_rows_per_sec,log.level");
    ck_assert_str_eq (ch.restart, "queue.capacity");
    ck_assert_str_eq (a.log_level, "debug");
    ck_assert_int_eq (a.max_rows_per_sec, 100);
    ck_assert_int_eq (a.capacity, 10000);
    mdf_cfg_merge_live (&store_settings_schema, &a, &a, &ch);
    ck_assert_uint_eq (ch.napplied + ch.nrestart, 0);
    mdf_cfg_destroy (&ca);
    mdf_cfg_destroy (&cb);
    store_settings_free (&a);
    store_settings_free (&b);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("settings");
    TCase *tc = tcase_create ("settings");
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, defaults_are_those_of_design);
    tcase_add_test (tc, watermarks_must_be_ordered);
    tcase_add_test (tc, small_queue_with_default_hysteresis_loads);
    tcase_add_test (tc, sink_and_webhook_need_their_targets);
    tcase_add_test (tc, environment_overrides_file);
    tcase_add_test (tc, reload_moves_the_live_keys_only);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
