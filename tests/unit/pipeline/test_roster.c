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

static void
s_hear (members_t *m, const char *ingest, uint64_t seq)
{
    mdf_feedback_t e;
    memset (&e, 0, sizeof e);
    e.v = 1;
    snprintf (e.coordinator_id, sizeof e.coordinator_id, "%s", ingest);
    e.ts = 1.8e9;
    e.epoch = 1800000000000LL - 60000;
    e.seq = seq;
    e.capacity = 10000;
    snprintf (e.reason, sizeof e.reason, "report");
    members_result_t r;
    members_observe (m, members_find (m, ingest), &e, 1.8e9, &r);
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
}

/* An answer of 300 addresses with the two stores the pipeline hears last:
 * both stay members, the table fills, the rest is left out and counted, and
 * candidates that stay silent give their slots to the others in turn. */
START_TEST (an_answer_longer_than_the_table_keeps_the_stores_heard)
{
    roster_t *r = s_roster (true);
    enum { N = 300 };
    static char names[N][32];
    const char *ingest[N];
    for (int i = 0; i < N; i++) {
        snprintf (names[i], sizeof names[i], "tcp://10.%d.%d.1:5555", 1 + i / 200, i % 200);
        ingest[i] = names[i];
    }
    roster_offer_t o;
    roster_offer (r, ingest + N - 2, ingest + N - 2, 2, &o);
    ck_assert_uint_eq (o.added, 2);
    members_t *m = roster_lock (r);
    s_hear (m, names[N - 2], 1);
    s_hear (m, names[N - 1], 1);
    roster_unlock (r, false);
    roster_offer (r, ingest, ingest, N, &o);
    ck_assert_uint_eq (o.added, MEMBERS_MAX - 2);
    ck_assert_uint_eq (o.left_out, N - MEMBERS_MAX);
    ck_assert_str_ne (o.left_out_example, "");
    m = roster_lock (r);
    ck_assert (members_routable (m, members_find (m, names[N - 2])));
    ck_assert (members_routable (m, members_find (m, names[N - 1])));
    size_t candidates = 0;
    members_count (m, NULL, NULL, NULL, &candidates);
    ck_assert_uint_eq (candidates, MEMBERS_MAX - 2);
    roster_unlock (r, false);
    /* the same answer at once: nothing changes (no candidate had its chance) */
    roster_offer (r, ingest, ingest, N, &o);
    ck_assert_uint_eq (o.added, 0);
    ck_assert_uint_eq (o.left_out, N - MEMBERS_MAX);
    /* after stale_after the silent candidates make room for the others */
    fake.now_ns += 1000000000LL;
    m = roster_lock (r);
    s_hear (m, names[N - 2], 2);
    s_hear (m, names[N - 1], 2);
    roster_unlock (r, false);
    bool tried[N] = { false };
    for (int round = 0; round < 4; round++) {
        roster_offer (r, ingest, ingest, N, &o);
        m = roster_lock (r);
        for (int i = 0; i < N; i++)
            tried[i] |= members_find (m, names[i]) >= 0;
        ck_assert (members_routable (m, members_find (m, names[N - 2])));
        ck_assert (members_routable (m, members_find (m, names[N - 1])));
        roster_unlock (r, false);
        fake.now_ns += 1000000000LL;
        m = roster_lock (r);
        s_hear (m, names[N - 2], 3 + (uint64_t)round);
        s_hear (m, names[N - 1], 3 + (uint64_t)round);
        roster_unlock (r, false);
    }
    for (int i = 0; i < N; i++)
        ck_assert_msg (tried[i], "%s never tried", names[i]);
    roster_destroy (&r);
}
END_TEST

/* NXDOMAIN (an empty answer) retires nothing that is heard. */
START_TEST (an_empty_answer_keeps_the_stores_heard)
{
    roster_t *r = s_roster (true);
    const char *two[] = { "tcp://a:5555", "tcp://b:5555" };
    roster_offer (r, two, two, 2, NULL);
    members_t *m = roster_lock (r);
    s_hear (m, "tcp://a:5555", 1);
    roster_unlock (r, false);
    roster_offer_t o;
    roster_offer (r, NULL, NULL, 0, &o);
    ck_assert_uint_eq (o.unlisted, 1);
    m = roster_lock (r);
    ck_assert (members_routable (m, members_find (m, "tcp://a:5555")));
    ck_assert_int_lt (members_find (m, "tcp://b:5555"), 0); /* never heard: dropped */
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
    tcase_add_test (tc, an_answer_longer_than_the_table_keeps_the_stores_heard);
    tcase_add_test (tc, an_empty_answer_keeps_the_stores_heard);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
