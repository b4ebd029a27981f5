/*
 * test_http_auth: bearer-token protection of a path prefix (mdf_http_protect):
 * 401 before any handler or body, constant answers for every wrong token,
 * big and chunked bodies refused without a reset, /metrics and /health left
 * open, refusals counted and logged without the token; and the guard of
 * common/http_auth.h on its own (the header's grammar, the prefix).
 */
#include "http_client.h"

#include "common/log.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/harness.h"

/* ---- bearer token on a prefix (mdf_http_protect) ---- */

#define S_TOKEN "s3cret-Token_0123456789abcdef"

static mdf_counter_t *
s_protect (void)
{
    mdf_counter_t *denied
        = mdf_metrics_counter (ht_reg, "mdp_http_unauthorized_total", "401 answers", NULL);
    ck_assert_ptr_nonnull (denied);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", S_TOKEN, denied), 0);
    return denied;
}

START_TEST (protected_path_without_token_is_401_and_handler_not_called)
{
    mdf_counter_t *denied = s_protect ();
    int port = ht_start ();
    ht_resp_t r;
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", NULL, &r), 401);
    ck_assert_str_eq (r.www_auth, " Bearer realm=\"mdflow\"");
    ck_assert_str_eq (r.content_type, "application/json");
    ck_assert_str_eq (r.body, "{\"error\":\"bearer token required\"}\n");
    free (r.body);
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 1);
    /* Another scheme, or "Bearer" with nothing after it, is no token either. */
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Basic dXNlcjpwYXNz", NULL), 401);
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Bearer", NULL), 401);
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Bearer   ", NULL), 401);
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", S_TOKEN, NULL), 401);
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 5);
}
END_TEST

START_TEST (wrong_token_of_any_length_is_401)
{
    mdf_counter_t *denied = s_protect ();
    int port = ht_start ();
    const char *wrong[] = {
        "Bearer s3cret-Token_0123456789abcdeF",  /* same length, last byte differs */
        "Bearer X3cret-Token_0123456789abcdef",  /* same length, first byte differs */
        "Bearer s3cret-Token_0123456789abcde",   /* a prefix of the right one */
        "Bearer s3cret-Token_0123456789abcdefg", /* the right one and one more byte */
        "Bearer s",
        "Bearer " S_TOKEN " extra",
    };
    size_t n = sizeof wrong / sizeof wrong[0];
    for (size_t i = 0; i < n; i++) {
        ht_resp_t r;
        ck_assert_int_eq (ht_post_auth (port, "/control/pause", wrong[i], &r), 401);
        ck_assert_str_eq (r.www_auth, " Bearer realm=\"mdflow\", error=\"invalid_token\"");
        ck_assert_str_eq (r.body, "{\"error\":\"invalid bearer token\"}\n");
        free (r.body);
    }
    /* Far longer than any token the server accepts. */
    char *huge = malloc (8192);
    memcpy (huge, "Bearer ", 7);
    memset (huge + 7, 'a', 8000);
    huge[8007] = '\0';
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", huge, NULL), 401);
    free (huge);
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), n + 1);
}
END_TEST

START_TEST (right_token_reaches_the_handler)
{
    mdf_counter_t *denied = s_protect ();
    int port = ht_start ();
    ht_resp_t r;
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Bearer " S_TOKEN, &r), 202);
    ck_assert_str_eq (r.body, "{\"accepted\":true}");
    free (r.body);
    ck_assert_int_eq (ht_seen.calls, 1);
    ck_assert_str_eq (ht_seen.body, "{}");
    /* The scheme is case-insensitive and blanks around the token are allowed. */
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "bearer  " S_TOKEN "  ", NULL), 202);
    ck_assert_int_eq (ht_seen.calls, 2);
    ck_assert_uint_eq (mdf_counter_value (denied), 0);
}
END_TEST

START_TEST (metrics_health_and_other_paths_stay_open)
{
    mdf_counter_t *denied = s_protect ();
    ht_seen_t other = { 0 };
    ck_assert_int_eq (mdf_http_route (ht_srv, "POST", "/open", ht_control, &other), 0);
    int port = ht_start ();
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", NULL, NULL), 401);
    ht_resp_t r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
    r = ht_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_ptr_nonnull (strstr (r.body, "mdp_http_unauthorized_total 1\n"));
    free (r.body);
    ck_assert_int_eq (ht_post_auth (port, "/open", NULL, NULL), 202);
    ck_assert_int_eq (other.calls, 1);
    free (other.body);
    ck_assert_uint_eq (mdf_counter_value (denied), 1);
}
END_TEST

/* Authentication comes before routing: without the token, a wrong method or
 * an unknown path under the prefix is 401 too, so nothing about the routes
 * leaks; with it they are 405 and 404 as usual. */
START_TEST (token_is_checked_before_routing)
{
    s_protect ();
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/control/pause", NULL, 0);
    ck_assert_int_eq (r.status, 401);
    free (r.body);
    ck_assert_int_eq (ht_post_auth (port, "/control/nope", NULL, NULL), 401);
    const char *hdrs[] = { "Authorization: Bearer " S_TOKEN, NULL };
    r = ht_request_hdr (port, "GET", "/control/pause", NULL, 0, hdrs, NULL);
    ck_assert_int_eq (r.status, 405);
    free (r.body);
    ck_assert_int_eq (ht_post_auth (port, "/control/nope", "Bearer " S_TOKEN, NULL), 404);
    ck_assert_int_eq (ht_seen.calls, 0);
}
END_TEST

/* A client that uploads a big body with a wrong token reads the 401 (the body
 * is read and discarded, as for 413), with and without Expect: 100-continue,
 * and the server keeps answering. */
START_TEST (big_body_with_wrong_token_gets_401_not_a_reset)
{
    mdf_counter_t *denied = s_protect ();
    int port = ht_start ();
    size_t n = 512 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *plain[] = { "Authorization: Bearer wrong", "Expect:", NULL };
    const char *expect[] = { "Authorization: Bearer wrong", "Expect: 100-continue", NULL };
    const char *none[] = { "Expect:", NULL };
    const char *const *variants[] = { plain, expect, none };
    for (size_t v = 0; v < 3; v++) {
        CURLcode rc;
        ht_resp_t r = ht_request_hdr (port, "POST", "/control/pause", big, n, variants[v], &rc);
        ck_assert_msg (rc == CURLE_OK, "variant %zu: %s", v, curl_easy_strerror (rc));
        ck_assert_int_eq (r.status, 401);
        ck_assert_ptr_nonnull (strstr (r.body, "bearer token"));
        free (r.body);
    }
    ck_assert_int_eq (ht_seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 3);
    /* The right token with the same body: 413, the usual size limit. */
    const char *good[] = { "Authorization: Bearer " S_TOKEN, NULL };
    ht_resp_t r = ht_request_hdr (port, "POST", "/control/pause", big, n, good, NULL);
    ck_assert_int_eq (r.status, 413);
    free (r.body);
    free (big);
    r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

/* Over the drain bound the upload is not read: 401 or a reset, never the
 * handler. */
START_TEST (huge_body_with_wrong_token_is_refused_unread)
{
    s_protect ();
    int port = ht_start ();
    size_t n = 4 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *hdrs[] = { "Authorization: Bearer wrong", NULL };
    CURLcode rc;
    ht_resp_t r = ht_request_hdr (port, "POST", "/control/pause", big, n, hdrs, &rc);
    ck_assert_msg (rc != CURLE_OK || r.status == 401, "rc %d status %ld", (int)rc, r.status);
    free (r.body);
    free (big);
    ck_assert_int_eq (ht_seen.calls, 0);
    r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

/* A chunked body announces no length: past the drain bound (1 MiB) the
 * connection is closed, with or without a token, and the handler never runs. */
START_TEST (chunked_body_past_the_drain_bound_is_cut_off)
{
    s_protect ();
    int port = ht_start ();
    size_t n = 2 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *wrong[] = { "Authorization: Bearer wrong", "Transfer-Encoding: chunked", NULL };
    const char *good[] = { "Authorization: Bearer " S_TOKEN, "Transfer-Encoding: chunked", NULL };
    const char *const *variants[] = { wrong, good };
    for (size_t v = 0; v < 2; v++) {
        CURLcode rc;
        ht_resp_t r = ht_request_hdr (port, "POST", "/control/pause", big, n, variants[v], &rc);
        ck_assert_msg (rc != CURLE_OK || r.status == 401 || r.status == 413,
                       "%zu: rc %d status %ld", v, (int)rc, r.status);
        free (r.body);
    }
    /* A small chunked body with the token still works. */
    ht_resp_t r = ht_request_hdr (port, "POST", "/control/pause", big, 100, good, NULL);
    ck_assert_int_eq (r.status, 202);
    ck_assert_uint_eq (ht_seen.len, 100);
    free (r.body);
    free (big);
    ck_assert_int_eq (ht_seen.calls, 1);
}
END_TEST

/* A refusal is logged with the client's address, at most once per window,
 * and neither the server's token nor the one the client sent is ever logged. */
START_TEST (refusals_are_logged_rate_limited_without_tokens)
{
    char logpath[] = "/tmp/test_http_log_XXXXXX";
    int fd = mkstemp (logpath);
    ck_assert_int_ge (fd, 0);
    mdf_log_set_fd (fd);
    s_protect ();
    int port = ht_start ();
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Bearer guess-one", NULL), 401);
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", "Bearer guess-two", NULL), 401);
    mdf_log_set_fd (2);
    char text[4096] = "";
    ssize_t got = pread (fd, text, sizeof text - 1, 0);
    close (fd);
    unlink (logpath);
    ck_assert_int_gt (got, 0);
    text[got] = '\0';
    ck_assert_msg (strstr (text, "remote=127.0.0.1") && strstr (text, "path=/control/pause")
                       && strstr (text, "reason=invalid"),
                   "%s", text);
    ck_assert_msg (!strstr (text, "guess-") && !strstr (text, S_TOKEN), "%s", text);
    const char *first = strstr (text, "request refused");
    ck_assert_ptr_nonnull (first);
    ck_assert_msg (!strstr (first + 1, "request refused"), "logged twice:\n%s", text);
}
END_TEST

START_TEST (protect_validates_and_only_before_start)
{
    ck_assert (!mdf_http_token_ok (NULL));
    ck_assert (!mdf_http_token_ok (""));
    ck_assert (!mdf_http_token_ok ("has space"));
    ck_assert (!mdf_http_token_ok ("tab\there"));
    ck_assert (!mdf_http_token_ok ("nl\n"));
    ck_assert (!mdf_http_token_ok ("caf\xc3\xa9"));
    char longest[MDF_HTTP_TOKEN_MAX + 2];
    memset (longest, 'k', sizeof longest);
    longest[MDF_HTTP_TOKEN_MAX] = '\0';
    ck_assert (mdf_http_token_ok (longest));
    longest[MDF_HTTP_TOKEN_MAX] = 'k';
    longest[MDF_HTTP_TOKEN_MAX + 1] = '\0';
    ck_assert (!mdf_http_token_ok (longest));
    ck_assert_int_eq (mdf_http_protect (ht_srv, "control/", S_TOKEN, NULL), -1);
    ck_assert_int_eq (mdf_http_protect (ht_srv, NULL, S_TOKEN, NULL), -1);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", "", NULL), -1);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", "a b", NULL), -1);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", S_TOKEN, NULL), 0);
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/other/", S_TOKEN, NULL), -1);
    ht_start ();
    mdf_http_t *late = mdf_http_new ("127.0.0.1:0", NULL, NULL, NULL);
    char err[128];
    ck_assert_int_eq (mdf_http_start (late, err, sizeof err), 0);
    ck_assert_int_eq (mdf_http_protect (late, "/control/", S_TOKEN, NULL), -1);
    mdf_http_destroy (&late);
}
END_TEST

/* The longest accepted token works end to end. */
START_TEST (longest_token_is_accepted)
{
    char token[MDF_HTTP_TOKEN_MAX + 1], auth[MDF_HTTP_TOKEN_MAX + 16];
    for (size_t i = 0; i < MDF_HTTP_TOKEN_MAX; i++)
        token[i] = (char)('!' + i % 94);
    token[MDF_HTTP_TOKEN_MAX] = '\0';
    ck_assert_int_eq (mdf_http_protect (ht_srv, "/control/", token, NULL), 0);
    int port = ht_start ();
    snprintf (auth, sizeof auth, "Bearer %s", token);
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", auth, NULL), 202);
    auth[strlen (auth) - 1] ^= 1;
    ck_assert_int_eq (ht_post_auth (port, "/control/pause", auth, NULL), 401);
    ck_assert_int_eq (ht_seen.calls, 1);
}
END_TEST

/* ---- the guard alone (http_auth.h): no server ---- */

START_TEST (guard_reads_the_authorization_header_as_rfc_7235_says)
{
    mdf_http_auth_t g = { 0 };
    ck_assert_int_eq (mdf_http_auth_set (&g, "/control/", S_TOKEN), 0);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer " S_TOKEN), MDF_HTTP_AUTH_OK);
    ck_assert_int_eq (mdf_http_auth_check (&g, "bearer\t " S_TOKEN " \t"), MDF_HTTP_AUTH_OK);
    ck_assert_int_eq (mdf_http_auth_check (&g, "  BEARER " S_TOKEN), MDF_HTTP_AUTH_OK);
    ck_assert_int_eq (mdf_http_auth_check (&g, NULL), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, ""), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer"), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer   "), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Basic " S_TOKEN), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer" S_TOKEN), MDF_HTTP_AUTH_MISSING);
    ck_assert_int_eq (mdf_http_auth_check (&g, S_TOKEN), MDF_HTTP_AUTH_MISSING);
    /* a prefix, an extension or a one-byte change of ours is not ours */
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer s3cret"), MDF_HTTP_AUTH_INVALID);
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer " S_TOKEN "x"), MDF_HTTP_AUTH_INVALID);
    char near[] = "Bearer " S_TOKEN;
    near[sizeof near - 2] ^= 1;
    ck_assert_int_eq (mdf_http_auth_check (&g, near), MDF_HTTP_AUTH_INVALID);
    /* longer than any token can be: compared, refused */
    char huge[MDF_HTTP_TOKEN_MAX * 2 + 8];
    memcpy (huge, "Bearer ", 7);
    memset (huge + 7, 'k', sizeof huge - 8);
    huge[sizeof huge - 1] = '\0';
    ck_assert_int_eq (mdf_http_auth_check (&g, huge), MDF_HTTP_AUTH_INVALID);
}
END_TEST

START_TEST (guard_covers_its_prefix_only_and_is_set_once)
{
    mdf_http_auth_t g = { 0 };
    ck_assert (!mdf_http_auth_covers (&g, "/control/pause")); /* nothing guarded yet */
    ck_assert_int_eq (mdf_http_auth_set (&g, "control/", S_TOKEN), -1);
    ck_assert_int_eq (mdf_http_auth_set (&g, "/control/", "two words"), -1);
    ck_assert_int_eq (mdf_http_auth_set (&g, "/control/", S_TOKEN), 0);
    ck_assert (mdf_http_auth_covers (&g, "/control/pause"));
    ck_assert (mdf_http_auth_covers (&g, "/control/"));
    ck_assert (!mdf_http_auth_covers (&g, "/control"));
    ck_assert (!mdf_http_auth_covers (&g, "/metrics"));
    ck_assert (!mdf_http_auth_covers (&g, NULL));
    ck_assert_int_eq (mdf_http_auth_set (&g, "/other/", S_TOKEN), -1);
    ck_assert (!mdf_http_auth_covers (&g, "/other/x"));
    mdf_http_auth_clear (&g);
    ck_assert (!mdf_http_auth_covers (&g, "/control/pause"));
    ck_assert_int_eq (mdf_http_auth_check (&g, "Bearer " S_TOKEN), MDF_HTTP_AUTH_INVALID);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("http_auth");
    TCase *tc = tcase_create ("http_auth");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, ht_setup, ht_teardown);
    tcase_add_test (tc, protected_path_without_token_is_401_and_handler_not_called);
    tcase_add_test (tc, wrong_token_of_any_length_is_401);
    tcase_add_test (tc, right_token_reaches_the_handler);
    tcase_add_test (tc, metrics_health_and_other_paths_stay_open);
    tcase_add_test (tc, token_is_checked_before_routing);
    tcase_add_test (tc, big_body_with_wrong_token_gets_401_not_a_reset);
    tcase_add_test (tc, huge_body_with_wrong_token_is_refused_unread);
    tcase_add_test (tc, chunked_body_past_the_drain_bound_is_cut_off);
    tcase_add_test (tc, refusals_are_logged_rate_limited_without_tokens);
    tcase_add_test (tc, protect_validates_and_only_before_start);
    tcase_add_test (tc, longest_token_is_accepted);
    suite_add_tcase (s, tc);
    TCase *guard = tcase_create ("guard");
    tcase_add_test (guard, guard_reads_the_authorization_header_as_rfc_7235_says);
    tcase_add_test (guard, guard_covers_its_prefix_only_and_is_set_once);
    suite_add_tcase (s, guard);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
