/*
 * test_http_paths: the HTTP server matches paths exactly as sent, checked
 * with raw requests on loopback (curl would normalise some spellings):
 *   - a route matches only its exact target: a query, %XX, a trailing or
 *     double slash, a fragment, a dot segment, another case or a NUL byte is
 *     404 (400 for the NUL), and the handler never runs;
 *   - /metrics and /health take a query but no other spelling;
 *   - a protected prefix answers 401 first for every spelling, even one that
 *     only decodes into it; with the token the near spellings are still 404.
 */
#include "http_client.h"

#include <check.h>
#include <string.h>

#include "tests/integration/harness.h"

/* METHOD target (raw, `tlen` bytes) with an optional Authorization value
 * (h_raw_request); its status, -1 without an answer within 3 s. */
static int
s_request (int port, const char *method, const char *target, size_t tlen, const char *auth)
{
    return h_raw_request (port, method, target, tlen, auth, 3000);
}

#define S_T(s)                                                                                     \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }

static const struct {
    const char *target;
    size_t len;
} s_near[] = {
    S_T ("/control/pause?x=1"), S_T ("/control/pause?"), S_T ("/control/pause%00"),
    S_T ("/control/pause/"),    S_T ("/control//pause"), S_T ("/control/%70ause"),
    S_T ("/control/pause#x"),   S_T ("/control/pause "), S_T ("/control/pause\0junk"),
    S_T ("/control/PAUSE"),     S_T ("//control/pause"), S_T ("/control/./pause"),
};

#define S_NNEAR (sizeof s_near / sizeof s_near[0])

START_TEST (routes_match_only_their_exact_target)
{
    int port = ht_start ();
    for (size_t i = 0; i < S_NNEAR; i++) {
        int status = s_request (port, "POST", s_near[i].target, s_near[i].len, NULL);
        bool nul = memchr (s_near[i].target, '\0', s_near[i].len) != NULL;
        ck_assert_msg (status == (nul ? 400 : 404), "POST \"%s\" (%zu bytes): %d", s_near[i].target,
                       s_near[i].len, status);
        ck_assert_msg (ht_seen.calls == 0, "POST \"%s\" ran the handler", s_near[i].target);
    }
    ck_assert_int_eq (s_request (port, "POST", "/control/pause", 14, NULL), 202);
    ck_assert_int_eq (ht_seen.calls, 1);
}
END_TEST

START_TEST (builtins_take_a_query_but_no_other_spelling)
{
    int port = ht_start ();
    ck_assert_int_eq (s_request (port, "GET", "/metrics?name[]=x", 17, NULL), 200);
    ck_assert_int_eq (s_request (port, "GET", "/health?verbose=1", 17, NULL), 200);
    ck_assert_int_eq (s_request (port, "GET", "/health%00", 10, NULL), 404);
    ck_assert_int_eq (s_request (port, "GET", "/metrics/", 9, NULL), 404);
    ck_assert_int_eq (s_request (port, "GET", "/%6detrics", 10, NULL), 404);
    ck_assert_int_eq (s_request (port, "GET", "/health\0x", 9, NULL), 400);
}
END_TEST

START_TEST (a_protected_prefix_is_401_for_every_spelling)
{
    mdf_counter_t *denied = mdf_metrics_counter (ht_reg, "denied_total", "401s", NULL);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", "s3cret", denied), 0);
    int port = ht_start ();
    for (size_t i = 0; i < S_NNEAR; i++) {
        /* "//control/pause" is not under the prefix, however read: 404 */
        bool outside = s_near[i].target[1] == '/';
        int status = s_request (port, "POST", s_near[i].target, s_near[i].len, NULL);
        ck_assert_msg (status == (outside ? 404 : 401), "POST \"%s\" without a token: %d",
                       s_near[i].target, status);
        status = s_request (port, "POST", s_near[i].target, s_near[i].len, "Bearer s3cret");
        bool nul = memchr (s_near[i].target, '\0', s_near[i].len) != NULL;
        ck_assert_msg (status == (nul ? 400 : 404), "POST \"%s\" with the token: %d",
                       s_near[i].target, status);
    }
    /* decodes into the prefix: protected too */
    ck_assert_int_eq (s_request (port, "POST", "/%63ontrol/pause", 16, NULL), 401);
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_int_eq (s_request (port, "POST", "/control/pause", 14, "Bearer s3cret"), 202);
    ck_assert_int_eq (ht_seen.calls, 1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_paths");
    TCase *tc = tcase_create ("paths");
    tcase_add_checked_fixture (tc, ht_setup, ht_teardown);
    tcase_add_test (tc, routes_match_only_their_exact_target);
    tcase_add_test (tc, builtins_take_a_query_but_no_other_spelling);
    tcase_add_test (tc, a_protected_prefix_is_401_for_every_spelling);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
