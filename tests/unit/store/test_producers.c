/*
 * producers: the `producers` count md-store publishes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/producers.h"
#include "tests/integration/harness.h"

#define MS 1000000LL

START_TEST (counts_distinct_ids_seen_lately)
{
    mdf_fake_clock_t fake = { 1000 * MS };
    mdf_clock_t clk = mdf_clock_fake (&fake);
    producers_t *p = producers_new (&clk);
    ck_assert_uint_eq (producers_active (p), 0);
    producers_seen (p, "pipe-1");
    producers_seen (p, "pipe-1");
    producers_seen (p, "pipe-2");
    ck_assert_uint_eq (producers_active (p), 2);
    fake.now_ns += (PRODUCERS_ACTIVE_MS - 1) * MS;
    producers_seen (p, "pipe-2");
    ck_assert_uint_eq (producers_active (p), 2);
    fake.now_ns += 2 * MS; /* pipe-1 silent for longer than the window */
    ck_assert_uint_eq (producers_active (p), 1);
    producers_destroy (&p);
    ck_assert_ptr_null (p);
}
END_TEST

START_TEST (more_ids_than_it_keeps_replace_the_oldest)
{
    mdf_fake_clock_t fake = { 1000 * MS };
    mdf_clock_t clk = mdf_clock_fake (&fake);
    producers_t *p = producers_new (&clk);
    char id[32];
    for (int i = 0; i < PRODUCERS_MAX + 10; i++) {
        snprintf (id, sizeof id, "p%d", i);
        producers_seen (p, id);
        fake.now_ns += 1;
    }
    ck_assert_uint_eq (producers_active (p), PRODUCERS_MAX);
    producers_destroy (&p);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("producers");
    TCase *tc = tcase_create ("producers");
    tcase_add_test (tc, counts_distinct_ids_seen_lately);
    tcase_add_test (tc, more_ids_than_it_keeps_replace_the_oldest);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
