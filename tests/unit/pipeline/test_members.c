/*
 * members: membership (candidate, live, stale, leaving, forgotten), the
 * sanity rules for epoch and seq (no single event freezes a store's state),
 * and routing by headroom, on a fake clock.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/members.h"
#include "tests/integration/harness.h"

#define MS 1000000LL
#define WALL 1.8e9 /* seconds: "now" on this host's wall clock */

static mdf_fake_clock_t fake;
static mdf_clock_t clk;
static members_t *m;

static void
setup (void)
{
    fake.now_ns = 5000 * MS;
    clk = mdf_clock_fake (&fake);
    m = members_new (3000 * MS, 10000 * MS, MDF_LEVEL_SOFT, true, &clk);
    ck_assert_ptr_nonnull (m);
}

static void
teardown (void)
{
    members_destroy (&m);
    ck_assert_ptr_null (m);
}

static mdf_feedback_t
ev (const char *id, int64_t epoch, uint64_t seq, mdf_level_t level, int64_t q)
{
    mdf_feedback_t e;
    memset (&e, 0, sizeof e);
    e.v = 1;
    snprintf (e.coordinator_id, sizeof e.coordinator_id, "%s", id);
    e.epoch = epoch;
    e.seq = seq;
    e.level = level;
    e.queue_size = q;
    e.capacity = 10000;
    e.ts = WALL;
    e.service_rate = 5000;
    e.has_service_rate = true;
    snprintf (e.reason, sizeof e.reason, "report");
    return e;
}

#define EPOCH ((int64_t)(WALL * 1000) - 60000) /* started a minute ago */

static int
s_add (const char *ingest)
{
    bool added;
    int slot = members_add (m, ingest, "tcp://x:5556", &added);
    ck_assert_int_ge (slot, 0);
    return slot;
}

static members_result_t
s_obs (int slot, mdf_feedback_t e)
{
    members_result_t r;
    members_observe (m, slot, &e, WALL, &r);
    return r;
}

START_TEST (a_store_becomes_a_member_when_heard)
{
    int a = s_add ("tcp://a:5555");
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_CANDIDATE);
    ck_assert_int_eq (members_pick (m, 500, 8), -1); /* not heard: no batches */
    members_result_t r = s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    ck_assert (r.first);
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
    ck_assert_int_eq (members_pick (m, 500, 8), a);
    /* adding the same endpoint again gives the same slot, not a new store */
    bool added = true;
    ck_assert_int_eq (members_add (m, "tcp://a:5555", "tcp://x:5556", &added), a);
    ck_assert (!added);
}
END_TEST

START_TEST (silent_stores_go_stale_then_are_forgotten)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    int removed[4];
    fake.now_ns += 2999 * MS;
    ck_assert_uint_eq (members_tick (m, removed, 4), 0);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
    fake.now_ns += 1 * MS;
    members_tick (m, removed, 4);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_STALE);
    ck_assert_int_eq (members_pick (m, 500, 8), a); /* still routable, last resort */
    uint32_t gen = members_get (m, a)->generation;
    fake.now_ns += 7000 * MS;                            /* 10 s silent */
    ck_assert_uint_eq (members_tick (m, removed, 4), 0); /* listed: kept, as a candidate */
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_CANDIDATE);
    ck_assert_str_eq (members_get (m, a)->coordinator_id, "");
    ck_assert_uint_ne (members_get (m, a)->generation, gen);
    /* heard again: a member again, whatever its seq */
    members_result_t r = s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    ck_assert (r.first);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
}
END_TEST

START_TEST (a_stale_store_is_used_only_after_live_ones)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    fake.now_ns += 2000 * MS;
    s_obs (b, ev ("b", EPOCH, 1, MDF_LEVEL_OK, 3000));
    fake.now_ns += 1500 * MS;
    int removed[4];
    members_tick (m, removed, 4);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_STALE);
    ck_assert_int_eq (members_pick (m, 500, 8), b);
}
END_TEST

START_TEST (shutdown_and_retire_stop_new_batches)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    s_obs (b, ev ("b", EPOCH, 1, MDF_LEVEL_OK, 100));
    mdf_feedback_t bye = ev ("a", EPOCH, 2, MDF_LEVEL_OK, 0);
    snprintf (bye.reason, sizeof bye.reason, "shutdown");
    members_result_t r = s_obs (a, bye);
    ck_assert (r.shutdown);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LEAVING);
    ck_assert (!members_routable (m, a));
    ck_assert_int_eq (members_pick (m, 500, 8), b);
    members_retire (m, b);
    ck_assert_int_eq (members_pick (m, 500, 8), -1);
    /* the retired one stays while a batch is out there, then goes */
    members_sent (m, b, 500);
    int removed[4];
    fake.now_ns += 11000 * MS;
    ck_assert_uint_eq (members_tick (m, removed, 4), 0);
    members_answered (m, b, 500);
    ck_assert_uint_eq (members_tick (m, removed, 4), 1);
    ck_assert_int_eq (removed[0], b);
    ck_assert_ptr_null (members_get (m, b));
    /* the store that announced shutdown comes back: a new incarnation */
    r = s_obs (a, ev ("a", EPOCH + 5000, 1, MDF_LEVEL_OK, 0));
    ck_assert (r.first); /* it was forgotten meanwhile (silent 11 s) */
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
}
END_TEST

START_TEST (duplicates_are_ignored_gaps_counted)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 10, MDF_LEVEL_HARD, 9000));
    members_result_t r = s_obs (a, ev ("a", EPOCH, 10, MDF_LEVEL_OK, 0));
    ck_assert_int_eq (r.verdict, MEMBERS_DUPLICATE);
    r = s_obs (a, ev ("a", EPOCH, 9, MDF_LEVEL_OK, 0));
    ck_assert_int_eq (r.verdict, MEMBERS_DUPLICATE);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_HARD);
    r = s_obs (a, ev ("a", EPOCH, 14, MDF_LEVEL_SOFT, 6000));
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    ck_assert_uint_eq (r.gap, 3);
}
END_TEST

START_TEST (one_huge_seq_cannot_hide_later_events)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 50, MDF_LEVEL_OK, 0));
    members_result_t r = s_obs (a, ev ("a", EPOCH, UINT64_MAX, MDF_LEVEL_HARD, 9000));
    ck_assert (r.resync);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_HARD);
    /* the real store goes on at 51, 52, ...: far below, so a resync too */
    r = s_obs (a, ev ("a", EPOCH, 51, MDF_LEVEL_OK, 0));
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_OK);
    for (uint64_t s = 52; s < 100; s++)
        ck_assert_int_eq (s_obs (a, ev ("a", EPOCH, s, MDF_LEVEL_OK, 0)).verdict, MEMBERS_APPLIED);
}
END_TEST

START_TEST (an_implausible_epoch_is_ignored)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    members_result_t r = s_obs (a, ev ("a", (int64_t)1 << 62, 1, MDF_LEVEL_HARD, 9000));
    ck_assert_int_eq (r.verdict, MEMBERS_IMPLAUSIBLE);
    mdf_feedback_t e = ev ("a", EPOCH, 2, MDF_LEVEL_HARD, 9000);
    e.ts = WALL + 7200; /* two hours off this host's clock */
    ck_assert_int_eq (s_obs (a, e).verdict, MEMBERS_IMPLAUSIBLE);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_OK);
    ck_assert_int_eq (s_obs (a, ev ("a", EPOCH, 2, MDF_LEVEL_OK, 0)).verdict, MEMBERS_APPLIED);
}
END_TEST

START_TEST (another_coordinator_is_ignored_unless_newer)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 5, MDF_LEVEL_OK, 0));
    members_result_t r = s_obs (a, ev ("rogue", EPOCH - 1, 1, MDF_LEVEL_HARD, 9000));
    ck_assert_int_eq (r.verdict, MEMBERS_FOREIGN);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_OK);
    /* a store replaced at the same address: new id, newer epoch */
    r = s_obs (a, ev ("a-2", EPOCH + 1000, 1, MDF_LEVEL_SOFT, 6000));
    ck_assert (r.restart);
    ck_assert_str_eq (members_get (m, a)->coordinator_id, "a-2");
    /* the old incarnation, late, is ignored */
    ck_assert_int_eq (s_obs (a, ev ("a", EPOCH, 6, MDF_LEVEL_OK, 0)).verdict, MEMBERS_OLD_EPOCH);
}
END_TEST

START_TEST (one_bogus_newer_incarnation_holds_at_most_stale_after)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 5, MDF_LEVEL_OK, 0));
    /* one event claiming a newer epoch, then silence from it */
    members_result_t r = s_obs (a, ev ("a", EPOCH + 10, 1, MDF_LEVEL_HARD, 9000));
    ck_assert (r.restart);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_HARD);
    /* the real store goes on; ignored while the bogus one is fresh */
    fake.now_ns += 1000 * MS;
    ck_assert_int_eq (s_obs (a, ev ("a", EPOCH, 6, MDF_LEVEL_OK, 0)).verdict, MEMBERS_OLD_EPOCH);
    fake.now_ns += 2000 * MS; /* 3 s: the bogus incarnation is silent for stale_after */
    r = s_obs (a, ev ("a", EPOCH, 7, MDF_LEVEL_OK, 0));
    ck_assert (r.reverted);
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_OK);
    ck_assert_int_eq (members_get (m, a)->epoch, EPOCH);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
}
END_TEST

/* The store, believed at HARD by the bogus event, gets no batch and so sends
 * only heartbeats: the previous incarnation must come back at a tick, from
 * its last event, not wait for its next one. */
START_TEST (a_bogus_incarnation_is_given_up_at_a_tick_from_the_last_real_event)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 5, MDF_LEVEL_OK, 0));
    s_obs (a, ev ("rogue", EPOCH + 10, 1, MDF_LEVEL_HARD, 9000));
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_HARD);
    fake.now_ns += 2500 * MS;
    s_obs (a, ev ("a", EPOCH, 6, MDF_LEVEL_OK, 300)); /* ignored, remembered */
    int removed[4];
    fake.now_ns += 400 * MS; /* 2.9 s: not yet */
    members_tick (m, removed, 4);
    ck_assert_str_eq (members_get (m, a)->coordinator_id, "rogue");
    fake.now_ns += 100 * MS; /* 3.0 s: the rogue is silent for stale_after */
    members_tick (m, removed, 4);
    ck_assert_str_eq (members_get (m, a)->coordinator_id, "a");
    ck_assert_int_eq (members_get (m, a)->level, MDF_LEVEL_OK);
    ck_assert_int_eq (members_get (m, a)->queue_size, 300);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
    ck_assert_uint_eq (members_get (m, a)->reverts, 1);
    /* and its events go on from there */
    ck_assert_int_eq (s_obs (a, ev ("a", EPOCH, 7, MDF_LEVEL_OK, 0)).verdict, MEMBERS_APPLIED);
}
END_TEST

START_TEST (draining_means_leaving)
{
    int a = s_add ("tcp://a:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    mdf_feedback_t e = ev ("a", EPOCH, 2, MDF_LEVEL_OK, 100);
    snprintf (e.reason, sizeof e.reason, "draining");
    ck_assert (s_obs (a, e).shutdown);
    ck_assert (!members_routable (m, a));
}
END_TEST

START_TEST (routing_prefers_headroom_then_fewest_in_flight)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555"), c = s_add ("tcp://c:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_HARD, 8500));
    s_obs (b, ev ("b", EPOCH, 1, MDF_LEVEL_OK, 1000));
    s_obs (c, ev ("c", EPOCH, 1, MDF_LEVEL_OK, 500));
    ck_assert_int_eq (members_pick (m, 500, 8), c); /* 0.1 s of queue against 0.2 s */
    members_sent (m, c, 500);                       /* both 0.2 s now */
    ck_assert_int_eq (members_pick (m, 500, 8), b); /* fewer batches in flight */
    members_sent (m, b, 500);
    ck_assert_int_eq (members_pick (m, 500, 8), c);
    /* windows full everywhere but at the HARD store: the batch waits for room
     * below HARD rather than feed a store above its high watermark ... */
    for (int i = 0; i < 8; i++) {
        members_sent (m, b, 1);
        members_sent (m, c, 1);
    }
    ck_assert_int_eq (members_pick (m, 500, 8), -1);
    /* ... unless every member is at HARD */
    s_obs (b, ev ("b", EPOCH, 2, MDF_LEVEL_HARD, 8500));
    s_obs (c, ev ("c", EPOCH, 2, MDF_LEVEL_HARD, 8500));
    ck_assert_int_eq (members_pick (m, 500, 8), a);
}
END_TEST

START_TEST (the_credit_bounds_bars_in_flight_but_one_batch_may_go)
{
    int a = s_add ("tcp://a:5555");
    mdf_feedback_t e = ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0);
    e.credit = 800;
    s_obs (a, e);
    ck_assert_int_eq (members_pick (m, 1000, 8), a); /* nothing in flight: one may go */
    members_sent (m, a, 500);
    ck_assert_int_eq (members_pick (m, 300, 8), a);
    ck_assert_int_eq (members_pick (m, 301, 8), -1);
    members_answered (m, a, 500);
    ck_assert_int_eq (members_pick (m, 500, 8), a);
}
END_TEST

/* A store reporting a queue near INT64_MAX: its queue plus this pipeline's
 * bars there is held at INT64_MAX (it had overflowed to a negative delay,
 * undefined behaviour that in practice made it the store with the most
 * headroom). */
START_TEST (a_huge_queue_saturates_and_comes_last)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, INT64_MAX - 100));
    s_obs (b, ev ("b", EPOCH, 1, MDF_LEVEL_OK, 1000));
    members_sent (m, a, 500);
    ck_assert_int_eq (members_pick (m, 500, 8), b);
    members_sent (m, b, 500);
    ck_assert_int_eq (members_pick (m, 500, 8), b);
    mdf_feedback_t e = ev ("a", EPOCH, 2, MDF_LEVEL_OK, 0);
    e.credit = INT64_MAX; /* the credit check saturates too */
    s_obs (a, e);
    members_sent (m, a, INT64_MAX);
    ck_assert_int_eq (members_get (m, a)->inflight_bars, INT64_MAX);
    ck_assert_int_eq (members_pick (m, 500, 8), b);
}
END_TEST

/* DNS only adds stores: one gone from the answer that is still heard keeps
 * routing and its batches; it leaves when it is also silent for
 * stale_after, or says goodbye.  One never heard is dropped at once. */
START_TEST (a_store_gone_from_dns_leaves_only_once_silent)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555"), c = s_add ("tcp://c:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    s_obs (b, ev ("b", EPOCH, 1, MDF_LEVEL_OK, 100));
    members_sent (m, a, 500);
    ck_assert_int_eq (members_unlist (m, a), MEMBERS_UNLIST_KEPT);
    ck_assert_int_eq (members_unlist (m, a), MEMBERS_UNLIST_NONE); /* once */
    ck_assert_int_eq (members_unlist (m, c), MEMBERS_UNLIST_DROPPED);
    ck_assert_ptr_null (members_get (m, c));
    ck_assert (members_routable (m, a));
    ck_assert_uint_eq (members_unlisted (m), 1);
    int removed[4];
    for (int i = 1; i <= 5; i++) { /* heard every 500 ms for 2.5 s: still a member */
        fake.now_ns += 500 * MS;
        s_obs (a, ev ("a", EPOCH, 1 + (uint64_t)i, MDF_LEVEL_OK, 0));
        s_obs (b, ev ("b", EPOCH, 1 + (uint64_t)i, MDF_LEVEL_OK, 100));
        members_tick (m, removed, 4);
        ck_assert_int_eq (members_get (m, a)->state, MEMBER_LIVE);
        ck_assert (members_routable (m, a));
    }
    ck_assert_uint_eq (members_get (m, a)->inflight, 1); /* its batch stays there */
    members_answered (m, a, 500);
    ck_assert_int_eq (members_pick (m, 500, 8), a); /* and it still gets new ones */
    fake.now_ns += 2999 * MS;                       /* a falls silent */
    s_obs (b, ev ("b", EPOCH, 7, MDF_LEVEL_OK, 100));
    members_tick (m, removed, 4);
    ck_assert (members_routable (m, a));
    ck_assert_uint_eq (members_unlisted_left (m), 0);
    fake.now_ns += 1 * MS;
    members_tick (m, removed, 4);
    ck_assert_int_eq (members_get (m, a)->state, MEMBER_LEAVING);
    ck_assert (!members_routable (m, a));
    ck_assert_uint_eq (members_unlisted_left (m), 1);
    ck_assert_uint_eq (members_unlisted (m), 0);
    ck_assert_int_eq (members_pick (m, 500, 8), b);
    /* an unlisted store that says goodbye leaves at once */
    ck_assert_int_eq (members_unlist (m, b), MEMBERS_UNLIST_KEPT);
    mdf_feedback_t bye = ev ("b", EPOCH, 8, MDF_LEVEL_OK, 0);
    snprintf (bye.reason, sizeof bye.reason, "shutdown");
    s_obs (b, bye);
    ck_assert (!members_routable (m, b));
    ck_assert_uint_eq (members_unlisted (m), 0);
    ck_assert_uint_eq (members_unlisted_left (m), 2);
    /* listed again before it fell silent: an ordinary member again */
    int d = s_add ("tcp://d:5555");
    s_obs (d, ev ("d", EPOCH, 1, MDF_LEVEL_OK, 0));
    ck_assert_int_eq (members_unlist (m, d), MEMBERS_UNLIST_KEPT);
    ck_assert_int_eq (s_add ("tcp://d:5555"), d);
    ck_assert (!members_get (m, d)->unlisted);
    fake.now_ns += 3000 * MS;
    members_tick (m, removed, 4);
    ck_assert_int_eq (members_get (m, d)->state, MEMBER_STALE); /* stale, not leaving */
    ck_assert (members_routable (m, d));
    /* gone from DNS while stale already: it leaves at once */
    ck_assert_int_eq (members_unlist (m, d), MEMBERS_UNLIST_RETIRED);
    ck_assert (!members_routable (m, d));
}
END_TEST

/* Past the table, a candidate never heard for stale_after gives its slot to
 * an address not tried yet; a heard store is never evicted. */
START_TEST (only_candidates_never_heard_are_evicted)
{
    int a = s_add ("tcp://a:5555"), b = s_add ("tcp://b:5555");
    s_obs (a, ev ("a", EPOCH, 1, MDF_LEVEL_OK, 0));
    ck_assert (!members_evict (m, b)); /* not had its chance yet */
    fake.now_ns += 3000 * MS;
    ck_assert (!members_evict (m, a)); /* heard (now stale): kept */
    ck_assert (members_evict (m, b));
    ck_assert_ptr_null (members_get (m, b));
}
END_TEST

START_TEST (without_feedback_every_listed_store_is_live)
{
    members_t *nf = members_new (3000 * MS, 10000 * MS, MDF_LEVEL_SOFT, false, &clk);
    bool added;
    int a = members_add (nf, "tcp://a:5555", "", &added);
    ck_assert_int_eq (members_get (nf, a)->state, MEMBER_LIVE);
    fake.now_ns += 60000 * MS;
    int removed[2];
    ck_assert_uint_eq (members_tick (nf, removed, 2), 0);
    ck_assert_int_eq (members_pick (nf, 500, 8), a);
    members_retire (nf, a);
    ck_assert_uint_eq (members_tick (nf, removed, 2), 1);
    members_destroy (&nf);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("members");
    TCase *tc = tcase_create ("members");
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, a_store_becomes_a_member_when_heard);
    tcase_add_test (tc, silent_stores_go_stale_then_are_forgotten);
    tcase_add_test (tc, a_stale_store_is_used_only_after_live_ones);
    tcase_add_test (tc, shutdown_and_retire_stop_new_batches);
    tcase_add_test (tc, duplicates_are_ignored_gaps_counted);
    tcase_add_test (tc, one_huge_seq_cannot_hide_later_events);
    tcase_add_test (tc, an_implausible_epoch_is_ignored);
    tcase_add_test (tc, another_coordinator_is_ignored_unless_newer);
    tcase_add_test (tc, one_bogus_newer_incarnation_holds_at_most_stale_after);
    tcase_add_test (tc, a_bogus_incarnation_is_given_up_at_a_tick_from_the_last_real_event);
    tcase_add_test (tc, draining_means_leaving);
    tcase_add_test (tc, routing_prefers_headroom_then_fewest_in_flight);
    tcase_add_test (tc, the_credit_bounds_bars_in_flight_but_one_batch_may_go);
    tcase_add_test (tc, without_feedback_every_listed_store_is_live);
    tcase_add_test (tc, a_huge_queue_saturates_and_comes_last);
    tcase_add_test (tc, a_store_gone_from_dns_leaves_only_once_silent);
    tcase_add_test (tc, only_candidates_never_heard_are_evicted);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
