/*
 * http: GET /metrics, GET /health and a few registered routes on
 * libmicrohttpd's internal polling thread.  See http.h.
 *
 * Design
 *   - The route table is filled before mdf_http_start and read-only after, so
 *     the server thread reads it without a lock.
 *   - Requests are dispatched on MHD's first call for a connection: unknown
 *     paths (404), wrong methods (405 + Allow) and GET /metrics, /health are
 *     answered at once; a registered route gets a small request state that
 *     collects the body (at most MDF_HTTP_BODY_MAX bytes; beyond that the rest
 *     is read and discarded and the answer is 413; a Content-Length above
 *     MDF_HTTP_DRAIN_MAX is refused at once) and the handler runs on the final
 *     call, when MHD has delivered the whole body.
 *   - A slow or idle client cannot hold the server: connections time out after
 *     MDF_HTTP_TIMEOUT_S seconds of inactivity and at most MDF_HTTP_MAX_CONN
 *     are served at once.
 *   - The listen address is parsed and test-bound in mdf_http_start, before
 *     MHD binds, so a failure is reported as "ADDRESS: reason" (MHD itself only
 *     says "NULL").  MHD's own diagnostics go to the log module.
 */
#include "common/http.h"

#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
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
#define MDF_HTTP_TIMEOUT_S 10
#define MDF_HTTP_MAX_CONN 64

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
};

/* One request to a registered route, alive from MHD's first call to its
 * completion callback. */
typedef struct {
    const s_route_t *route;
    char *body;
    size_t len;
    bool too_large;
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

/* ---- responses ---- */

/* Queue a response; takes ownership of `body` (malloc'd or NULL). */
static enum MHD_Result
s_send (struct MHD_Connection *conn, int status, const char *content_type, char *body,
        const char *allow)
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
    if (allow)
        MHD_add_response_header (resp, MHD_HTTP_HEADER_ALLOW, allow);
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
    return s_send (conn, status, S_JSON_TYPE, strdup (text), allow);
}

static enum MHD_Result
s_send_reply (struct MHD_Connection *conn, mdf_http_reply_t *reply)
{
    return s_send (conn, reply->status, reply->content_type, reply->body, NULL);
}

/* ---- dispatch ---- */

static bool
s_is_get (const char *method)
{
    return strcmp (method, MHD_HTTP_METHOD_GET) == 0 || strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result
s_builtin (mdf_http_t *self, struct MHD_Connection *conn, const char *url, const char *method)
{
    if (!s_is_get (method))
        return s_send_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "GET, HEAD");
    if (strcmp (url, "/metrics") == 0) {
        char *text = self->metrics ? mdf_metrics_render (self->metrics) : strdup ("");
        if (!text)
            return s_send_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
        return s_send (conn, MHD_HTTP_OK, S_METRICS_TYPE, text, NULL);
    }
    mdf_http_reply_t reply = { MHD_HTTP_OK, S_JSON_TYPE, NULL };
    if (self->health)
        self->health (self->health_arg, &reply);
    else
        reply.body = strdup ("{\"state\":\"ok\"}\n");
    return s_send_reply (conn, &reply);
}

/* First call for a registered path: 405, 413 by Content-Length, or start
 * collecting the body. */
static enum MHD_Result
s_route_begin (mdf_http_t *self, struct MHD_Connection *conn, const char *url, const char *method,
               void **con_cls)
{
    char allow[128] = "";
    const s_route_t *match = NULL;
    for (size_t i = 0; i < self->nroutes; i++) {
        const s_route_t *r = &self->routes[i];
        if (strcmp (r->path, url) != 0)
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
    const char *length
        = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long announced = length ? strtoull (length, NULL, 10) : 0;
    if (announced > MDF_HTTP_DRAIN_MAX)
        return s_send_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", NULL);
    s_request_t *req = calloc (1, sizeof *req);
    if (!req)
        return MHD_NO;
    req->route = match;
    req->too_large = announced > MDF_HTTP_BODY_MAX;
    *con_cls = req;
    return MHD_YES;
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
    if (req->too_large)
        return s_send_error (conn, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", NULL);
    mdf_http_reply_t reply = { MHD_HTTP_OK, S_JSON_TYPE, NULL };
    req->route->fn (req->route->arg, req->body ? req->body : "", req->len, &reply);
    return s_send_reply (conn, &reply);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    mdf_http_t *self = cls;
    s_request_t *req = *con_cls;
    if (!req) {
        if (strcmp (url, "/metrics") == 0 || strcmp (url, "/health") == 0)
            return s_builtin (self, conn, url, method);
        return s_route_begin (self, conn, url, method, con_cls);
    }
    if (*upload_data_size) {
        s_route_collect (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s_route_finish (conn, req);
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    s_request_t *req = *con_cls;
    if (req) {
        free (req->body);
        free (req);
        *con_cls = NULL;
    }
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

/* "HOST:PORT" or "[V6]:PORT" into host and port strings. */
static int
s_split_listen (const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *hbeg = listen, *hend;
    if (*listen == '[') {
        hbeg = listen + 1;
        hend = strchr (hbeg, ']');
        if (!hend || hend[1] != ':')
            return -1;
        colon = hend + 1;
    } else {
        colon = strrchr (listen, ':');
        if (!colon || memchr (listen, ':', (size_t)(colon - listen)))
            return -1;
        hend = colon;
    }
    size_t hn = (size_t)(hend - hbeg);
    const char *p = colon + 1;
    if (hn == 0 || hn >= hostlen || !*p || strlen (p) >= portlen
        || strspn (p, "0123456789") != strlen (p) || strtol (p, NULL, 10) > 65535)
        return -1;
    memcpy (host, hbeg, hn);
    host[hn] = '\0';
    snprintf (port, portlen, "%s", p);
    return 0;
}

static int
s_resolve (const char *listen, struct sockaddr_storage *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    if (s_split_listen (listen, host, sizeof host, port, sizeof port) != 0) {
        snprintf (err, errlen, "%s: bad listen address (expected HOST:PORT or [IPV6]:PORT)",
                  listen);
        return -1;
    }
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
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger must be the first option so every MHD message goes to it. */
    self->daemon
        = MHD_start_daemon (flags, 0, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER,
                            s_mhd_log, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MDF_HTTP_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MDF_HTTP_MAX_CONN,
                            MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!self->daemon) {
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
        MHD_stop_daemon (self->daemon);
    free (self->listen);
    free (self);
    *self_p = NULL;
}
