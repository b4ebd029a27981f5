/*
 * breaker: the store's circuit breaker under a fake clock: it opens after N
 * consecutive failures and then lets nobody write, lets exactly one probe
 * through once the cooldown has passed, closes when the probe commits and
 * opens for another cooldown when it fails.
 */
#include <check.h>
#include <stdlib.h>

#include "store/breaker.h"
#include "tests/integration/harness.h"

#define MS 1000000LL

static mdf_fake_clock_t fake;
static mdf_clock_t clk;

static void
setup (void)
{
    fake.now_ns = 1000 * 1000 * MS;
    clk = mdf_clock_fake (&fake);
}

/* A writer asks; returns the wait (0: may write) and whether it probes. */
static int64_t
s_ask (breaker_t *b, bool *probe)
{
    return breaker_acquire (b, probe);
}

START_TEST (closed_lets_everyone_write_and_opens_after_n_failures)
{
    breaker_t *b = breaker_new (3, 500, &clk);
    bool probe = true;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (!probe);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_state (b), BREAKER_CLOSED);
    ck_assert_int_eq (s_ask (b, &probe), 0); /* two failures: still writing */
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_OPENED);
    ck_assert_int_eq (breaker_state (b), BREAKER_OPEN);
    ck_assert_int_eq (breaker_failures (b), 3);
    /* open: nobody writes, each is told to wait out the cooldown */
    ck_assert_int_eq (s_ask (b, &probe), 500 * MS);
    fake.now_ns += 200 * MS;
    ck_assert_int_eq (s_ask (b, &probe), 300 * MS);
    ck_assert (!probe);
    breaker_destroy (&b);
    ck_assert_ptr_null (b);
}
END_TEST

START_TEST (a_success_between_failures_starts_the_count_again)
{
    breaker_t *b = breaker_new (2, 500, &clk);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_result (b, true, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_failures (b), 0);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_state (b), BREAKER_CLOSED);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_OPENED);
    breaker_destroy (&b);
}
END_TEST

START_TEST (after_the_cooldown_exactly_one_probe_goes_through)
{
    breaker_t *b = breaker_new (1, 500, &clk);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_OPENED);
    fake.now_ns += 500 * MS;
    bool probe = false;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (probe);
    ck_assert_int_eq (breaker_state (b), BREAKER_HALF_OPEN);
    /* the other workers wait while it probes, asking again shortly */
    bool other = true;
    ck_assert_int_eq (s_ask (b, &other), BREAKER_PROBE_POLL_NS);
    ck_assert (!other);
    fake.now_ns += 10 * 1000 * MS; /* however long the probe takes */
    ck_assert_int_eq (s_ask (b, &other), BREAKER_PROBE_POLL_NS);
    breaker_destroy (&b);
}
END_TEST

START_TEST (a_committed_probe_closes_it)
{
    breaker_t *b = breaker_new (2, 100, &clk);
    breaker_result (b, false, false);
    breaker_result (b, false, false);
    fake.now_ns += 100 * MS;
    bool probe = false;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (probe);
    ck_assert_int_eq (breaker_result (b, true, true), BREAKER_CLOSED_AGAIN);
    ck_assert_int_eq (breaker_state (b), BREAKER_CLOSED);
    ck_assert_int_eq (breaker_failures (b), 0);
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (!probe);
    /* and it takes N failures again to open */
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (breaker_state (b), BREAKER_CLOSED);
    breaker_destroy (&b);
}
END_TEST

START_TEST (a_failed_probe_opens_it_for_another_cooldown)
{
    breaker_t *b = breaker_new (3, 100, &clk);
    for (int i = 0; i < 3; i++)
        breaker_result (b, false, false);
    fake.now_ns += 150 * MS;
    bool probe = false;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (probe);
    fake.now_ns += 40 * MS; /* the probe's write took 40 ms */
    ck_assert_int_eq (breaker_result (b, false, true), BREAKER_REOPENED);
    ck_assert_int_eq (breaker_state (b), BREAKER_OPEN);
    /* the new cooldown counts from the failed probe */
    ck_assert_int_eq (s_ask (b, &probe), 100 * MS);
    fake.now_ns += 100 * MS;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (probe);
    breaker_destroy (&b);
}
END_TEST

START_TEST (a_write_already_under_way_that_commits_closes_it)
{
    /* worker A was writing when B's failures opened the breaker */
    breaker_t *b = breaker_new (1, 1000, &clk);
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_OPENED);
    ck_assert_int_eq (breaker_result (b, true, false), BREAKER_CLOSED_AGAIN);
    bool probe = true;
    ck_assert_int_eq (s_ask (b, &probe), 0);
    ck_assert (!probe);
    /* a failure while open only counts: no new cooldown */
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_OPENED);
    fake.now_ns += 600 * MS;
    ck_assert_int_eq (breaker_result (b, false, false), BREAKER_UNCHANGED);
    ck_assert_int_eq (s_ask (b, &probe), 400 * MS);
    breaker_destroy (&b);
}
END_TEST

START_TEST (state_names_are_those_of_health)
{
    ck_assert_str_eq (breaker_state_name (BREAKER_CLOSED), "closed");
    ck_assert_str_eq (breaker_state_name (BREAKER_OPEN), "open");
    ck_assert_str_eq (breaker_state_name (BREAKER_HALF_OPEN), "half_open");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("breaker");
    TCase *tc = tcase_create ("breaker");
    tcase_add_checked_fixture (tc, setup, NULL);
    tcase_add_test (tc, closed_lets_everyone_write_and_opens_after_n_failures);
    tcase_add_test (tc, a_success_between_failures_starts_the_count_again);
    tcase_add_test (tc, after_the_cooldown_exactly_one_probe_goes_through);
    tcase_add_test (tc, a_committed_probe_closes_it);
    tcase_add_test (tc, a_failed_probe_opens_it_for_another_cooldown);
    tcase_add_test (tc, a_write_already_under_way_that_commits_closes_it);
    tcase_add_test (tc, state_names_are_those_of_health);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
