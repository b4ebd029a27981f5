/*
 * app: wiring, HTTP handlers, reload.  See app.h.
 *
 * HTTP handlers run on the server's thread and only call thread-safe
 * functions (coordinator, policy, listener_set_failsafe, snapshots).
 * `reload_lock` serialises reloads from SIGHUP and HTTP.
 *
 * With a control token (http.control_token or http.control_token_file) the
 * server answers 401 to any /control/ request without "Authorization: Bearer
 * TOKEN" before its handler or body (common/http.c), counting the refusals in
 * mdp_http_unauthorized_total.  Without one, /control/ is open: fine on
 * loopback, warned about at start-up on any other address.
 *
 * GET /health/live: 200 while the sender's and the listener's loops turn
 * (each does at least every 100 ms), 503 "wedged" once either has not for
 * APP_WEDGED_MS: a restart is then the cure.  The server starts last, once
 * every part runs; a stopping pipeline is still live, it is draining.
 * GET /health/ready: 200 until the pipeline starts stopping, or while a live
 * provider's journal has a disk error (its ticks cannot be kept), then 503.
 * GET /health is the summary, with both facts and the journals' state (a
 * full or failing journal makes it "degraded").
 */
#include "pipeline/app.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hostport.h"
#include "common/http.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"
#include "pipeline/coordinator.h"
#include "pipeline/discover.h"
#include "pipeline/listener.h"
#include "pipeline/policy.h"
#include "pipeline/provider.h"
#include "pipeline/sender.h"

/* A loop that has not turned for this long is wedged (/health/live). */
#define APP_WEDGED_MS 10000

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

struct _app_t {
    settings_t s;
    char *config_path;
    mdf_metrics_t *metrics;
    coordinator_t *coord;
    policy_t *policy;
    sender_t *sender;
    listener_t *listener;
    roster_t *roster;
    discover_t *discover;
    mdf_gauge_t *scale_g[COORDINATOR_MAX_PROVIDERS], *state_g[COORDINATOR_MAX_PROVIDERS];
    provider_t **providers;
    mdf_http_t *http;
    pthread_mutex_t reload_lock;
    atomic_int stopping;
    mdf_gauge_t *paused_g;
};

static void
s_apply_log_level (const settings_t *s)
{
    mdf_log_level_t l;
    if (mdf_log_level_parse (s->log_level, &l) == 0)
        mdf_log_set_level (l);
}

/* ---- HTTP ------------------------------------------------------------- */

static void s_reply (mdf_http_reply_t *r, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_reply (mdf_http_reply_t *r, int status, const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    va_start (ap, fmt);
    if (vasprintf (&body, fmt, ap) < 0)
        body = NULL;
    va_end (ap);
    r->status = status;
    r->content_type = "application/json";
    r->body = body;
}

static void
s_pause (void *arg, const char *body, size_t len, mdf_http_reply_t *r)
{
    (void)body;
    (void)len;
    app_t *self = arg;
    /* Wait (bounded) for bars already paid for to reach the sender, so that
     * once this returns nothing more is taken in. */
    if (coordinator_pause (self->coord, true, 2000) < 0)
        mdf_warn ("paused, but a provider is still blocked on a full send window", NULL);
    if (self->paused_g)
        mdf_gauge_set (self->paused_g, 1);
    mdf_info ("paused", NULL);
    s_reply (r, 200, "{\"paused\":true}");
}

static void
s_resume (void *arg, const char *body, size_t len, mdf_http_reply_t *r)
{
    (void)body;
    (void)len;
    app_t *self = arg;
    coordinator_pause (self->coord, false, 0);
    if (self->paused_g)
        mdf_gauge_set (self->paused_g, 0);
    mdf_info ("resumed", NULL);
    s_reply (r, 200, "{\"paused\":false}");
}

static void
s_reload_http (void *arg, const char *body, size_t len, mdf_http_reply_t *r)
{
    (void)body;
    (void)len;
    char err[512], esc[sizeof err * 6]; /* every byte a \u00XX at worst */
    if (app_reload (arg, err, sizeof err) == 0)
        s_reply (r, 200, "{\"reloaded\":true}");
    else
        s_reply (r, 400, "{\"reloaded\":false,\"error\":\"%s\"}",
                 mdf_json_escape (esc, sizeof esc, err));
}

/* The part whose loop is wedged ("sender", "listener"), or NULL. */
static const char *
s_wedged (app_t *self, int64_t *age_ms)
{
    *age_ms = sender_loop_ms_ago (self->sender);
    if (*age_ms >= APP_WEDGED_MS)
        return "sender";
    *age_ms = self->listener ? listener_loop_ms_ago (self->listener) : 0;
    return *age_ms >= APP_WEDGED_MS ? "listener" : NULL;
}

/* The journals' summary: "off" (no live provider journals), "ok", "full"
 * or "error" (the worst), and the JSON object /health shows. */
static const char *
s_journal (app_t *self, char *json, size_t size)
{
    int worst = 0; /* off, ok, full, error */
    static const char *const names[] = { "off", "ok", "full", "error" };
    char per[600] = "", error[400] = "", esc[400 * 6];
    size_t o = 0;
    for (size_t i = 0; i < self->s.nproviders; i++) {
        char e[256];
        const char *st
            = self->providers[i] ? provider_journal_state (self->providers[i], e, sizeof e) : "off";
        int rank = 0;
        for (int k = 0; k < 4; k++)
            if (strcmp (st, names[k]) == 0)
                rank = k;
        if (rank == 0)
            continue;
        if (rank == 3 && !error[0])
            snprintf (error, sizeof error, "%s: %s", self->s.providers[i].name, e);
        worst = rank > worst ? rank : worst;
        o += (size_t)snprintf (per + o, o < sizeof per ? sizeof per - o : 0, ",\"%s\":\"%s\"",
                               self->s.providers[i].name, st);
        if (o >= sizeof per)
            o = sizeof per - 1;
    }
    snprintf (json, size, "{\"state\":\"%s\"%s%s%s%s}", names[worst], per,
              error[0] ? ",\"error\":\"" : "",
              error[0] ? mdf_json_escape (esc, sizeof esc, error) : "", error[0] ? "\"" : "");
    return names[worst];
}

static void
s_health (void *arg, mdf_http_reply_t *r)
{
    app_t *self = arg;
    char prov[4096] = "";
    size_t o = 0;
    bool prov_ok = true;
    for (size_t i = 0; i < self->s.nproviders; i++) {
        const char *st = self->providers[i] ? provider_state (self->providers[i]) : "starting";
        prov_ok = prov_ok && (strcmp (st, "running") == 0 || strcmp (st, "done") == 0);
        o += (size_t)snprintf (prov + o, o < sizeof prov ? sizeof prov - o : 0, ",\"%s\":\"%s\"",
                               self->s.providers[i].name, st);
        if (o >= sizeof prov)
            o = sizeof prov - 1;
    }
    char jr[1024];
    const char *jstate = s_journal (self, jr, sizeof jr);
    bool j_ok = strcmp (jstate, "ok") == 0 || strcmp (jstate, "off") == 0;
    char fb[256];
    bool fb_ok = true;
    if (self->listener) {
        listener_status_t f;
        listener_status (self->listener, &f);
        fb_ok = !f.failsafe;
        snprintf (fb, sizeof fb,
                  "{\"state\":\"%s\",\"level\":\"%s\",\"stores\":{\"live\":%d,"
                  "\"stale\":%d,\"leaving\":%d,\"candidate\":%d},\"events\":%llu}",
                  f.failsafe ? "failsafe" : "ok", mdf_level_name ((mdf_level_t)f.level), f.live,
                  f.stale, f.leaving, f.candidate, (unsigned long long)f.events);
    } else {
        snprintf (fb, sizeof fb, "{\"state\":\"disabled\"}");
    }
    size_t inflight = sender_inflight (self->sender);
    int64_t oldest = sender_oldest_ms (self->sender);
    int64_t loop_ms = sender_loop_ms_ago (self->sender), wedged_ms;
    const char *wedged = s_wedged (self, &wedged_ms);
    bool snd_ok = oldest <= self->s.ack_timeout_ms;
    bool stopping = atomic_load (&self->stopping) != 0;
    const char *state = wedged                                 ? "wedged"
                        : stopping                             ? "stopping"
                        : (prov_ok && fb_ok && snd_ok && j_ok) ? "ok"
                                                               : "degraded";
    char *body = NULL;
    if (asprintf (&body,
                  "{\"service\":\"md-pipeline\",\"state\":\"%s\",\"version\":\"%s\",\"pid\":%d,"
                  "\"live\":%s,\"ready\":%s,"
                  "\"paused\":%s,\"components\":{"
                  "\"providers\":{\"state\":\"%s\"%s},\"journal\":%s,\"feedback\":%s,"
                  "\"sender\":{\"state\":\"%s\",\"inflight\":%zu,\"oldest_ms\":%lld,"
                  "\"loop_ms_ago\":%lld}}}",
                  state, MDF_VERSION, (int)getpid (), wedged ? "false" : "true",
                  stopping ? "false" : "true", coordinator_paused (self->coord) ? "true" : "false",
                  prov_ok ? "ok" : "degraded", prov, jr, fb,
                  loop_ms >= APP_WEDGED_MS ? "wedged"
                  : snd_ok                 ? "ok"
                                           : "stalled",
                  inflight, (long long)oldest, (long long)loop_ms)
        < 0)
        body = NULL;
    r->status = stopping || wedged ? 503 : 200;
    r->content_type = "application/json";
    r->body = body;
}

static void
s_health_live (void *arg, const char *body, size_t len, mdf_http_reply_t *r)
{
    (void)body, (void)len;
    int64_t age_ms;
    const char *wedged = s_wedged (arg, &age_ms);
    if (wedged)
        s_reply (r, 503,
                 "{\"service\":\"md-pipeline\",\"live\":false,\"reason\":\"%s wedged\","
                 "\"loop_ms_ago\":%lld}\n",
                 wedged, (long long)age_ms);
    else
        s_reply (r, 200, "{\"service\":\"md-pipeline\",\"live\":true}\n");
}

static void
s_health_ready (void *arg, const char *body, size_t len, mdf_http_reply_t *r)
{
    (void)body, (void)len;
    app_t *self = arg;
    char jr[1024];
    if (atomic_load (&self->stopping))
        s_reply (r, 503, "{\"service\":\"md-pipeline\",\"ready\":false,\"reason\":\"%s\"}\n",
                 "stopping");
    else if (strcmp (s_journal (self, jr, sizeof jr), "error") == 0)
        s_reply (r, 503,
                 "{\"service\":\"md-pipeline\",\"ready\":false,\"reason\":\"journal error\","
                 "\"journal\":%s}\n",
                 jr);
    else
        s_reply (r, 200, "{\"service\":\"md-pipeline\",\"ready\":true}\n");
}

/* ---- construction ----------------------------------------------------- */

/* Routes, the /control/ token, then start serving. */
static int
s_start_http (app_t *self, char *err, size_t errlen)
{
    const settings_t *s = &self->s;
    self->http = mdf_http_new (s->http_listen, self->metrics, s_health, self);
    if (!self->http)
        return -1;
    mdf_counter_t *denied = mdf_metrics_counter (
        self->metrics, "mdp_http_unauthorized_total",
        "Requests to /control/ refused with 401 (bearer token missing or wrong)", NULL);
    if (mdf_http_route (self->http, "GET", "/health/live", s_health_live, self) < 0
        || mdf_http_route (self->http, "GET", "/health/ready", s_health_ready, self) < 0
        || mdf_http_route (self->http, "POST", "/control/pause", s_pause, self) < 0
        || mdf_http_route (self->http, "POST", "/control/resume", s_resume, self) < 0
        || mdf_http_route (self->http, "POST", "/control/reload", s_reload_http, self) < 0)
        return -1;
    if (*s->control_token) {
        if (mdf_http_protect (self->http, "/control/", s->control_token, denied) < 0) {
            snprintf (err, errlen, "http: cannot protect /control/ with the token");
            return -1;
        }
    } else if (!mdf_hostport_is_loopback (s->http_listen)) {
        mdf_warn ("POST /control/* is open to anyone who can reach http.listen: set "
                  "http.control_token or http.control_token_file",
                  "listen=%s", s->http_listen);
    }
    return mdf_http_start (self->http, err, errlen);
}

/* The stores: the [store] lists now, or discovery later (s_start). */
static int
s_start_stores (app_t *self, char *err, size_t errlen)
{
    const settings_t *s = &self->s;
    mdf_clock_t clock = mdf_clock_system ();
    members_t *m = members_new (s->stale_after_ms * 1000000, s->forget_after_ms * 1000000,
                                (mdf_level_t)s->policy.failsafe, s->fb_enabled, &clock);
    self->roster = m ? roster_new (m) : NULL;
    if (!self->roster) {
        members_destroy (&m);
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    if (*s->discover)
        return 0;
    if (roster_set (self->roster, (const char *const *)s->ingest.items,
                    s->fb_enabled ? (const char *const *)s->feedback.items : NULL, s->ingest.count)
        < 0) {
        snprintf (err, errlen, "store.ingest: more than %d stores", MEMBERS_MAX);
        return -1;
    }
    return 0;
}

static int
s_start_sender (app_t *self, const char **names, char *err, size_t errlen)
{
    const settings_t *s = &self->s;
    bool live[COORDINATOR_MAX_PROVIDERS] = { false };
    for (size_t i = 0; i < s->nproviders; i++)
        live[i] = settings_provider_is_live (&s->providers[i]);
    sender_config_t sc = {
        .producer_id = s->id,
        .roster = self->roster,
        .providers = names,
        .nproviders = s->nproviders,
        .live = live,
        .batch_max = (size_t)s->batch_max,
        .linger_ms = s->linger_ms,
        .max_inflight = (size_t)s->max_inflight,
        .ack_timeout_ms = s->ack_timeout_ms,
        .retry_backoff_ms = s->retry_backoff_ms,
        .retry_backoff_max_ms = s->retry_backoff_max_ms,
        .metrics = self->metrics,
        .curve = &s->curve,
    };
    self->sender = sender_new (&sc, err, errlen);
    return self->sender ? 0 : -1;
}

/* Bars the live providers have handed to the sender so far. */
static uint64_t
s_live_bars (void *arg)
{
    app_t *self = arg;
    uint64_t n = 0;
    for (size_t i = 0; i < self->s.nproviders; i++)
        if (settings_provider_is_live (&self->s.providers[i]))
            n += sender_ingested (self->sender, i);
    return n;
}

static int
s_start_listener (app_t *self, char *err, size_t errlen)
{
    const settings_t *s = &self->s;
    size_t driven[COORDINATOR_MAX_PROVIDERS], nd = 0;
    for (size_t i = 0; i < s->nproviders; i++) {
        if (settings_provider_is_live (&s->providers[i]))
            continue; /* the market paces it, not a bucket */
        bool drive = s->fb_providers.count == 0;
        for (size_t k = 0; k < s->fb_providers.count; k++)
            drive = drive || strcmp (s->fb_providers.items[k], s->providers[i].name) == 0;
        if (drive)
            driven[nd++] = i;
    }
    if (!s->fb_enabled)
        return 0;
    /* driven providers earn their first tokens at the rate the policy gives
     * (no bucket's worth of burst into a store not heard yet: with ten
     * pipelines starting together that alone is a whole queue) */
    for (size_t k = 0; k < nd; k++)
        coordinator_empty (self->coord, driven[k]);
    listener_config_t fc = {
        .producer_id = s->id,
        .curve = &s->curve,
        .roster = self->roster,
        .driven = driven,
        .ndriven = nd,
        .coord = self->coord,
        .policy = self->policy,
        .metrics = self->metrics,
        .scale_g = self->scale_g,
        .state_g = self->state_g,
        .live_bars = s_live_bars,
        .live_arg = self,
    };
    self->listener = listener_new (&fc, err, errlen);
    return self->listener ? 0 : -1;
}

static int
s_start_core (app_t *self, char *err, size_t errlen)
{
    settings_t *s = &self->s;
    self->metrics = mdf_metrics_new ();
    self->coord = coordinator_new (NULL);
    self->policy = policy_new (s->policy_name, &s->policy, err, errlen);
    self->providers = calloc (s->nproviders, sizeof *self->providers);
    if (!self->metrics || !self->coord || !self->policy || !self->providers)
        return -1;
    self->paused_g = mdf_metrics_gauge (self->metrics, "mdp_paused",
                                        "1 while POST /control/pause holds the providers", NULL);
    for (size_t i = 0; i < s->nproviders; i++) {
        const provider_settings_t *p = &s->providers[i];
        coordinator_provider_t cp = { p->name,        (double)p->capacity,  p->refill_rate,
                                      p->cooldown_ms, p->breaker_threshold, p->breaker_timeout_ms };
        if (coordinator_add (self->coord, &cp) < 0) {
            snprintf (err, errlen, "provider %s: bad bucket settings", p->name);
            return -1;
        }
        /* registered once here for every provider; the listener sets
         * those it drives */
        self->scale_g[i]
            = mdf_metrics_gauge (self->metrics, "pipeline_rate_scale_factor",
                                 "Token bucket scale in [0, 1]", "provider", p->name, NULL);
        self->state_g[i] = mdf_metrics_gauge (
            self->metrics, "pipeline_backpressure_state",
            "Worst level among the stores driving the provider: 0 ok, 1 soft, 2 hard", "provider",
            p->name, NULL);
        if (self->scale_g[i])
            mdf_gauge_set (self->scale_g[i], 1.0);
        if (self->state_g[i])
            mdf_gauge_set (self->state_g[i], 0);
    }
    return 0;
}

static int
s_start (app_t *self, char *err, size_t errlen)
{
    settings_t *s = &self->s;
    if (s_start_core (self, err, errlen) < 0)
        return -1;
    const char *names[COORDINATOR_MAX_PROVIDERS];
    for (size_t i = 0; i < s->nproviders; i++)
        names[i] = s->providers[i].name;
    if (s_start_stores (self, err, errlen) < 0 || s_start_sender (self, names, err, errlen) < 0
        || s_start_listener (self, err, errlen) < 0)
        return -1;
    if (*s->discover) {
        self->discover = discover_new (s->discover, (int)s->discover_ingest_port,
                                       (int)s->discover_feedback_port, s->discover_interval_ms,
                                       self->roster, self->metrics);
        if (!self->discover) {
            snprintf (err, errlen, "cannot start store discovery");
            return -1;
        }
    }
    for (size_t i = 0; i < s->nproviders; i++) {
        self->providers[i] = provider_new (&s->providers[i], i, self->coord, self->sender,
                                           self->metrics, &s->journal, err, errlen);
        if (!self->providers[i])
            return -1;
    }
    /* Last, so handlers only ever see a complete app. */
    return s_start_http (self, err, errlen);
}

app_t *
app_new (settings_t *settings, const char *config_path, char *err, size_t errlen)
{
    app_t *self = calloc (1, sizeof *self);
    if (!self) {
        settings_free (settings);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->s = *settings;
    memset (settings, 0, sizeof *settings);
    self->config_path = config_path ? strdup (config_path) : NULL;
    pthread_mutex_init (&self->reload_lock, NULL);
    s_apply_log_level (&self->s);
    snprintf (err, errlen, "out of memory");
    if (s_start (self, err, errlen) < 0) {
        app_stop (self);
        app_destroy (&self);
        return NULL;
    }
    mdf_info ("md-pipeline started", "id=%s providers=%zu http=%s control=%s", self->s.id,
              self->s.nproviders, self->s.http_listen, *self->s.control_token ? "token" : "open");
    return self;
}

/* ---- reload and stop -------------------------------------------------- */

/* mdf_cfg_reload's apply: the LIVE keys are in self->s now; hand them to the
 * parts that use them. */
static void
s_apply_live (void *arg, const void *running, const mdf_cfg_changes_t *changes)
{
    app_t *self = arg;
    const settings_t *s = running;
    (void)changes;
    s_apply_log_level (s);
    char err[256];
    if (policy_update (self->policy, s->policy_name, &s->policy, err, sizeof err) < 0)
        mdf_warn ("reload: policy not changed", "error=%s", err);
    if (self->listener)
        listener_set_failsafe (self->listener, (mdf_level_t)s->policy.failsafe, s->stale_after_ms);
    for (size_t i = 0; i < s->nproviders; i++)
        coordinator_set_refill_rate (self->coord, i, s->providers[i].refill_rate);
}

int
app_reload (app_t *self, char *err, size_t errlen)
{
    mdf_cfg_reloader_t r = { &pipeline_schema,  sizeof (settings_t), settings_load_cfg,
                             settings_free_any, s_apply_live,        self };
    pthread_mutex_lock (&self->reload_lock);
    int rc = mdf_cfg_reload (&r, self->config_path, &self->s, NULL, err, errlen);
    pthread_mutex_unlock (&self->reload_lock);
    return rc;
}

int
app_stop (app_t *self)
{
    atomic_store (&self->stopping, 1);
    /* live providers close their open bars into the sender while it still
     * takes input (bounded: a store that takes nothing cannot hold the stop) */
    for (size_t i = 0; self->providers && i < self->s.nproviders; i++)
        provider_stop (self->providers[i]);
    if (self->coord)
        coordinator_shutdown (self->coord);
    int64_t end = mdf_mono_ns () + self->s.drain_timeout_ms * 1000000;
    for (size_t i = 0; self->providers && i < self->s.nproviders; i++) {
        int64_t left = (end - mdf_mono_ns ()) / 1000000;
        if (!provider_wait (self->providers[i], left > 0 ? left : 0))
            mdf_error ("stopping before a live provider handed on its open bars", "provider=%s",
                       self->s.providers[i].name);
    }
    if (self->sender)
        sender_close_input (self->sender);
    /* goodbye: the stores give this pipeline's share to the others now, not
     * once its last acks came */
    listener_goodbye (self->listener);
    for (size_t i = 0; self->providers && i < self->s.nproviders; i++)
        provider_join (self->providers[i]);
    int rc = 0;
    if (self->sender) {
        rc = sender_drain (self->sender, self->s.drain_timeout_ms);
        if (rc < 0)
            mdf_error ("stopping with unacked batches: their bars may not be stored",
                       "batches=%zu bars=%zu drain_timeout_ms=%lld", sender_inflight (self->sender),
                       sender_unacked_bars (self->sender), (long long)self->s.drain_timeout_ms);
    }
    return rc;
}

void
app_destroy (app_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    app_t *self = *self_p;
    mdf_http_destroy (&self->http);
    for (size_t i = 0; self->providers && i < self->s.nproviders; i++)
        provider_destroy (&self->providers[i]);
    discover_destroy (&self->discover);
    listener_destroy (&self->listener);
    sender_destroy (&self->sender);
    roster_destroy (&self->roster);
    policy_destroy (&self->policy);
    coordinator_destroy (&self->coord);
    mdf_metrics_destroy (&self->metrics);
    free (self->providers);
    free (self->config_path);
    settings_free (&self->s);
    pthread_mutex_destroy (&self->reload_lock);
    free (self);
    *self_p = NULL;
}
