/*
 * test_json: what the services put between the quotes of a JSON string is
 * valid JSON whatever the text (an error message from a database, a path):
 * quotes, backslashes and control bytes escaped, UTF-8 kept, and a text too
 * long for the buffer cut between whole escapes and whole characters.
 */
#include "common/json.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

START_TEST (quotes_backslashes_and_controls_are_escaped)
{
    char buf[128];
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "say \"hi\" \\ bye"),
                      "say \\\"hi\\\" \\\\ bye");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "line1\nline2\ttab\r\x01\x1f\x7f"),
                      "line1\\u000aline2\\u0009tab\\u000d\\u0001\\u001f\\u007f");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, ""), "");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, NULL), "");
}
END_TEST

START_TEST (utf8_passes_through)
{
    char buf[64];
    const char *text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x88";
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, text), text);
}
END_TEST

START_TEST (a_broken_sequence_never_swallows_a_quote)
{
    char buf[64];
    /* a lead byte followed by a quote: the quote is still escaped */
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "a\xc3\"b"), "a\xc3\\\"b");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "\xe2\x82"), "\xe2\x82");
}
END_TEST

START_TEST (a_long_text_is_cut_between_whole_escapes)
{
    char buf[8];
    /* "ab" fits, the 6-byte \u0001 would not with its NUL */
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "ab\x01zzzz"), "ab");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "abcdef\"g"), "abcdef");
    ck_assert_str_eq (mdf_json_escape (buf, sizeof buf, "abcdefghij"), "abcdefg");
    /* a 4-byte character is not split */
    ck_assert_str_eq (mdf_json_escape (buf, 6, "ab\xf0\x9f\x93\x88"), "ab");
    ck_assert_str_eq (mdf_json_escape (buf, 1, "abc"), "");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("json");
    TCase *tc = tcase_create ("escape");
    tcase_add_test (tc, quotes_backslashes_and_controls_are_escaped);
    tcase_add_test (tc, utf8_passes_through);
    tcase_add_test (tc, a_broken_sequence_never_swallows_a_quote);
    tcase_add_test (tc, a_long_text_is_cut_between_whole_escapes);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
