/*
 * http_client: see http_client.h.
 */
#include "http_client.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

mdf_metrics_t *ht_reg;
mdf_http_t *ht_srv;
_Atomic int ht_healthy;

static size_t
s_on_body (char *data, size_t size, size_t n, void *arg)
{
    ht_resp_t *r = arg;
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
    ht_resp_t *r = arg;
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
ht_resp_t
ht_request_hdr (int port, const char *method, const char *path, const char *body, size_t body_len,
                const char *const *headers, CURLcode *rc_out)
{
    ht_resp_t r = { 0 };
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

ht_resp_t
ht_request_rc (int port, const char *method, const char *path, const char *body, size_t body_len,
               CURLcode *rc_out)
{
    return ht_request_hdr (port, method, path, body, body_len, NULL, rc_out);
}

ht_resp_t
ht_request (int port, const char *method, const char *path, const char *body, size_t body_len)
{
    return ht_request_rc (port, method, path, body, body_len, NULL);
}

/* POST with one Authorization header value (NULL: none); the status. */
long
ht_post_auth (int port, const char *path, const char *authorization, ht_resp_t *out)
{
    char line[600];
    snprintf (line, sizeof line, "Authorization: %s", authorization ? authorization : "");
    const char *hdrs[] = { line, NULL };
    ht_resp_t r = ht_request_hdr (port, "POST", path, "{}", 2, authorization ? hdrs : NULL, NULL);
    long status = r.status;
    if (out)
        *out = r;
    else
        free (r.body);
    return status;
}

void
ht_health (void *arg, mdf_http_reply_t *reply)
{
    ck_assert_ptr_eq (arg, &ht_healthy);
    int ok = atomic_load (&ht_healthy);
    reply->status = ok ? 200 : 503;
    char text[128];
    snprintf (text, sizeof text, "{\"service\":\"test\",\"state\":\"%s\"}", ok ? "ok" : "down");
    reply->body = strdup (text);
}

void
ht_control (void *arg, const char *body, size_t len, mdf_http_reply_t *reply)
{
    ht_seen_t *seen = arg;
    seen->calls++;
    free (seen->body);
    seen->body = malloc (len + 1);
    memcpy (seen->body, body, len);
    seen->body[len] = '\0';
    seen->len = len;
    reply->status = 202;
    reply->body = strdup ("{\"accepted\":true}");
}

ht_seen_t ht_seen;

int
ht_start (void)
{
    char err[256];
    ck_assert_int_eq (mdf_http_port (ht_srv), -1);
    int rc = mdf_http_start (ht_srv, err, sizeof err);
    ck_assert_msg (rc == 0, "start: %s", err);
    int port = mdf_http_port (ht_srv);
    ck_assert_int_gt (port, 0);
    return port;
}

void
ht_setup (void)
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    ht_reg = mdf_metrics_new ();
    atomic_store (&ht_healthy, 1);
    memset (&ht_seen, 0, sizeof ht_seen);
    ht_srv = mdf_http_new ("127.0.0.1:0", ht_reg, ht_health, (void *)&ht_healthy);
    ck_assert_ptr_nonnull (ht_srv);
    ck_assert_int_eq (mdf_http_route (ht_srv, "POST", "/control/pause", ht_control, &ht_seen), 0);
}

void
ht_teardown (void)
{
    mdf_http_destroy (&ht_srv);
    ck_assert_ptr_null (ht_srv);
    mdf_metrics_destroy (&ht_reg);
    free (ht_seen.body);
    curl_global_cleanup ();
}
