/*
 * app: md-store's wiring and its health views (app.h).
 *
 * The HTTP thread's views of the store read atomics and thread-safe calls
 * only: the loop's draining flag and beat (server.h), queue snapshots, the
 * workers' health, the subscriber count and the webhook's state.
 */
#include "store/app.h"

#include <czmq.h>
#include <string.h>

#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "store/auth.h"
#include "store/sinkrate.h"
#include "store/health.h"
#include "store/producers.h"
#include "store/publisher.h"
#include "store/queue.h"
#include "store/server.h"
#include "store/stats.h"
#include "store/webhook.h"
#include "store/workers.h"

/* The sink is pinged this often, each ping bounded (readiness, health.h). */
#define APP_SINK_PING_MS 5000
#define APP_SINK_PING_TIMEOUT_MS 3000

struct _store_app_t {
    const store_settings_t *settings;
    mdf_metrics_t *metrics;
    stats_t stats;
    queue_t *queue;
    sinkrate_t *sinkrate;   /* the sink's speed, from the workers */
    producers_t *producers; /* who sent lately */
    workers_t *workers;
    publisher_t *publisher;
    store_auth_t *auth; /* NULL unless security.curve */
    webhook_t *webhook;
    zsock_t *router;
    server_t *server; /* the ingest loop */
    mdf_http_t *http;
};

/* ---- health views ---- */

static void
s_health_view (store_app_t *self, health_view_t *v)
{
    memset (v, 0, sizeof *v);
    v->draining = server_draining (self->server);
    v->loop_ms_ago = server_loop_age_ms (self->server);
    v->level = queue_level (self->queue);
    v->size = queue_size (self->queue);
    v->capacity = self->settings->capacity;
    v->sink_type = self->settings->sink_type;
    workers_health (self->workers, &v->sink);
    v->subscribers = publisher_subscribers (self->publisher);
    v->webhook = webhook_state (self->webhook);
}

static void
s_health (void *arg, mdf_http_reply_t *reply)
{
    health_view_t v;
    s_health_view (arg, &v);
    health_render (&v, reply);
}

static void
s_health_live (void *arg, const char *body, size_t len, mdf_http_reply_t *reply)
{
    (void)body, (void)len;
    health_view_t v;
    s_health_view (arg, &v);
    health_render_live (&v, reply);
}

static void
s_health_ready (void *arg, const char *body, size_t len, mdf_http_reply_t *reply)
{
    (void)body, (void)len;
    health_view_t v;
    s_health_view (arg, &v);
    health_render_ready (&v, reply);
}

/* ---- wiring ---- */

static int
s_build_router (store_app_t *self, char *err, size_t errlen)
{
    const store_settings_t *s = self->settings;
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        snprintf (err, errlen, "cannot create sockets");
        return -1;
    }
    zsock_set_linger (self->router, 1000);
    zsock_set_sndhwm (self->router, 100000);
    zsock_set_maxmsgsize (self->router, (int)s->max_message_bytes);
    if (s->curve) {
        self->auth = store_auth_new (s->secret_key_file, s->authorized_keys_dir, self->metrics, err,
                                     errlen);
        if (!self->auth || store_auth_apply (self->auth, self->router, "ingest", err, errlen) != 0)
            return -1;
    }
    if (zsock_bind (self->router, "%s", s->ingest_endpoint) < 0) {
        snprintf (err, errlen, "ingest.endpoint %s: %s", s->ingest_endpoint,
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

static int
s_build_workers (store_app_t *self, char *err, size_t errlen)
{
    const store_settings_t *s = self->settings;
    workers_config_t wc
        = { { s->sink_type, s->sink_path, s->sink_conninfo, s->sink_table, s->sink_synchronous },
            (int)s->workers,
            s->batch_max,
            s->retry_initial_ms,
            s->retry_max_ms,
            s->breaker_failures,
            s->breaker_cooldown_ms,
            s->max_rows_per_sec,
            APP_SINK_PING_MS,
            APP_SINK_PING_TIMEOUT_MS,
            self->sinkrate };
    self->workers = workers_new (&wc, self->queue, &self->stats, err, errlen);
    return self->workers ? 0 : -1;
}

static int
s_build (store_app_t *self, char *err, size_t errlen)
{
    const store_settings_t *s = self->settings;
    if (s_build_router (self, err, errlen) != 0)
        return -1;
    self->publisher
        = publisher_new (s->feedback_endpoint, s->store_id, s->capacity, (int)s->feedback_sndhwm,
                         &self->stats, self->auth, err, errlen);
    if (!self->publisher)
        return -1;
    self->webhook = webhook_new (s->webhook_enabled, s->webhook_url, s->webhook_timeout_ms,
                                 s->webhook_queue, &self->stats);
    if (!self->webhook) {
        snprintf (err, errlen, "cannot start the webhook thread");
        return -1;
    }
    if (s_build_workers (self, err, errlen) != 0)
        return -1;
    server_parts_t parts = { s,
                             &self->stats,
                             self->queue,
                             self->sinkrate,
                             self->producers,
                             self->workers,
                             self->publisher,
                             self->webhook,
                             self->router };
    self->server = server_new (&parts);
    if (!self->server) {
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    if (*s->http_listen) { /* last: the health callback reads the parts above */
        self->http = mdf_http_new (s->http_listen, self->metrics, s_health, self);
        if (!self->http
            || mdf_http_route (self->http, "GET", "/health/live", s_health_live, self) != 0
            || mdf_http_route (self->http, "GET", "/health/ready", s_health_ready, self) != 0
            || mdf_http_start (self->http, err, errlen) != 0)
            return -1;
    }
    return 0;
}

store_app_t *
store_app_new (const store_settings_t *s, char *err, size_t errlen)
{
    store_app_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->settings = s;
    self->metrics = mdf_metrics_new ();
    self->queue = queue_new (s->capacity, s->low_watermark, s->high_watermark, s->hysteresis);
    self->sinkrate = sinkrate_new (NULL);
    self->producers = producers_new (NULL);
    if (!self->metrics || !self->queue || !self->sinkrate || !self->producers
        || stats_init (&self->stats, self->metrics, s->store_id)) {
        snprintf (err, errlen, "out of memory");
        store_app_destroy (&self);
        return NULL;
    }
    if (s->hysteresis > s->low_watermark)
        mdf_warn ("queue.hysteresis exceeds queue.low_watermark; using low_watermark",
                  "hysteresis=%lld low_watermark=%lld", (long long)s->hysteresis,
                  (long long)s->low_watermark);
    stats_set_queue_limits (&self->stats, s->capacity, s->low_watermark, s->high_watermark);
    stats_set_level (&self->stats, MDF_LEVEL_OK);
    if (s_build (self, err, errlen) != 0) {
        store_app_destroy (&self);
        return NULL;
    }
    mdf_info ("md-store started",
              "id=%s ingest=%s feedback=%s sink=%s workers=%lld "
              "capacity=%lld epoch=%lld",
              s->store_id, s->ingest_endpoint, s->feedback_endpoint, s->sink_type,
              (long long)s->workers, (long long)s->capacity,
              (long long)publisher_epoch (self->publisher));
    return self;
}

int
store_app_run (store_app_t *self, volatile sig_atomic_t *signal_flag)
{
    return server_run (self->server, signal_flag);
}

void
store_app_apply_live (store_app_t *self)
{
    const store_settings_t *s = self->settings;
    mdf_log_level_t level;
    if (mdf_log_level_parse (s->log_level, &level) == 0)
        mdf_log_set_level (level);
    webhook_configure (self->webhook, s->webhook_enabled, s->webhook_url, s->webhook_timeout_ms);
    workers_set_max_rows (self->workers, s->max_rows_per_sec);
    server_apply_live (self->server);
}

int
store_app_drain (store_app_t *self)
{
    return server_drain (self->server);
}

int
store_app_http_port (const store_app_t *self)
{
    return self->http ? mdf_http_port (self->http) : -1;
}

static void
s_free_item (void *item)
{
    work_item_t *it = item;
    work_item_destroy (&it);
}

void
store_app_destroy (store_app_t **self_p)
{
    store_app_t *self = *self_p;
    if (!self)
        return;
    mdf_http_destroy (&self->http); /* first: its views read everything else */
    if (self->workers) {
        workers_abort (self->workers);
        if (self->queue)
            queue_stop (self->queue, false);
        workers_destroy (&self->workers);
    }
    for (queue_answer_t *a = self->queue ? queue_answers_take (self->queue) : NULL, *next; a;
         a = next) {
        next = a->next;
        done_t *done = done_from_answer (a);
        done_destroy (&done);
    }
    server_destroy (&self->server);
    webhook_destroy (&self->webhook, (int)self->settings->webhook_timeout_ms);
    publisher_destroy (&self->publisher);
    store_auth_release (self->router); /* before the auth actor goes (auth.h) */
    zsock_destroy (&self->router);
    store_auth_destroy (&self->auth);
    queue_destroy (&self->queue, s_free_item);
    sinkrate_destroy (&self->sinkrate);
    producers_destroy (&self->producers);
    mdf_metrics_destroy (&self->metrics);
    free (self);
    *self_p = NULL;
}
