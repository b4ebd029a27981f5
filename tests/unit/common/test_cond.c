/*
 * test_cond: a timed wait on a monotonic condvar times out when nobody
 * signals, and a signal ends even an unbounded (INT64_MAX) wait, whose
 * deadline must not overflow.  No timing is asserted: only how a wait ends.
 */
#include "common/cond.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tests/integration/harness.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool flag;
} s_shared_t;

static void *
s_signaller (void *arg)
{
    s_shared_t *sh = arg;
    pthread_mutex_lock (&sh->lock); /* only once the waiter has released it */
    sh->flag = true;
    pthread_cond_signal (&sh->cond);
    pthread_mutex_unlock (&sh->lock);
    return NULL;
}

START_TEST (a_wait_nobody_signals_times_out)
{
    s_shared_t sh = { .flag = false };
    pthread_mutex_init (&sh.lock, NULL);
    ck_assert_int_eq (mdf_cond_init_monotonic (&sh.cond), 0);
    pthread_mutex_lock (&sh.lock);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) /* a wake-up may be spurious */
        rc = mdf_cond_wait_ns (&sh.cond, &sh.lock, 1000000);
    ck_assert_int_eq (rc, ETIMEDOUT);
    ck_assert_int_eq (mdf_cond_wait_ns (&sh.cond, &sh.lock, -5), ETIMEDOUT);
    pthread_mutex_unlock (&sh.lock);
    pthread_cond_destroy (&sh.cond);
    pthread_mutex_destroy (&sh.lock);
}
END_TEST

START_TEST (a_signal_ends_an_unbounded_wait)
{
    s_shared_t sh = { .flag = false };
    pthread_mutex_init (&sh.lock, NULL);
    ck_assert_int_eq (mdf_cond_init_monotonic (&sh.cond), 0);
    pthread_mutex_lock (&sh.lock);
    pthread_t t;
    ck_assert_int_eq (pthread_create (&t, NULL, s_signaller, &sh), 0);
    while (!sh.flag)
        ck_assert_int_eq (mdf_cond_wait_ns (&sh.cond, &sh.lock, INT64_MAX), 0);
    pthread_mutex_unlock (&sh.lock);
    pthread_join (t, NULL);
    pthread_cond_destroy (&sh.cond);
    pthread_mutex_destroy (&sh.lock);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("cond");
    TCase *tc = tcase_create ("cond");
    tcase_add_test (tc, a_wait_nobody_signals_times_out);
    tcase_add_test (tc, a_signal_ends_an_unbounded_wait);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
