/*
 * md-store operations: config errors (exit 2, file:line:key), the example
 * config, environment overrides, SIGHUP reload, webhook, /health and /metrics.
 */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store_fixture.h"

static int
s_run_store (const char *config, char *const env[], char **out)
{
    char *bin = h_build_path ("store/md-store");
    char *argv[] = { bin, "--config", (char *)config, "--check-config", NULL };
    int rc = h_run (argv, env, 10000, out);
    free (bin);
    return rc;
}

START_TEST (config_errors_exit_2_naming_file_line_and_key)
{
    char *dir = h_tmpdir ();
    struct {
        const char *text, *where, *key;
    } cases[] = {
        { "[queue]\ncapacity = 100\nhigh_watermark = 80\nlow_watermark = 90\n", ":4",
          "low_watermark" },
        { "[queue]\ncapcity = 5\n", ":2", "capcity" },
        { "[workers]\ncount = \"two\"\n", ":2", "workers.count" },
        { "[sink]\ntype = \"mysql\"\n", ":2", "sink.type" },
        { "[webhook]\nenabled = true\n", ":2", "webhook.url" },
        { "[queue]\ncapacity = 1000\nhigh_watermark = 2000\n", ":3", "high_watermark" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = h_write_file (dir, "bad.toml", cases[i].text);
        char *out = NULL;
        int rc = s_run_store (path, NULL, &out);
        ck_assert_msg (rc == 2, "case %zu: exit %d: %s", i, rc, out ? out : "");
        char *where = h_strf ("bad.toml%s", cases[i].where);
        ck_assert_msg (out && strstr (out, where) && strstr (out, cases[i].key),
                       "case %zu: '%s' lacks %s / %s", i, out ? out : "", where, cases[i].key);
        free (where), free (out), free (path);
    }
    /* a missing file too */
    char *out = NULL;
    ck_assert_int_eq (s_run_store ("/nonexistent/store.toml", NULL, &out), 2);
    free (out);
    /* and bad usage */
    char *bin = h_build_path ("store/md-store");
    char *argv[] = { bin, "--bogus", NULL };
    ck_assert_int_eq (h_run (argv, NULL, 5000, NULL), 2);
    char *argv2[] = { bin, "--version", NULL };
    ck_assert_int_eq (h_run (argv2, NULL, 5000, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "md-store"));
    free (out);
    char *argv3[] = { bin, "--help", NULL };
    ck_assert_int_eq (h_run (argv3, NULL, 5000, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "queue.high_watermark"));
    free (out);
    free (bin);
    h_rmtree (dir);
    free (dir);
}
END_TEST

START_TEST (example_config_is_valid)
{
    char *path = h_source_path ("store/store.toml");
    char *out = NULL;
    int rc = s_run_store (path, NULL, &out);
    ck_assert_msg (rc == 0, "%s", out ? out : "");
    free (out);
    free (path);
}
END_TEST

START_TEST (environment_overrides_the_file)
{
    char *env[] = { "MDS_QUEUE_CAPACITY=20000", "MDS_STORE_ID=from-env", NULL };
    MDS_START (0, "[queue]\ncapacity = 10000\n", env);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0);
    ck_assert_int_eq (ev.capacity, 20000);
    ck_assert_str_eq (ev.coordinator_id, "from-env");
    char *out = NULL;
    ck_assert_int_eq (s_run_store (mds_cur.config, env, &out), 0);
    ck_assert_msg (strstr (out, "$MDS_QUEUE_CAPACITY") != NULL, "%s", out);
    free (out);
    char *bad[] = { "MDS_QUEUE_CAPACITY=lots", NULL };
    ck_assert_int_eq (s_run_store (mds_cur.config, bad, &out), 2);
    ck_assert_msg (strstr (out, "MDS_QUEUE_CAPACITY") != NULL, "%s", out);
    free (out);
    zsock_destroy (&sub);
}
END_TEST

static bool
s_refused (void *arg)
{
    return h_log_contains (arg, "reload refused") && h_log_contains (arg, "holds no setting");
}

START_TEST (sighup_reloads_heartbeat_and_names_what_needs_a_restart)
{
    MDS_START (0, NULL, NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0);
    ck_assert_int_eq (mds_recv_event (sub, &ev, 300), -1); /* no heartbeats yet */
    char *text = h_strf ("[ingest]\nendpoint = \"tcp://127.0.0.1:%d\"\n"
                         "[feedback]\nendpoint = \"tcp://127.0.0.1:%d\"\nheartbeat_ms = 30\n"
                         "[http]\nlisten = \"127.0.0.1:%d\"\n[sink]\npath = \"%s\"\n"
                         "[queue]\ncapacity = 20000\n[log]\nlevel = \"debug\"\n",
                         mds_cur.ingest_port, mds_cur.feedback_port, mds_cur.http_port, mds_cur.db);
    free (h_write_file (mds_cur.dir, "store.toml", text));
    free (text);
    h_signal (&mds_cur.proc, SIGHUP);
    ck_assert_int_eq (mds_wait_event (sub, "heartbeat", -1, &ev, 5000), 0);
    ck_assert_int_eq (ev.capacity, 10000); /* capacity needs a restart */
    ck_assert (h_log_contains (&mds_cur.proc, "queue.capacity"));
    ck_assert (h_log_contains (&mds_cur.proc, "feedback.heartbeat_ms"));
    /* a broken file keeps the running configuration */
    free (h_write_file (mds_cur.dir, "store.toml", "[queue]\ncapacity = -5\n"));
    h_signal (&mds_cur.proc, SIGHUP);
    ck_assert_int_eq (mds_wait_event (sub, "heartbeat", -1, &ev, 5000), 0);
    ck_assert_int_eq (mds_wait_event (sub, "heartbeat", -1, &ev, 5000), 0);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 0), -1);
    /* an empty (or truncated to nothing) file is refused too: it would reset
     * every live key to its default (heartbeat 1000 ms) */
    free (h_write_file (mds_cur.dir, "store.toml", "\n# truncated\n"));
    h_signal (&mds_cur.proc, SIGHUP);
    ck_assert_int_eq (h_wait_until (s_refused, &mds_cur.proc, 5000), 0);
    while (mds_recv_event (sub, &ev, 0) == 0) /* what came before the reload */
        ;
    int beats = 0; /* about 33 in a second at 30 ms; at most 2 at the default 1000 ms */
    for (long long end = h_now_ms () + 1000; h_now_ms () < end;)
        if (mds_recv_event (sub, &ev, 100) == 0 && strcmp (ev.reason, "heartbeat") == 0)
            beats++;
    ck_assert_int_ge (beats, 8);
    zsock_destroy (&sub);
}
END_TEST

/* ---------------------------------------------------------------- webhook */

typedef struct {
    int fd;
    int port;
    char bodies[8192];
    int posts;
    pthread_mutex_t lock;
} hook_t;

static void *
s_hook_thread (void *arg)
{
    hook_t *h = arg;
    for (;;) {
        int c = accept (h->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[8192];
        size_t len = 0;
        ssize_t r;
        char *body = NULL;
        long want = -1;
        while (len < sizeof buf - 1 && (r = read (c, buf + len, sizeof buf - 1 - len)) > 0) {
            len += (size_t)r;
            buf[len] = '\0';
            char *end = strstr (buf, "\r\n\r\n");
            char *cl = strcasestr (buf, "Content-Length:");
            if (end && cl) {
                want = atol (cl + 15);
                body = end + 4;
                if ((long)(len - (size_t)(body - buf)) >= want)
                    break;
            }
        }
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (write (c, resp, strlen (resp)) < 0)
            break;
        close (c);
        pthread_mutex_lock (&h->lock);
        if (body && strlen (h->bodies) + strlen (body) + 2 < sizeof h->bodies) {
            strcat (h->bodies, body);
            strcat (h->bodies, "\n");
        }
        h->posts++;
        pthread_mutex_unlock (&h->lock);
    }
    return NULL;
}

static bool
s_hook_has_hard (void *arg)
{
    hook_t *h = arg;
    pthread_mutex_lock (&h->lock);
    bool yes = strstr (h->bodies, "\"level\":\"hard\"") != NULL;
    pthread_mutex_unlock (&h->lock);
    return yes;
}

/* Listen on a free loopback port and record what is POSTed. */
static void
s_hook_start (hook_t *h, pthread_t *th)
{
    memset (h, 0, sizeof *h);
    pthread_mutex_init (&h->lock, NULL);
    h->fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    ck_assert_int_eq (bind (h->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq (getsockname (h->fd, (struct sockaddr *)&a, &alen), 0);
    ck_assert_int_eq (listen (h->fd, 16), 0);
    h->port = ntohs (a.sin_port);
    pthread_create (th, NULL, s_hook_thread, h);
}

static void
s_hook_stop (hook_t *h, pthread_t th)
{
    shutdown (h->fd, SHUT_RDWR);
    close (h->fd);
    pthread_join (th, NULL);
    pthread_mutex_destroy (&h->lock);
}

static bool
s_reloaded (void *arg)
{
    return h_log_contains (arg, "configuration reloaded");
}

START_TEST (sighup_enables_the_webhook)
{
    hook_t h;
    pthread_t th;
    s_hook_start (&h, &th);
    const char *queue = "[store]\ndrain_timeout_ms = 300\n[queue]\ncapacity = 100\n"
                        "high_watermark = 80\nlow_watermark = 50\nhysteresis = 0\n"
                        "[sink]\nmax_rows_per_sec = 1\n";
    MDS_START (0, queue, NULL);
    char *text
        = h_strf ("[ingest]\nendpoint = \"tcp://127.0.0.1:%d\"\n"
                  "[feedback]\nendpoint = \"tcp://127.0.0.1:%d\"\nheartbeat_ms = 0\n"
                  "[http]\nlisten = \"127.0.0.1:%d\"\n%s"
                  "[webhook]\nenabled = true\nurl = \"http://127.0.0.1:%d/hook\"\n",
                  mds_cur.ingest_port, mds_cur.feedback_port, mds_cur.http_port, queue, h.port);
    free (h_write_file (mds_cur.dir, "store.toml", text));
    free (text);
    h_signal (&mds_cur.proc, SIGHUP);
    ck_assert_int_eq (h_wait_until (s_reloaded, &mds_cur.proc, 5000), 0);
    ck_assert (h_log_contains (&mds_cur.proc, "webhook.enabled"));
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 10, 1000), 0); /* commits at once */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (mds_send (d, 2, 90, 2000), 0); /* waits: 90 bars -> HARD */
    ck_assert_int_eq (h_wait_until (s_hook_has_hard, &h, 5000), 0);
    zsock_destroy (&d);
    s_hook_stop (&h, th);
}
END_TEST

START_TEST (webhook_receives_level_changes_and_a_dead_one_is_counted)
{
    hook_t h;
    pthread_t th;
    s_hook_start (&h, &th);
    char *extra = h_strf ("[store]\nid = \"hooked\"\ndrain_timeout_ms = 300\n"
                          "[queue]\ncapacity = 100\n"
                          "high_watermark = 80\nlow_watermark = 50\nhysteresis = 0\n"
                          "[sink]\nmax_rows_per_sec = 1\n[webhook]\nenabled = true\n"
                          "url = \"http://127.0.0.1:%d/hook\"\ntimeout_ms = 1000\n",
                          h.port);
    MDS_START (0, extra, NULL);
    free (extra);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 10, 1000), 0); /* commits at once */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (mds_send (d, 2, 90, 2000), 0); /* waits: 90 bars -> HARD */
    ck_assert_int_eq (h_wait_until (s_hook_has_hard, &h, 5000), 0);
    pthread_mutex_lock (&h.lock);
    ck_assert_msg (strstr (h.bodies, "\"coordinator_id\":\"hooked\"") != NULL, "%s", h.bodies);
    ck_assert_msg (strstr (h.bodies, "\"previous\":\"ok\"") != NULL, "%s", h.bodies);
    pthread_mutex_unlock (&h.lock);
    ck_assert_int_ge ((int)h_wait_metric_ge (mds_cur.http_port,
                                             "mds_webhook_posts_total{result=\"ok\"}", 1, 5000),
                      1);
    s_hook_stop (&h, th);
    zsock_destroy (&d);
    ck_assert_int_eq (mds_cleanup (&mds_cur, false), 0);

    /* a dead webhook: errors are counted, batches are still acked.  The
     * throttle keeps the 90 bars queued for 0.1 s after the first batch:
     * without it an idle worker may commit them before the ingest thread
     * looks at the level, and a HARD that lasted microseconds is never
     * published (nothing to POST) */
    extra = h_strf ("[queue]\ncapacity = 100\nhigh_watermark = 80\nlow_watermark = 50\n"
                    "hysteresis = 0\n[sink]\nmax_rows_per_sec = 100\n[webhook]\nenabled = true\n"
                    "url = \"http://127.0.0.1:%d/hook\"\ntimeout_ms = 500\n",
                    h.port);
    MDS_START (0, extra, NULL);
    free (extra);
    d = mds_dealer (&mds_cur);
    ck_assert_int_eq (mds_send (d, 1, 10, 1000), 0); /* commits at once */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (mds_send (d, 2, 90, 2000), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_ge ((int)h_wait_metric_ge (mds_cur.http_port,
                                             "mds_webhook_posts_total{result=\"error\"}", 1, 5000),
                      1);
    zsock_destroy (&d);
}
END_TEST

/* ------------------------------------------------------------------- HTTP */

START_TEST (health_and_metrics_expose_the_promised_names)
{
    MDS_START (0, "[store]\nid = \"c1\"\n", NULL);
    int status = 0;
    char *body = h_http ("GET", mds_cur.http_port, "/health", NULL, &status, 2000);
    ck_assert_int_eq (status, 200);
    const char *parts[] = { "\"service\":\"md-store\"",
                            "\"ingest\"",
                            "\"queue\"",
                            "\"sink\"",
                            "\"feedback\"",
                            "\"webhook\"",
                            "\"version\"" };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        ck_assert_msg (strstr (body, parts[i]) != NULL, "%s lacks %s", body, parts[i]);
    free (body);
    body = h_http ("GET", mds_cur.http_port, "/metrics", NULL, &status, 2000);
    ck_assert_int_eq (status, 200);
    const char *names[] = { "coordinator_queue_depth{coordinator_id=\"c1\"}",
                            "coordinator_backpressure_ok{coordinator_id=\"c1\"}",
                            "coordinator_backpressure_soft{coordinator_id=\"c1\"}",
                            "coordinator_backpressure_hard{coordinator_id=\"c1\"}",
                            "mds_feedback_events_total{level=\"ok\"}",
                            "mds_feedback_subscribers{coordinator_id=\"c1\"}",
                            "coordinator_queue_low_watermark{coordinator_id=\"c1\"}",
                            "coordinator_queue_high_watermark{coordinator_id=\"c1\"}",
                            "mds_bars_written_total",
                            "mds_batches_total{status=\"ok\"}",
                            "mds_batches_total{status=\"retry\"}",
                            "mds_batches_total{status=\"rejected\"}",
                            "mds_sink_write_seconds_count",
                            "mds_sink_errors_total",
                            "mds_workers_alive",
                            "mds_sink_breaker_state",
                            "mds_webhook_posts_total{result=\"error\"}",
                            "mds_ingest_commit_seconds_count",
                            "mds_ingest_malformed_total{reason=\"decode\"}" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg (!isnan (h_metric (body, names[i])), "missing %s", names[i]);
    ck_assert_int_eq ((int)h_metric (body, "coordinator_backpressure_ok"), 1);
    /* The watermarks as configured (here the defaults), for dashboards and
     * alerts to draw each store's own thresholds. */
    ck_assert_int_eq ((int)h_metric (body, "coordinator_queue_low_watermark"), 5000);
    ck_assert_int_eq ((int)h_metric (body, "coordinator_queue_high_watermark"), 8000);
    ck_assert_int_eq ((int)h_metric (body, "mds_workers_alive"), 1);
    free (body);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store lifecycle");
    TCase *tc = tcase_create ("lifecycle");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, config_errors_exit_2_naming_file_line_and_key);
    tcase_add_test (tc, example_config_is_valid);
    tcase_add_test (tc, environment_overrides_the_file);
    tcase_add_test (tc, sighup_reloads_heartbeat_and_names_what_needs_a_restart);
    tcase_add_test (tc, sighup_enables_the_webhook);
    tcase_add_test (tc, webhook_receives_level_changes_and_a_dead_one_is_counted);
    tcase_add_test (tc, health_and_metrics_expose_the_promised_names);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
