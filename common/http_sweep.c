/*
 * http_sweep: see http_sweep.h.
 */
#include "common/http_sweep.h"

#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/cond.h"
#include "common/http.h"
#include "common/log.h"

typedef enum { S_PHASE_HEADERS, S_PHASE_REQUEST } s_phase_t;

/* One TCP connection, from MHD's "started" notification to "closed". */
struct _mdf_http_conn_t {
    mdf_http_conn_t *prev, *next;
    int fd;
    char remote[64]; /* numeric client address, for the log and the limit */
    bool reserved;   /* accepted beyond MDF_HTTP_MAX_CONN: health probes only */
    s_phase_t phase;
    int64_t deadline_ns; /* for the current phase */
    int64_t request_start_ns;
    bool cut; /* shut down by the sweeper */
};

struct _mdf_http_sweep_t {
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;
    mdf_http_conn_t *conns;
    size_t nconns;
    int64_t sweep_at_ns; /* when the sweeper looks next (INT64_MAX: idle) */
    bool stop;
    bool running;
    pthread_t thread;
    mdf_ratelimit_t cut_limit, refuse_limit;
    mdf_counter_t *headers_timeout, *request_timeout, *limit;
};

static void
s_count (mdf_counter_t *counter)
{
    if (counter)
        mdf_counter_inc (counter);
}

mdf_http_sweep_t *
mdf_http_sweep_new (void)
{
    mdf_http_sweep_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->sweep_at_ns = INT64_MAX;
    mdf_ratelimit_init (&self->cut_limit, 10000, 1);
    mdf_ratelimit_init (&self->refuse_limit, 10000, 1);
    if (pthread_mutex_init (&self->lock, NULL) != 0) {
        free (self);
        return NULL;
    }
    if (mdf_cond_init_monotonic (&self->cond) != 0) {
        pthread_mutex_destroy (&self->lock);
        free (self);
        return NULL;
    }
    return self;
}

void
mdf_http_sweep_counters (mdf_http_sweep_t *self, mdf_counter_t *headers_timeout,
                         mdf_counter_t *request_timeout, mdf_counter_t *limit)
{
    self->headers_timeout = headers_timeout;
    self->request_timeout = request_timeout;
    self->limit = limit;
}

/* ---- limits ---- */

bool
mdf_http_sweep_admit (mdf_http_sweep_t *self, const struct sockaddr *addr, socklen_t len)
{
    char remote[64] = "?";
    if (!addr || getnameinfo (addr, len, remote, sizeof remote, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf (remote, sizeof remote, "?");
    pthread_mutex_lock (&self->lock);
    size_t same = 0;
    for (const mdf_http_conn_t *c = self->conns; c; c = c->next)
        same += !strcmp (c->remote, remote);
    bool full = self->nconns >= MDF_HTTP_MAX_CONN + MDF_HTTP_RESERVE;
    bool admit = !full && same < MDF_HTTP_PER_IP;
    pthread_mutex_unlock (&self->lock);
    if (admit)
        return true;
    s_count (self->limit);
    uint64_t suppressed = 0;
    if (mdf_ratelimit_allow (&self->refuse_limit, &suppressed))
        mdf_warn ("http connection refused: connection limit reached",
                  "remote=%s limit=%s max=%d suppressed=%" PRIu64, remote,
                  full ? "server" : "address",
                  full ? MDF_HTTP_MAX_CONN + MDF_HTTP_RESERVE : MDF_HTTP_PER_IP, suppressed);
    return false;
}

/* ---- connections and deadlines ---- */

/* Deadline for the headers of a request starting at `start_ns`. */
static int64_t
s_headers_deadline (const mdf_http_conn_t *c, int64_t start_ns)
{
    return start_ns
           + (c->reserved ? (int64_t)MDF_HTTP_RESERVE_HEADERS_MS * 1000000
                          : (int64_t)MDF_HTTP_HEADERS_S * 1000000000);
}

/* Move c's deadline (lock held); wake the sweeper if it must look sooner
 * than it planned. */
static void
s_set_deadline (mdf_http_sweep_t *self, mdf_http_conn_t *c, s_phase_t phase, int64_t deadline_ns)
{
    c->phase = phase;
    c->deadline_ns = deadline_ns;
    if (deadline_ns < self->sweep_at_ns) {
        self->sweep_at_ns = deadline_ns;
        pthread_cond_signal (&self->cond);
    }
}

mdf_http_conn_t *
mdf_http_sweep_add (mdf_http_sweep_t *self, int fd, const char *remote)
{
    mdf_http_conn_t *c = calloc (1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    snprintf (c->remote, sizeof c->remote, "%s", remote ? remote : "?");
    int64_t now = mdf_mono_ns ();
    pthread_mutex_lock (&self->lock);
    c->reserved = self->nconns >= MDF_HTTP_MAX_CONN;
    c->request_start_ns = now;
    c->next = self->conns;
    if (self->conns)
        self->conns->prev = c;
    self->conns = c;
    self->nconns++;
    s_set_deadline (self, c, S_PHASE_HEADERS, s_headers_deadline (c, now));
    pthread_mutex_unlock (&self->lock);
    return c;
}

void
mdf_http_sweep_remove (mdf_http_sweep_t *self, mdf_http_conn_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock (&self->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        self->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    self->nconns--;
    pthread_mutex_unlock (&self->lock);
    free (c);
}

void
mdf_http_sweep_headers_done (mdf_http_sweep_t *self, mdf_http_conn_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock (&self->lock);
    s_set_deadline (self, c, S_PHASE_REQUEST,
                    c->request_start_ns + (int64_t)MDF_HTTP_REQUEST_S * 1000000000);
    pthread_mutex_unlock (&self->lock);
}

void
mdf_http_sweep_next_request (mdf_http_sweep_t *self, mdf_http_conn_t *c)
{
    if (!c)
        return;
    int64_t now = mdf_mono_ns ();
    pthread_mutex_lock (&self->lock);
    c->request_start_ns = now;
    s_set_deadline (self, c, S_PHASE_HEADERS, s_headers_deadline (c, now));
    pthread_mutex_unlock (&self->lock);
}

bool
mdf_http_conn_reserved (const mdf_http_conn_t *c)
{
    return c && c->reserved;
}

/* ---- the sweeper ---- */

/* Cut one connection past its deadline (lock held). */
static void
s_cut (mdf_http_sweep_t *self, mdf_http_conn_t *c)
{
    shutdown (c->fd, SHUT_RDWR);
    c->cut = true;
    bool headers = c->phase == S_PHASE_HEADERS;
    s_count (headers ? self->headers_timeout : self->request_timeout);
    uint64_t suppressed = 0;
    if (!mdf_ratelimit_allow (&self->cut_limit, &suppressed))
        return;
    mdf_warn (
        headers ? "http connection cut: request headers not complete in time"
                : "http connection cut: request not complete in time",
        "remote=%s limit_ms=%lld reserved=%s suppressed=%" PRIu64, c->remote,
        headers ? (long long)(c->reserved ? MDF_HTTP_RESERVE_HEADERS_MS : MDF_HTTP_HEADERS_S * 1000)
                : (long long)MDF_HTTP_REQUEST_S * 1000,
        c->reserved ? "true" : "false", suppressed);
}

static void *
s_sweeper (void *arg)
{
    mdf_http_sweep_t *self = arg;
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        int64_t now = mdf_mono_ns (), next = INT64_MAX;
        for (mdf_http_conn_t *c = self->conns; c; c = c->next) {
            if (c->cut)
                continue;
            if (c->deadline_ns <= now)
                s_cut (self, c);
            else if (c->deadline_ns < next)
                next = c->deadline_ns;
        }
        self->sweep_at_ns = next;
        mdf_cond_wait_ns (&self->cond, &self->lock, next == INT64_MAX ? INT64_MAX : next - now);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

int
mdf_http_sweep_start (mdf_http_sweep_t *self)
{
    self->stop = false;
    if (pthread_create (&self->thread, NULL, s_sweeper, self) != 0)
        return -1;
    self->running = true;
    return 0;
}

void
mdf_http_sweep_stop (mdf_http_sweep_t *self)
{
    if (!self || !self->running)
        return;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_signal (&self->cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    self->running = false;
}

void
mdf_http_sweep_destroy (mdf_http_sweep_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_http_sweep_t *self = *self_p;
    mdf_http_sweep_stop (self);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
