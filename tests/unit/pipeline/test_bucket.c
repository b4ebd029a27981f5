/*
 * bucket: token bucket arithmetic under a fake clock (no sleeping).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/bucket.h"
#include "tests/integration/harness.h"

#define SEC 1000000000LL

static mdf_fake_clock_t fake;
static mdf_clock_t clk;

static void
setup (void)
{
    fake.now_ns = 1000 * SEC;
    clk = mdf_clock_fake (&fake);
}

START_TEST (starts_full_and_allows_a_burst_of_capacity)
{
    bucket_t *b = bucket_new (100, 10, &clk);
    ck_assert_ptr_nonnull (b);
    ck_assert_int_eq (bucket_take (b, 100), 0);
    ck_assert_int_gt (bucket_take (b, 1), 0);
    bucket_destroy (&b);
    ck_assert_ptr_null (b);
}
END_TEST

START_TEST (refills_at_refill_rate)
{
    bucket_t *b = bucket_new (1000, 200, &clk);
    ck_assert_int_eq (bucket_take (b, 1000), 0);
    fake.now_ns += SEC / 2; /* 100 tokens */
    ck_assert_double_eq_tol (bucket_tokens (b), 100, 1e-9);
    ck_assert_int_eq (bucket_take (b, 100), 0);
    ck_assert_double_eq_tol (bucket_tokens (b), 0, 1e-9);
    /* Asking for 50 more: 50 / 200 s = 250 ms to wait. */
    ck_assert_int_eq (bucket_take (b, 50), SEC / 4);
    bucket_destroy (&b);
}
END_TEST

START_TEST (never_holds_more_than_capacity)
{
    bucket_t *b = bucket_new (10, 1000, &clk);
    fake.now_ns += 3600 * SEC;
    ck_assert_double_eq_tol (bucket_tokens (b), 10, 1e-9);
    ck_assert_int_eq (bucket_take (b, 11), INT64_MAX); /* more than capacity: never */
    bucket_destroy (&b);
}
END_TEST

START_TEST (scale_halves_the_rate_from_the_moment_it_changes)
{
    bucket_t *b = bucket_new (10000, 1000, &clk);
    bucket_take (b, 10000);
    fake.now_ns += SEC; /* 1000 at full rate */
    ck_assert_double_eq (bucket_set_scale (b, 0.5), 0.5);
    fake.now_ns += SEC; /* 500 at half rate */
    ck_assert_double_eq_tol (bucket_tokens (b), 1500, 1e-6);
    ck_assert_double_eq (bucket_rate (b), 500);
    bucket_destroy (&b);
}
END_TEST

START_TEST (scale_zero_pauses_and_one_restores_the_base_rate_exactly)
{
    bucket_t *b = bucket_new (100, 1234.5, &clk);
    bucket_take (b, 100);
    bucket_set_scale (b, 0.37);
    bucket_set_scale (b, 0);
    ck_assert_double_eq (bucket_rate (b), 0);
    ck_assert_int_eq (bucket_take (b, 1), INT64_MAX);
    fake.now_ns += 10 * SEC;
    ck_assert_double_eq_tol (bucket_tokens (b), 0, 1e-9);
    for (int i = 0; i < 1000; i++)
        bucket_set_scale (b, (double)(i % 7) / 7.0);
    bucket_set_scale (b, 1.0);
    ck_assert (bucket_rate (b) == 1234.5); /* exact, no drift */
    ck_assert (bucket_refill_rate (b) == 1234.5);
    bucket_destroy (&b);
}
END_TEST

START_TEST (scale_is_clamped_to_0_1)
{
    bucket_t *b = bucket_new (100, 100, &clk);
    ck_assert_double_eq (bucket_set_scale (b, 1.5), 1.0);
    ck_assert_double_eq (bucket_set_scale (b, -0.2), 0.0);
    ck_assert_double_eq (bucket_set_scale (b, NAN), 0.0);
    ck_assert_double_eq (bucket_scale (b), 0.0);
    ck_assert_double_eq (bucket_set_scale (b, 0.25), 0.25);
    ck_assert_double_eq (bucket_rate (b), 25);
    bucket_destroy (&b);
}
END_TEST

START_TEST (refill_rate_change_keeps_the_scale)
{
    bucket_t *b = bucket_new (100000, 1000, &clk);
    bucket_take (b, 100000);
    bucket_set_scale (b, 0.5);
    fake.now_ns += SEC; /* 500 */
    bucket_set_refill_rate (b, 4000);
    ck_assert_double_eq (bucket_rate (b), 2000);
    fake.now_ns += SEC; /* +2000 */
    ck_assert_double_eq_tol (bucket_tokens (b), 2500, 1e-6);
    bucket_destroy (&b);
}
END_TEST

START_TEST (sustained_rate_matches_over_many_takes)
{
    /* Take 10 tokens whenever possible, advancing by the wait asked for. */
    bucket_t *b = bucket_new (10, 2000, &clk);
    bucket_take (b, 10);
    int64_t start = fake.now_ns;
    long taken = 0;
    while (fake.now_ns - start < 5 * SEC) {
        int64_t w = bucket_take (b, 10);
        if (w == 0)
            taken += 10;
        else
            fake.now_ns += w;
    }
    ck_assert_int_ge (taken, 9990);
    ck_assert_int_le (taken, 10010);
    bucket_destroy (&b);
}
END_TEST

START_TEST (a_burst_window_makes_the_burst_follow_the_rate)
{
    bucket_t *b = bucket_new (1000, 100, &clk);
    ck_assert_double_eq (bucket_burst (b), 1000);
    bucket_set_burst_window (b, 0.01);
    ck_assert_double_eq_tol (bucket_burst (b), 1, 1e-9);  /* 1 token at least */
    ck_assert_double_eq_tol (bucket_tokens (b), 1, 1e-9); /* the excess dropped */
    ck_assert_int_eq (bucket_take (b, 2), INT64_MAX);     /* more than the burst: never */
    bucket_set_refill_rate (b, 50000);
    fake.now_ns += SEC;
    ck_assert_double_eq_tol (bucket_tokens (b), 500, 1e-9);
    bucket_set_scale (b, 0.1); /* the burst falls with the rate, at once */
    ck_assert_double_eq_tol (bucket_tokens (b), 50, 1e-9);
    bucket_set_burst_window (b, 0);
    fake.now_ns += SEC;
    ck_assert_double_eq_tol (bucket_tokens (b), 1000, 1e-9);
    bucket_destroy (&b);
}
END_TEST

START_TEST (rejects_bad_parameters)
{
    ck_assert_ptr_null (bucket_new (0, 10, &clk));
    ck_assert_ptr_null (bucket_new (10, -1, &clk));
    ck_assert_ptr_null (bucket_new (10, 10, NULL));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bucket");
    TCase *tc = tcase_create ("bucket");
    tcase_add_checked_fixture (tc, setup, NULL);
    tcase_add_test (tc, starts_full_and_allows_a_burst_of_capacity);
    tcase_add_test (tc, refills_at_refill_rate);
    tcase_add_test (tc, never_holds_more_than_capacity);
    tcase_add_test (tc, scale_halves_the_rate_from_the_moment_it_changes);
    tcase_add_test (tc, scale_zero_pauses_and_one_restores_the_base_rate_exactly);
    tcase_add_test (tc, scale_is_clamped_to_0_1);
    tcase_add_test (tc, refill_rate_change_keeps_the_scale);
    tcase_add_test (tc, sustained_rate_matches_over_many_takes);
    tcase_add_test (tc, rejects_bad_parameters);
    tcase_add_test (tc, a_burst_window_makes_the_burst_follow_the_rate);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
