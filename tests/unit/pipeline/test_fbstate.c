/*
 * fbstate: per-store level, gaps, restarts, staleness -> failsafe, worst level.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/fbstate.h"

#define MS 1000000LL

static mdf_fake_clock_t fake;
static mdf_clock_t clk;

static void
setup (void)
{
    fake.now_ns = 5000 * MS;
    clk = mdf_clock_fake (&fake);
}

static mdf_feedback_t
ev (const char *id, int64_t epoch, uint64_t seq, mdf_level_t level)
{
    mdf_feedback_t e;
    memset (&e, 0, sizeof e);
    e.v = 1;
    snprintf (e.coordinator_id, sizeof e.coordinator_id, "%s", id);
    e.epoch = epoch;
    e.seq = seq;
    e.level = level;
    e.queue_size = 100;
    e.capacity = 1000;
    e.ts = 1.0;
    return e;
}

static fbstate_view_t
view (fbstate_t *f)
{
    fbstate_view_t v;
    fbstate_view (f, &v);
    return v;
}

START_TEST (before_the_first_event_the_level_is_failsafe)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_view_t v = view (f);
    ck_assert_int_eq (v.level, MDF_LEVEL_SOFT);
    ck_assert (v.failsafe);
    ck_assert_int_eq (v.unheard, 1);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("s1", 1, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert (r.first);
    v = view (f);
    ck_assert_int_eq (v.level, MDF_LEVEL_OK);
    ck_assert (!v.failsafe);
    ck_assert_double_eq_tol (v.fill, 0.1, 1e-9);
    fbstate_destroy (&f);
    ck_assert_ptr_null (f);
}
END_TEST

START_TEST (a_silent_store_becomes_failsafe_and_recovers_when_heard)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_HARD, &clk);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("s1", 1, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    fake.now_ns += 2999 * MS;
    ck_assert_int_eq (view (f).level, MDF_LEVEL_OK);
    fake.now_ns += 1 * MS;
    fbstate_view_t v = view (f);
    ck_assert_int_eq (v.level, MDF_LEVEL_HARD);
    ck_assert_int_eq (v.stale, 1);
    e = ev ("s1", 1, 2, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    v = view (f);
    ck_assert_int_eq (v.level, MDF_LEVEL_OK);
    ck_assert_int_eq (v.stale, 0);
    fbstate_destroy (&f);
}
END_TEST

START_TEST (seq_jumps_count_as_gaps)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("s1", 7, 10, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.gap, 0); /* joining late is not a gap */
    e = ev ("s1", 7, 11, MDF_LEVEL_SOFT);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.gap, 0);
    e = ev ("s1", 7, 15, MDF_LEVEL_HARD);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.gap, 3);
    ck_assert_int_eq (r.verdict, FBSTATE_APPLIED);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_HARD);
    fbstate_destroy (&f);
}
END_TEST

START_TEST (duplicates_and_reordered_events_are_ignored)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("s1", 7, 5, MDF_LEVEL_HARD);
    fbstate_observe (f, &e, &r);
    e = ev ("s1", 7, 4, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.verdict, FBSTATE_IGNORED);
    e = ev ("s1", 7, 5, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.verdict, FBSTATE_IGNORED);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_HARD);
    fbstate_destroy (&f);
}
END_TEST

START_TEST (a_new_epoch_is_a_restart_and_resets_seq)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("s1", 7, 500, MDF_LEVEL_HARD);
    fbstate_observe (f, &e, &r);
    e = ev ("s1", 8, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert (r.restart);
    ck_assert_int_eq (r.gap, 0);
    ck_assert_int_eq (r.verdict, FBSTATE_APPLIED);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_OK);
    e = ev ("s1", 7, 501, MDF_LEVEL_HARD); /* the old incarnation, late */
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (r.verdict, FBSTATE_IGNORED);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_OK);
    fbstate_destroy (&f);
}
END_TEST

START_TEST (the_worst_store_drives_and_unheard_ones_count_as_failsafe)
{
    fbstate_t *f = fbstate_new (2, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("a", 1, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    fbstate_view_t v = view (f);
    ck_assert_int_eq (v.level, MDF_LEVEL_SOFT); /* b not heard yet */
    ck_assert_int_eq (v.unheard, 1);
    e = ev ("b", 1, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_OK);
    e = ev ("b", 1, 2, MDF_LEVEL_HARD);
    fbstate_observe (f, &e, &r);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_HARD);
    ck_assert_int_eq (fbstate_count (f), 2);
    ck_assert_str_eq (fbstate_id (f, 1), "b");
    fbstate_destroy (&f);
}
END_TEST

START_TEST (reload_changes_the_failsafe_level)
{
    fbstate_t *f = fbstate_new (1, 3000 * MS, MDF_LEVEL_SOFT, &clk);
    fbstate_set_failsafe (f, MDF_LEVEL_HARD, 100 * MS);
    ck_assert_int_eq (view (f).level, MDF_LEVEL_HARD);
    fbstate_result_t r;
    mdf_feedback_t e = ev ("a", 1, 1, MDF_LEVEL_OK);
    fbstate_observe (f, &e, &r);
    fake.now_ns += 100 * MS;
    ck_assert_int_eq (view (f).stale, 1);
    fbstate_destroy (&f);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("fbstate");
    TCase *tc = tcase_create ("fbstate");
    tcase_add_checked_fixture (tc, setup, NULL);
    tcase_add_test (tc, before_the_first_event_the_level_is_failsafe);
    tcase_add_test (tc, a_silent_store_becomes_failsafe_and_recovers_when_heard);
    tcase_add_test (tc, seq_jumps_count_as_gaps);
    tcase_add_test (tc, duplicates_and_reordered_events_are_ignored);
    tcase_add_test (tc, a_new_epoch_is_a_restart_and_resets_seq);
    tcase_add_test (tc, the_worst_store_drives_and_unheard_ones_count_as_failsafe);
    tcase_add_test (tc, reload_changes_the_failsafe_level);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
