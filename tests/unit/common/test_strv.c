/*
 * test_strv: string vectors are deep copies, an empty one is not NULL (NULL
 * means out of memory), and freeing NULL is harmless.
 */
#include "common/strv.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST (dup_copies_every_string)
{
    char a[] = "tcp://127.0.0.1:5555", b[] = "";
    const char *src[] = { a, b };
    char **v = mdf_strv_dup (src, 2);
    ck_assert_ptr_nonnull (v);
    a[0] = 'X'; /* the copy does not follow the source */
    ck_assert_str_eq (v[0], "tcp://127.0.0.1:5555");
    ck_assert_str_eq (v[1], "");
    ck_assert_ptr_ne (v[1], b);
    mdf_strv_free (v, 2);
}
END_TEST

START_TEST (empty_vector_is_not_null_and_null_frees)
{
    char **v = mdf_strv_dup (NULL, 0);
    ck_assert_ptr_nonnull (v);
    mdf_strv_free (v, 0);
    mdf_strv_free (NULL, 3);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("strv");
    TCase *tc = tcase_create ("strv");
    tcase_add_test (tc, dup_copies_every_string);
    tcase_add_test (tc, empty_vector_is_not_null_and_null_frees);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
