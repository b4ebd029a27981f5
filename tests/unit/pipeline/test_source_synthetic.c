/*
 * test_source_synthetic: the synthetic source makes bars a store accepts, each a
 * distinct row: valid OHLC, and per symbol ts strictly increasing in whole
 * microseconds (PostgreSQL keeps microseconds, so finer steps would collapse).
 */
#include <check.h>
#include <stdlib.h>

#include "pipeline/source.h"
#include "tests/integration/harness.h"

#define N 20000

START_TEST (test_bars_are_valid_and_distinct_rows_at_microsecond_precision)
{
    const char *symbols[] = { "AAPL", "MSFT", "GOOG" };
    source_t *src = source_synthetic_new (symbols, 3, 42, 100.0);
    ck_assert_ptr_nonnull (src);
    mdf_bar_t *bars = calloc (N, sizeof *bars);
    char err[256];
    /* 20,000 bars in one call come far faster than 1 per microsecond per
     * symbol, so the bump path is exercised, not just the wall clock. */
    ck_assert_int_eq (source_next (src, bars, N, err, sizeof err), N);
    int64_t last[3] = { 0, 0, 0 };
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg (mdf_bar_validate (&bars[i], i, err, sizeof err) == 0, "%s", err);
        size_t k = i % 3;
        ck_assert_str_eq (bars[i].symbol, symbols[k]);
        ck_assert_int_eq (bars[i].ts % 1000, 0);
        ck_assert_msg (bars[i].ts / 1000 > last[k] / 1000, "bar %zu: ts %lld not after %lld", i,
                       (long long)bars[i].ts, (long long)last[k]);
        last[k] = bars[i].ts;
    }
    free (bars);
    source_destroy (&src);
    ck_assert_ptr_null (src);
}
END_TEST

START_TEST (test_rejects_no_symbols_and_bad_price)
{
    const char *symbols[] = { "AAPL" };
    ck_assert_ptr_null (source_synthetic_new (symbols, 0, 1, 100.0));
    ck_assert_ptr_null (source_synthetic_new (symbols, 1, 1, 0.0));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("synthetic");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_bars_are_valid_and_distinct_rows_at_microsecond_precision);
    tcase_add_test (tc, test_rejects_no_symbols_and_bad_price);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
