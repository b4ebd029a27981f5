/*
 * publisher: the store's events as a subscriber sees them: topic
 * "feedback.<id>", one epoch per incarnation, seq 1, 2, 3 ... over every
 * event, the queue and the pacing keys as set; a subscription is reported
 * as new (the store answers it with a welcome) and counted, and a producer's
 * announcement is counted as a producer, not as a subscriber.
 */
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "proto/feedback.h"
#include "store/publisher.h"
#include "tests/integration/harness.h"
#include "tests/integration/store/store_fixture.h"

static mdf_metrics_t *s_reg;
static stats_t s_stats;
static publisher_t *s_pub;
static char s_endpoint[64];
static int s_runs; /* endpoints differ from test to test (they may share a process) */

static void
setup (void)
{
    snprintf (s_endpoint, sizeof s_endpoint, "inproc://publisher-test-%d", ++s_runs);
    s_reg = mdf_metrics_new ();
    ck_assert_int_eq (stats_init (&s_stats, s_reg, "pub-test"), 0);
    char err[256] = "";
    s_pub = publisher_new (s_endpoint, "pub-test", 10000, 1000, &s_stats, NULL, err, sizeof err);
    ck_assert_msg (s_pub != NULL, "publisher_new: %s", err);
}

static void
teardown (void)
{
    publisher_destroy (&s_pub);
    mdf_metrics_destroy (&s_reg);
}

/* Read (un)subscription messages until one is there or timeout_ms. */
static int
s_recv_subscription (int timeout_ms)
{
    zpoller_t *p = zpoller_new (publisher_socket (s_pub), NULL);
    void *ready = zpoller_wait (p, timeout_ms);
    zpoller_destroy (&p);
    ck_assert_msg (ready != NULL, "no subscription message");
    return publisher_recv (s_pub);
}

START_TEST (events_carry_the_topic_epoch_a_growing_seq_and_the_state)
{
    zsock_t *sub = zsock_new_sub (s_endpoint, MDF_FEEDBACK_TOPIC_PREFIX);
    ck_assert_int_eq (s_recv_subscription (5000), 1); /* new: the store answers it */
    ck_assert_int_eq (publisher_subscribers (s_pub), 1);
    publisher_pacing_t pacing = { 5000.0, 6000.0, 2, 4000 };
    publisher_set_pacing (s_pub, &pacing);
    ck_assert_int_eq (publisher_publish (s_pub, MDF_LEVEL_OK, 0, "subscribe"), 0);
    ck_assert_int_eq (publisher_publish (s_pub, MDF_LEVEL_SOFT, 6100, "watermark"), 0);
    ck_assert_int_eq (publisher_publish (s_pub, MDF_LEVEL_SOFT, 6200, "heartbeat"), 0);
    ck_assert_uint_eq (publisher_seq (s_pub), 3);
    mdf_feedback_t ev;
    for (uint64_t seq = 1; seq <= 3; seq++) {
        ck_assert_int_eq (mds_recv_event (sub, &ev, 5000), 0); /* topic feedback.* checked */
        ck_assert_str_eq (ev.coordinator_id, "pub-test");
        ck_assert_int_eq (ev.epoch, publisher_epoch (s_pub));
        ck_assert_uint_eq (ev.seq, seq);
        ck_assert_int_eq (ev.capacity, 10000);
        ck_assert (ev.has_pacing);
        ck_assert_double_eq (ev.service_rate, 6000.0);
        ck_assert_int_eq (ev.producers, 2);
        ck_assert_int_eq (ev.credit, 4000);
    }
    ck_assert_int_eq (ev.level, MDF_LEVEL_SOFT);
    ck_assert_int_eq (ev.queue_size, 6200);
    ck_assert_str_eq (ev.reason, "heartbeat");
    ck_assert_double_eq (h_registry_value (s_reg, "mds_feedback_events_total{level=\"soft\"}"), 2);
    int64_t now_ms = (int64_t)(mdf_wall_s () * 1000);
    ck_assert_int_le (publisher_epoch (s_pub), now_ms); /* its start, in wall ms */
    ck_assert_int_gt (publisher_epoch (s_pub), now_ms - 60000);
    zsock_destroy (&sub);
}
END_TEST

START_TEST (a_producer_announcing_itself_is_not_a_subscriber)
{
    zsock_t *pipe = zsock_new_sub (s_endpoint, MDF_PRODUCER_TOPIC);
    ck_assert_int_eq (s_recv_subscription (5000), 0); /* no welcome for it */
    ck_assert_int_eq (publisher_producers (s_pub), 1);
    ck_assert_int_eq (publisher_subscribers (s_pub), 0);
    zsock_t *sub = zsock_new_sub (s_endpoint, MDF_FEEDBACK_TOPIC_PREFIX);
    ck_assert_int_eq (s_recv_subscription (5000), 1);
    ck_assert_int_eq (publisher_subscribers (s_pub), 1);
    ck_assert_double_eq (
        h_registry_value (s_reg, "mds_feedback_subscribers{coordinator_id=\"pub-test\"}"), 1);
    /* the subscriber leaves: counted down */
    zsock_set_unsubscribe (sub, MDF_FEEDBACK_TOPIC_PREFIX);
    ck_assert_int_eq (s_recv_subscription (5000), 0);
    ck_assert_int_eq (publisher_subscribers (s_pub), 0);
    zsock_destroy (&sub);
    zsock_destroy (&pipe);
}
END_TEST

START_TEST (an_endpoint_that_cannot_be_bound_is_an_error_naming_it)
{
    char err[256] = "";
    publisher_t *second
        = publisher_new (s_endpoint, "pub-test", 10000, 1000, &s_stats, NULL, err, sizeof err);
    ck_assert_ptr_null (second);
    ck_assert_msg (strstr (err, s_endpoint), "%s", err);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("publisher");
    TCase *tc = tcase_create ("publisher");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, events_carry_the_topic_epoch_a_growing_seq_and_the_state);
    tcase_add_test (tc, a_producer_announcing_itself_is_not_a_subscriber);
    tcase_add_test (tc, an_endpoint_that_cannot_be_bound_is_an_error_naming_it);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
