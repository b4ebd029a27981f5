/*
 * server: md-store's ingest loop driven for real in this process, over a
 * ROUTER on inproc with a null sink.  A peer DEALER sees what a pipeline
 * sees: "ok" after the commit (at once for an empty batch), "rejected"
 * naming the bar or the limit, "retry" when the batch does not fit;
 * malformed messages get no answer but are counted and the loop goes on; a
 * SUB gets the welcome event, the level changes and, after the drain, the
 * shutdown event; /health/ready answers from the same process.
 */
#include <check.h>
#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.h"
#include "proto/feedback.h"
#include "store/app.h"
#include "store/settings.h"
#include "tests/integration/harness.h"
#include "tests/integration/store/store_fixture.h"

static store_settings_t s_set;
static store_app_t *s_srv;
static pthread_t s_thread;
static volatile sig_atomic_t s_signal;
static char s_ingest[64], s_feedback[64];
static int s_runs; /* endpoints differ from test to test (they may share a process) */

static void
s_str (char **field, const char *value)
{
    free (*field);
    *field = strdup (value);
}

/* Defaults, a null sink (throttled to max_rows rows/s when > 0), a queue of
 * `capacity` bars with watermarks at 80 % and 50 %, HTTP on a free port. */
static void
s_settings (int64_t capacity, int64_t max_rows)
{
    memset (&s_set, 0, sizeof s_set);
    ck_assert_int_eq (mdf_cfg_defaults (store_settings_table, store_settings_count, &s_set), 0);
    s_runs++;
    snprintf (s_ingest, sizeof s_ingest, "inproc://server-test-ingest-%d", s_runs);
    snprintf (s_feedback, sizeof s_feedback, "inproc://server-test-feedback-%d", s_runs);
    s_str (&s_set.store_id, "srv-test");
    s_str (&s_set.ingest_endpoint, s_ingest);
    s_str (&s_set.feedback_endpoint, s_feedback);
    s_str (&s_set.sink_type, "null");
    s_str (&s_set.http_listen, "127.0.0.1:0");
    s_str (&s_set.log_level, "error");
    s_set.capacity = capacity;
    s_set.high_watermark = capacity * 8 / 10;
    s_set.low_watermark = capacity / 2;
    s_set.hysteresis = 0;
    s_set.max_bars = capacity;
    s_set.max_rows_per_sec = max_rows;
    s_set.heartbeat_ms = 0;
}

static void
s_on_signal (int sig)
{
    s_signal = sig;
}

static void *
s_run (void *arg)
{
    store_app_run (arg, &s_signal);
    return NULL;
}

/* store_app_new here, store_app_run on a thread of its own (it owns the sockets
 * from then on, as the ingest thread does in md-store). */
static void
s_start (int64_t capacity, int64_t max_rows)
{
    s_settings (capacity, max_rows);
    char err[256] = "";
    s_srv = store_app_new (&s_set, err, sizeof err);
    ck_assert_msg (s_srv != NULL, "store_app_new: %s", err);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction (SIGUSR1, &sa, NULL);
    s_signal = 0;
    ck_assert_int_eq (pthread_create (&s_thread, NULL, s_run, s_srv), 0);
}

/* Stop the loop (as a signal stops md-store's); the sockets are this
 * thread's again. */
static void
s_stop_loop (void)
{
    pthread_kill (s_thread, SIGUSR1);
    pthread_join (s_thread, NULL);
}

static void
s_destroy (void)
{
    store_app_destroy (&s_srv);
    store_settings_free (&s_set);
}

static zsock_t *
s_dealer (void)
{
    zsock_t *d = zsock_new_dealer (s_ingest);
    ck_assert_ptr_nonnull (d);
    zsock_set_linger (d, 0);
    return d;
}

/* A batch of n valid bars; batches of other seq never share a row. */
static void
s_batch (mdf_batch_t *b, uint64_t seq, size_t n)
{
    mds_make_batch (b, "unit", seq, "prov", n, 1700000000000000000LL + (int64_t)seq * 100000000LL);
}

static void
s_send (zsock_t *d, uint64_t seq, size_t n)
{
    mdf_batch_t b;
    s_batch (&b, seq, n);
    ck_assert_int_eq (mds_send_batch (d, &b), 0);
    mdf_batch_clear (&b);
}

static void
s_expect (zsock_t *d, uint64_t seq, mdf_ack_status_t status, uint64_t count)
{
    mdf_ack_t ack;
    ck_assert_msg (mds_recv_ack (d, &ack, 5000) == 0, "no ack for batch %llu",
                   (unsigned long long)seq);
    ck_assert_uint_eq (ack.batch_seq, seq);
    ck_assert_msg (ack.status == status, "batch %llu: %s (%s), expected %s",
                   (unsigned long long)seq, mdf_ack_status_name (ack.status), ack.error,
                   mdf_ack_status_name (status));
    ck_assert_uint_eq (ack.count, count);
    ck_assert (ack.has_level);
}

static double
s_metric (const char *series)
{
    return h_scrape (store_app_http_port (s_srv), series);
}

/* ---- tests ---- */

START_TEST (a_committed_batch_is_acked_ok_and_an_empty_one_at_once)
{
    s_start (10000, 0);
    zsock_t *d = s_dealer ();
    s_send (d, 1, 10);
    s_expect (d, 1, MDF_ACK_OK, 10);
    s_send (d, 2, 0);
    s_expect (d, 2, MDF_ACK_OK, 0);
    ck_assert_double_eq (s_metric ("mds_bars_written_total"), 10);
    ck_assert_double_eq (s_metric ("mds_batches_total{status=\"ok\"}"), 2);
    int status = 0;
    free (h_http ("GET", store_app_http_port (s_srv), "/health/ready", NULL, &status, 2000));
    ck_assert_int_eq (status, 200);
    zsock_destroy (&d);
    s_stop_loop ();
    s_destroy ();
}
END_TEST

START_TEST (a_bad_bar_or_a_batch_over_a_limit_is_rejected_with_the_reason)
{
    s_start (1000, 0);
    zsock_t *d = s_dealer ();
    mdf_batch_t b;
    s_batch (&b, 7, 5);
    b.bars[3].low = 20; /* above its high */
    ck_assert_int_eq (mds_send_batch (d, &b), 0);
    mdf_batch_clear (&b);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 7);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_msg (strstr (ack.error, "3"), "error does not name bar 3: %s", ack.error);
    s_send (d, 8, 1001); /* over ingest.max_bars (= capacity here) */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_msg (strstr (ack.error, "ingest.max_bars"), "%s", ack.error);
    ck_assert_double_eq (s_metric ("mds_batches_total{status=\"rejected\"}"), 2);
    ck_assert_double_eq (s_metric ("mds_bars_written_total"), 0); /* nothing of them stored */
    zsock_destroy (&d);
    s_stop_loop ();
    s_destroy ();
}
END_TEST

START_TEST (malformed_messages_get_no_answer_are_counted_and_the_loop_goes_on)
{
    s_start (1000, 0);
    zsock_t *d = s_dealer ();
    zstr_sendm (d, "one");
    zstr_send (d, "two"); /* two frames */
    zstr_send (d, "\xc1 not msgpack");
    zmq_send (zsock_resolve (d), "", 0, 0); /* empty */
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 300), -1);
    s_send (d, 9, 3);
    s_expect (d, 9, MDF_ACK_OK, 3); /* still serving */
    ck_assert_double_eq (s_metric ("mds_ingest_malformed_total{reason=\"frames\"}"), 1);
    ck_assert_double_eq (s_metric ("mds_ingest_malformed_total{reason=\"decode\"}"), 1);
    ck_assert_double_eq (s_metric ("mds_ingest_malformed_total{reason=\"empty\"}"), 1);
    zsock_destroy (&d);
    s_stop_loop ();
    s_destroy ();
}
END_TEST

START_TEST (a_batch_that_does_not_fit_gets_retry_and_the_level_goes_hard)
{
    /* a sink taking 10 rows/s */
    s_start (100, 10);
    zsock_t *sub = zsock_new_sub (s_feedback, MDF_FEEDBACK_TOPIC_PREFIX);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0); /* the welcome */
    ck_assert_int_eq (ev.level, MDF_LEVEL_OK);
    ck_assert_str_eq (ev.coordinator_id, "srv-test");
    zsock_t *d = s_dealer ();
    /* the first write starts at once and books the sink for 5 s ... */
    s_send (d, 1, 50);
    s_expect (d, 1, MDF_ACK_OK, 50);
    /* ... so the next 90 bars wait in the queue: above the high watermark */
    s_send (d, 2, 90);
    ck_assert_int_eq (mds_wait_event (sub, "watermark", -1, &ev, 5000), 0);
    ck_assert_int_eq (ev.level, MDF_LEVEL_HARD);
    ck_assert_int_eq (ev.queue_size, 90);
    s_send (d, 3, 20); /* 90 + 20 > 100 */
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 3);
    ck_assert_int_eq (ack.status, MDF_ACK_RETRY);
    ck_assert_int_eq (ack.level, MDF_LEVEL_HARD);
    s_send (d, 4, 101); /* more than the whole queue: never fits */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_double_eq (s_metric ("mds_batches_total{status=\"retry\"}"), 1);
    zsock_destroy (&d);
    zsock_destroy (&sub);
    s_stop_loop ();
    s_destroy (); /* the workers give up on what is left */
}
END_TEST

START_TEST (drain_acks_what_was_queued_and_publishes_shutdown)
{
    s_start (10000, 0);
    zsock_t *sub = zsock_new_sub (s_feedback, MDF_FEEDBACK_TOPIC_PREFIX);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0);
    zsock_t *d = s_dealer ();
    for (uint64_t seq = 1; seq <= 5; seq++)
        s_send (d, seq, 50);
    for (uint64_t seq = 1; seq <= 5; seq++)
        s_expect (d, seq, MDF_ACK_OK, 50);
    s_stop_loop ();
    ck_assert_int_eq (store_app_drain (s_srv), 0);
    ck_assert_int_eq (mds_wait_event (sub, "shutdown", -1, &ev, 5000), 0);
    ck_assert_int_eq (ev.queue_size, 0);
    int status = 0;
    free (h_http ("GET", store_app_http_port (s_srv), "/health/ready", NULL, &status, 2000));
    ck_assert_int_eq (status, 503); /* draining: not ready */
    zsock_destroy (&d);
    zsock_destroy (&sub);
    s_destroy ();
}
END_TEST

/* The next event's `producers` is `want` within timeout_ms (p1 keeps sending,
 * so the store keeps reporting). */
static bool
s_producers_become (zsock_t *watch, zsock_t *d1, uint64_t *seq, int64_t want, int timeout_ms,
                    int64_t *after_ms)
{
    long long start = h_now_ms (), next_send = 0;
    while (h_now_ms () - start < timeout_ms) {
        if (h_now_ms () >= next_send) {
            mdf_batch_t b;
            uint64_t n = ++*seq;
            mds_make_batch (&b, "p1", n, "prov", 1, 1700000000000000000LL + (int64_t)n);
            ck_assert_int_eq (mds_send_batch (d1, &b), 0);
            mdf_batch_clear (&b);
            next_send = h_now_ms () + 50;
        }
        mdf_feedback_t ev;
        if (mds_recv_event (watch, &ev, 20) == 0 && ev.producers == want) {
            *after_ms = h_now_ms () - start;
            return true;
        }
        mdf_ack_t ack;
        while (mds_recv_ack (d1, &ack, 0) == 0)
            ;
    }
    return false;
}

/* Producers subscribed by id: one that closes its feedback socket (a
 * pipeline that stops) stops counting at once, and one that only sent
 * batches stops 1 s after its last (both counted for 10 s before). */
START_TEST (a_producer_that_leaves_stops_counting_at_once)
{
    s_start (10000, 0);
    zsock_t *watch = zsock_new_sub (s_feedback, MDF_FEEDBACK_TOPIC_PREFIX);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (watch, "subscribe", -1, &ev, 5000), 0);
    zsock_t *sub[2];
    for (int i = 0; i < 2; i++) {
        sub[i] = zsock_new_sub (s_feedback, MDF_FEEDBACK_TOPIC_PREFIX);
        zsock_set_subscribe (sub[i], MDF_PRODUCER_TOPIC);
        zsock_set_subscribe (sub[i], i == 0 ? "producer.p1" : "producer.p2");
    }
    zsock_t *d1 = s_dealer (), *d2 = s_dealer (), *d3 = s_dealer ();
    uint64_t seq = 0;
    mdf_batch_t b;
    mds_make_batch (&b, "p2", 1000001, "prov", 1, 1700000000000000000LL);
    ck_assert_int_eq (mds_send_batch (d2, &b), 0);
    mdf_batch_clear (&b);
    mds_make_batch (&b, "p3", 2000001, "prov", 1, 1700000000000000001LL);
    ck_assert_int_eq (mds_send_batch (d3, &b), 0);
    mdf_batch_clear (&b);
    int64_t after = 0;
    ck_assert (s_producers_become (watch, d1, &seq, 3, 3000, &after));
    zsock_destroy (&sub[1]); /* p2 leaves: its socket closes */
    ck_assert_msg (s_producers_become (watch, d1, &seq, 2, 3000, &after),
                   "p2 still counted 3 s after it left");
    ck_assert_int_le (after, 500);
    /* p3 (no subscription) sent nothing since: gone within about 1 s */
    ck_assert_msg (s_producers_become (watch, d1, &seq, 1, 3000, &after),
                   "p3 still counted 3 s after its last batch");
    ck_assert_int_le (after, 1500);
    zsock_destroy (&sub[0]);
    zsock_destroy (&d1);
    zsock_destroy (&d2);
    zsock_destroy (&d3);
    zsock_destroy (&watch);
    s_stop_loop ();
    s_destroy ();
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("server");
    TCase *tc = tcase_create ("server");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, a_committed_batch_is_acked_ok_and_an_empty_one_at_once);
    tcase_add_test (tc, a_bad_bar_or_a_batch_over_a_limit_is_rejected_with_the_reason);
    tcase_add_test (tc, malformed_messages_get_no_answer_are_counted_and_the_loop_goes_on);
    tcase_add_test (tc, a_batch_that_does_not_fit_gets_retry_and_the_level_goes_hard);
    tcase_add_test (tc, drain_acks_what_was_queued_and_publishes_shutdown);
    tcase_add_test (tc, a_producer_that_leaves_stops_counting_at_once);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
