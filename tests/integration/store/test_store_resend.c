/*
 * md-store and resends: a producer resends a batch whose ack is late (the
 * pipeline's ack_timeout_ms) while the first copy still waits in the queue or
 * is being written, e.g. while the sink is down.  The store keeps one copy:
 * the queue counts its bars once, the resend is counted as a duplicate and not
 * answered, and exactly one "ok" goes out at the commit, to the identity that
 * asked last (a reconnected DEALER has a new ROUTER identity).  A batch with
 * the same (producer_id, batch_seq) but other bars is not a resend and is
 * queued; a resend after the commit is a new batch (upserts store it once).
 *
 * Each step ends with an empty batch from the same DEALER as a marker: the
 * store answers it at once and reads one peer's messages in order, so its ack
 * means the messages before it were handled and the gauges show them.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

#define DEPTH "coordinator_queue_depth"
#define DUPLICATES "mds_ingest_duplicates_total"

/* Send an empty batch and wait for its ack: everything `d` sent before it has
 * been handled by the store. */
static void
s_marker (zsock_t *d, uint64_t seq)
{
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, seq, 0, 1), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, seq);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
}

static int
s_send_as (zsock_t *d, const char *producer, uint64_t seq, size_t n, int64_t ts0_ms, double close)
{
    mdf_batch_t b;
    mds_make_batch (&b, producer, seq, "test", n, ts0_ms * 1000000);
    for (size_t i = 0; i < n; i++)
        b.bars[i].close = close;
    int rc = mds_send_batch (d, &b);
    mdf_batch_clear (&b);
    return rc;
}

START_TEST (resend_of_a_queued_batch_is_queued_once_and_acked_once_to_the_last_sender)
{
    char *tmp, *blocker, *db;
    mds_start_failing_sink (&tmp, &blocker, &db);
    int port = mds_cur.http_port;
    zsock_t *d1 = mds_dealer (&mds_cur);
    ck_assert_int_eq (mds_send (d1, 7, 40, 1000), 0);
    s_marker (d1, 1000);
    ck_assert_int_eq ((int)h_scrape (port, DEPTH), 40);
    /* two resends after an ack timeout: still 40 bars queued */
    ck_assert_int_eq (mds_send (d1, 7, 40, 1000), 0);
    ck_assert_int_eq (mds_send (d1, 7, 40, 1000), 0);
    s_marker (d1, 1001);
    ck_assert_int_eq ((int)h_scrape (port, DEPTH), 40);
    ck_assert_int_eq ((int)h_scrape (port, DUPLICATES), 2);
    /* the producer reconnected: a new DEALER, a new ROUTER identity */
    zsock_t *d2 = mds_dealer (&mds_cur);
    ck_assert_int_eq (mds_send (d2, 7, 40, 1000), 0);
    s_marker (d2, 1002);
    ck_assert_int_eq ((int)h_scrape (port, DEPTH), 40);
    ck_assert_int_eq ((int)h_scrape (port, DUPLICATES), 3);
    /* another batch_seq, and the same batch_seq from another producer, are new */
    ck_assert_int_eq (mds_send (d1, 8, 40, 2000), 0);
    ck_assert_int_eq (s_send_as (d1, "other-producer", 7, 40, 3000, 10.5), 0);
    s_marker (d1, 1003);
    ck_assert_int_eq ((int)h_scrape (port, DEPTH), 120);
    ck_assert_int_eq ((int)h_scrape (port, DUPLICATES), 3);
    ck_assert_int_eq ((int)h_scrape (port, "mds_batches_total{status=\"retry\"}"), 0);

    /* the sink heals: one ok for batch 7, to the DEALER that asked last */
    ck_assert_int_eq (unlink (blocker), 0);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d2, &ack, 10000), 0);
    ck_assert_uint_eq (ack.batch_seq, 7);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_uint_eq (ack.count, 40);
    /* d1 gets the acks of its other batches, and none for batch 7: acks to
     * one peer keep the commit order, so one for 7 would come first */
    ck_assert_int_eq (mds_recv_ack (d1, &ack, 10000), 0);
    ck_assert_uint_eq (ack.batch_seq, 8);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (mds_recv_ack (d1, &ack, 10000), 0);
    ck_assert_uint_eq (ack.batch_seq, 7); /* other-producer's */
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_db_rows (db), 120);
    ck_assert_int_eq ((int)h_scrape (port, "mds_bars_written_total"), 120);
    ck_assert_int_eq ((int)h_scrape (port, DEPTH), 0);
    /* 3 batches + 4 markers, each answered once */
    ck_assert_int_eq ((int)h_scrape (port, "mds_batches_total{status=\"ok\"}"), 7);
    s_marker (d2, 1004);
    ck_assert_int_eq (mds_recv_ack (d1, &ack, 0), -1);

    /* after the commit a resend is a new batch: acked again, stored once */
    ck_assert_int_eq (mds_send (d1, 7, 40, 1000), 0);
    ck_assert_int_eq (mds_recv_ack (d1, &ack, 10000), 0);
    ck_assert_uint_eq (ack.batch_seq, 7);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_db_rows (db), 120);
    ck_assert_int_eq ((int)h_scrape (port, DUPLICATES), 3);
    zsock_destroy (&d1);
    zsock_destroy (&d2);
    h_rmtree (tmp);
    free (tmp), free (blocker), free (db);
}
END_TEST

START_TEST (same_batch_seq_with_other_bars_is_not_a_resend_and_is_stored)
{
    char *tmp, *blocker, *db;
    mds_start_failing_sink (&tmp, &blocker, &db);
    zsock_t *d = mds_dealer (&mds_cur);
    ck_assert_int_eq (s_send_as (d, "test-producer", 9, 30, 1000, 10.5), 0);
    ck_assert_int_eq (s_send_as (d, "test-producer", 9, 30, 5000, 10.5), 0);  /* other rows */
    ck_assert_int_eq (s_send_as (d, "test-producer", 9, 30, 1000, 10.25), 0); /* other close */
    s_marker (d, 1000);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, DEPTH), 90);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, DUPLICATES), 0);
    ck_assert_int_eq (unlink (blocker), 0);
    mdf_ack_t ack;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq (mds_recv_ack (d, &ack, 10000), 0);
        ck_assert_uint_eq (ack.batch_seq, 9);
        ck_assert_int_eq (ack.status, MDF_ACK_OK);
    }
    ck_assert_int_eq (h_db_rows (db), 60); /* the third upserted the first's rows */
    zsock_destroy (&d);
    h_rmtree (tmp);
    free (tmp), free (blocker), free (db);
}
END_TEST

START_TEST (resend_while_draining_is_absorbed_and_acked_at_the_commit)
{
    /* 50 rows/s: batch 1 commits at once, batch 2 (100 bars) about 2 s later */
    MDS_START (0, "[sink]\nmax_rows_per_sec = 50\n", NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    ck_assert_int_eq (mds_send (d, 1, 100, 1000), 0);
    ck_assert_int_eq (mds_send (d, 2, 100, 2000), 0);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 1);
    h_signal (&mds_cur.proc, SIGTERM);
    ck_assert_int_eq ((int)h_wait_metric_ge (mds_cur.http_port, "mds_draining", 1, 5000), 1);
    ck_assert_int_eq (mds_send (d, 2, 100, 2000), 0); /* resend of the queued one */
    ck_assert_int_eq (mds_send (d, 3, 5, 9000), 0);   /* new: refused while draining */
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 3);
    ck_assert_int_eq (ack.status, MDF_ACK_RETRY);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, DUPLICATES), 1);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 10000), 0);
    ck_assert_uint_eq (ack.batch_seq, 2);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 10000), 0);
    mds_cur.running = false;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 0), -1); /* one answer each, no more */
    ck_assert_int_eq (h_db_rows (mds_cur.db), 200);
    zsock_destroy (&d);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store resend");
    TCase *tc = tcase_create ("resend");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, resend_of_a_queued_batch_is_queued_once_and_acked_once_to_the_last_sender);
    tcase_add_test (tc, same_batch_seq_with_other_bars_is_not_a_resend_and_is_stored);
    tcase_add_test (tc, resend_while_draining_is_absorbed_and_acked_at_the_commit);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
