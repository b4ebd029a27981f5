/*
 * test_http: the HTTP server answered through libcurl on 127.0.0.1, port 0
 * (a free port chosen by the kernel): /metrics, /health, registered POST
 * routes, 404, 405, 413, listen-address errors, idle clients.  Bearer-token
 * protection is in test_http_auth.c.
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

START_TEST (metrics_served_as_prometheus_text)
{
    mdf_counter_add (
        mdf_metrics_counter (ht_reg, "mds_batches_total", "Batches", "status", "ok", NULL), 5);
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull (strstr (r.body, "# TYPE mds_batches_total counter\n"));
    ck_assert_ptr_nonnull (strstr (r.body, "mds_batches_total{status=\"ok\"} 5\n"));
    free (r.body);
}
END_TEST

START_TEST (health_reports_200_then_503_as_json)
{
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.content_type, "application/json");
    ck_assert_str_eq (r.body, "{\"service\":\"test\",\"state\":\"ok\"}");
    free (r.body);
    atomic_store (&ht_healthy, 0);
    r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 503);
    ck_assert_str_eq (r.body, "{\"service\":\"test\",\"state\":\"down\"}");
    free (r.body);
}
END_TEST

START_TEST (health_without_callback_is_ok)
{
    mdf_http_destroy (&ht_srv);
    ht_srv = mdf_http_new ("127.0.0.1:0", NULL, NULL, NULL);
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_ptr_nonnull (strstr (r.body, "\"ok\""));
    free (r.body);
    r = ht_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.body, "");
    free (r.body);
}
END_TEST

START_TEST (post_route_gets_its_body)
{
    int port = ht_start ();
    const char body[] = "{\"reason\":\"maintenance\"}";
    ht_resp_t r = ht_request (port, "POST", "/control/pause", body, strlen (body));
    ck_assert_int_eq (r.status, 202);
    ck_assert_str_eq (r.body, "{\"accepted\":true}");
    ck_assert_int_eq (ht_seen.calls, 1);
    ck_assert_uint_eq (ht_seen.len, strlen (body));
    ck_assert_str_eq (ht_seen.body, body);
    free (r.body);
    /* Empty body too. */
    r = ht_request (port, "POST", "/control/pause", "", 0);
    ck_assert_int_eq (r.status, 202);
    ck_assert_int_eq (ht_seen.calls, 2);
    ck_assert_uint_eq (ht_seen.len, 0);
    free (r.body);
}
END_TEST

START_TEST (post_body_over_64k_is_413_and_handler_not_called)
{
    int port = ht_start ();
    size_t n = 64 * 1024 + 1;
    char *big = malloc (n);
    memset (big, 'x', n);
    ht_resp_t r = ht_request (port, "POST", "/control/pause", big, n);
    ck_assert_int_eq (r.status, 413);
    ck_assert_int_eq (ht_seen.calls, 0);
    free (r.body);
    /* Exactly the limit is fine. */
    r = ht_request (port, "POST", "/control/pause", big, n - 1);
    ck_assert_int_eq (r.status, 202);
    ck_assert_uint_eq (ht_seen.len, n - 1);
    free (r.body);
    free (big);
}
END_TEST

/* Beyond the drain bound (1 MiB) the server refuses by Content-Length and does
 * not read the upload: the client sees 413 or a reset, the handler never runs,
 * and the server keeps answering. */
START_TEST (post_body_over_1m_is_refused_unread)
{
    int port = ht_start ();
    size_t n = 4 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    CURLcode rc;
    ht_resp_t r = ht_request_rc (port, "POST", "/control/pause", big, n, &rc);
    ck_assert_msg (rc != CURLE_OK || r.status == 413, "rc %d status %ld", (int)rc, r.status);
    ck_assert_int_eq (ht_seen.calls, 0);
    free (r.body);
    free (big);
    r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

START_TEST (unknown_path_is_404)
{
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/nope", NULL, 0);
    ck_assert_int_eq (r.status, 404);
    free (r.body);
    r = ht_request (port, "POST", "/control/unknown", "x", 1);
    ck_assert_int_eq (r.status, 404);
    ck_assert_int_eq (ht_seen.calls, 0);
    free (r.body);
}
END_TEST

START_TEST (wrong_method_is_405_with_allow)
{
    int port = ht_start ();
    ht_resp_t r = ht_request (port, "GET", "/control/pause", NULL, 0);
    ck_assert_int_eq (r.status, 405);
    ck_assert_str_eq (r.allow, " POST");
    ck_assert_int_eq (ht_seen.calls, 0);
    free (r.body);
    r = ht_request (port, "POST", "/metrics", "x", 1);
    ck_assert_int_eq (r.status, 405);
    ck_assert_str_eq (r.allow, " GET, HEAD");
    free (r.body);
}
END_TEST

START_TEST (routes_only_before_start)
{
    ck_assert_int_eq (mdf_http_route (ht_srv, "POST", NULL, ht_control, &ht_seen), -1);
    ht_start ();
    ck_assert_int_eq (mdf_http_route (ht_srv, "POST", "/control/resume", ht_control, &ht_seen), -1);
    char err[128];
    ck_assert_int_eq (mdf_http_start (ht_srv, err, sizeof err), -1);
}
END_TEST

START_TEST (address_in_use_error_names_the_address)
{
    int port = ht_start ();
    char listen[64], err[256] = "", want[128];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    mdf_http_t *second = mdf_http_new (listen, ht_reg, NULL, NULL);
    ck_assert_int_eq (mdf_http_start (second, err, sizeof err), -1);
    snprintf (want, sizeof want, "%s: Address already in use", listen);
    ck_assert_str_eq (err, want);
    ck_assert_int_eq (mdf_http_port (second), -1);
    mdf_http_destroy (&second);
}
END_TEST

START_TEST (bad_listen_addresses_are_reported)
{
    const char *bad[] = { "nonsense",     "127.0.0.1", "127.0.0.1:", ":9101",    "127.0.0.1:99999",
                          "127.0.0.1:9x", "[::1",      "[::1]9101",  "::1:9101", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mdf_http_t *h = mdf_http_new (bad[i], NULL, NULL, NULL);
        char err[256] = "";
        ck_assert_int_eq (mdf_http_start (h, err, sizeof err), -1);
        ck_assert_msg (strncmp (err, bad[i], strlen (bad[i])) == 0
                           && strstr (err, "listen address"),
                       "%s -> %s", bad[i], err);
        mdf_http_destroy (&h);
    }
}
END_TEST

START_TEST (ipv6_loopback_in_brackets)
{
    mdf_http_t *h = mdf_http_new ("[::1]:0", NULL, NULL, NULL);
    char err[256] = "";
    if (mdf_http_start (h, err, sizeof err) != 0) {
        /* A host without IPv6 must still name the address in the error. */
        ck_assert_msg (strncmp (err, "[::1]:0: ", 9) == 0, "%s", err);
        mdf_http_destroy (&h);
        return;
    }
    ck_assert_int_gt (mdf_http_port (h), 0);
    char url[64];
    snprintf (url, sizeof url, "http://[::1]:%d/health", mdf_http_port (h));
    CURL *c = curl_easy_init ();
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, 5000L);
    ck_assert_int_eq (curl_easy_perform (c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq (status, 200);
    curl_easy_cleanup (c);
    mdf_http_destroy (&h);
}
END_TEST

START_TEST (idle_client_does_not_block_others)
{
    int port = ht_start ();
    /* A client that connects and sends half a request, then stalls. */
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ck_assert_int_eq (connect (fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char partial[]
        = "POST /control/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
    ck_assert_int_eq (write (fd, partial, strlen (partial)), (ssize_t)strlen (partial));
    ht_resp_t r = ht_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
    close (fd);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("http");
    TCase *tc = tcase_create ("http");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, ht_setup, ht_teardown);
    tcase_add_test (tc, metrics_served_as_prometheus_text);
    tcase_add_test (tc, health_reports_200_then_503_as_json);
    tcase_add_test (tc, health_without_callback_is_ok);
    tcase_add_test (tc, post_route_gets_its_body);
    tcase_add_test (tc, post_body_over_64k_is_413_and_handler_not_called);
    tcase_add_test (tc, post_body_over_1m_is_refused_unread);
    tcase_add_test (tc, unknown_path_is_404);
    tcase_add_test (tc, wrong_method_is_405_with_allow);
    tcase_add_test (tc, routes_only_before_start);
    tcase_add_test (tc, address_in_use_error_names_the_address);
    tcase_add_test (tc, bad_listen_addresses_are_reported);
    tcase_add_test (tc, ipv6_loopback_in_brackets);
    tcase_add_test (tc, idle_client_does_not_block_others);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
