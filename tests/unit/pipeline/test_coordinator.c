/*
 * coordinator: acquire blocks without busy-waiting and wakes on scale change,
 * resume and shutdown; cooldown and circuit breaker under a fake clock.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "pipeline/coordinator.h"
#include "tests/integration/harness.h"

#define MS 1000000LL

typedef struct {
    coordinator_t *c;
    atomic_llong result;
    atomic_int done;
} waiter_t;

static void *
s_acquire (void *arg)
{
    waiter_t *w = arg;
    atomic_store (&w->result, coordinator_acquire (w->c, 0, 10));
    atomic_store (&w->done, 1);
    return NULL;
}

static coordinator_t *
s_one (const mdf_clock_t *clk, double cap, double rate)
{
    coordinator_t *c = coordinator_new (clk);
    coordinator_provider_t p = { "p", cap, rate, 1000, 3, 5000 };
    ck_assert_int_eq (coordinator_add (c, &p), 0);
    return c;
}

START_TEST (scale_zero_blocks_until_scale_rises)
{
    coordinator_t *c = s_one (NULL, 10, 1000);
    ck_assert_int_eq (coordinator_acquire (c, 0, 10), 10); /* the burst */
    coordinator_set_budget_scale (c, 0, 0);
    /* what refilled since the burst (a slow run, valgrind: ms) would let one
     * token through: the point is that nothing comes at scale 0 */
    coordinator_empty (c, 0);
    waiter_t w = { c, 0, 0 };
    pthread_t t;
    pthread_create (&t, NULL, s_acquire, &w);
    ck_assert (!h_wait_flag (&w.done, 100)); /* still blocked at scale 0 */
    coordinator_set_budget_scale (c, 0, 1.0);
    ck_assert (h_wait_flag (&w.done, 2000));
    ck_assert_int_eq (atomic_load (&w.result), 10);
    pthread_join (t, NULL);
    coordinator_destroy (&c);
    ck_assert_ptr_null (c);
}
END_TEST

START_TEST (shutdown_wakes_a_blocked_acquire)
{
    coordinator_t *c = s_one (NULL, 10, 0);
    coordinator_acquire (c, 0, 10);
    waiter_t w = { c, 0, 0 };
    pthread_t t;
    pthread_create (&t, NULL, s_acquire, &w);
    coordinator_shutdown (c);
    ck_assert (h_wait_flag (&w.done, 2000));
    ck_assert_int_eq (atomic_load (&w.result), -1);
    pthread_join (t, NULL);
    coordinator_destroy (&c);
}
END_TEST

START_TEST (pause_holds_providers_until_resume)
{
    coordinator_t *c = s_one (NULL, 100, 1000);
    coordinator_pause (c, true, 0);
    ck_assert (coordinator_paused (c));
    waiter_t w = { c, 0, 0 };
    pthread_t t;
    pthread_create (&t, NULL, s_acquire, &w);
    ck_assert (!h_wait_flag (&w.done, 100));
    coordinator_pause (c, false, 0);
    ck_assert (h_wait_flag (&w.done, 2000));
    pthread_join (t, NULL);
    coordinator_destroy (&c);
}
END_TEST

START_TEST (acquire_paces_at_the_refill_rate)
{
    coordinator_t *c = s_one (NULL, 10, 1000);
    coordinator_acquire (c, 0, 10);
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 20; i++)
        coordinator_acquire (c, 0, 10); /* 200 tokens at 1000/s: ~200 ms */
    clock_gettime (CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_double_ge (s, 0.18);
    ck_assert_double_le (s, 1.0);
    coordinator_destroy (&c);
}
END_TEST

/* The burst, and so the largest acquire, is COORDINATOR_BURST_S (0.1 s) of
 * the current rate (at least 1, at most the capacity): a provider at 100
 * bars/s with the default capacity of 1,000 took 64 bars at a time, 0.64 s
 * of its rate, and reacted to a new scale that much later. */
START_TEST (a_provider_takes_a_tenth_of_a_second_of_its_rate_at_a_time)
{
    mdf_fake_clock_t fake = { 1000000 * MS };
    mdf_clock_t clk = mdf_clock_fake (&fake);
    coordinator_t *c = s_one (&clk, 1000, 100);
    ck_assert_int_eq (coordinator_acquire (c, 0, 64), 10); /* 0.1 s of 100/s */
    fake.now_ns += 60000 * MS;                             /* an idle minute stores no more */
    ck_assert_int_eq (coordinator_acquire (c, 0, 64), 10);
    coordinator_set_refill_rate (c, 0, 5);
    fake.now_ns += 60000 * MS;
    ck_assert_int_eq (coordinator_acquire (c, 0, 64), 1); /* at least 1 */
    coordinator_set_refill_rate (c, 0, 2000);
    fake.now_ns += 1000 * MS;
    ck_assert_int_eq (coordinator_acquire (c, 0, 500), 200); /* 0.1 s of 2,000/s */
    coordinator_set_budget_scale (c, 0, 0.25);
    fake.now_ns += 1000 * MS;
    ck_assert_int_eq (coordinator_acquire (c, 0, 500), 50); /* of the scaled rate */
    coordinator_set_budget_scale (c, 0, 1);
    coordinator_set_refill_rate (c, 0, 1e6);
    fake.now_ns += 1000 * MS;
    ck_assert_int_eq (coordinator_acquire (c, 0, 5000), 1000); /* never past the capacity */
    coordinator_destroy (&c);
}
END_TEST

START_TEST (failures_cool_down_then_open_the_breaker)
{
    mdf_fake_clock_t fake = { 1000 * MS };
    mdf_clock_t clk = mdf_clock_fake (&fake);
    coordinator_t *c = s_one (&clk, 10, 1000);
    coordinator_report_failure (c, 0);
    ck_assert_int_eq (coordinator_state (c, 0), COORD_COOLDOWN);
    fake.now_ns += 1000 * MS;
    ck_assert_int_eq (coordinator_state (c, 0), COORD_RUNNING);
    coordinator_report_failure (c, 0);
    coordinator_report_failure (c, 0); /* third consecutive: threshold 3 */
    ck_assert_int_eq (coordinator_state (c, 0), COORD_BREAKER_OPEN);
    ck_assert_int_eq (coordinator_breaker_opens (c, 0), 1);
    fake.now_ns += 4999 * MS;
    ck_assert_int_eq (coordinator_state (c, 0), COORD_BREAKER_OPEN);
    fake.now_ns += 1 * MS;
    ck_assert_int_eq (coordinator_state (c, 0), COORD_RUNNING); /* half-open */
    coordinator_report_failure (c, 0);
    ck_assert_int_eq (coordinator_state (c, 0), COORD_BREAKER_OPEN); /* reopens */
    fake.now_ns += 5000 * MS;
    coordinator_report_success (c, 0);
    ck_assert_int_eq (coordinator_state (c, 0), COORD_RUNNING);
    coordinator_report_failure (c, 0);
    ck_assert_int_eq (coordinator_state (c, 0), COORD_COOLDOWN); /* count was reset */
    coordinator_destroy (&c);
}
END_TEST

START_TEST (scale_and_refill_rate_are_kept_apart)
{
    coordinator_t *c = s_one (NULL, 10, 400);
    ck_assert_double_eq (coordinator_set_budget_scale (c, 0, 7), 1.0);
    ck_assert_double_eq (coordinator_set_budget_scale (c, 0, 0.5), 0.5);
    coordinator_set_refill_rate (c, 0, 800);
    ck_assert_double_eq (coordinator_refill_rate (c, 0), 800);
    ck_assert_double_eq (coordinator_scale (c, 0), 0.5);
    coordinator_set_global_pressure (c, 0, 2);
    ck_assert_int_eq (coordinator_pressure (c, 0), 2);
    ck_assert_int_eq (coordinator_acquire (c, 5, 1), -1); /* no such provider */
    coordinator_destroy (&c);
}
END_TEST

START_TEST (pause_waits_for_bars_already_paid_for)
{
    coordinator_t *c = s_one (NULL, 100, 1000);
    ck_assert_int_eq (coordinator_acquire (c, 0, 10), 10); /* busy until done */
    ck_assert_int_eq (coordinator_pause (c, true, 30), -1);
    coordinator_done (c, 0);
    ck_assert_int_eq (coordinator_pause (c, true, 30), 0);
    ck_assert_int_eq (coordinator_pause (c, false, 0), 0);
    coordinator_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("coordinator");
    TCase *tc = tcase_create ("coordinator");
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, scale_zero_blocks_until_scale_rises);
    tcase_add_test (tc, shutdown_wakes_a_blocked_acquire);
    tcase_add_test (tc, pause_holds_providers_until_resume);
    tcase_add_test (tc, pause_waits_for_bars_already_paid_for);
    tcase_add_test (tc, acquire_paces_at_the_refill_rate);
    tcase_add_test (tc, a_provider_takes_a_tenth_of_a_second_of_its_rate_at_a_time);
    tcase_add_test (tc, failures_cool_down_then_open_the_breaker);
    tcase_add_test (tc, scale_and_refill_rate_are_kept_apart);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
