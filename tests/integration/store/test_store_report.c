/*
 * md-store [feedback] report_ms: while the queue holds bars the
 * store publishes its queue_size at least every report_ms (reason
 * "report"), so a pipeline controller sees the depth move between
 * watermarks; an empty queue publishes no reports (heartbeats stay).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

START_TEST (queue_size_is_reported_while_not_idle)
{
    char *env[] = { "MDS_FEEDBACK_REPORT_MS=100", NULL };
    ck_assert_msg (mds_start (&mds_cur, 0,
                              "[queue]\ncapacity = 1000\nhigh_watermark = 800\n"
                              "low_watermark = 500\n[sink]\nmax_rows_per_sec = 20\n",
                              env)
                       == 0,
                   "md-store did not start");
    zsock_t *sub = mds_sub (&mds_cur);
    mdf_feedback_t ev;
    ck_assert_int_eq (mds_wait_event (sub, "subscribe", MDF_LEVEL_OK, &ev, 5000), 0);
    /* idle: no report */
    ck_assert_int_eq (mds_wait_event (sub, "report", -1, &ev, 400), -1);

    zsock_t *d = mds_dealer (&mds_cur);
    /* the first batch commits at once and books 2 s of the throttle, so the
     * second waits in the queue for about 2 s */
    ck_assert_int_eq (mds_send (d, 1, 40, 1000), 0);
    ck_assert_int_eq (mds_send (d, 2, 10, 2000), 0);
    ck_assert_int_eq (mds_wait_event (sub, "report", -1, &ev, 2000), 0);
    int64_t prev_size = ev.queue_size;
    double prev_ts = ev.ts;
    ck_assert_int_gt (prev_size, 0);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq (mds_wait_event (sub, "report", -1, &ev, 1000), 0);
        ck_assert_int_gt (ev.queue_size, 0);
        ck_assert_int_le (ev.queue_size, prev_size); /* draining, nothing added */
        ck_assert_int_eq (ev.capacity, 1000);
        ck_assert_double_lt (ev.ts - prev_ts, 0.5); /* 100 ms, generous for CI */
        prev_size = ev.queue_size;
        prev_ts = ev.ts;
    }
    zsock_destroy (&d);
    zsock_destroy (&sub);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("md-store report");
    TCase *tc = tcase_create ("report");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, mds_test_setup, mds_test_teardown);
    tcase_add_test (tc, queue_size_is_reported_while_not_idle);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
