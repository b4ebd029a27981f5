/*
 * throttle: the schedule that holds every sink worker to
 * sink.max_rows_per_sec together, under a fake clock: back-to-back slots at
 * the rate, idle time not banked, several workers queued one after another,
 * a live change of the rate, and the size of a throttled take.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "store/throttle.h"
#include "tests/integration/harness.h"

#define MS 1000000LL
#define SEC 1000000000LL

static mdf_fake_clock_t fake;
static mdf_clock_t clk;
static int64_t t0;

static void
setup (void)
{
    fake.now_ns = 1000 * SEC;
    t0 = fake.now_ns;
    clk = mdf_clock_fake (&fake);
}

START_TEST (unthrottled_writes_start_at_once)
{
    throttle_t *t = throttle_new (0, &clk);
    for (int i = 0; i < 5; i++)
        ck_assert_int_le (throttle_reserve (t, 100000), t0);
    ck_assert_int_eq (throttle_take_max (t, 5000), 5000);
    ck_assert_int_eq (throttle_cost_ns (t, 5000), 0);
    throttle_destroy (&t);
    ck_assert_ptr_null (t);
}
END_TEST

START_TEST (writes_get_back_to_back_slots_at_the_rate)
{
    throttle_t *t = throttle_new (10000, &clk); /* 10,000 rows/s */
    ck_assert_int_eq (throttle_reserve (t, 1000), t0);
    ck_assert_int_eq (throttle_reserve (t, 1000), t0 + 100 * MS);
    ck_assert_int_eq (throttle_reserve (t, 500), t0 + 200 * MS);
    ck_assert_int_eq (throttle_reserve (t, 1), t0 + 250 * MS);
    ck_assert_int_eq (throttle_cost_ns (t, 1000), 100 * MS);
    throttle_destroy (&t);
}
END_TEST

START_TEST (idle_time_is_not_banked)
{
    throttle_t *t = throttle_new (1000, &clk);
    ck_assert_int_eq (throttle_reserve (t, 100), t0); /* until t0 + 100 ms */
    fake.now_ns += 5 * SEC;                           /* nothing written for 5 s */
    /* no burst of 5 s worth: the next ones are paced from now */
    ck_assert_int_eq (throttle_reserve (t, 100), fake.now_ns);
    ck_assert_int_eq (throttle_reserve (t, 100), fake.now_ns + 100 * MS);
    throttle_destroy (&t);
}
END_TEST

typedef struct {
    throttle_t *t;
    int64_t starts[50];
} s_worker_t;

static void *
s_worker (void *arg)
{
    s_worker_t *w = arg;
    for (int i = 0; i < 50; i++)
        w->starts[i] = throttle_reserve (w->t, 200);
    return NULL;
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST (several_workers_share_one_schedule)
{
    /* four workers each reserving 50 x 200 rows at 20,000 rows/s: together
     * they get 200 slots of 10 ms, one after another, none shared */
    throttle_t *t = throttle_new (20000, &clk);
    s_worker_t w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i].t = t;
        ck_assert_int_eq (pthread_create (&th[i], NULL, s_worker, &w[i]), 0);
    }
    int64_t all[200];
    for (int i = 0; i < 4; i++) {
        pthread_join (th[i], NULL);
        for (int k = 0; k < 50; k++)
            all[i * 50 + k] = w[i].starts[k];
    }
    qsort (all, 200, sizeof all[0], s_cmp);
    for (int k = 0; k < 200; k++)
        ck_assert_int_eq (all[k], t0 + k * 10 * MS);
    /* 40,000 rows: the schedule ends 2 s after it began, the rate exactly */
    ck_assert_int_eq (throttle_reserve (t, 1), t0 + 2 * SEC);
    throttle_destroy (&t);
}
END_TEST

START_TEST (a_live_change_of_the_rate_sizes_the_next_slots)
{
    throttle_t *t = throttle_new (1000, &clk);
    ck_assert_int_eq (throttle_reserve (t, 100), t0); /* 100 ms at 1,000/s */
    throttle_set_rate (t, 10000);                     /* SIGHUP: ten times faster */
    ck_assert_int_eq (throttle_rate (t), 10000);
    /* the slot already given stays; the next is a tenth as long */
    ck_assert_int_eq (throttle_reserve (t, 100), t0 + 100 * MS);
    ck_assert_int_eq (throttle_reserve (t, 100), t0 + 110 * MS);
    ck_assert_int_eq (throttle_cost_ns (t, 100), 10 * MS);
    throttle_set_rate (t, 0); /* unthrottled: at once, whatever was reserved */
    ck_assert_int_le (throttle_reserve (t, 100000), t0);
    throttle_set_rate (t, 100); /* throttled again: the old schedule is past */
    fake.now_ns += SEC;
    ck_assert_int_eq (throttle_reserve (t, 10), fake.now_ns);
    ck_assert_int_eq (throttle_reserve (t, 10), fake.now_ns + 100 * MS);
    throttle_destroy (&t);
}
END_TEST

START_TEST (a_throttled_take_holds_a_tenth_of_a_second)
{
    throttle_t *t = throttle_new (20000, &clk);
    ck_assert_int_eq (throttle_take_max (t, 5000), 2000);
    ck_assert_int_eq (throttle_take_max (t, 500), 500); /* batch_max smaller */
    throttle_set_rate (t, 5);
    ck_assert_int_eq (throttle_take_max (t, 5000), 1); /* never 0 */
    throttle_set_rate (t, 1000000);
    ck_assert_int_eq (throttle_take_max (t, 5000), 5000);
    throttle_destroy (&t);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("throttle");
    TCase *tc = tcase_create ("throttle");
    tcase_add_checked_fixture (tc, setup, NULL);
    tcase_add_test (tc, unthrottled_writes_start_at_once);
    tcase_add_test (tc, writes_get_back_to_back_slots_at_the_rate);
    tcase_add_test (tc, idle_time_is_not_banked);
    tcase_add_test (tc, several_workers_share_one_schedule);
    tcase_add_test (tc, a_live_change_of_the_rate_sizes_the_next_slots);
    tcase_add_test (tc, a_throttled_take_holds_a_tenth_of_a_second);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
