/*
 * test_proto: the Check suite of proto/ (wire contract v1).  The cases live in
 * test_feedback.c, test_batch.c, test_ack.c and test_robust.c; this file runs
 * them, plus the check that proto/README.md shows what the encoders write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples.h"
#include "suites.h"
#include "tests/integration/harness.h"

static char *
s_slurp (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc ((size_t)n + 1) : NULL;
    if (text && fread (text, 1, (size_t)n, f) == (size_t)n)
        text[n] = '\0';
    else {
        free (text);
        text = NULL;
    }
    fclose (f);
    return text;
}

static void
s_expect_in_readme (const char *readme, const mdf_buf_t *buf)
{
    char *hex = example_hex (buf);
    ck_assert_ptr_nonnull (hex);
    ck_assert_msg (strstr (readme, hex),
                   "proto/README.md lacks this dump "
                   "(regenerate with proto_examples):\n%s",
                   hex);
    free (hex);
}

START_TEST (readme_hex_dumps_match_the_encoders)
{
    const char *root = getenv ("MDF_SOURCE_ROOT");
    ck_assert_ptr_nonnull (root);
    char path[4096];
    snprintf (path, sizeof path, "%s/proto/README.md", root);
    char *readme = s_slurp (path);
    ck_assert_ptr_nonnull (readme);

    mdf_feedback_t ev;
    mdf_batch_t batch;
    mdf_ack_t ok, rejected;
    mdf_buf_t buf = { 0 };
    example_feedback (&ev);
    ck_assert_int_eq (mdf_feedback_encode (&ev, &buf), 0);
    s_expect_in_readme (readme, &buf);
    example_batch (&batch);
    ck_assert_int_eq (mdf_batch_encode (&batch, &buf), 0);
    s_expect_in_readme (readme, &buf);
    example_ack_ok (&ok);
    ck_assert_int_eq (mdf_ack_encode (&ok, &buf), 0);
    s_expect_in_readme (readme, &buf);
    example_ack_rejected (&rejected);
    ck_assert_int_eq (mdf_ack_encode (&rejected, &buf), 0);
    s_expect_in_readme (readme, &buf);
    mdf_buf_free (&buf);
    free (readme);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("proto");
    suite_add_tcase (s, feedback_tcase ());
    suite_add_tcase (s, batch_tcase ());
    suite_add_tcase (s, ack_tcase ());
    suite_add_tcase (s, robust_tcase ());
    TCase *readme = tcase_create ("readme");
    tcase_add_test (readme, readme_hex_dumps_match_the_encoders);
    suite_add_tcase (s, readme);
    return h_run_suite (s);
}
