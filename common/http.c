/*
 * http: GET /metrics, GET /health and a few registered routes on
 * libmicrohttpd's internal polling thread.  See http.h.
 *
 * Design
 *   - The route table is filled before mdf_http_start and read-only after, so
 *     the server thread reads it without a lock.
 *   - Every request gets a small state when its request line arrives (MHD's
 *     URI log callback), freed by the completion callback.  Requests are
 *     dispatched on MHD's first call to the access handler, once the headers
 *     are in: unknown paths (404), wrong methods (405 + Allow) and GET
 *     /metrics, /health are answered at once; a registered route's state
 *     collects the body (at most MDF_HTTP_BODY_MAX bytes; beyond that the rest
 *     is read and discarded and the answer is 413; a Content-Length above
 *     MDF_HTTP_DRAIN_MAX is refused at once, and a chunked body that grows
 *     past it closes the connection) and the handler runs on the final call,
 *     when MHD has delivered the whole body.
 *   - A protected prefix (mdf_http_protect) is checked on that same first
 *     call, from the headers alone, before any body is read: a missing or
 *     wrong bearer token marks the request denied; its body (if announced at
 *     most MDF_HTTP_DRAIN_MAX) is read and discarded like an oversized one and
 *     the 401 goes out on the final call, so the client reads the answer
 *     instead of a reset.  The token and its comparison, in time independent
 *     of the token, are common/http_auth.c's; this file only reads the
 *     header and answers.  Authentication comes before routing: an
 *     unauthenticated client learns nothing about which paths under the
 *     prefix exist.
 *   - Routes match the raw request target exactly, as the client sent it
 *     (MHD's URI log callback sees it before MHD splits off the query and
 *     decodes %XX): "/control/pause?x=1", "/control/pause%00",
 *     "/control/%70ause" or "/control/pause/" are 404, never the route, and a
 *     target with a NUL byte in it is 400 (s_target_cut).  The
 *     built-ins compare the raw path and take any query (Prometheus may add
 *     parameters).  The protected prefix is checked on the raw target and on
 *     MHD's decoded path both, so every spelling under it is 401 first.
 *   - A slow client cannot hold the server: every request has deadlines
 *     that activity does not move, and a connection past one is cut; the
 *     live connections, their deadlines and the sweeper thread that cuts them
 *     are common/http_sweep.c's, which MHD's connection notifications feed.
 *   - At most MDF_HTTP_PER_IP connections per client address and
 *     MDF_HTTP_MAX_CONN for any request, refused at accept by MHD's accept
 *     policy callback (http_sweep.c decides and counts), and
 *     MDF_HTTP_RESERVE more kept for health probes: a connection accepted
 *     while MDF_HTTP_MAX_CONN are open must send its headers within
 *     MDF_HTTP_RESERVE_HEADERS_MS and is served only for /health (and
 *     /health/live, /health/ready); anything else there gets 503.  So neither
 *     one address nor a crowd of slow requests keeps the probes out.  Cuts and
 *     refusals are counted in mdf_http_connections_dropped_total{reason}.
 *   - The listen address is parsed and test-bound in mdf_http_start, before
 *     MHD binds, so a failure is reported as "ADDRESS: reason" (MHD itself only
 *     says "NULL").  MHD's own diagnostics go to the log module.
 */
#include "common/http.h"

#include "common/clock.h"
#include "common/cond.h"
#include "common/hostport.h"
#include "common/http_sweep.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MDF_HTTP_MAX_ROUTES 16
#define MDF_HTTP_BODY_MAX (64 * 1024)
/* A body announced above MDF_HTTP_BODY_MAX but at most this size is read and
 * discarded before the 413 goes out, so the client sees the answer instead of
 * a connection reset in the middle of its upload.  Larger ones are refused at
 * once and the connection is closed. */
#define MDF_HTTP_DRAIN_MAX (1024 * 1024)
/* Idle timeout (MHD's own; activity resets it). */
#define MDF_HTTP_TIMEOUT_S 10
/* The longest request target kept (longer ones cannot be a route: 404). */
#define MDF_HTTP_TARGET_MAX 1024

/* MHD's own connection limit is only a backstop above ours (the accept
 * policy, http_sweep.h): MHD checks it before the policy, and it may still
 * count a connection it reported closed. */
#define S_MHD_SLACK 8

#define S_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define S_JSON_TYPE "application/json"

typedef struct {
    char method[16];
    char path[128];
    mdf_http_handler_fn fn;
    void *arg;
} s_route_t;

struct _mdf_http_t {
    char *listen;
    mdf_metrics_t *metrics;
    mdf_http_health_fn health;
    void *health_arg;
    s_route_t routes[MDF_HTTP_MAX_ROUTES];
    size_t nroutes;
    struct MHD_Daemon *daemon;
    int port;
    mdf_ratelimit_t log_limit; /* MHD diagnostics are often about hostile clients */
    mdf_http_auth_t auth;      /* mdf_http_protect (http_auth.h) */
    mdf_counter_t *denied;
    mdf_ratelimit_t deny_limit;
    /* live connections, their deadlines and limits: MHD's thread adds,
     * updates and removes them, the sweeper cuts those past their deadline */
    mdf_http_sweep_t *sweep;
    /* mdf_http_connections_dropped_total{reason}; NULL without a registry */
    mdf_counter_t *dropped_headers, *dropped_request, *dropped_limit, *dropped_busy;
};

/* One request, alive from MHD's URI log callback (the request line has
 * arrived) to its completion callback. */
typedef struct {
    char *target;           /* the request target as sent: path and query, undecoded */
    char *path;             /* its path: up to the first '?' */
    uintptr_t line_pos;     /* where the target sat in MHD's buffer (see s_target_cut) */
    bool begun;             /* the access handler has seen the headers */
    bool collecting;        /* reading a body for a route or a refusal */
    const s_route_t *route; /* NULL when denied */
    char *body;
    size_t len;
    size_t received; /* bytes of body read, kept or not */
    bool too_large;
    mdf_http_auth_result_t auth; /* not OK: drain the body, then answer 401 */
} s_request_t;

mdf_http_t *
mdf_http_new (const char *listen, mdf_metrics_t *metrics, mdf_http_health_fn health,
              void *health_arg)
{
    mdf_http_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->listen = strdup (listen ? listen : "");
    if (!self->listen) {
        free (self);
        return NULL;
    }
    self->metrics = metrics;
    self->health = health;
    self->health_arg = health_arg;
    self->port = -1;
    mdf_ratelimit_init (&self->log_limit, 10000, 10);
    mdf_ratelimit_init (&self->deny_limit, 10000, 1);
    self->sweep = mdf_http_sweep_new ();
    if (!self->sweep) {
        free (self->listen);
        free (self);
        return NULL;
    }
    return self;
}

int
mdf_http_route (mdf_http_t *self, const char *method, const char *path, mdf_http_handler_fn fn,
                void *arg)
{
    if (!self || self->daemon || self->nroutes == MDF_HTTP_MAX_ROUTES || !method || !path || !fn
        || strlen (method) >= sizeof self->routes[0].method
        || strlen (path) >= sizeof self->routes[0].path)
        return -1;
    s_route_t *r = &self->routes[self->nroutes++];
    snprintf (r->method, sizeof r->method, "%s", method);
    snprintf (r->path, sizeof r->path, "%s", path);
    r->fn = fn;
    r->arg = arg;
    return 0;
}

int
mdf_http_protect (mdf_http_t *self, const char *path_prefix, const char *token,
                  mdf_counter_t *denied)
{
    if (!self || self->daemon || mdf_http_auth_set (&self->auth, path_prefix, token) != 0)
        return -1;
    self->denied = denied;
    return 0;
}

/* ---- responses ---- */

/* Queue a response; takes ownership of `body` (malloc'd or NULL).  `header`
 * and `value` (both or neither) add one more header (Allow, WWW-Authenticate). */
static enum MHD_Result
s_send (struct MHD_Connection *conn, int status, const char *content_type, char *body,
        const char *header, const char *value)
{
    struct MHD_Response *resp
        = body ? MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE)
               : MHD_create_response_from_buffer (0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                             content_type ? content_type : S_JSON_TYPE);
    if (header && value)
        MHD_add_response_header (resp, header, value);
    if (status < 100 || status > 599)
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    enum MHD_Result rc = MHD_queue_response (conn, (unsigned int)status, resp);
    MHD_destroy_response (resp);
    return rc;
}

static enum MHD_Result
s_send_error (struct MHD_Connection *conn, int status, const char *message, const char *allow)
{
    char text[160];
    snprintf (text, sizeof text, "{\"error\":\"%s\"}\n", message);
    return s_send (conn, status, S_JSON_TYPE, strdup (text), allow ? MHD_HTTP_HEADER_ALLOW : NULL,
                   allow);
}

static enum MHD_Result
s_send_reply (struct MHD_Connection *conn, mdf_http_reply_t *reply)
{
    return s_send (conn, reply->status, reply->content_type, reply->body, NULL, NULL);
}

/* 401 with the challenge of RFC 6750 (error="invalid_token" when a token was
 * given but is wrong). */
static enum MHD_Result
s_send_unauthorized (struct MHD_Connection *conn, mdf_http_auth_result_t auth)
{
    bool missing = auth == MDF_HTTP_AUTH_MISSING;
    char text[96];
    snprintf (text, sizeof text, "{\"error\":\"%s\"}\n",
              missing ? "bearer token required" : "invalid bearer token");
    return s_send (
        conn, MHD_HTTP_UNAUTHORIZED, S_JSON_TYPE, strdup (text), MHD_HTTP_HEADER_WWW_AUTHENTICATE,
        missing ? "Bearer realm=\"mdflow\"" : "Bearer realm=\"mdflow\", error=\"invalid_token\"");
}

/* ---- authentication ---- */

/* Judge the request's "Authorization" header (http_auth.h). */
static mdf_http_auth_result_t
s_authenticate (const mdf_http_t *self, struct MHD_Connection *conn)
{
    return mdf_http_auth_check (
        &self->auth,
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
}

/* The client's numeric address ("?" when unknown). */
static void
s_client_host (struct MHD_Connection *conn, char *host, size_t hostlen)
{
    snprintf (host, hostlen, "?");
    const union MHD_ConnectionInfo *ci
        = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                               : sizeof (struct sockaddr_in);
        if (getnameinfo (ci->client_addr, len, host, (socklen_t)hostlen, NULL, 0, NI_NUMERICHOST)
            != 0)
            snprintf (host, hostlen, "?");
    }
}

/* Count a refusal and log it (rate-limited) with the client's address; the
 * token the client sent is never logged. */
static void
s_note_denied (mdf_http_t *self, struct MHD_Connection *conn, const char *url, const char *method,
               mdf_http_auth_result_t auth)
{
    if (self->denied)
        mdf_counter_inc (self->denied);
    uint64_t suppressed = 0;
    if (!mdf_ratelimit_allow (&self->deny_limit, &suppressed))
        return;
    char host[NI_MAXHOST], qpath[300], qmethod[40];
    s_client_host (conn, host, sizeof host);
    mdf_warn ("http request refused: bearer token missing or wrong",
              "remote=%s method=%s path=%s reason=%s suppressed=%" PRIu64, host,
              mdf_log_quote (qmethod, sizeof qmethod, method),
              mdf_log_quote (qpath, sizeof qpath, url),
              auth == MDF_HTTP_AUTH_MISSING ? "missing" : "invalid", suppressed);
}

/* ---- connections and deadlines ---- */

static void
s_drop (mdf_counter_t *counter)
{
    if (counter)
        mdf_counter_inc (counter);
}

static mdf_http_conn_t *
s_conn_of (struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci
        = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* MHD's accept policy: the limits (http_sweep.h). */
static enum MHD_Result
s_accept_policy (void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    mdf_http_t *self = cls;
    return mdf_http_sweep_admit (self->sweep, addr, addrlen) ? MHD_YES : MHD_NO;
}

/* MHD calls "closed" before it closes the descriptor: once the connection
 * is forgotten the sweeper cannot shut down a reused descriptor number. */
static void
s_notify_connection (void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe)
{
    mdf_http_t *self = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd
            = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char remote[64];
        s_client_host (conn, remote, sizeof remote);
        *socket_context = fd ? mdf_http_sweep_add (self->sweep, fd->connect_fd, remote) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        mdf_http_sweep_remove (self->sweep, *socket_context);
        *socket_context = NULL;
    }
}

/* ---- dispatch ---- */

static bool
s_is_get (const char *method)
{
    return strcmp (method, MHD_HTTP_METHOD_GET) == 0 || strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* The probes a reserved connection may serve. */
static bool
s_is_health_path (const char *path)
{
    return strcmp (path, "/health") == 0 || strcmp (path, "/health/live") == 0
           || strcmp (path, "/health/ready") == 0;
}

static bool
s_is_builtin (const char *path)
{
    return strcmp (path, "/metrics") == 0 || strcmp (path, "/health") == 0;
}

static enum MHD_Result
s_builtin (mdf_http_t *self, struct MHD_Connection *conn, const char *path, const char *method)
{
    if (!s_is_get (method))
        return s_send_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "GET, HEAD");
    if (strcmp (path, "/metrics") == 0) {
        char *text = self->metrics ? mdf_metrics_render (self->metrics) : strdup ("");
        if (!text)
            return s_send_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
        return s_send (conn, MHD_HTTP_OK, S_METRICS_TYPE, text, NULL, NULL);
    }
    mdf_http_reply_t reply = { MHD_HTTP_OK, S_JSON_TYPE, NULL };
    if (self->health)
        self->health (self->health_arg, &reply);
    else
        reply.body = strdup ("{\"state\":\"ok\"}\n");
    return s_send_reply (conn, &reply);
}

/* The body size the client announced (0 when chunked or absent). */
static unsigned long long
s_announced (struct MHD_Connection *conn)
{
    const char *length
        = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return length ? strtoull (length, NULL, 10) : 0;
}

/* Start reading a body: into req->body for a route, or to be discarded for a
 * denied request.  A body announced above MDF_HTTP_DRAIN_MAX is not read: the
 * answer (413, or 401 when denied) goes out at once. */
static enum MHD_Result
s_request_begin (struct MHD_Connection *conn, s_request_t *req, const s_route_t *route,
                 mdf_http_auth_result_t auth)
{
    unsigned long long announced = s_announced (conn);
    if (announced > MDF_HTTP_DRAIN_MAX)
        return auth != MDF_HTTP_AUTH_OK
                   ? s_send_unauthorized (conn, auth)
                   : s_send_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", NULL);
    req->collecting = true;
    req->route = route;
    req->auth = auth;
    req->too_large = announced > MDF_HTTP_BODY_MAX || auth != MDF_HTTP_AUTH_OK;
    return MHD_YES;
}

/* First call for any path but the built-ins: 401 for a protected path without
 * the right token (before anything else), 400 for a target that cannot be
 * read whole (`bad_target`), 404, 405, or start reading the body.
 * Routes compare the raw target whole: a query, an encoding or a trailing
 * slash makes it another path. */
static enum MHD_Result
s_route_begin (mdf_http_t *self, struct MHD_Connection *conn, s_request_t *req, const char *url,
               const char *method, bool bad_target)
{
    if (mdf_http_auth_covers (&self->auth, req->target)
        || mdf_http_auth_covers (&self->auth, url)) {
        mdf_http_auth_result_t auth = s_authenticate (self, conn);
        if (auth != MDF_HTTP_AUTH_OK) {
            s_note_denied (self, conn, req->target, method, auth);
            return s_request_begin (conn, req, NULL, auth);
        }
    }
    if (bad_target)
        return s_send_error (conn, MHD_HTTP_BAD_REQUEST, "bad request target", NULL);
    char allow[128] = "";
    const s_route_t *match = NULL;
    for (size_t i = 0; i < self->nroutes; i++) {
        const s_route_t *r = &self->routes[i];
        if (strcmp (r->path, req->target) != 0)
            continue;
        if (strcmp (r->method, method) == 0)
            match = r;
        size_t used = strlen (allow);
        snprintf (allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
    }
    if (!*allow)
        return s_send_error (conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
    if (!match)
        return s_send_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", allow);
    return s_request_begin (conn, req, match, MDF_HTTP_AUTH_OK);
}

static void
s_route_collect (s_request_t *req, const char *data, size_t size)
{
    if (req->too_large || req->len + size > MDF_HTTP_BODY_MAX) {
        req->too_large = true;
        return;
    }
    char *grown = realloc (req->body, req->len + size + 1);
    if (!grown) {
        req->too_large = true;
        return;
    }
    req->body = grown;
    memcpy (req->body + req->len, data, size);
    req->len += size;
    req->body[req->len] = '\0';
}

static enum MHD_Result
s_route_finish (struct MHD_Connection *conn, s_request_t *req)
{
    if (req->auth != MDF_HTTP_AUTH_OK)
        return s_send_unauthorized (conn, req->auth);
    if (req->too_large)
        return s_send_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", NULL);
    mdf_http_reply_t reply = { MHD_HTTP_OK, S_JSON_TYPE, NULL };
    req->route->fn (req->route->arg, req->body ? req->body : "", req->len, &reply);
    return s_send_reply (conn, &reply);
}

/* MHD's URI log callback: the request line has arrived and `uri` is the
 * target exactly as sent.  Its copy becomes the request's state (MHD's
 * *con_cls); NULL (out of memory) makes the access handler close the
 * connection. */
static void *
s_uri_log (void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls, (void)conn;
    s_request_t *req = calloc (1, sizeof *req);
    if (!req)
        return NULL;
    const char *raw = uri ? uri : "";
    size_t len = strnlen (raw, MDF_HTTP_TARGET_MAX + 1);
    size_t path_len = strcspn (raw, "?");
    if (path_len > len)
        path_len = len;
    /* one buffer: target, NUL, path, NUL */
    req->target = malloc (2 * len + 2);
    if (!req->target) {
        free (req);
        return NULL;
    }
    memcpy (req->target, raw, len);
    req->target[len] = '\0';
    req->path = req->target + len + 1;
    memcpy (req->path, raw, path_len);
    req->path[path_len] = '\0';
    req->line_pos = len <= MDF_HTTP_TARGET_MAX ? (uintptr_t)uri : 0;
    return req;
}

/* MHD passes the target as a C string, so a NUL byte sent inside it
 * ("POST /control/pause\0junk HTTP/1.1") would cut it short.  In MHD's buffer
 * the version follows the target after one separator: a copied target
 * shorter than that gap held a NUL.  (No version, or a layout not as
 * expected: nothing to compare.) */
static bool
s_target_cut (const s_request_t *req, const char *version)
{
    if (!req->line_pos || !version || !*version)
        return false;
    uintptr_t at = (uintptr_t)version;
    if (at <= req->line_pos || at - req->line_pos > MDF_HTTP_TARGET_MAX + 1)
        return false;
    return at - 1 - req->line_pos != strlen (req->target);
}

/* First call, headers complete: check the target, keep reserved connections
 * for the probes, then the built-ins or the routes. */
static enum MHD_Result
s_dispatch (mdf_http_t *self, struct MHD_Connection *conn, s_request_t *req, const char *url,
            const char *method, const char *version)
{
    mdf_http_conn_t *c = s_conn_of (conn);
    mdf_http_sweep_headers_done (self->sweep, c);
    if (mdf_http_conn_reserved (c) && !s_is_health_path (req->path)) {
        s_drop (self->dropped_busy);
        return s_send (conn, MHD_HTTP_SERVICE_UNAVAILABLE, S_JSON_TYPE,
                       strdup ("{\"error\":\"server busy\"}\n"), MHD_HTTP_HEADER_CONNECTION,
                       "close");
    }
    bool bad = s_target_cut (req, version) || strlen (req->target) > MDF_HTTP_TARGET_MAX;
    if (!bad && s_is_builtin (req->path))
        return s_builtin (self, conn, req->path, method);
    return s_route_begin (self, conn, req, url, method, bad);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    mdf_http_t *self = cls;
    s_request_t *req = *con_cls;
    if (!req)
        return MHD_NO; /* no request state (out of memory): close */
    if (!req->begun) {
        req->begun = true;
        return s_dispatch (self, conn, req, url, method, version);
    }
    if (*upload_data_size) {
        /* A chunked body announces no length: bound what is read here too. */
        req->received += *upload_data_size;
        if (req->received > MDF_HTTP_DRAIN_MAX)
            return MHD_NO;
        if (req->collecting)
            s_route_collect (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!req->collecting)
        return MHD_YES; /* answered on the first call */
    return s_route_finish (conn, req);
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    mdf_http_t *self = cls;
    s_request_t *req = *con_cls;
    if (req) {
        free (req->target);
        free (req->body);
        free (req);
        *con_cls = NULL;
    }
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        mdf_http_sweep_next_request (self->sweep, s_conn_of (conn));
}

static void
s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    mdf_http_t *self = cls;
    uint64_t suppressed = 0;
    if (!mdf_ratelimit_allow (&self->log_limit, &suppressed))
        return;
    char text[512], quoted[600];
    vsnprintf (text, sizeof text, fmt, ap);
    size_t len = strlen (text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    mdf_log (MDF_LOG_WARN, "http server", "detail=%s suppressed=%" PRIu64,
             mdf_log_quote (quoted, sizeof quoted, text), suppressed);
}

/* ---- start / stop ---- */

static int
s_resolve (const char *listen, struct sockaddr_storage *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    int port_n = 0;
    if (mdf_hostport_split (listen, host, sizeof host, &port_n) != 0) {
        snprintf (err, errlen, "%s: bad listen address (expected HOST:PORT or [IPV6]:PORT)",
                  listen);
        return -1;
    }
    snprintf (port, sizeof port, "%d", port_n);
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo (host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf (err, errlen, "%s: %s", listen, rc ? gai_strerror (rc) : "no address");
        return -1;
    }
    memset (addr, 0, sizeof *addr);
    memcpy (addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo (res);
    return 0;
}

/* Bind a throw-away socket the way MHD will, to learn why binding fails. */
static int
s_probe_bind (const char *listen, const struct sockaddr_storage *addr, char *err, size_t errlen)
{
    int v6 = addr->ss_family == AF_INET6;
    int fd = socket (addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf (err, errlen, "%s: %s", listen, strerror (errno));
        return -1;
    }
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (v6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    socklen_t len = v6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
    int rc = bind (fd, (const struct sockaddr *)addr, len);
    if (rc != 0)
        snprintf (err, errlen, "%s: %s", listen, strerror (errno));
    close (fd);
    return rc == 0 ? 0 : -1;
}

static void
s_register_metrics (mdf_http_t *self)
{
    if (!self->metrics)
        return;
    static const char help[]
        = "HTTP connections refused or cut, by reason: headers_timeout, request_timeout (a "
          "deadline passed), limit (per-address or overall connection limit), busy (not a "
          "health probe on a connection kept for probes)";
    const char *name = "mdf_http_connections_dropped_total";
    self->dropped_headers
        = mdf_metrics_counter (self->metrics, name, help, "reason", "headers_timeout", NULL);
    self->dropped_request
        = mdf_metrics_counter (self->metrics, name, help, "reason", "request_timeout", NULL);
    self->dropped_limit = mdf_metrics_counter (self->metrics, name, help, "reason", "limit", NULL);
    self->dropped_busy = mdf_metrics_counter (self->metrics, name, help, "reason", "busy", NULL);
}

int
mdf_http_start (mdf_http_t *self, char *err, size_t errlen)
{
    char scratch[8];
    if (!err || !errlen)
        err = scratch, errlen = sizeof scratch;
    if (!self || self->daemon) {
        snprintf (err, errlen, "http server already started");
        return -1;
    }
    struct sockaddr_storage addr;
    if (s_resolve (self->listen, &addr, err, errlen) != 0
        || s_probe_bind (self->listen, &addr, err, errlen) != 0)
        return -1;
    s_register_metrics (self);
    mdf_http_sweep_counters (self->sweep, self->dropped_headers, self->dropped_request,
                             self->dropped_limit);
    if (mdf_http_sweep_start (self->sweep) != 0) {
        snprintf (err, errlen, "%s: cannot start the HTTP deadline thread", self->listen);
        return -1;
    }
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger must be the first option so every MHD message goes to it. */
    self->daemon = MHD_start_daemon (
        flags, 0, s_accept_policy, self, s_access, self, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log,
        self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)MDF_HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(MDF_HTTP_MAX_CONN + MDF_HTTP_RESERVE + S_MHD_SLACK),
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, self, MHD_OPTION_NOTIFY_CONNECTION,
        s_notify_connection, self, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_END);
    if (!self->daemon) {
        mdf_http_sweep_stop (self->sweep);
        snprintf (err, errlen, "%s: cannot start HTTP server (details in the log)", self->listen);
        return -1;
    }
    const union MHD_DaemonInfo *info
        = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : -1;
    return 0;
}

int
mdf_http_port (const mdf_http_t *self)
{
    return self && self->daemon ? self->port : -1;
}

void
mdf_http_destroy (mdf_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon); /* closes every connection: the list empties */
    mdf_http_sweep_destroy (&self->sweep);
    mdf_http_auth_clear (&self->auth);
    free (self->listen);
    free (self);
    *self_p = NULL;
}
