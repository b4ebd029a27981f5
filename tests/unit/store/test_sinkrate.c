/*
 * sinkrate: the drain and service rates md-store publishes, on a fake clock.
 */
#include <check.h>
#include <stdlib.h>

#include "store/sinkrate.h"
#include "tests/integration/harness.h"

#define MS 1000000LL

static mdf_fake_clock_t fake;
static mdf_clock_t clk;
static sinkrate_t *d;

static void
setup (void)
{
    fake.now_ns = 1000000 * MS;
    clk = mdf_clock_fake (&fake);
    d = sinkrate_new (&clk);
    ck_assert_ptr_nonnull (d);
}

static void
teardown (void)
{
    sinkrate_destroy (&d);
}

/* One worker writing `rows` per transaction of `ms`, back to back, for `total_ms`. */
static void
s_work (int64_t rows, int64_t ms, int64_t total_ms)
{
    for (int64_t t = 0; t < total_ms; t += ms) {
        int64_t t0 = sinkrate_begin (d);
        fake.now_ns += ms * MS;
        sinkrate_end (d, t0, rows, 0);
    }
}

START_TEST (unknown_until_the_sink_has_worked)
{
    ck_assert_double_eq (sinkrate_service_rate (d), -1);
    ck_assert_double_eq (sinkrate_rate (d), 0);
}
END_TEST

START_TEST (a_busy_sink_gives_its_speed)
{
    s_work (500, 100, 2000); /* 5000 rows/s */
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
    ck_assert_double_eq_tol (sinkrate_rate (d), 5000, 600); /* within a slot's rows */
}
END_TEST

START_TEST (a_half_idle_sink_still_gives_its_speed)
{
    for (int i = 0; i < 20; i++) { /* 50 ms writing 250 rows, 50 ms idle */
        int64_t t0 = sinkrate_begin (d);
        fake.now_ns += 50 * MS;
        sinkrate_end (d, t0, 250, 0);
        fake.now_ns += 50 * MS;
    }
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
    ck_assert_double_eq_tol (sinkrate_rate (d), 2500, 300);
}
END_TEST

START_TEST (an_idle_sink_keeps_the_last_estimate)
{
    s_work (500, 100, 1000);
    fake.now_ns += 10000 * MS;
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
    ck_assert_double_eq (sinkrate_rate (d), 0);
}
END_TEST

START_TEST (a_blocked_write_brings_it_down_to_zero)
{
    s_work (500, 100, 1000);
    int64_t t0 = sinkrate_begin (d); /* a write that does not come back: a lock, a dead database */
    fake.now_ns += 250 * MS;
    double mid = sinkrate_service_rate (d);
    ck_assert_double_lt (mid, 5000 * 0.6); /* half the window without rows */
    fake.now_ns += 500 * MS;
    ck_assert_double_eq (sinkrate_service_rate (d), 0);
    sinkrate_end (d, t0, 0, 0); /* it failed */
    s_work (500, 100, 600);
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
}
END_TEST

START_TEST (two_workers_in_parallel_add_up)
{
    for (int i = 0; i < 10; i++) {
        int64_t a = sinkrate_begin (d), b = sinkrate_begin (d);
        fake.now_ns += 100 * MS;
        sinkrate_end (d, a, 500, 0);
        sinkrate_end (d, b, 500, 0);
    }
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 10000, 1);
}
END_TEST

START_TEST (a_throttled_sink_gives_the_throttle)
{
    /* 500 rows written in 5 ms, under a throttle of 5000 rows/s (100 ms each),
     * one write every 150 ms: the sink is idle between them */
    for (int i = 0; i < 10; i++) {
        int64_t t0 = sinkrate_begin (d);
        fake.now_ns += 5 * MS;
        sinkrate_end (d, t0, 500, 100 * MS);
        fake.now_ns += 145 * MS;
    }
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
}
END_TEST

START_TEST (a_sink_too_fast_to_time_gives_a_lower_bound_that_rises)
{
    /* a null sink: 500 rows in 10 us, ten times per 100 ms: 0.1 ms busy per
     * window, under what can be timed; its speed is still known to be at
     * least rows / SINKRATE_MIN_BUSY_MS, so a producer pacing on it may go on */
    for (int i = 0; i < 10; i++) {
        int64_t t0 = sinkrate_begin (d);
        fake.now_ns += 10000; /* 10 us */
        sinkrate_end (d, t0, 500, 0);
        fake.now_ns += 10 * MS;
    }
    double first = sinkrate_service_rate (d);
    ck_assert_double_ge (first, 5000.0 / (SINKRATE_MIN_BUSY_MS / 1000.0));
    /* more rows in the same little time: the bound rises with them */
    for (int i = 0; i < 50; i++) {
        int64_t t0 = sinkrate_begin (d);
        fake.now_ns += 10000;
        sinkrate_end (d, t0, 500, 0);
        fake.now_ns += 2 * MS;
    }
    ck_assert_double_gt (sinkrate_service_rate (d), first);
    /* a slow write afterwards is timed as before: the real speed wins */
    fake.now_ns += 10000 * MS;
    s_work (500, 100, 2000);
    ck_assert_double_eq_tol (sinkrate_service_rate (d), 5000, 1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sinkrate");
    TCase *tc = tcase_create ("sinkrate");
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, unknown_until_the_sink_has_worked);
    tcase_add_test (tc, a_busy_sink_gives_its_speed);
    tcase_add_test (tc, a_half_idle_sink_still_gives_its_speed);
    tcase_add_test (tc, an_idle_sink_keeps_the_last_estimate);
    tcase_add_test (tc, a_blocked_write_brings_it_down_to_zero);
    tcase_add_test (tc, two_workers_in_parallel_add_up);
    tcase_add_test (tc, a_throttled_sink_gives_the_throttle);
    tcase_add_test (tc, a_sink_too_fast_to_time_gives_a_lower_bound_that_rises);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
