/*
 * md-store ingest over its real sockets: feedback on subscribe, heartbeats
 * and restarts; acks only after commit, idempotent resends, each rejection
 * rule, a broken body answered by its batch_seq, hostile frames that disturb
 * no one.
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

/* ---------------------------------------------------------------- feedback */

static bool
s_no_subscribers (void *arg)
{
    (void)arg;
    return h_scrape (mds_cur.http_port, "mds_feedback_subscribers") == 0;
}

START_TEST (welcome_event_on_subscribe)
{
    MDS_START (0,
               "[store]\nid = \"coord-7\"\n[queue]\ncapacity = 1234\nhigh_watermark = 1000\n"
               "low_watermark = 500\n",
               NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_recv_event (sub, &ev, 5000), 0);
    ck_assert_str_eq (ev.reason, "subscribe");
    ck_assert_str_eq (ev.coordinator_id, "coord-7");
    ck_assert_str_eq (ev.source, "store");
    ck_assert_int_eq (ev.v, 1);
    ck_assert_int_eq (ev.level, MDF_LEVEL_OK);
    ck_assert_int_eq (ev.capacity, 1234);
    ck_assert_int_eq (ev.queue_size, 0);
    ck_assert_uint_ge (ev.seq, 1);
    ck_assert_int_gt (ev.epoch, 0);
    ck_assert (fabs (ev.ts - zclock_time () / 1000.0) < 60);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "mds_feedback_subscribers"), 1);
    zsock_destroy (&sub);
    ck_assert_int_eq (h_wait_until (s_no_subscribers, NULL, 5000), 0);
}
END_TEST

START_TEST (heartbeats_have_contiguous_seq)
{
    MDS_START (30, NULL, NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t first, ev;
    ck_assert_int_eq (mds_recv_event (sub, &first, 5000), 0);
    uint64_t seq = first.seq;
    int heartbeats = 0;
    while (heartbeats < 5) {
        ck_assert_int_eq (mds_recv_event (sub, &ev, 2000), 0);
        ck_assert_uint_eq (ev.seq, seq + 1);
        ck_assert_int_eq (ev.epoch, first.epoch);
        seq = ev.seq;
        heartbeats += !strcmp (ev.reason, "heartbeat");
    }
    zsock_destroy (&sub);
}
END_TEST

START_TEST (a_new_incarnation_has_a_new_epoch_and_restarts_seq)
{
    MDS_START (0, NULL, NULL);
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t a, b;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &a, 5000), 0);
    ck_assert_int_eq (mds_stop (&mds_cur, 10000), 0);
    ck_assert_int_eq (mds_wait_event (sub, "draining", -1, &b, 5000), 0);
    ck_assert_uint_eq (b.seq, a.seq + 1); /* SIGTERM: "draining" at once ... */
    ck_assert_int_eq (mds_wait_event (sub, "shutdown", -1, &b, 5000), 0);
    ck_assert_uint_eq (b.seq, a.seq + 2); /* ... "shutdown" when it is over */
    /* start again on the same ports */
    ck_assert_int_eq (mds_relaunch (&mds_cur), 0);
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", -1, &b, 10000), 0);
    ck_assert_uint_eq (b.seq, 1);
    ck_assert_int_gt (b.epoch, a.epoch);
    zsock_destroy (&sub);
}
END_TEST

/* ------------------------------------------------------------------- acks */

START_TEST (ack_ok_only_after_the_rows_are_in_the_database)
{
    MDS_START (0, NULL, NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        ck_assert_int_eq (mds_send (d, seq, 100, (int64_t)seq * 1000), 0);
        mdf_ack_t ack;
        ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
        ck_assert_uint_eq (ack.batch_seq, seq);
        ck_assert_int_eq (ack.status, MDF_ACK_OK);
        ck_assert_uint_eq (ack.count, 100);
        ck_assert (ack.has_level);
        /* the ack is out: the rows must be readable now */
        ck_assert_int_eq (h_db_rows (mds_cur.db), (long)seq * 100);
    }
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "mds_bars_written_total"), 500);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "mds_batches_total{status=\"ok\"}"), 5);
    zsock_destroy (&d);
}
END_TEST

START_TEST (resent_batch_is_stored_once)
{
    MDS_START (0, NULL, NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq (mds_send (d, 42, 250, 1000), 0);
        ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
        ck_assert_int_eq (ack.status, MDF_ACK_OK);
        ck_assert_uint_eq (ack.batch_seq, 42);
    }
    ck_assert_int_eq (h_db_rows (mds_cur.db), 250);
    zsock_destroy (&d);
}
END_TEST

START_TEST (empty_batch_is_acked_ok_with_count_0)
{
    MDS_START (0, NULL, NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 3, 0, 1), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_uint_eq (ack.count, 0);
    zsock_destroy (&d);
}
END_TEST

/* One rule broken at bar 2 of 4. */
typedef void (*breaker_fn) (mdf_bar_t *bar);
static void
b_empty_symbol (mdf_bar_t *b)
{
    b->symbol[0] = '\0';
}
static void
b_ts_zero (mdf_bar_t *b)
{
    b->ts = 0;
}
static void
b_ts_negative (mdf_bar_t *b)
{
    b->ts = -5;
}
static void
b_nan (mdf_bar_t *b)
{
    b->close = NAN;
}
static void
b_inf (mdf_bar_t *b)
{
    b->open = INFINITY;
}
static void
b_low_above_high (mdf_bar_t *b)
{
    b->low = 12;
    b->high = 11;
}
static void
b_negative_volume (mdf_bar_t *b)
{
    b->volume = -1;
}

START_TEST (each_rejection_rule_rejects_the_whole_batch_naming_the_bar)
{
    MDS_START (0, NULL, NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    breaker_fn rules[] = { b_empty_symbol, b_ts_zero,        b_ts_negative,    b_nan,
                           b_inf,          b_low_above_high, b_negative_volume };
    size_t n = sizeof rules / sizeof rules[0];
    for (size_t r = 0; r < n; r++) {
        mdf_batch_t b;
        mds_make_batch (&b, "p", 100 + r, "test", 4, 1000);
        rules[r](&b.bars[2]);
        ck_assert_int_eq (mds_send_batch (d, &b), 0);
        mdf_batch_clear (&b);
        mdf_ack_t ack;
        ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
        ck_assert_uint_eq (ack.batch_seq, 100 + r);
        ck_assert_msg (ack.status == MDF_ACK_REJECTED, "rule %zu not rejected", r);
        ck_assert_uint_eq (ack.count, 0);
        ck_assert_msg (strstr (ack.error, "bar 2") != NULL, "rule %zu: error '%s'", r, ack.error);
    }
    /* a 65-byte symbol cannot be built with mdf_batch_t: hand-made msgpack */
    unsigned char raw[256];
    size_t len = 0;
    const char *head = "\x86"
                       "\xa1"
                       "v"
                       "\x01"
                       "\xa4"
                       "type"
                       "\xa4"
                       "bars"
                       "\xab"
                       "producer_id"
                       "\xa1"
                       "p"
                       "\xa9"
                       "batch_seq"
                       "\x4d"
                       "\xa8"
                       "provider"
                       "\xa1"
                       "x"
                       "\xa4"
                       "bars"
                       "\x91"
                       "\x97"
                       "\xd9"
                       "\x41";
    len = strlen (head); /* no NUL inside: every byte of head is non-zero */
    memcpy (raw, head, len);
    memset (raw + len, 'A', 65);
    len += 65;
    const unsigned char tail[] = { 0x01, 0x0a, 0x0b, 0x09, 0x0a, 0x01 }; /* ts o h l c v */
    memcpy (raw + len, tail, sizeof tail);
    len += sizeof tail;
    zframe_t *f = zframe_new (raw, len);
    ck_assert_int_eq (zframe_send (&f, d, 0), 0);
    mdf_ack_t long_ack;
    ck_assert_int_eq (mds_recv_ack (d, &long_ack, 5000), 0);
    ck_assert_uint_eq (long_ack.batch_seq, 77);
    ck_assert_int_eq (long_ack.status, MDF_ACK_REJECTED);
    ck_assert_msg (strstr (long_ack.error, "bar 0") != NULL, "error '%s'", long_ack.error);
    ck_assert_int_eq ((int)h_scrape (mds_cur.http_port, "mds_batches_total{status=\"rejected\"}"),
                      (int)n + 1);
    /* nothing of them was stored */
    ck_assert_int_eq (mds_send (d, 999, 1, 1), 0);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (h_db_rows (mds_cur.db), 1);
    zsock_destroy (&d);
}
END_TEST

START_TEST (batch_larger_than_capacity_is_rejected)
{
    MDS_START (0,
               "[queue]\ncapacity = 100\nhigh_watermark = 80\nlow_watermark = 50\n"
               "hysteresis = 0\n",
               NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (d, 1, 101, 1), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_msg (strstr (ack.error, "capacity") != NULL, "%s", ack.error);
    zsock_destroy (&d);
}
END_TEST

/* A valid batch of 3 bars as encoded bytes, with `tail` appended and, when
 * extra_key, one more key announced in the top-level map header (the tail
 * then holds that pair). */
static void
s_send_patched (zsock_t *d, uint64_t seq, const void *tail, size_t tail_len, bool extra_key)
{
    mdf_batch_t b;
    mds_make_batch (&b, "p", seq, "test", 3, 5000);
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&b, &buf), 0);
    mdf_batch_clear (&b);
    ck_assert_int_eq ((unsigned char)buf.data[0], 0x86); /* a fixmap of 6 keys */
    unsigned char *raw = malloc (buf.size + tail_len);
    ck_assert_ptr_nonnull (raw);
    memcpy (raw, buf.data, buf.size);
    memcpy (raw + buf.size, tail, tail_len);
    if (extra_key)
        raw[0] = 0x87;
    zframe_t *f = zframe_new (raw, buf.size + tail_len);
    ck_assert_int_eq (zframe_send (&f, d, 0), 0);
    free (raw);
    mdf_buf_free (&buf);
}

START_TEST (a_broken_body_with_a_readable_batch_seq_is_answered_rejected)
{
    MDS_START (0, NULL, NULL);
    zsock_t *d = mds_dealer (&mds_cur);
    mdf_ack_t ack;
    /* one byte after the top-level map */
    s_send_patched (d, 41, "\xc0", 1, false);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 41);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_uint_eq (ack.count, 0);
    ck_assert_str_eq (ack.error, "1 trailing bytes after the body");
    /* an extra key whose value nests 40 arrays deep (limit: 32 levels) */
    unsigned char deep[2 + 40];
    deep[0] = 0xa1;
    deep[1] = 'x';
    memset (deep + 2, 0x91, 39);
    deep[41] = 0x90;
    s_send_patched (d, 42, deep, sizeof deep, true);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 42);
    ck_assert_int_eq (ack.status, MDF_ACK_REJECTED);
    ck_assert_msg (strstr (ack.error, "nested more than 32 deep") != NULL, "error '%s'", ack.error);
    /* counted as rejected batches, not as undecodable frames; nothing stored */
    int port = mds_cur.http_port;
    ck_assert_int_eq ((int)h_scrape (port, "mds_batches_total{status=\"rejected\"}"), 2);
    ck_assert_int_eq ((int)h_scrape (port, "mds_ingest_malformed_total{reason=\"decode\"}"), 0);
    ck_assert_int_eq (mds_send (d, 43, 1, 1), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_db_rows (mds_cur.db), 1);
    zsock_destroy (&d);
}
END_TEST

/* ---------------------------------------------------------------- hostile */

static void
s_send_raw (zsock_t *d, const void *data, size_t size, bool more_frames)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, data, size);
    if (more_frames)
        zmsg_addstr (msg, "extra");
    ck_assert_int_eq (zmsg_send (&msg, d), 0);
}

START_TEST (hostile_frames_are_counted_and_disturb_no_one)
{
    MDS_START (0, NULL, NULL);
    zsock_t *bad = mds_dealer (&mds_cur);
    zsock_t *good = mds_dealer (&mds_cur);
    const unsigned char junk[] = { 0xc1, 0xff, 0x00, 0x13 };   /* not msgpack */
    const unsigned char array[] = { 0x93, 0x01, 0x02, 0x03 };  /* not a map */
    const unsigned char no_keys[] = { 0x81, 0xa1, 'v', 0x01 }; /* lacks keys */
    const unsigned char wrong_seq[] = { 0x81, 0xa9, 'b', 'a', 't',  'c', 'h',
                                        '_',  's',  'e', 'q', 0xa1, 'x' }; /* batch_seq: "x" */
    for (int round = 0; round < 50; round++) {
        s_send_raw (bad, junk, sizeof junk, false);
        s_send_raw (bad, array, sizeof array, false);
        s_send_raw (bad, no_keys, sizeof no_keys, false);
        s_send_raw (bad, wrong_seq, sizeof wrong_seq, false);
        s_send_raw (bad, "", 0, false);
        s_send_raw (bad, junk, sizeof junk, true);
    }
    /* a valid batch with an extra frame is not a v1 message either */
    mdf_batch_t b;
    mds_make_batch (&b, "p", 5, "test", 3, 1);
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&b, &buf), 0);
    s_send_raw (bad, buf.data, buf.size, true);
    mdf_buf_free (&buf);
    mdf_batch_clear (&b);
    /* the good producer is served normally */
    mdf_ack_t ack;
    ck_assert_int_eq (mds_send (good, 1, 10, 1), 0);
    ck_assert_int_eq (mds_recv_ack (good, &ack, 5000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    /* and so is the bad one once it behaves */
    ck_assert_int_eq (mds_send (bad, 2, 10, 100), 0);
    ck_assert_int_eq (mds_recv_ack (bad, &ack, 5000), 0);
    ck_assert_uint_eq (ack.batch_seq, 2);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (h_db_rows (mds_cur.db), 20);
    int port = mds_cur.http_port;
    ck_assert_int_eq ((int)h_scrape (port, "mds_ingest_malformed_total{reason=\"empty\"}"), 50);
    ck_assert_int_eq ((int)h_scrape (port, "mds_ingest_malformed_total{reason=\"frames\"}"), 51);
    ck_assert_int_eq ((int)h_scrape (port, "mds_ingest_malformed_total{reason=\"decode\"}"), 200);
    ck_assert_int_eq (h_wait (&mds_cur.proc, 0), -1); /* still running */
    /* rate-limited: far fewer log lines than hostile messages */
    zsock_destroy (&bad);
    zsock_destroy (&good);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store ingest");
    TCase *tc = tcase_create ("ingest");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, welcome_event_on_subscribe);
    tcase_add_test (tc, heartbeats_have_contiguous_seq);
    tcase_add_test (tc, a_new_incarnation_has_a_new_epoch_and_restarts_seq);
    tcase_add_test (tc, ack_ok_only_after_the_rows_are_in_the_database);
    tcase_add_test (tc, resent_batch_is_stored_once);
    tcase_add_test (tc, empty_batch_is_acked_ok_with_count_0);
    tcase_add_test (tc, each_rejection_rule_rejects_the_whole_batch_naming_the_bar);
    tcase_add_test (tc, batch_larger_than_capacity_is_rejected);
    tcase_add_test (tc, a_broken_body_with_a_readable_batch_seq_is_answered_rejected);
    tcase_add_test (tc, hostile_frames_are_counted_and_disturb_no_one);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
