/*
 * health: render the /health, /health/live and /health/ready JSON (see
 * health.h).
 */
#include "store/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

static bool
s_live (const health_view_t *v)
{
    return v->loop_ms_ago < HEALTH_WEDGED_MS;
}

static const char *
s_sink_state (const workers_health_t *s)
{
    return s->breaker != BREAKER_CLOSED ? "down"
           : s->failing_writes > 0      ? "failing"
           : !s->checked                ? "starting"
           : !s->reachable              ? "unreachable"
                                        : "ok";
}

const char *
health_not_ready (const health_view_t *v)
{
    if (v->draining)
        return "draining";
    if (!v->sink.alive)
        return "no_worker";
    const char *sink = s_sink_state (&v->sink);
    return !strcmp (sink, "down")          ? "sink_down"
           : !strcmp (sink, "failing")     ? "sink_failing"
           : !strcmp (sink, "starting")    ? "sink_starting"
           : !strcmp (sink, "unreachable") ? "sink_unreachable"
                                           : NULL;
}

static void
s_reply (mdf_http_reply_t *reply, bool ok, char *body)
{
    reply->status = ok ? 200 : 503;
    reply->content_type = "application/json";
    reply->body = body;
}

void
health_render (const health_view_t *v, mdf_http_reply_t *reply)
{
    const workers_health_t *s = &v->sink;
    const char *sink = s_sink_state (s);
    const char *reason = health_not_ready (v);
    bool live = s_live (v);
    const char *state = v->draining                  ? "draining"
                        : !live                      ? "wedged"
                        : !strcmp (sink, "starting") ? "starting"
                        : reason                     ? "down"
                                                     : "ok";
    const char *breaker = breaker_state_name (s->breaker);
    char err[600];
    mdf_json_escape (err, sizeof err, s->error);
    char *body = NULL;
    if (asprintf (&body,
                  "{\"service\":\"md-store\",\"state\":\"%s\",\"version\":\"%s\",\"pid\":%d,"
                  "\"live\":%s,\"ready\":%s,\"reason\":\"%s\","
                  "\"components\":{\"ingest\":{\"state\":\"%s\",\"loop_ms_ago\":%lld},"
                  "\"queue\":{\"state\":\"%s\",\"size\":%lld,\"capacity\":%lld},"
                  "\"sink\":{\"state\":\"%s\",\"type\":\"%s\",\"reachable\":%s,"
                  "\"last_ok_ms_ago\":%lld,\"breaker\":\"%s\",\"failing_writes\":%d,"
                  "\"workers_alive\":%d,\"error\":\"%s\"},"
                  "\"feedback\":{\"state\":\"ok\",\"subscribers\":%lld},"
                  "\"webhook\":{\"state\":\"%s\"}}}\n",
                  state, MDF_VERSION, (int)getpid (), live ? "true" : "false",
                  reason ? "false" : "true", reason ? reason : "",
                  v->draining ? "draining"
                  : live      ? "ok"
                              : "wedged",
                  (long long)v->loop_ms_ago, mdf_level_name (v->level), (long long)v->size,
                  (long long)v->capacity, sink, v->sink_type, s->reachable ? "true" : "false",
                  (long long)s->last_ok_ms_ago, breaker, s->failing_writes, s->alive, err,
                  (long long)v->subscribers, v->webhook)
        < 0)
        body = NULL;
    s_reply (reply, !strcmp (state, "ok"), body);
}

void
health_render_live (const health_view_t *v, mdf_http_reply_t *reply)
{
    bool live = s_live (v);
    char *body = NULL;
    if (asprintf (&body, "{\"service\":\"md-store\",\"live\":%s,\"loop_ms_ago\":%lld}\n",
                  live ? "true" : "false", (long long)v->loop_ms_ago)
        < 0)
        body = NULL;
    s_reply (reply, live, body);
}

void
health_render_ready (const health_view_t *v, mdf_http_reply_t *reply)
{
    const char *reason = health_not_ready (v);
    char err[600];
    mdf_json_escape (err, sizeof err, reason ? v->sink.error : "");
    char *body = NULL;
    int rc = reason ? asprintf (&body,
                                "{\"service\":\"md-store\",\"ready\":false,\"reason\":\"%s\","
                                "\"error\":\"%s\"}\n",
                                reason, err)
                    : asprintf (&body, "{\"service\":\"md-store\",\"ready\":true}\n");
    if (rc < 0)
        body = NULL;
    s_reply (reply, !reason, body);
}
