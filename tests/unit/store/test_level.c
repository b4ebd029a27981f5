/*
 * level: the watermark state machine (docs/ARCHITECTURE.md, "Levels"), at every boundary, with
 * and without hysteresis.
 */
#include <check.h>
#include <stdlib.h>

#include "store/level.h"
#include "tests/integration/harness.h"

#define L 5000
#define H 8000

static mdf_level_t
s_after (level_t *lv, int64_t size)
{
    level_update (lv, size);
    return lv->level;
}

START_TEST (exact_thresholds_match_design)
{
    /* hysteresis 0: HARD at size >= high, SOFT at low < size < high, OK at size <= low */
    ck_assert_int_eq (level_exact (L, H, 0), MDF_LEVEL_OK);
    ck_assert_int_eq (level_exact (L, H, L), MDF_LEVEL_OK);
    ck_assert_int_eq (level_exact (L, H, L + 1), MDF_LEVEL_SOFT);
    ck_assert_int_eq (level_exact (L, H, H - 1), MDF_LEVEL_SOFT);
    ck_assert_int_eq (level_exact (L, H, H), MDF_LEVEL_HARD);
    ck_assert_int_eq (level_exact (L, H, 10000), MDF_LEVEL_HARD);
}
END_TEST

START_TEST (zero_hysteresis_follows_exact_levels_both_ways)
{
    level_t lv;
    level_init (&lv, L, H, 0);
    int64_t sizes[] = { 0, L, L + 1, H - 1, H, H - 1, L + 1, L, H, L, 0, L + 1, 0 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        ck_assert_msg (s_after (&lv, sizes[i]) == level_exact (L, H, sizes[i]),
                       "size %lld: level %d", (long long)sizes[i], (int)lv.level);
}
END_TEST

START_TEST (rising_is_immediate_with_hysteresis)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    ck_assert_int_eq (s_after (&lv, L), MDF_LEVEL_OK);
    ck_assert (level_update (&lv, L + 1));
    ck_assert_int_eq (lv.level, MDF_LEVEL_SOFT);
    ck_assert_int_eq (s_after (&lv, H - 1), MDF_LEVEL_SOFT);
    ck_assert (level_update (&lv, H));
    ck_assert_int_eq (lv.level, MDF_LEVEL_HARD);
}
END_TEST

START_TEST (ok_jumps_straight_to_hard)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    ck_assert_int_eq (s_after (&lv, H + 5), MDF_LEVEL_HARD);
}
END_TEST

START_TEST (hard_falls_to_soft_only_below_high_minus_hysteresis)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    s_after (&lv, H);
    ck_assert_int_eq (s_after (&lv, H - 1), MDF_LEVEL_HARD);
    ck_assert_int_eq (s_after (&lv, H - 200), MDF_LEVEL_HARD);
    ck_assert (level_update (&lv, H - 201));
    ck_assert_int_eq (lv.level, MDF_LEVEL_SOFT);
    /* and back up only at high itself */
    ck_assert_int_eq (s_after (&lv, H - 1), MDF_LEVEL_SOFT);
    ck_assert_int_eq (s_after (&lv, H), MDF_LEVEL_HARD);
}
END_TEST

START_TEST (soft_falls_to_ok_only_at_low_minus_hysteresis)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    s_after (&lv, L + 1);
    ck_assert_int_eq (s_after (&lv, L), MDF_LEVEL_SOFT);
    ck_assert_int_eq (s_after (&lv, L - 199), MDF_LEVEL_SOFT);
    ck_assert (level_update (&lv, L - 200));
    ck_assert_int_eq (lv.level, MDF_LEVEL_OK);
    /* from OK, SOFT comes back only above low */
    ck_assert_int_eq (s_after (&lv, L), MDF_LEVEL_OK);
    ck_assert_int_eq (s_after (&lv, L + 1), MDF_LEVEL_SOFT);
}
END_TEST

START_TEST (hard_falls_straight_to_ok_when_drained)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    s_after (&lv, H);
    ck_assert_int_eq (s_after (&lv, L - 200), MDF_LEVEL_OK);
    s_after (&lv, H);
    ck_assert_int_eq (s_after (&lv, 0), MDF_LEVEL_OK);
}
END_TEST

START_TEST (hard_band_between_low_and_high_gives_soft)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    s_after (&lv, H);
    /* inside (low - h, high - h): SOFT, even at or below low */
    ck_assert_int_eq (s_after (&lv, L), MDF_LEVEL_SOFT);
    s_after (&lv, H);
    ck_assert_int_eq (s_after (&lv, L - 199), MDF_LEVEL_SOFT);
}
END_TEST

START_TEST (flapping_at_a_boundary_is_absorbed)
{
    level_t lv;
    level_init (&lv, L, H, 200);
    s_after (&lv, H);
    int changes = 0;
    for (int i = 0; i < 100; i++)
        changes += level_update (&lv, i % 2 ? H : H - 150);
    ck_assert_int_eq (changes, 0);
    ck_assert_int_eq (lv.level, MDF_LEVEL_HARD);
}
END_TEST

START_TEST (hysteresis_above_low_is_clamped_so_empty_is_ok)
{
    level_t lv;
    level_init (&lv, 50, 80, 200);
    ck_assert_int_eq (s_after (&lv, 80), MDF_LEVEL_HARD);
    ck_assert_int_eq (s_after (&lv, 1), MDF_LEVEL_SOFT);
    ck_assert_int_eq (s_after (&lv, 0), MDF_LEVEL_OK);
}
END_TEST

START_TEST (update_reports_change_only_on_change)
{
    level_t lv;
    level_init (&lv, L, H, 0);
    ck_assert (!level_update (&lv, 10));
    ck_assert (level_update (&lv, L + 1));
    ck_assert (!level_update (&lv, L + 2));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("level");
    TCase *tc = tcase_create ("transitions");
    tcase_add_test (tc, exact_thresholds_match_design);
    tcase_add_test (tc, zero_hysteresis_follows_exact_levels_both_ways);
    tcase_add_test (tc, rising_is_immediate_with_hysteresis);
    tcase_add_test (tc, ok_jumps_straight_to_hard);
    tcase_add_test (tc, hard_falls_to_soft_only_below_high_minus_hysteresis);
    tcase_add_test (tc, soft_falls_to_ok_only_at_low_minus_hysteresis);
    tcase_add_test (tc, hard_falls_straight_to_ok_when_drained);
    tcase_add_test (tc, hard_band_between_low_and_high_gives_soft);
    tcase_add_test (tc, flapping_at_a_boundary_is_absorbed);
    tcase_add_test (tc, hysteresis_above_low_is_clamped_so_empty_is_ok);
    tcase_add_test (tc, update_reports_change_only_on_change);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
