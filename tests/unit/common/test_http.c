/*
 * test_http: the HTTP server answered through libcurl on 127.0.0.1, port 0
 * (a free port chosen by the kernel): /metrics, /health, registered POST
 * routes, 404, 405, 413, listen-address errors and bearer-token protection
 * (401 before any handler or body, /metrics and /health left open).
 */
#include "common/http.h"

#include "common/log.h"

#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mdf_metrics_t *reg;
static mdf_http_t *srv;
static _Atomic int healthy;

typedef struct {
    char *body;
    size_t len;
    long status;
    char content_type[128];
    char allow[128];
    char www_auth[128];
} s_resp_t;

static size_t
s_on_body (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = arg;
    size_t add = size * n;
    char *grown = realloc (r->body, r->len + add + 1);
    ck_assert_ptr_nonnull (grown);
    r->body = grown;
    memcpy (r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t
s_on_header (char *data, size_t size, size_t n, void *arg)
{
    s_resp_t *r = arg;
    size_t len = size * n;
    if (len > 6 && strncasecmp (data, "Allow:", 6) == 0) {
        snprintf (r->allow, sizeof r->allow, "%.*s", (int)(len - 6), data + 6);
        r->allow[strcspn (r->allow, "\r\n")] = '\0';
    }
    if (len > 17 && strncasecmp (data, "WWW-Authenticate:", 17) == 0) {
        snprintf (r->www_auth, sizeof r->www_auth, "%.*s", (int)(len - 17), data + 17);
        r->www_auth[strcspn (r->www_auth, "\r\n")] = '\0';
    }
    return len;
}

/* One request to 127.0.0.1:PORT/path; `body` (may be NULL) sent as POST data;
 * `headers` (NULL-terminated, may be NULL) are added as given, e.g.
 * "Authorization: Bearer x".  The transfer result goes to *rc_out when given,
 * else it must be CURLE_OK. */
static s_resp_t
s_request_hdr (int port, const char *method, const char *path, const char *body, size_t body_len,
               const char *const *headers, CURLcode *rc_out)
{
    s_resp_t r = { 0 };
    char url[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init ();
    ck_assert_ptr_nonnull (c);
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt (c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append (list, headers[i]);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform (c);
    curl_slist_free_all (list);
    if (rc_out)
        *rc_out = rc;
    else
        ck_assert_msg (rc == CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror (rc));
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo (c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf (r.content_type, sizeof r.content_type, "%s", ct ? ct : "");
    curl_easy_cleanup (c);
    if (!r.body)
        r.body = strdup ("");
    return r;
}

static s_resp_t
s_request_rc (int port, const char *method, const char *path, const char *body, size_t body_len,
              CURLcode *rc_out)
{
    return s_request_hdr (port, method, path, body, body_len, NULL, rc_out);
}

static s_resp_t
s_request (int port, const char *method, const char *path, const char *body, size_t body_len)
{
    return s_request_rc (port, method, path, body, body_len, NULL);
}

/* POST with one Authorization header value (NULL: none); the status. */
static long
s_post_auth (int port, const char *path, const char *authorization, s_resp_t *out)
{
    char line[600];
    snprintf (line, sizeof line, "Authorization: %s", authorization ? authorization : "");
    const char *hdrs[] = { line, NULL };
    s_resp_t r = s_request_hdr (port, "POST", path, "{}", 2, authorization ? hdrs : NULL, NULL);
    long status = r.status;
    if (out)
        *out = r;
    else
        free (r.body);
    return status;
}

static void
s_health (void *arg, mdf_http_reply_t *reply)
{
    ck_assert_ptr_eq (arg, &healthy);
    int ok = atomic_load (&healthy);
    reply->status = ok ? 200 : 503;
    char text[128];
    snprintf (text, sizeof text, "{\"service\":\"test\",\"state\":\"%s\"}", ok ? "ok" : "down");
    reply->body = strdup (text);
}

typedef struct {
    char *body;
    size_t len;
    int calls;
} s_seen_t;

static void
s_control (void *arg, const char *body, size_t len, mdf_http_reply_t *reply)
{
    s_seen_t *seen = arg;
    seen->calls++;
    free (seen->body);
    seen->body = malloc (len + 1);
    memcpy (seen->body, body, len);
    seen->body[len] = '\0';
    seen->len = len;
    reply->status = 202;
    reply->body = strdup ("{\"accepted\":true}");
}

static s_seen_t seen;

static int
s_start (void)
{
    char err[256];
    ck_assert_int_eq (mdf_http_port (srv), -1);
    int rc = mdf_http_start (srv, err, sizeof err);
    ck_assert_msg (rc == 0, "start: %s", err);
    int port = mdf_http_port (srv);
    ck_assert_int_gt (port, 0);
    return port;
}

static void
s_setup (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    reg = mdf_metrics_new ();
    atomic_store (&healthy, 1);
    memset (&seen, 0, sizeof seen);
    srv = mdf_http_new ("127.0.0.1:0", reg, s_health, (void *)&healthy);
    ck_assert_ptr_nonnull (srv);
    ck_assert_int_eq (mdf_http_route (srv, "POST", "/control/pause", s_control, &seen), 0);
}

static void
s_teardown (void)
{
    mdf_http_destroy (&srv);
    ck_assert_ptr_null (srv);
    mdf_metrics_destroy (&reg);
    free (seen.body);
    curl_global_cleanup ();
}

START_TEST (metrics_served_as_prometheus_text)
{
    mdf_counter_add (
        mdf_metrics_counter (reg, "mds_batches_total", "Batches", "status", "ok", NULL), 5);
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull (strstr (r.body, "# TYPE mds_batches_total counter\n"));
    ck_assert_ptr_nonnull (strstr (r.body, "mds_batches_total{status=\"ok\"} 5\n"));
    free (r.body);
}
END_TEST

START_TEST (health_reports_200_then_503_as_json)
{
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.content_type, "application/json");
    ck_assert_str_eq (r.body, "{\"service\":\"test\",\"state\":\"ok\"}");
    free (r.body);
    atomic_store (&healthy, 0);
    r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 503);
    ck_assert_str_eq (r.body, "{\"service\":\"test\",\"state\":\"down\"}");
    free (r.body);
}
END_TEST

START_TEST (health_without_callback_is_ok)
{
    mdf_http_destroy (&srv);
    srv = mdf_http_new ("127.0.0.1:0", NULL, NULL, NULL);
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_ptr_nonnull (strstr (r.body, "\"ok\""));
    free (r.body);
    r = s_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_str_eq (r.body, "");
    free (r.body);
}
END_TEST

START_TEST (post_route_gets_its_body)
{
    int port = s_start ();
    const char body[] = "{\"reason\":\"maintenance\"}";
    s_resp_t r = s_request (port, "POST", "/control/pause", body, strlen (body));
    ck_assert_int_eq (r.status, 202);
    ck_assert_str_eq (r.body, "{\"accepted\":true}");
    ck_assert_int_eq (seen.calls, 1);
    ck_assert_uint_eq (seen.len, strlen (body));
    ck_assert_str_eq (seen.body, body);
    free (r.body);
    /* Empty body too. */
    r = s_request (port, "POST", "/control/pause", "", 0);
    ck_assert_int_eq (r.status, 202);
    ck_assert_int_eq (seen.calls, 2);
    ck_assert_uint_eq (seen.len, 0);
    free (r.body);
}
END_TEST

START_TEST (post_body_over_64k_is_413_and_handler_not_called)
{
    int port = s_start ();
    size_t n = 64 * 1024 + 1;
    char *big = malloc (n);
    memset (big, 'x', n);
    s_resp_t r = s_request (port, "POST", "/control/pause", big, n);
    ck_assert_int_eq (r.status, 413);
    ck_assert_int_eq (seen.calls, 0);
    free (r.body);
    /* Exactly the limit is fine. */
    r = s_request (port, "POST", "/control/pause", big, n - 1);
    ck_assert_int_eq (r.status, 202);
    ck_assert_uint_eq (seen.len, n - 1);
    free (r.body);
    free (big);
}
END_TEST

/* Beyond the drain bound (1 MiB) the server refuses by Content-Length and does
 * not read the upload: the client sees 413 or a reset, the handler never runs,
 * and the server keeps answering. */
START_TEST (post_body_over_1m_is_refused_unread)
{
    int port = s_start ();
    size_t n = 4 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    CURLcode rc;
    s_resp_t r = s_request_rc (port, "POST", "/control/pause", big, n, &rc);
    ck_assert_msg (rc != CURLE_OK || r.status == 413, "rc %d status %ld", (int)rc, r.status);
    ck_assert_int_eq (seen.calls, 0);
    free (r.body);
    free (big);
    r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

START_TEST (unknown_path_is_404)
{
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/nope", NULL, 0);
    ck_assert_int_eq (r.status, 404);
    free (r.body);
    r = s_request (port, "POST", "/control/unknown", "x", 1);
    ck_assert_int_eq (r.status, 404);
    ck_assert_int_eq (seen.calls, 0);
    free (r.body);
}
END_TEST

START_TEST (wrong_method_is_405_with_allow)
{
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/control/pause", NULL, 0);
    ck_assert_int_eq (r.status, 405);
    ck_assert_str_eq (r.allow, " POST");
    ck_assert_int_eq (seen.calls, 0);
    free (r.body);
    r = s_request (port, "POST", "/metrics", "x", 1);
    ck_assert_int_eq (r.status, 405);
    ck_assert_str_eq (r.allow, " GET, HEAD");
    free (r.body);
}
END_TEST

START_TEST (routes_only_before_start)
{
    ck_assert_int_eq (mdf_http_route (srv, "POST", NULL, s_control, &seen), -1);
    s_start ();
    ck_assert_int_eq (mdf_http_route (srv, "POST", "/control/resume", s_control, &seen), -1);
    char err[128];
    ck_assert_int_eq (mdf_http_start (srv, err, sizeof err), -1);
}
END_TEST

START_TEST (address_in_use_error_names_the_address)
{
    int port = s_start ();
    char listen[64], err[256] = "", want[128];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    mdf_http_t *second = mdf_http_new (listen, reg, NULL, NULL);
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
    int port = s_start ();
    /* A client that connects and sends half a request, then stalls. */
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ck_assert_int_eq (connect (fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char partial[]
        = "POST /control/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab";
    ck_assert_int_eq (write (fd, partial, strlen (partial)), (ssize_t)strlen (partial));
    s_resp_t r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
    close (fd);
}
END_TEST

/* ---- bearer token on a prefix (mdf_http_protect) ---- */

#define S_TOKEN "s3cret-Token_0123456789abcdef"

static mdf_counter_t *
s_protect (void)
{
    mdf_counter_t *denied
        = mdf_metrics_counter (reg, "mdp_http_unauthorized_total", "401 answers", NULL);
    ck_assert_ptr_nonnull (denied);
    ck_assert_int_eq (mdf_http_protect (srv, "/control/", S_TOKEN, denied), 0);
    return denied;
}

START_TEST (protected_path_without_token_is_401_and_handler_not_called)
{
    mdf_counter_t *denied = s_protect ();
    int port = s_start ();
    s_resp_t r;
    ck_assert_int_eq (s_post_auth (port, "/control/pause", NULL, &r), 401);
    ck_assert_str_eq (r.www_auth, " Bearer realm=\"mdflow\"");
    ck_assert_str_eq (r.content_type, "application/json");
    ck_assert_str_eq (r.body, "{\"error\":\"bearer token required\"}\n");
    free (r.body);
    ck_assert_int_eq (seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 1);
    /* Another scheme, or "Bearer" with nothing after it, is no token either. */
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Basic dXNlcjpwYXNz", NULL), 401);
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Bearer", NULL), 401);
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Bearer   ", NULL), 401);
    ck_assert_int_eq (s_post_auth (port, "/control/pause", S_TOKEN, NULL), 401);
    ck_assert_int_eq (seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 5);
}
END_TEST

START_TEST (wrong_token_of_any_length_is_401)
{
    mdf_counter_t *denied = s_protect ();
    int port = s_start ();
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
        s_resp_t r;
        ck_assert_int_eq (s_post_auth (port, "/control/pause", wrong[i], &r), 401);
        ck_assert_str_eq (r.www_auth, " Bearer realm=\"mdflow\", error=\"invalid_token\"");
        ck_assert_str_eq (r.body, "{\"error\":\"invalid bearer token\"}\n");
        free (r.body);
    }
    /* Far longer than any token the server accepts. */
    char *huge = malloc (8192);
    memcpy (huge, "Bearer ", 7);
    memset (huge + 7, 'a', 8000);
    huge[8007] = '\0';
    ck_assert_int_eq (s_post_auth (port, "/control/pause", huge, NULL), 401);
    free (huge);
    ck_assert_int_eq (seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), n + 1);
}
END_TEST

START_TEST (right_token_reaches_the_handler)
{
    mdf_counter_t *denied = s_protect ();
    int port = s_start ();
    s_resp_t r;
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Bearer " S_TOKEN, &r), 202);
    ck_assert_str_eq (r.body, "{\"accepted\":true}");
    free (r.body);
    ck_assert_int_eq (seen.calls, 1);
    ck_assert_str_eq (seen.body, "{}");
    /* The scheme is case-insensitive and blanks around the token are allowed. */
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "bearer  " S_TOKEN "  ", NULL), 202);
    ck_assert_int_eq (seen.calls, 2);
    ck_assert_uint_eq (mdf_counter_value (denied), 0);
}
END_TEST

START_TEST (metrics_health_and_other_paths_stay_open)
{
    mdf_counter_t *denied = s_protect ();
    s_seen_t other = { 0 };
    ck_assert_int_eq (mdf_http_route (srv, "POST", "/open", s_control, &other), 0);
    int port = s_start ();
    ck_assert_int_eq (s_post_auth (port, "/control/pause", NULL, NULL), 401);
    s_resp_t r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
    r = s_request (port, "GET", "/metrics", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    ck_assert_ptr_nonnull (strstr (r.body, "mdp_http_unauthorized_total 1\n"));
    free (r.body);
    ck_assert_int_eq (s_post_auth (port, "/open", NULL, NULL), 202);
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
    int port = s_start ();
    s_resp_t r = s_request (port, "GET", "/control/pause", NULL, 0);
    ck_assert_int_eq (r.status, 401);
    free (r.body);
    ck_assert_int_eq (s_post_auth (port, "/control/nope", NULL, NULL), 401);
    const char *hdrs[] = { "Authorization: Bearer " S_TOKEN, NULL };
    r = s_request_hdr (port, "GET", "/control/pause", NULL, 0, hdrs, NULL);
    ck_assert_int_eq (r.status, 405);
    free (r.body);
    ck_assert_int_eq (s_post_auth (port, "/control/nope", "Bearer " S_TOKEN, NULL), 404);
    ck_assert_int_eq (seen.calls, 0);
}
END_TEST

/* A client that uploads a big body with a wrong token reads the 401 (the body
 * is read and discarded, as for 413), with and without Expect: 100-continue,
 * and the server keeps answering. */
START_TEST (big_body_with_wrong_token_gets_401_not_a_reset)
{
    mdf_counter_t *denied = s_protect ();
    int port = s_start ();
    size_t n = 512 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *plain[] = { "Authorization: Bearer wrong", "Expect:", NULL };
    const char *expect[] = { "Authorization: Bearer wrong", "Expect: 100-continue", NULL };
    const char *none[] = { "Expect:", NULL };
    const char *const *variants[] = { plain, expect, none };
    for (size_t v = 0; v < 3; v++) {
        CURLcode rc;
        s_resp_t r = s_request_hdr (port, "POST", "/control/pause", big, n, variants[v], &rc);
        ck_assert_msg (rc == CURLE_OK, "variant %zu: %s", v, curl_easy_strerror (rc));
        ck_assert_int_eq (r.status, 401);
        ck_assert_ptr_nonnull (strstr (r.body, "bearer token"));
        free (r.body);
    }
    ck_assert_int_eq (seen.calls, 0);
    ck_assert_uint_eq (mdf_counter_value (denied), 3);
    /* The right token with the same body: 413, the usual size limit. */
    const char *good[] = { "Authorization: Bearer " S_TOKEN, NULL };
    s_resp_t r = s_request_hdr (port, "POST", "/control/pause", big, n, good, NULL);
    ck_assert_int_eq (r.status, 413);
    free (r.body);
    free (big);
    r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

/* Over the drain bound the upload is not read: 401 or a reset, never the
 * handler. */
START_TEST (huge_body_with_wrong_token_is_refused_unread)
{
    s_protect ();
    int port = s_start ();
    size_t n = 4 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *hdrs[] = { "Authorization: Bearer wrong", NULL };
    CURLcode rc;
    s_resp_t r = s_request_hdr (port, "POST", "/control/pause", big, n, hdrs, &rc);
    ck_assert_msg (rc != CURLE_OK || r.status == 401, "rc %d status %ld", (int)rc, r.status);
    free (r.body);
    free (big);
    ck_assert_int_eq (seen.calls, 0);
    r = s_request (port, "GET", "/health", NULL, 0);
    ck_assert_int_eq (r.status, 200);
    free (r.body);
}
END_TEST

/* A chunked body announces no length: past the drain bound (1 MiB) the
 * connection is closed, with or without a token, and the handler never runs. */
START_TEST (chunked_body_past_the_drain_bound_is_cut_off)
{
    s_protect ();
    int port = s_start ();
    size_t n = 2 * 1024 * 1024;
    char *big = malloc (n);
    memset (big, 'x', n);
    const char *wrong[] = { "Authorization: Bearer wrong", "Transfer-Encoding: chunked", NULL };
    const char *good[] = { "Authorization: Bearer " S_TOKEN, "Transfer-Encoding: chunked", NULL };
    const char *const *variants[] = { wrong, good };
    for (size_t v = 0; v < 2; v++) {
        CURLcode rc;
        s_resp_t r = s_request_hdr (port, "POST", "/control/pause", big, n, variants[v], &rc);
        ck_assert_msg (rc != CURLE_OK || r.status == 401 || r.status == 413,
                       "%zu: rc %d status %ld", v, (int)rc, r.status);
        free (r.body);
    }
    /* A small chunked body with the token still works. */
    s_resp_t r = s_request_hdr (port, "POST", "/control/pause", big, 100, good, NULL);
    ck_assert_int_eq (r.status, 202);
    ck_assert_uint_eq (seen.len, 100);
    free (r.body);
    free (big);
    ck_assert_int_eq (seen.calls, 1);
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
    int port = s_start ();
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Bearer guess-one", NULL), 401);
    ck_assert_int_eq (s_post_auth (port, "/control/pause", "Bearer guess-two", NULL), 401);
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
    ck_assert_int_eq (mdf_http_protect (srv, "control/", S_TOKEN, NULL), -1);
    ck_assert_int_eq (mdf_http_protect (srv, NULL, S_TOKEN, NULL), -1);
    ck_assert_int_eq (mdf_http_protect (srv, "/control/", "", NULL), -1);
    ck_assert_int_eq (mdf_http_protect (srv, "/control/", "a b", NULL), -1);
    ck_assert_int_eq (mdf_http_protect (srv, "/control/", S_TOKEN, NULL), 0);
    ck_assert_int_eq (mdf_http_protect (srv, "/other/", S_TOKEN, NULL), -1);
    s_start ();
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
    ck_assert_int_eq (mdf_http_protect (srv, "/control/", token, NULL), 0);
    int port = s_start ();
    snprintf (auth, sizeof auth, "Bearer %s", token);
    ck_assert_int_eq (s_post_auth (port, "/control/pause", auth, NULL), 202);
    auth[strlen (auth) - 1] ^= 1;
    ck_assert_int_eq (s_post_auth (port, "/control/pause", auth, NULL), 401);
    ck_assert_int_eq (seen.calls, 1);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("http");
    TCase *tc = tcase_create ("http");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
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
    return s;
}

int
main (void)
{
    SRunner *sr = srunner_create (s_suite ());
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
