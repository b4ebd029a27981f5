/*
 * crc32c: the standard check value, the CPU's instructions against the
 * table on random data of every length and alignment, and continuation.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"

START_TEST (the_standard_check_value)
{
    ck_assert_uint_eq (mdf_crc32c (0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq (mdf_crc32c_sw (0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq (mdf_crc32c (0, "", 0), 0);
    /* 32 zero bytes: RFC 3720, B.4 */
    static const uint8_t zeros[32];
    ck_assert_uint_eq (mdf_crc32c (0, zeros, 32), 0x8A9136AAu);
}
END_TEST

START_TEST (instructions_and_table_agree_at_every_length_and_alignment)
{
    uint8_t buf[600];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 512; n++)
            ck_assert_uint_eq (mdf_crc32c (0, buf + off, n), mdf_crc32c_sw (0, buf + off, n));
}
END_TEST

START_TEST (a_crc_continues_over_pieces)
{
    const char *text = "market data never overruns its database";
    size_t n = strlen (text);
    uint32_t whole = mdf_crc32c (0, text, n);
    for (size_t cut = 0; cut <= n; cut++)
        ck_assert_uint_eq (mdf_crc32c (mdf_crc32c (0, text, cut), text + cut, n - cut), whole);
    ck_assert_uint_ne (mdf_crc32c (0, "marke7 data", 11), mdf_crc32c (0, "market data", 11));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("crc32c");
    TCase *tc = tcase_create ("crc32c");
    tcase_add_test (tc, the_standard_check_value);
    tcase_add_test (tc, instructions_and_table_agree_at_every_length_and_alignment);
    tcase_add_test (tc, a_crc_continues_over_pieces);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? 1 : 0;
}
