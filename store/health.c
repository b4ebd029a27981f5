/*
 * health: render the /health JSON (see health.h).
 */
#include "store/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

/* Copy `text` into buf as JSON string content (quotes and controls escaped). */
static const char *
s_escape (char *buf, size_t size, const char *text)
{
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && j + 7 < size; p++) {
        if (*p == '"' || *p == '\\') {
            buf[j++] = '\\';
            buf[j++] = (char)*p;
        } else if (*p < 0x20)
            j += (size_t)snprintf (buf + j, size - j, "\\u%04x", *p);
        else
            buf[j++] = (char)*p;
    }
    buf[j] = '\0';
    return buf;
}

void
health_render (const health_view_t *v, mdf_http_reply_t *reply)
{
    const char *sink = v->breaker != BREAKER_CLOSED      ? "down"
                       : v->sink_error && *v->sink_error ? "failing"
                                                         : "ok";
    const char *state = v->draining                                   ? "draining"
                        : !strcmp (sink, "down") || !v->workers_alive ? "down"
                                                                      : "ok";
    char err[600];
    s_escape (err, sizeof err, v->sink_error ? v->sink_error : "");
    char *body = NULL;
    if (asprintf (&body,
                  "{\"service\":\"md-store\",\"state\":\"%s\",\"version\":\"%s\","
                  "\"components\":{\"ingest\":{\"state\":\"%s\"},"
                  "\"queue\":{\"state\":\"%s\",\"size\":%lld,\"capacity\":%lld},"
                  "\"sink\":{\"state\":\"%s\",\"type\":\"%s\",\"workers_alive\":%d,"
                  "\"error\":\"%s\"},"
                  "\"feedback\":{\"state\":\"ok\",\"subscribers\":%lld},"
                  "\"webhook\":{\"state\":\"%s\"}}}\n",
                  state, MDF_VERSION, v->draining ? "draining" : "ok", mdf_level_name (v->level),
                  (long long)v->size, (long long)v->capacity, sink, v->sink_type, v->workers_alive,
                  err, (long long)v->subscribers, v->webhook)
        < 0)
        body = NULL;
    reply->status = !strcmp (state, "ok") ? 200 : 503;
    reply->content_type = "application/json";
    reply->body = body;
}
