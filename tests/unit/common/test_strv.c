/*
 * test_strv: a string list holds its own copies (a settings list, a metric's
 * labels, the sender's provider names outlive what they were made from), an
 * empty list is { NULL, 0 }, and freeing leaves an empty list that can be
 * freed again.
 */
#include "common/strv.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

START_TEST (set_copies_every_string)
{
    char a[] = "tcp://127.0.0.1:5555", b[] = "";
    const char *src[] = { a, b };
    mdf_strlist_t l;
    ck_assert_int_eq (mdf_strlist_set (&l, src, 2), 0);
    ck_assert_uint_eq (l.count, 2);
    a[0] = 'X'; /* the copy does not follow the source */
    ck_assert_str_eq (l.items[0], "tcp://127.0.0.1:5555");
    ck_assert_str_eq (l.items[1], "");
    ck_assert_ptr_ne (l.items[1], b);
    mdf_strlist_t copy;
    ck_assert_int_eq (mdf_strlist_copy (&copy, &l), 0);
    mdf_strlist_free (&l);
    ck_assert_uint_eq (copy.count, 2);
    ck_assert_str_eq (copy.items[0], "tcp://127.0.0.1:5555");
    mdf_strlist_free (&copy);
}
END_TEST

START_TEST (push_copies_n_bytes_and_terminates_them)
{
    mdf_strlist_t l = { 0 };
    ck_assert_int_eq (mdf_strlist_push (&l, "AAA,BBB", 3), 0);
    ck_assert_int_eq (mdf_strlist_push (&l, "BBB", 3), 0);
    ck_assert_uint_eq (l.count, 2);
    ck_assert_str_eq (l.items[0], "AAA");
    ck_assert_str_eq (l.items[1], "BBB");
    mdf_strlist_free (&l);
}
END_TEST

START_TEST (empty_list_is_null_and_zero_and_frees_twice)
{
    mdf_strlist_t l;
    ck_assert_int_eq (mdf_strlist_set (&l, NULL, 0), 0);
    ck_assert_ptr_null (l.items);
    ck_assert_uint_eq (l.count, 0);
    mdf_strlist_free (&l);
    mdf_strlist_free (&l);
    ck_assert_ptr_null (l.items);
    ck_assert_uint_eq (l.count, 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("strv");
    TCase *tc = tcase_create ("strlist");
    tcase_add_test (tc, set_copies_every_string);
    tcase_add_test (tc, push_copies_n_bytes_and_terminates_them);
    tcase_add_test (tc, empty_list_is_null_and_zero_and_frees_twice);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
