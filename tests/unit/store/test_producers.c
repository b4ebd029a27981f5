/*
 * producers: the `producers` count md-store publishes.
 */
#include <check.h>
#include <math.h>
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

/* A producer subscribed by id counts while it is there, idle or not; the end
 * of its last subscription is its goodbye: it stops counting at once, even
 * while its last batches still arrive.  One that is not subscribed stops
 * counting 1 s after its last batch (it was 10 s: 18 of 21 pipelines gone
 * held the 3 left at a seventh of their share for 10 s). */
START_TEST (goodbye_stops_counting_at_once_silence_within_a_second)
{
    mdf_fake_clock_t fake = { 1000 * MS };
    mdf_clock_t clk = mdf_clock_fake (&fake);
    producers_t *p = producers_new (&clk);
    producers_subscribed (p, "pipe-1", true);
    ck_assert_uint_eq (producers_count (p), 1); /* about to send: counted */
    producers_subscribed (p, "pipe-2", true);
    producers_subscribed (p, "pipe-2", true); /* two stores' sockets, say */
    producers_seen (p, "pipe-1");
    producers_seen (p, "pipe-2");
    producers_seen (p, "pipe-3"); /* not subscribed (feedback off) */
    ck_assert_uint_eq (producers_count (p), 3);
    fake.now_ns += 5000 * MS; /* idle, still subscribed */
    ck_assert_uint_eq (producers_count (p), 2);
    producers_subscribed (p, "pipe-2", false);
    ck_assert_uint_eq (producers_count (p), 2);
    producers_subscribed (p, "pipe-2", false); /* its last: goodbye */
    ck_assert_uint_eq (producers_count (p), 1);
    producers_seen (p, "pipe-2"); /* its last batches still arrive */
    ck_assert_uint_eq (producers_count (p), 1);
    fake.now_ns += (PRODUCERS_ACTIVE_MS + 1) * MS;
    producers_seen (p, "pipe-2"); /* still sending a second later: not gone */
    ck_assert_uint_eq (producers_count (p), 2);
    producers_subscribed (p, "pipe-2", true);
    producers_subscribed (p, "pipe-2", false);
    ck_assert_uint_eq (producers_count (p), 1);
    producers_subscribed (p, "pipe-2", true); /* back */
    ck_assert_uint_eq (producers_count (p), 2);
    producers_subscribed (p, "pipe-2", false);
    producers_subscribed (p, "pipe-1", false);
    ck_assert_uint_eq (producers_count (p), 0);
    producers_seen (p, "pipe-3");
    ck_assert_uint_eq (producers_count (p), 1);
    fake.now_ns += (PRODUCERS_ACTIVE_MS - 1) * MS;
    ck_assert_uint_eq (producers_count (p), 1);
    fake.now_ns += 2 * MS;
    ck_assert_uint_eq (producers_count (p), 0);
    ck_assert_int_le (PRODUCERS_ACTIVE_MS, 1000);
    producers_subscribed (p, "never-seen", false); /* no harm */
    ck_assert_uint_eq (producers_count (p), 0);
    producers_destroy (&p);
}
END_TEST

/* The store turns HARD at size >= high watermark: every producer filling its
 * credit must leave the queue below that, or one pipeline alone stops and
 * starts its store (a full window of 8,000 with the default watermark). */
START_TEST (full_windows_together_stay_below_the_high_watermark)
{
    ck_assert_int_eq (producers_credit (8000, 1, -1), 7999);
    ck_assert_int_eq (producers_credit (8000, 0, -1), 7999); /* none counted yet: one */
    for (int64_t high = 1; high <= 20000; high += 997)
        for (int64_t n = 1; n <= 64; n++) {
            int64_t c = producers_credit (high, n, -1);
            ck_assert_int_ge (c, 1);
            if (high > n)
                ck_assert_int_lt (c * n, high);
        }
}
END_TEST

/* With a known service rate, all windows together also stay within 1 s of
 * sink time: after a 100 x drop (20,000 -> 200 rows/s) the queue held 19 s
 * of the new rate and took 21 s to drain (bench/controllers/fleet.sh drop). */
START_TEST (the_credit_follows_the_service_rate)
{
    ck_assert_int_eq (producers_credit (8000, 4, 20000), 1999); /* the watermark binds */
    ck_assert_int_eq (producers_credit (8000, 4, 200), 50);     /* 1 s of 200 rows/s */
    ck_assert_int_eq (producers_credit (8000, 4, 0), 1);        /* an outage: one bar */
    ck_assert_int_eq (producers_credit (8000, 4, -1), 1999);    /* unknown: the watermark */
    ck_assert_int_eq (producers_credit (8000, 4, NAN), 1999);
    ck_assert_int_eq (producers_credit (8000, 0, 1e300), 7999);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("producers");
    TCase *tc = tcase_create ("producers");
    tcase_add_test (tc, counts_distinct_ids_seen_lately);
    tcase_add_test (tc, more_ids_than_it_keeps_replace_the_oldest);
    tcase_add_test (tc, full_windows_together_stay_below_the_high_watermark);
    tcase_add_test (tc, goodbye_stops_counting_at_once_silence_within_a_second);
    tcase_add_test (tc, the_credit_follows_the_service_rate);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
