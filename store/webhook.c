/*
 * webhook: bounded queue + one libcurl thread; see webhook.h.
 *
 * Invariant: the queue holds at most queue_max JSON strings; only the thread
 * calls curl; `lock` guards the queue and the settings.
 */
#include "store/webhook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"

typedef struct msg_t {
    struct msg_t *next;
    char *json;
} msg_t;

struct _webhook_t {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    msg_t *head, *tail;
    size_t queued, queue_max;
    bool busy, stop;
    bool enabled;
    char *url;
    int64_t timeout_ms;
    atomic_int state; /* 0 ok, 1 failing */
    stats_t *stats;
    mdf_ratelimit_t rl;
};

static size_t
s_discard (char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr, (void)arg;
    return size * nmemb;
}

static void
s_post (webhook_t *self, CURL *curl, const char *json)
{
    pthread_mutex_lock (&self->lock);
    char *url = strdup (self->url ? self->url : "");
    long timeout = (long)self->timeout_ms;
    pthread_mutex_unlock (&self->lock);
    struct curl_slist *hdr = curl_slist_append (NULL, "Content-Type: application/json");
    curl_easy_reset (curl);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_discard);
    CURLcode rc = curl_easy_perform (curl);
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    bool ok = rc == CURLE_OK && status >= 200 && status < 300;
    atomic_store (&self->state, ok ? 0 : 1);
    mdf_counter_inc (ok ? self->stats->webhook_ok : self->stats->webhook_error);
    uint64_t suppressed = 0;
    if (!ok && mdf_ratelimit_allow (&self->rl, &suppressed)) {
        char q[512];
        mdf_warn ("webhook POST failed", "url=%s status=%ld error=\"%s\" suppressed=%llu",
                  mdf_log_quote (q, sizeof q, url), status,
                  rc == CURLE_OK ? "answer not 2xx" : curl_easy_strerror (rc),
                  (unsigned long long)suppressed);
    }
    curl_slist_free_all (hdr);
    free (url);
}

static void *
s_thread (void *arg)
{
    webhook_t *self = arg;
    CURL *curl = curl_easy_init ();
    pthread_mutex_lock (&self->lock);
    for (;;) {
        while (!self->head && !self->stop)
            pthread_cond_wait (&self->cond, &self->lock);
        if (!self->head)
            break;
        msg_t *m = self->head;
        self->head = m->next;
        if (!self->head)
            self->tail = NULL;
        self->queued--;
        self->busy = true;
        pthread_mutex_unlock (&self->lock);
        if (curl)
            s_post (self, curl, m->json);
        free (m->json);
        free (m);
        pthread_mutex_lock (&self->lock);
        self->busy = false;
        pthread_cond_broadcast (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    if (curl)
        curl_easy_cleanup (curl);
    return NULL;
}

webhook_t *
webhook_new (bool enabled, const char *url, int64_t timeout_ms, int64_t queue_max, stats_t *stats)
{
    webhook_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    self->queue_max = (size_t)queue_max;
    self->stats = stats;
    self->rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (10000, 3);
    webhook_configure (self, enabled, url, timeout_ms);
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0) {
        free (self->url);
        free (self);
        return NULL;
    }
    return self;
}

void
webhook_configure (webhook_t *self, bool enabled, const char *url, int64_t timeout_ms)
{
    pthread_mutex_lock (&self->lock);
    free (self->url);
    self->url = strdup (url ? url : "");
    self->enabled = enabled;
    self->timeout_ms = timeout_ms;
    pthread_mutex_unlock (&self->lock);
}

static char *
s_json (const webhook_event_t *ev)
{
    char id[MDF_ID_MAX * 6 + 1], reason[MDF_REASON_MAX * 6 + 1];
    mdf_json_escape (id, sizeof id, ev->coordinator_id);
    mdf_json_escape (reason, sizeof reason, ev->reason);
    char *json = NULL;
    if (asprintf (&json,
                  "{\"coordinator_id\":\"%s\",\"epoch\":%lld,\"seq\":%llu,\"level\":\"%s\","
                  "\"previous\":\"%s\",\"queue_size\":%lld,\"capacity\":%lld,"
                  "\"reason\":\"%s\",\"ts\":%.3f}",
                  id, (long long)ev->epoch, (unsigned long long)ev->seq, mdf_level_name (ev->level),
                  mdf_level_name (ev->previous), (long long)ev->queue_size, (long long)ev->capacity,
                  reason, mdf_wall_s ())
        < 0)
        return NULL;
    return json;
}

void
webhook_notify (webhook_t *self, const webhook_event_t *ev)
{
    pthread_mutex_lock (&self->lock);
    bool enabled = self->enabled;
    bool full = self->queued >= self->queue_max;
    pthread_mutex_unlock (&self->lock);
    if (!enabled)
        return;
    msg_t *m = full ? NULL : calloc (1, sizeof *m);
    if (m)
        m->json = s_json (ev);
    if (!m || !m->json) {
        free (m);
        mdf_counter_inc (self->stats->webhook_dropped);
        return;
    }
    pthread_mutex_lock (&self->lock);
    if (self->tail)
        self->tail->next = m;
    else
        self->head = m;
    self->tail = m;
    self->queued++;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

const char *
webhook_state (webhook_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool enabled = self->enabled;
    pthread_mutex_unlock (&self->lock);
    if (!enabled)
        return "disabled";
    return atomic_load (&self->state) ? "failing" : "ok";
}

void
webhook_destroy (webhook_t **self_p, int timeout_ms)
{
    webhook_t *self = *self_p;
    if (!self)
        return;
    struct timespec deadline;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000 + 1;
    pthread_mutex_lock (&self->lock);
    while ((self->head || self->busy)
           && pthread_cond_timedwait (&self->cond, &self->lock, &deadline) == 0)
        ;
    self->stop = true;
    /* what is still queued after the deadline is dropped */
    while (self->head) {
        msg_t *m = self->head;
        self->head = m->next;
        free (m->json);
        free (m);
        mdf_counter_inc (self->stats->webhook_dropped);
    }
    self->tail = NULL;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->cond);
    free (self->url);
    free (self);
    *self_p = NULL;
}
