/*
 * health: what /health, /health/live and /health/ready answer for a given
 * state of the store: ready only when serving with a sink that commits, the
 * first reason that applies otherwise (draining, no worker, sink down,
 * failing, starting, unreachable), live while the ingest loop turns even
 * with the sink down, and the sink's error text escaped into valid JSON.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/health.h"
#include "tests/integration/harness.h"

/* A store serving with a healthy sink. */
static health_view_t
s_ok (void)
{
    health_view_t v;
    memset (&v, 0, sizeof v);
    v.loop_ms_ago = 12;
    v.level = MDF_LEVEL_OK;
    v.capacity = 10000;
    v.sink_type = "sqlite";
    v.sink.breaker = BREAKER_CLOSED;
    v.sink.alive = 1;
    v.sink.checked = true;
    v.sink.reachable = true;
    v.sink.last_ok_ms_ago = 800;
    v.subscribers = 1;
    v.webhook = "disabled";
    return v;
}

static mdf_http_reply_t
s_render (void (*render) (const health_view_t *, mdf_http_reply_t *), const health_view_t *v)
{
    mdf_http_reply_t r = { 0, NULL, NULL };
    render (v, &r);
    ck_assert_ptr_nonnull (r.body);
    ck_assert_str_eq (r.content_type, "application/json");
    return r;
}

START_TEST (a_serving_store_is_ok_live_and_ready)
{
    health_view_t v = s_ok ();
    ck_assert_ptr_null (health_not_ready (&v));
    mdf_http_reply_t r = s_render (health_render, &v);
    ck_assert_int_eq (r.status, 200);
    ck_assert_msg (strstr (r.body, "\"state\":\"ok\"") && strstr (r.body, "\"ready\":true")
                       && strstr (r.body, "\"breaker\":\"closed\""),
                   "%s", r.body);
    free (r.body);
    r = s_render (health_render_ready, &v);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.body, "{\"service\":\"md-store\",\"ready\":true}\n");
    free (r.body);
    r = s_render (health_render_live, &v);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

START_TEST (not_ready_gives_the_first_reason_that_applies)
{
    health_view_t v = s_ok ();
    v.sink.reachable = false;
    ck_assert_str_eq (health_not_ready (&v), "sink_unreachable");
    v.sink.checked = false;
    ck_assert_str_eq (health_not_ready (&v), "sink_starting");
    v.sink.failing_writes = 1;
    ck_assert_str_eq (health_not_ready (&v), "sink_failing");
    v.sink.breaker = BREAKER_HALF_OPEN;
    ck_assert_str_eq (health_not_ready (&v), "sink_down");
    v.sink.alive = 0;
    ck_assert_str_eq (health_not_ready (&v), "no_worker");
    v.draining = true;
    ck_assert_str_eq (health_not_ready (&v), "draining");
    mdf_http_reply_t r = s_render (health_render, &v);
    ck_assert_int_eq (r.status, 503);
    ck_assert_msg (strstr (r.body, "\"state\":\"draining\""), "%s", r.body);
    free (r.body);
}
END_TEST

START_TEST (a_store_whose_sink_is_down_is_live_but_not_ready)
{
    health_view_t v = s_ok ();
    v.sink.breaker = BREAKER_OPEN;
    v.sink.reachable = false;
    snprintf (v.sink.error, sizeof v.sink.error, "postgres: \"bars\" is\nlocked");
    mdf_http_reply_t r = s_render (health_render_live, &v);
    ck_assert_int_eq (r.status, 200); /* restarting it would not help */
    free (r.body);
    r = s_render (health_render_ready, &v);
    ck_assert_int_eq (r.status, 503);
    ck_assert_str_eq (r.body, "{\"service\":\"md-store\",\"ready\":false,\"reason\":\"sink_down\","
                              "\"error\":\"postgres: \\\"bars\\\" is\\u000alocked\"}\n");
    free (r.body);
    r = s_render (health_render, &v);
    ck_assert_int_eq (r.status, 503);
    ck_assert_msg (strstr (r.body, "\"state\":\"down\"") && strstr (r.body, "\"breaker\":\"open\"")
                       && strstr (r.body, "\"live\":true"),
                   "%s", r.body);
    free (r.body);
}
END_TEST

START_TEST (a_loop_that_stopped_turning_is_wedged)
{
    health_view_t v = s_ok ();
    v.loop_ms_ago = HEALTH_WEDGED_MS;
    mdf_http_reply_t r = s_render (health_render_live, &v);
    ck_assert_int_eq (r.status, 503);
    ck_assert_msg (strstr (r.body, "\"live\":false"), "%s", r.body);
    free (r.body);
    r = s_render (health_render, &v);
    ck_assert_int_eq (r.status, 503);
    ck_assert_msg (strstr (r.body, "\"state\":\"wedged\""), "%s", r.body);
    free (r.body);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("health");
    TCase *tc = tcase_create ("health");
    tcase_add_test (tc, a_serving_store_is_ok_live_and_ready);
    tcase_add_test (tc, not_ready_gives_the_first_reason_that_applies);
    tcase_add_test (tc, a_store_whose_sink_is_down_is_live_but_not_ready);
    tcase_add_test (tc, a_loop_that_stopped_turning_is_wedged);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
