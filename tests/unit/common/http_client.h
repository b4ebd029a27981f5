/*
 * http_client: what the HTTP unit suites share (test_http.c, test_http_auth.c):
 * a libcurl client for 127.0.0.1, a server on port 0 with a health callback
 * and one recording POST route (/control/pause), and the Check fixture that
 * makes and destroys them for each test.
 */
#ifndef MDF_TEST_HTTP_CLIENT_H
#define MDF_TEST_HTTP_CLIENT_H

#include "common/http.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    char *body;
    size_t len;
    long status;
    char content_type[128];
    char allow[128];
    char www_auth[128];
} ht_resp_t;

/* Bodies the /control/pause route received, and how often it ran. */
typedef struct {
    char *body;
    size_t len;
    int calls;
} ht_seen_t;

extern mdf_metrics_t *ht_reg;
extern mdf_http_t *ht_srv;     /* made by ht_setup, not started */
extern _Atomic int ht_healthy; /* what /health reports: 1 ok (200), 0 down (503) */
extern ht_seen_t ht_seen;

/* One request to 127.0.0.1:PORT/path; `body` (may be NULL) sent as POST data;
 * `headers` (NULL-terminated, may be NULL) added as given.  The transfer result
 * goes to *rc_out when given, else it must be CURLE_OK.  r.body is malloc'd. */
ht_resp_t ht_request_hdr (int port, const char *method, const char *path, const char *body,
                          size_t body_len, const char *const *headers, CURLcode *rc_out);
ht_resp_t ht_request_rc (int port, const char *method, const char *path, const char *body,
                         size_t body_len, CURLcode *rc_out);
ht_resp_t ht_request (int port, const char *method, const char *path, const char *body,
                      size_t body_len);

/* POST "{}" with one Authorization header value (NULL: none); the status.
 * The response goes to *out when given (free its body). */
long ht_post_auth (int port, const char *path, const char *authorization, ht_resp_t *out);

/* The server's handlers, for tests that make their own server. */
void ht_health (void *arg, mdf_http_reply_t *reply);
void ht_control (void *arg, const char *body, size_t len, mdf_http_reply_t *reply);

int ht_start (void);  /* start ht_srv; its port */
void ht_setup (void); /* checked fixture */
void ht_teardown (void);

#endif
