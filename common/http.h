/*
 * http: the services' small HTTP server (libmicrohttpd, one internal thread).
 *
 * Serves GET /metrics (the registry, text format 0.0.4), GET /health (JSON from
 * the service's health callback; 200 when healthy, 503 otherwise) and any routes
 * the service adds (the pipeline's POST /control/...).  Other paths get 404;
 * a known path with another method gets 405 with an Allow header.
 *
 * A path prefix can be protected by a bearer token (mdf_http_protect; the
 * token rules and the comparison are common/http_auth.h): a
 * request under it must carry "Authorization: Bearer TOKEN" or it gets 401
 * (WWW-Authenticate: Bearer realm="mdflow", JSON error body) and the handler is
 * not called.  The check happens on the request's headers, before any body is
 * read, and compares in time independent of the token's content and length.
 * GET /metrics and GET /health are never protected.
 *
 * Paths match exactly as the client sent them: a registered route matches
 * only its own path, with no query string, no %XX encoding and no extra
 * slash ("/control/pause?x=1" and "/control/pause%00" are 404); /metrics and
 * /health accept a query.  A protected prefix answers 401 first, however the
 * path under it is spelled.
 *
 * Limits (a slow or crowded client cannot lock the probes out): at most
 * MDF_HTTP_PER_IP connections from one client address and MDF_HTTP_MAX_CONN
 * for any request, plus MDF_HTTP_RESERVE that serve only /health (and
 * /health/live, /health/ready).  A request's headers must be complete within
 * MDF_HTTP_HEADERS_S of the connection's accept (MDF_HTTP_RESERVE_HEADERS_MS
 * on a reserved connection), the whole exchange within MDF_HTTP_REQUEST_S,
 * however active the client is; then the connection is cut (by a sweeper
 * thread, common/http_sweep.h).  Refusals and cuts are counted in
 * mdf_http_connections_dropped_total{reason} of the server's registry.
 *
 * Handlers run on the server's thread: they must only read atomics or talk to
 * the service through thread-safe calls, never touch another thread's sockets.
 */
#ifndef MDF_HTTP_H
#define MDF_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/http_auth.h"
#include "common/metrics.h"

/* Connection limits and deadlines (see above). */
#define MDF_HTTP_MAX_CONN 64
#define MDF_HTTP_RESERVE 8
#define MDF_HTTP_PER_IP 16
#define MDF_HTTP_HEADERS_S 5
#define MDF_HTTP_RESERVE_HEADERS_MS 1000
#define MDF_HTTP_REQUEST_S 15

typedef struct _mdf_http_t mdf_http_t;

/* What a handler answers.  `body` is malloc'd by the handler (or NULL) and
 * freed by the server; content_type is a static string (default
 * "application/json"). */
typedef struct {
    int status;
    const char *content_type;
    char *body;
} mdf_http_reply_t;

/* Health callback: fill reply (status 200/503, JSON body). */
typedef void (*mdf_http_health_fn) (void *arg, mdf_http_reply_t *reply);

/* Route handler; `body` holds the request body (bounded, may be empty). */
typedef void (*mdf_http_handler_fn) (void *arg, const char *body, size_t body_len,
                                     mdf_http_reply_t *reply);

/* New server for `listen` ("127.0.0.1:9101", "[::1]:9101", port 0 = any free
 * port).  `metrics` is borrowed.  Nothing listens until mdf_http_start. */
mdf_http_t *mdf_http_new (const char *listen, mdf_metrics_t *metrics, mdf_http_health_fn health,
                          void *health_arg);

/* Add a route before start.  Returns 0 or -1 (table full / started). */
int mdf_http_route (mdf_http_t *self, const char *method, const char *path, mdf_http_handler_fn fn,
                    void *arg);

/* Before start: require "Authorization: Bearer <token>" on every request whose
 * path starts with `path_prefix` (e.g. "/control/"); anything else is answered
 * 401 without calling a handler, its body read and discarded (up to 1 MiB, so
 * the client sees the answer).  `token` is copied (and wiped on destroy); it is
 * never logged.  `denied` (borrowed, may be NULL) counts the 401s; refusals
 * are also logged, rate-limited, with the client's address.  One prefix per
 * server.  Returns 0, or -1 (started, already protected, bad prefix or a
 * token that fails mdf_http_token_ok). */
int mdf_http_protect (mdf_http_t *self, const char *path_prefix, const char *token,
                      mdf_counter_t *denied);

/* Bind and start serving.  Returns 0, or -1 with err ("127.0.0.1:9101: Address
 * already in use"). */
int mdf_http_start (mdf_http_t *self, char *err, size_t errlen);

/* The bound port (useful with port 0), or -1 before start. */
int mdf_http_port (const mdf_http_t *self);

/* Stop and free; *self_p becomes NULL. */
void mdf_http_destroy (mdf_http_t **self_p);

#endif
