/*
 * roster: the stores the pipeline's threads share.  Setting the list adds the
 * new stores and retires those no longer listed (the sender and listener
 * then connect or close their sockets), every change of the set bumps the
 * generation and wakes both readers through their own fd, each reader
 * clears only its own, and a list longer than the table adds what fits and
 * says so.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/roster.h"
#include "tests/integration/harness.h"

static mdf_fake_clock_t fake;
static mdf_clock_t clk;

static roster_t *
s_roster (bool feedback_on)
{
    fake.now_ns = 1000000000000LL;
    clk = mdf_clock_fake (&fake);
    members_t *m = members_new (1000000000LL, 5000000000LL, MDF_LEVEL_SOFT, feedback_on, &clk);
    ck_assert_ptr_nonnull (m);
    roster_t *r = roster_new (m);
    ck_assert_ptr_nonnull (r);
    return r;
}

static bool
s_readable (roster_t *r, int reader)
{
    struct pollfd p = { roster_fd (r, reader), POLLIN, 0 };
    return poll (&p, 1, 0) == 1 && (p.revents & POLLIN);
}

START_TEST (set_adds_the_listed_stores_and_wakes_both_readers)
{
    roster_t *r = s_roster (true);
    uint64_t gen = roster_generation (r);
    ck_assert (!s_readable (r, ROSTER_SENDER));
    ck_assert (!s_readable (r, ROSTER_LISTENER));
    const char *ingest[] = { "tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555" };
    const char *feedback[] = { "tcp://10.0.0.1:5556", "tcp://10.0.0.2:5556" };
    ck_assert_int_eq (roster_set (r, ingest, feedback, 2), 0);
    ck_assert_uint_gt (roster_generation (r), gen);
    ck_assert (s_readable (r, ROSTER_SENDER));
    ck_assert (s_readable (r, ROSTER_LISTENER));
    /* each reader clears its own */
    roster_clear (r, ROSTER_SENDER);
    ck_assert (!s_readable (r, ROSTER_SENDER));
    ck_assert (s_readable (r, ROSTER_LISTENER));
    roster_clear (r, ROSTER_LISTENER);
    ck_assert (!s_readable (r, ROSTER_LISTENER));
    members_t *m = roster_lock (r);
    int a = members_find (m, "tcp://10.0.0.1:5555");
    int b = members_find (m, "tcp://10.0.0.2:5555");
    ck_assert_int_ge (a, 0);
    ck_assert_int_ge (b, 0);
    ck_assert_str_eq (members_get (m, b)->feedback, "tcp://10.0.0.2:5556");
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_CANDIDATE); /* not heard yet */
    roster_unlock (r, false);
    roster_destroy (&r);
    ck_assert_ptr_null (r);
}
END_TEST

START_TEST (a_store_no_longer_listed_is_retired_and_leaves)
{
    roster_t *r = s_roster (false); /* without feedback: listed stores are live */
    const char *two[] = { "tcp://a:5555", "tcp://b:5555" };
    ck_assert_int_eq (roster_set (r, two, NULL, 2), 0);
    members_t *m = roster_lock (r);
    int b = members_find (m, "tcp://b:5555");
    ck_assert_int_eq (members_get (m, b)->state, MEMBER_LIVE);
    roster_unlock (r, false);
    roster_clear (r, ROSTER_SENDER);
    uint64_t gen = roster_generation (r);
    const char *one[] = { "tcp://a:5555" };
    ck_assert_int_eq (roster_set (r, one, NULL, 1), 0);
    ck_assert_uint_gt (roster_generation (r), gen);
    ck_assert (s_readable (r, ROSTER_SENDER));
    m = roster_lock (r);
    const member_t *mb = members_get (m, b);
    ck_assert_ptr_nonnull (mb);
    ck_assert (mb->retired);
    ck_assert_int_eq (mb->state, MEMBER_LEAVING);
    ck_assert (!members_routable (m, b)); /* no new batch goes there */
    ck_assert (members_routable (m, members_find (m, "tcp://a:5555")));
    roster_unlock (r, false);
    /* listed again: back */
    ck_assert_int_eq (roster_set (r, two, NULL, 2), 0);
    m = roster_lock (r);
    ck_assert (!members_get (m, b)->retired);
    ck_assert (members_routable (m, b));
    roster_unlock (r, false);
    roster_destroy (&r);
}
END_TEST

START_TEST (an_unchanged_unlock_wakes_nobody)
{
    roster_t *r = s_roster (true);
    uint64_t gen = roster_generation (r);
    roster_lock (r);
    roster_unlock (r, false);
    ck_assert_uint_eq (roster_generation (r), gen);
    ck_assert (!s_readable (r, ROSTER_SENDER));
    roster_lock (r);
    roster_unlock (r, true);
    ck_assert_uint_eq (roster_generation (r), gen + 1);
    ck_assert (s_readable (r, ROSTER_SENDER));
    ck_assert (s_readable (r, ROSTER_LISTENER));
    roster_destroy (&r);
}
END_TEST

START_TEST (a_list_longer_than_the_table_adds_what_fits)
{
    roster_t *r = s_roster (true);
    enum { N = MEMBERS_MAX + 3 };
    char names[N][32];
    const char *ingest[N];
    for (int i = 0; i < N; i++) {
        snprintf (names[i], sizeof names[i], "tcp://10.1.0.%d:5555", i);
        ingest[i] = names[i];
    }
    ck_assert_int_eq (roster_set (r, ingest, ingest, N), -1);
    members_t *m = roster_lock (r);
    size_t candidates = 0;
    members_count (m, NULL, NULL, NULL, &candidates);
    ck_assert_uint_eq (candidates, MEMBERS_MAX);
    ck_assert_int_ge (members_find (m, names[0]), 0);
    ck_assert_int_lt (members_find (m, names[N - 1]), 0);
    roster_unlock (r, false);
    roster_destroy (&r);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("roster");
    TCase *tc = tcase_create ("roster");
    tcase_add_test (tc, set_adds_the_listed_stores_and_wakes_both_readers);
    tcase_add_test (tc, a_store_no_longer_listed_is_retired_and_leaves);
    tcase_add_test (tc, an_unchanged_unlock_wakes_nobody);
    tcase_add_test (tc, a_list_longer_than_the_table_adds_what_fits);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
