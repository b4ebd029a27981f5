/*
 * webhook: a level change is POSTed as JSON to the configured URL (a tiny
 * HTTP server in this process records what arrives); a dead URL or a non-2xx
 * answer is counted as an error and the webhook shows "failing"; while a POST
 * hangs, notify never blocks and what the queue cannot hold is dropped and
 * counted; a reload points it elsewhere; a disabled one sends nothing.
 */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http.h"
#include "common/metrics.h"
#include "store/webhook.h"
#include "tests/integration/harness.h"

/* ---- the receiving end ---- */

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_bodies[8][1024];
static atomic_int s_posts;
static atomic_int s_status = 200;
static atomic_int s_hold;    /* while set, the handler waits (a slow webhook) */
static atomic_int s_entered; /* a POST reached the handler */

static void
s_hook (void *arg, const char *body, size_t len, mdf_http_reply_t *reply)
{
    (void)arg;
    atomic_store (&s_entered, 1);
    for (int i = 0; i < 5000 && atomic_load (&s_hold); i++) {
        struct timespec ms = { 0, 1000000 };
        nanosleep (&ms, NULL);
    }
    pthread_mutex_lock (&s_lock);
    int n = atomic_load (&s_posts);
    if (n < 8)
        snprintf (s_bodies[n], sizeof s_bodies[n], "%.*s", (int)len, body);
    atomic_fetch_add (&s_posts, 1);
    pthread_mutex_unlock (&s_lock);
    reply->status = atomic_load (&s_status);
    reply->body = strdup ("{}");
}

static mdf_http_t *s_srv;
static mdf_metrics_t *s_reg;
static stats_t s_stats;
static char s_url[128];

static void
setup (void)
{
    atomic_store (&s_posts, 0);
    atomic_store (&s_status, 200);
    atomic_store (&s_hold, 0);
    atomic_store (&s_entered, 0);
    s_srv = mdf_http_new ("127.0.0.1:0", NULL, NULL, NULL);
    ck_assert_int_eq (mdf_http_route (s_srv, "POST", "/hook", s_hook, NULL), 0);
    char err[256];
    ck_assert_int_eq (mdf_http_start (s_srv, err, sizeof err), 0);
    snprintf (s_url, sizeof s_url, "http://127.0.0.1:%d/hook", mdf_http_port (s_srv));
    s_reg = mdf_metrics_new ();
    ck_assert_int_eq (stats_init (&s_stats, s_reg, "wh-test"), 0);
}

static void
teardown (void)
{
    mdf_http_destroy (&s_srv);
    mdf_metrics_destroy (&s_reg);
}

static double
s_count (const char *result)
{
    char series[128];
    snprintf (series, sizeof series, "mds_webhook_posts_total{result=\"%s\"}", result);
    return h_registry_value (s_reg, series);
}

static void
s_wait_count (const char *result, double n)
{
    char series[128];
    snprintf (series, sizeof series, "mds_webhook_posts_total{result=\"%s\"}", result);
    ck_assert_msg (h_wait_registry_ge (s_reg, series, n, 10000) == 0, "%s < %g", series, n);
}

static webhook_event_t
s_event (const char *id, mdf_level_t level, mdf_level_t previous, uint64_t seq)
{
    return (webhook_event_t){ id, 1763850000000, seq, level, previous, 6100, 10000, "watermark" };
}

/* ---- tests ---- */

START_TEST (a_level_change_is_posted_as_json)
{
    webhook_t *w = webhook_new (true, s_url, 2000, 8, &s_stats);
    ck_assert_ptr_nonnull (w);
    ck_assert_str_eq (webhook_state (w), "ok");
    webhook_event_t ev = s_event ("bars-\"coordinator\"", MDF_LEVEL_SOFT, MDF_LEVEL_OK, 7);
    webhook_notify (w, &ev);
    s_wait_count ("ok", 1);
    ck_assert_int_eq (atomic_load (&s_posts), 1);
    pthread_mutex_lock (&s_lock);
    const char *body = s_bodies[0];
    ck_assert_msg (strstr (body, "\"coordinator_id\":\"bars-\\\"coordinator\\\"\""), "%s", body);
    ck_assert_msg (strstr (body, "\"epoch\":1763850000000,\"seq\":7,\"level\":\"soft\","
                                 "\"previous\":\"ok\",\"queue_size\":6100,\"capacity\":10000,"
                                 "\"reason\":\"watermark\",\"ts\":"),
                   "%s", body);
    pthread_mutex_unlock (&s_lock);
    ck_assert_str_eq (webhook_state (w), "ok");
    /* a control byte in the id is escaped, not replaced */
    ev = s_event ("tab\there", MDF_LEVEL_OK, MDF_LEVEL_SOFT, 8);
    webhook_notify (w, &ev);
    s_wait_count ("ok", 2);
    pthread_mutex_lock (&s_lock);
    ck_assert_msg (strstr (s_bodies[1], "\"coordinator_id\":\"tab\\u0009here\""), "%s",
                   s_bodies[1]);
    pthread_mutex_unlock (&s_lock);
    webhook_destroy (&w, 1000);
    ck_assert_ptr_null (w);
}
END_TEST

START_TEST (a_dead_url_is_counted_and_shown_failing)
{
    char dead[128];
    snprintf (dead, sizeof dead, "http://127.0.0.1:%d/hook", h_free_port ());
    webhook_t *w = webhook_new (true, dead, 1000, 8, &s_stats);
    webhook_event_t ev = s_event ("c", MDF_LEVEL_HARD, MDF_LEVEL_SOFT, 1);
    webhook_notify (w, &ev);
    s_wait_count ("error", 1);
    ck_assert_str_eq (webhook_state (w), "failing");
    ck_assert_double_eq (s_count ("ok"), 0);
    /* the store goes on: a reload to a live URL heals it */
    webhook_configure (w, true, s_url, 1000);
    webhook_notify (w, &ev);
    s_wait_count ("ok", 1);
    ck_assert_str_eq (webhook_state (w), "ok");
    webhook_destroy (&w, 1000);
}
END_TEST

START_TEST (a_non_2xx_answer_is_an_error)
{
    atomic_store (&s_status, 500);
    webhook_t *w = webhook_new (true, s_url, 1000, 8, &s_stats);
    webhook_event_t ev = s_event ("c", MDF_LEVEL_SOFT, MDF_LEVEL_OK, 1);
    webhook_notify (w, &ev);
    s_wait_count ("error", 1);
    ck_assert_int_eq (atomic_load (&s_posts), 1); /* it did arrive */
    ck_assert_str_eq (webhook_state (w), "failing");
    webhook_destroy (&w, 1000);
}
END_TEST

START_TEST (a_hanging_webhook_never_blocks_and_drops_what_does_not_fit)
{
    atomic_store (&s_hold, 1);
    webhook_t *w = webhook_new (true, s_url, 5000, 2, &s_stats);
    webhook_event_t ev = s_event ("c", MDF_LEVEL_SOFT, MDF_LEVEL_OK, 1);
    webhook_notify (w, &ev); /* taken by the thread, hangs in the POST */
    ck_assert (h_wait_flag (&s_entered, 10000));
    long long t0 = h_now_ms ();
    for (int i = 0; i < 6; i++) /* 2 fit in the queue behind it, 4 do not */
        webhook_notify (w, &ev);
    ck_assert_int_lt (h_now_ms () - t0, 1000); /* never waited for the POST */
    ck_assert_double_eq (s_count ("dropped"), 4);
    atomic_store (&s_hold, 0);
    webhook_destroy (&w, 5000); /* waits for what was queued */
    ck_assert_double_eq (s_count ("ok"), 3);
    ck_assert_int_eq (atomic_load (&s_posts), 3);
}
END_TEST

START_TEST (a_disabled_webhook_sends_nothing)
{
    webhook_t *w = webhook_new (false, "", 1000, 8, &s_stats);
    ck_assert_str_eq (webhook_state (w), "disabled");
    webhook_event_t ev = s_event ("c", MDF_LEVEL_SOFT, MDF_LEVEL_OK, 1);
    webhook_notify (w, &ev);
    webhook_destroy (&w, 1000);
    ck_assert_int_eq (atomic_load (&s_posts), 0);
    ck_assert_double_eq (s_count ("ok") + s_count ("error") + s_count ("dropped"), 0);
    /* enabled by a reload */
    w = webhook_new (false, "", 1000, 8, &s_stats);
    webhook_configure (w, true, s_url, 1000);
    webhook_notify (w, &ev);
    s_wait_count ("ok", 1);
    webhook_destroy (&w, 1000);
}
END_TEST

int
main (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create ("webhook");
    TCase *tc = tcase_create ("webhook");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, a_level_change_is_posted_as_json);
    tcase_add_test (tc, a_dead_url_is_counted_and_shown_failing);
    tcase_add_test (tc, a_non_2xx_answer_is_an_error);
    tcase_add_test (tc, a_hanging_webhook_never_blocks_and_drops_what_does_not_fit);
    tcase_add_test (tc, a_disabled_webhook_sends_nothing);
    suite_add_tcase (s, tc);
    int rc = h_run_suite (s);
    curl_global_cleanup ();
    return rc;
}
