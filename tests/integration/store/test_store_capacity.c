/*
 * md-store under pressure: retry beyond capacity, SOFT and HARD with a
 * throttled sink and back to OK, a failing sink that acks nothing and loses
 * nothing, SIGTERM drain with every batch acked and the shutdown event.
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

/* --------------------------------------------------------------- capacity */

START_TEST (retry_beyond_capacity_and_nothing_dropped)
{
    /* 1 row/s: the first batch commits at once, the next waits ~50 s */
    MDS_START (0,
               "[store]\ndrain_timeout_ms = 300\n[queue]\ncapacity = 100\n"
               "high_watermark = 80\nlow_watermark = 50\nhysteresis = 0\n"
               "[sink]\nmax_rows_per_sec = 1\n",
               NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 50, 1000), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (mds_send (d, 2, 50, 2000), 0); /* queued, waits for the throttle */
    ck_assert_int_eq (mds_send (d, 3, 50, 3000), 0); /* fills the queue to 100 */
    ck_assert_int_eq (mds_send (d, 4, 1, 4000), 0);  /* does not fit */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 4);
    ck_assert_int_eq (ack.status, MDF_ACK_RETRY);
    ck_assert_int_eq (ack.level, MDF_LEVEL_HARD);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "coordinator_queue_depth"), 100);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "coordinator_backpressure_hard"), 1);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "mds_batches_total{status=\"retry\"}"), 1);
    zsock_destroy (&d);
}
END_TEST

START_TEST (soft_and_hard_with_a_throttled_sink_then_back_to_ok)
{
    MDS_START (0,
               "[queue]\ncapacity = 1000\nhigh_watermark = 800\nlow_watermark = 500\n"
               "hysteresis = 0\n[workers]\nbatch_max = 100\n[sink]\nmax_rows_per_sec = 1000\n",
               NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", MDF_LEVEL_OK, &ev, 5000), 0);
    zsock_t *d = mds_dealer (&mds_cur);
    for (uint64_t seq = 1; seq <= 10; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    /* levels published, in order: soft, hard, then down to ok */
    int expect[] = { MDF_LEVEL_SOFT, MDF_LEVEL_HARD, MDF_LEVEL_OK };
    for (int i = 0; i < 3; i++) {
        ck_assert_msg (mds_wait_event (sub, "watermark", expect[i], &ev, 10000) == 0,
                       "no watermark event for level %d", expect[i]);
        if (expect[i] == MDF_LEVEL_OK)
            ck_assert_int_le (ev.queue_size, 500);
        if (expect[i] == MDF_LEVEL_HARD)
            ck_assert_int_ge (ev.queue_size, 800);
    }
    int ok = 0;
    mdf_ack_t ack;
    while (ok < 10 && mds_recv_ack (d, &ack, 10000) == 0)
        ok += ack.status == MDF_ACK_OK;
    ck_assert_int_eq (ok, 10);
    ck_assert_int_eq (h_db_rows (mds_cur.db), 1000);
    ck_assert_int_ge (
        (int)h_scrape (mds_cur.http_port, "mds_feedback_events_total{level=\"hard\"}"), 1);
    zsock_destroy (&d);
    zsock_destroy (&sub);
}
END_TEST

START_TEST (failing_sink_acks_nothing_then_recovers_without_loss)
{
    /* the database's directory is blocked by a regular file: writes fail */
    char *tmp, *blocker, *db;
    mds_start_failing_sink (&tmp, &blocker, &db);
    zsock_t *sub = mds_sub (&mds_cur);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0);
    ck_assert_int_eq (mds_send (d, 1, 30, 1000), 0);
    ck_assert_int_eq (mds_wait_event (sub, "sink_down", -1, &ev, 5000), 0);
    ck_assert_int_eq (ev.queue_size, 30);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 200), -1); /* nothing acked while failing */
    ck_assert_int_ge ((int)h_scrape (mds_cur.http_port, "mds_sink_errors_total"), 2);
    /* open, or half-open while a probe runs */
    ck_assert_int_ge ((int)h_scrape (mds_cur.http_port, "mds_sink_breaker_state"), 1);
    int status = 0;
    free (h_http ("GET", mds_cur.http_port, "/health", NULL, &status, 2000));
    ck_assert_int_eq (status, 503);
    /* the sink heals: the batch is committed, then acked */
    ck_assert_int_eq (unlink (blocker), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_db_rows (db), 30);
    free (h_http ("GET", mds_cur.http_port, "/health", NULL, &status, 2000));
    ck_assert_int_eq (status, 200);
    zsock_destroy (&sub);
    zsock_destroy (&d);
    h_rmtree (tmp);
    free (tmp), free (blocker), free (db);
}
END_TEST

/* -------------------------------------------------------------- lifecycle */

START_TEST (sigterm_drains_every_queued_batch_then_says_shutdown)
{
    MDS_START (0, "[workers]\nbatch_max = 100\n[sink]\nmax_rows_per_sec = 2000\n", NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &ev, 5000), 0);
    zsock_t *d = mds_dealer (&mds_cur);
    for (uint64_t seq = 1; seq <= 10; seq++)
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
    /* all ten are queued before the signal: depth counts them */
    ck_assert_int_ge (
        (int)h_wait_metric_ge (mds_cur.http_port, "mds_batches_total{status=\"ok\"}", 1, 5000), 1);
    h_signal (&mds_cur.proc, SIGTERM);
    ck_assert_int_eq ((int)h_wait_metric_ge (mds_cur.http_port, "mds_draining", 1, 5000), 1);
    ck_assert_int_eq (mds_send (d, 11, 5, 99000), 0); /* refused while draining */
    int ok = 0, retry = 0;
    mdf_ack_t ack;
    while (ok + retry < 11 && mds_recv_ack (d, &ack, 10000) == 0) {
        ok += ack.status == MDF_ACK_OK;
        if (ack.status == MDF_ACK_RETRY) {
            retry++;
            ck_assert_uint_eq (ack.batch_seq, 11);
        }
    }
    ck_assert_int_eq (ok, 10);
    ck_assert_int_eq (retry, 1);
    ck_assert_int_eq (mds_wait_event (sub, "shutdown", -1, &ev, 10000), 0);
    ck_assert_int_eq (ev.queue_size, 0);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 10000), 0);
    mds_cur.running = false;
    ck_assert_int_eq (h_db_rows (mds_cur.db), 1000);
    zsock_destroy (&d);
    zsock_destroy (&sub);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store capacity");
    TCase *tc = tcase_create ("capacity");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, retry_beyond_capacity_and_nothing_dropped);
    tcase_add_test (tc, soft_and_hard_with_a_throttled_sink_then_back_to_ok);
    tcase_add_test (tc, failing_sink_acks_nothing_then_recovers_without_loss);
    tcase_add_test (tc, sigterm_drains_every_queued_batch_then_says_shutdown);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
