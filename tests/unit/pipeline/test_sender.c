/*
 * sender: the pipeline's sender thread against fake stores in this process
 * (ROUTERs on inproc that answer as the test says).  A batch goes to a store
 * with room in its window and an "ok" releases it; a missing ack resends it
 * after ack_timeout_ms with the same batch_seq; "retry" resends it after a
 * backoff that doubles; "rejected" releases it and counts its bars; with
 * every store's window full the provider blocks until an answer frees
 * room; acks for no batch in flight, or that do not decode, are counted and
 * ignored.
 */
#include <check.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "pipeline/sender.h"
#include "tests/integration/harness.h"

typedef struct {
    zsock_t *router;
    char endpoint[64];
} s_store_t;

static mdf_metrics_t *s_reg;
static roster_t *s_roster;
static sender_t *s_sender;
static mdf_bar_t s_bars[10];
static int s_run;        /* endpoints differ from test to test (they may share a process) */
static int64_t s_credit; /* > 0: feedback on, each store heard with this credit */

static void
s_store_new (s_store_t *st, const char *name)
{
    snprintf (st->endpoint, sizeof st->endpoint, "inproc://sender-test-%s-%d", name, ++s_run);
    st->router = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (st->router);
    zsock_set_linger (st->router, 0);
    ck_assert_int_ge (zsock_bind (st->router, "%s", st->endpoint), 0);
}

/* Start a sender (batches of 10 bars, linger 5 ms) towards the stores. */
static void
s_start (s_store_t *stores, size_t n, size_t max_inflight, int64_t ack_timeout_ms,
         int64_t backoff_ms)
{
    for (size_t i = 0; i < 10; i++) {
        memset (&s_bars[i], 0, sizeof s_bars[i]);
        snprintf (s_bars[i].symbol, sizeof s_bars[i].symbol, "AAA");
        s_bars[i].ts = 1700000000000000000LL + (int64_t)i * 1000;
        s_bars[i].open = s_bars[i].high = s_bars[i].low = s_bars[i].close = 1;
    }
    s_reg = mdf_metrics_new ();
    mdf_clock_t clk = mdf_clock_system ();
    /* without feedback every listed store is a member at once */
    members_t *m = members_new (1000000000LL, 5000000000LL, MDF_LEVEL_SOFT, s_credit > 0, &clk);
    s_roster = roster_new (m);
    const char *ingest[4];
    for (size_t i = 0; i < n; i++)
        ingest[i] = stores[i].endpoint;
    ck_assert_int_eq (roster_set (s_roster, ingest, s_credit > 0 ? ingest : NULL, n), 0);
    for (size_t i = 0; s_credit > 0 && i < n; i++) { /* heard: a member with that credit */
        mdf_feedback_t e;
        memset (&e, 0, sizeof e);
        e.v = 1;
        snprintf (e.coordinator_id, sizeof e.coordinator_id, "store-%zu", i);
        e.ts = mdf_wall_s ();
        e.epoch = (int64_t)(e.ts * 1000) - 60000;
        e.seq = 1;
        e.capacity = 10000;
        e.credit = s_credit;
        members_result_t r;
        members_t *mm = roster_lock (s_roster);
        members_observe (mm, members_find (mm, ingest[i]), &e, e.ts, &r);
        roster_unlock (s_roster, true);
        ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    }
    const char *providers[] = { "p0" };
    sender_config_t cfg = {
        .producer_id = "unit",
        .roster = s_roster,
        .providers = providers,
        .nproviders = 1,
        .batch_max = 10,
        .linger_ms = 5,
        .max_inflight = max_inflight,
        .ack_timeout_ms = ack_timeout_ms,
        .retry_backoff_ms = backoff_ms,
        .retry_backoff_max_ms = backoff_ms * 8,
        .metrics = s_reg,
    };
    char err[256] = "";
    s_sender = sender_new (&cfg, err, sizeof err);
    ck_assert_msg (s_sender != NULL, "sender_new: %s", err);
}

static void
s_stop (s_store_t *stores, size_t n)
{
    sender_destroy (&s_sender);
    ck_assert_ptr_null (s_sender);
    roster_destroy (&s_roster);
    mdf_metrics_destroy (&s_reg);
    for (size_t i = 0; i < n; i++)
        zsock_destroy (&stores[i].router);
}

static double
s_metric (const char *series)
{
    return h_registry_value (s_reg, series);
}

/* The sender counts a (re)send just after it went out: wait for it. */
static void
s_wait_metric (const char *series, double at_least)
{
    ck_assert_msg (h_wait_registry_ge (s_reg, series, at_least, 5000) == 0, "%s = %g, expected %g",
                   series, s_metric (series), at_least);
}

/* A batch the store received: who sent it (routing id) and what. */
typedef struct {
    zframe_t *id;
    mdf_batch_t batch;
    long long at_ms;
} s_got_t;

/* The next batch at `st` within timeout_ms: true, or false when none came. */
static bool
s_receive (s_store_t *st, s_got_t *got, int timeout_ms)
{
    memset (got, 0, sizeof *got);
    zpoller_t *p = zpoller_new (st->router, NULL);
    void *ready = zpoller_wait (p, timeout_ms);
    zpoller_destroy (&p);
    if (!ready)
        return false;
    zmsg_t *msg = zmsg_recv (st->router);
    ck_assert_ptr_nonnull (msg);
    ck_assert_int_eq (zmsg_size (msg), 2);
    got->id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    char err[256];
    ck_assert_int_eq (
        mdf_batch_decode (zframe_data (body), zframe_size (body), &got->batch, 0, err, sizeof err),
        MDF_DECODE_OK);
    got->at_ms = h_now_ms ();
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return true;
}

static void
s_answer_raw (s_store_t *st, const s_got_t *got, const void *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){ zframe_dup (got->id) });
    zmsg_addmem (msg, data, size);
    ck_assert_int_eq (zmsg_send (&msg, st->router), 0);
}

static void
s_answer (s_store_t *st, const s_got_t *got, mdf_ack_status_t status, uint64_t seq)
{
    mdf_ack_t ack = { 0 };
    ack.batch_seq = seq;
    ack.status = status;
    ack.count = status == MDF_ACK_OK ? got->batch.nbars : 0;
    if (status == MDF_ACK_REJECTED)
        snprintf (ack.error, sizeof ack.error, "bar 0: no");
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_ack_encode (&ack, &buf), 0);
    s_answer_raw (st, got, buf.data, buf.size);
    mdf_buf_free (&buf);
}

static void
s_got_free (s_got_t *got)
{
    zframe_destroy (&got->id);
    mdf_batch_clear (&got->batch);
}

static bool
s_nothing_inflight (void *arg)
{
    (void)arg;
    return sender_inflight (s_sender) == 0;
}

/* One store, a sender towards it, one batch of 10 bars pushed and received
 * there as *got. */
static void
s_one_batch (s_store_t *st, int64_t ack_timeout_ms, int64_t backoff_ms, s_got_t *got)
{
    s_store_new (st, "a");
    s_start (st, 1, 4, ack_timeout_ms, backoff_ms);
    ck_assert_int_eq (sender_push (s_sender, 0, s_bars, 10), 0);
    ck_assert (s_receive (st, got, 5000));
}

/* Answer `got` with `status` and wait until the sender holds nothing. */
static void
s_answer_released (s_store_t *st, const s_got_t *got, mdf_ack_status_t status)
{
    s_answer (st, got, status, got->batch.batch_seq);
    ck_assert_int_eq (h_wait_until (s_nothing_inflight, NULL, 5000), 0);
}

/* ---- tests ---- */

/* A store always takes one batch, whatever its credit: so batches are cut
 * to the smallest credit, and all the windows of however many producers
 * stay below the store's high watermark (200 pipelines of 64-bar batches
 * passed a credit of 39 each and made the store HARD). */
START_TEST (batches_fit_the_stores_credit)
{
    s_store_t st;
    s_store_new (&st, "credit");
    s_credit = 4;
    s_start (&st, 1, 4, 10000, 50);
    s_credit = 0;
    ck_assert_int_eq (sender_push (s_sender, 0, s_bars, 10), 0);
    size_t total = 0;
    while (total < 10) {
        s_got_t got;
        ck_assert_msg (s_receive (&st, &got, 5000), "only %zu of 10 bars came", total);
        ck_assert_uint_le (got.batch.nbars, 4);
        total += got.batch.nbars;
        s_answer (&st, &got, MDF_ACK_OK, got.batch.batch_seq);
        s_got_free (&got);
    }
    ck_assert_int_eq (h_wait_until (s_nothing_inflight, NULL, 5000), 0);
    s_stop (&st, 1);
}
END_TEST

START_TEST (a_batch_goes_to_the_store_and_its_ok_releases_it)
{
    s_store_t st;
    s_got_t got;
    s_one_batch (&st, 10000, 50, &got);
    ck_assert_str_eq (got.batch.producer_id, "unit");
    ck_assert_str_eq (got.batch.provider, "p0");
    ck_assert_uint_eq (got.batch.nbars, 10);
    ck_assert_int_eq (got.batch.bars[9].ts, s_bars[9].ts);
    ck_assert_uint_eq (sender_inflight (s_sender), 1);
    ck_assert_uint_eq (sender_unacked_bars (s_sender), 10);
    s_answer_released (&st, &got, MDF_ACK_OK);
    ck_assert_double_eq (s_metric ("mdp_bars_sent_total{provider=\"p0\"}"), 10);
    ck_assert_double_eq (s_metric ("mdp_bars_acked_total{provider=\"p0\"}"), 10);
    ck_assert_int_eq (sender_drain (s_sender, 1000), 0);
    s_got_free (&got);
    s_stop (&st, 1);
}
END_TEST

START_TEST (a_missing_ack_resends_the_same_batch_after_the_timeout)
{
    s_store_t st;
    s_got_t first, again;
    s_one_batch (&st, 200, 50, &first);
    ck_assert (s_receive (&st, &again, 5000)); /* no ack: it comes again */
    ck_assert_uint_eq (again.batch.batch_seq, first.batch.batch_seq);
    ck_assert_uint_eq (again.batch.nbars, 10);
    ck_assert_int_ge (again.at_ms - first.at_ms, 180);
    s_wait_metric ("mdp_batches_resent_total{reason=\"timeout\"}", 1);
    ck_assert_double_eq (s_metric ("mdp_bars_sent_total{provider=\"p0\"}"), 10); /* once */
    s_answer_released (&st, &again, MDF_ACK_OK);
    s_got_free (&first);
    s_got_free (&again);
    s_stop (&st, 1);
}
END_TEST

START_TEST (a_retry_is_resent_after_a_backoff_that_doubles)
{
    s_store_t st;
    s_got_t g[3];
    s_one_batch (&st, 10000, 100, &g[0]);
    s_answer (&st, &g[0], MDF_ACK_RETRY, g[0].batch.batch_seq);
    ck_assert (s_receive (&st, &g[1], 5000));
    s_answer (&st, &g[1], MDF_ACK_RETRY, g[1].batch.batch_seq);
    ck_assert (s_receive (&st, &g[2], 5000));
    ck_assert_uint_eq (g[2].batch.batch_seq, g[0].batch.batch_seq);
    ck_assert_int_ge (g[1].at_ms - g[0].at_ms, 90);  /* retry_backoff_ms */
    ck_assert_int_ge (g[2].at_ms - g[1].at_ms, 190); /* doubled */
    s_wait_metric ("mdp_batches_resent_total{reason=\"retry\"}", 2);
    ck_assert_double_eq (s_metric ("mdp_batches_resent_total{reason=\"retry\"}"), 2);
    ck_assert_uint_eq (sender_inflight (s_sender), 1); /* a retry never releases */
    s_answer_released (&st, &g[2], MDF_ACK_OK);
    for (int i = 0; i < 3; i++)
        s_got_free (&g[i]);
    s_stop (&st, 1);
}
END_TEST

START_TEST (a_rejected_batch_is_released_and_counted)
{
    s_store_t st;
    s_got_t got;
    s_one_batch (&st, 10000, 50, &got);
    s_answer_released (&st, &got, MDF_ACK_REJECTED);
    ck_assert_double_eq (s_metric ("mdp_batches_rejected_total{provider=\"p0\"}"), 1);
    ck_assert_double_eq (s_metric ("mdp_bars_rejected_total{provider=\"p0\"}"), 10);
    ck_assert_double_eq (s_metric ("mdp_bars_acked_total{provider=\"p0\"}"), 0);
    s_got_free (&got);
    s_stop (&st, 1);
}
END_TEST

typedef struct {
    atomic_int done;
    int rc;
} s_pusher_t;

static void *
s_push (void *arg)
{
    s_pusher_t *p = arg;
    p->rc = sender_push (s_sender, 0, s_bars, 10);
    atomic_store (&p->done, 1);
    return NULL;
}

START_TEST (batches_go_where_there_is_room_and_the_provider_waits_for_it)
{
    s_store_t st[2];
    s_store_new (&st[0], "a");
    s_store_new (&st[1], "b");
    s_start (st, 2, 1, 10000, 50); /* one batch in flight per store */
    ck_assert_int_eq (sender_push (s_sender, 0, s_bars, 10), 0);
    ck_assert_int_eq (sender_push (s_sender, 0, s_bars, 10), 0);
    s_got_t a, b;
    ck_assert (s_receive (&st[0], &a, 5000)); /* one each */
    ck_assert (s_receive (&st[1], &b, 5000));
    /* both windows full: the next full batch waits in the provider */
    ck_assert_int_eq (sender_push (s_sender, 0, s_bars, 10), 0); /* the open batch */
    s_pusher_t p = { 0, -1 };
    pthread_t t;
    ck_assert_int_eq (pthread_create (&t, NULL, s_push, &p), 0);
    ck_assert (!h_wait_flag (&p.done, 200)); /* still blocked */
    s_got_t none;
    ck_assert (!s_receive (&st[0], &none, 0));
    ck_assert (!s_receive (&st[1], &none, 0));
    /* b answers: its room takes the next batch, and the provider goes on */
    s_answer (&st[1], &b, MDF_ACK_OK, b.batch.batch_seq);
    ck_assert (h_wait_flag (&p.done, 5000));
    ck_assert_int_eq (p.rc, 0);
    pthread_join (t, NULL);
    s_got_t next;
    ck_assert (s_receive (&st[1], &next, 5000));
    ck_assert_uint_gt (next.batch.batch_seq, b.batch.batch_seq);
    ck_assert (!s_receive (&st[0], &none, 100)); /* a is still full */
    s_got_free (&a);
    s_got_free (&b);
    s_got_free (&next);
    sender_close_input (s_sender);
    s_stop (st, 2);
}
END_TEST

START_TEST (acks_for_nothing_in_flight_or_unreadable_are_counted_and_ignored)
{
    s_store_t st;
    s_got_t got;
    s_one_batch (&st, 10000, 50, &got);
    s_answer (&st, &got, MDF_ACK_OK, got.batch.batch_seq + 1000); /* a late duplicate */
    s_answer_raw (&st, &got, "\xc1", 1);                          /* garbage */
    s_wait_metric ("mdp_acks_unknown_total", 1);
    s_wait_metric ("mdp_acks_malformed_total", 1);
    ck_assert_double_eq (s_metric ("mdp_acks_unknown_total"), 1);
    ck_assert_double_eq (s_metric ("mdp_acks_malformed_total"), 1);
    ck_assert_uint_eq (sender_inflight (s_sender), 1); /* the real one still waits */
    s_answer_released (&st, &got, MDF_ACK_OK);
    s_got_free (&got);
    s_stop (&st, 1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sender");
    TCase *tc = tcase_create ("sender");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, batches_fit_the_stores_credit);
    tcase_add_test (tc, a_batch_goes_to_the_store_and_its_ok_releases_it);
    tcase_add_test (tc, a_missing_ack_resends_the_same_batch_after_the_timeout);
    tcase_add_test (tc, a_retry_is_resent_after_a_backoff_that_doubles);
    tcase_add_test (tc, a_rejected_batch_is_released_and_counted);
    tcase_add_test (tc, batches_go_where_there_is_room_and_the_provider_waits_for_it);
    tcase_add_test (tc, acks_for_nothing_in_flight_or_unreadable_are_counted_and_ignored);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
