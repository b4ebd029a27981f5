/*
 * discover: a thread around getaddrinfo.  See discover.h.
 *
 * The thread sleeps on a condition variable between lookups so that
 * discover_destroy wakes it at once; a lookup itself cannot be cut short
 * (getaddrinfo blocks up to the resolver's own timeout, resolv.conf).
 */
#include "pipeline/discover.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/cond.h"
#include "common/log.h"

#define S_MAX DISCOVER_ANSWER_MAX

struct _discover_t {
    char *name;
    int ingest_port, feedback_port;
    int64_t interval_ms;
    roster_t *roster;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    char (*ingest)[80], (*feedback)[80]; /* the last answer, S_MAX each */
    mdf_gauge_t *stores_g, *left_out_g;
    mdf_counter_t *ok, *nxdomain, *error;
    mdf_ratelimit_t rl, rl_left;
};

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

int
discover_lookup (const char *name, int ingest_port, int feedback_port, char (*ingest)[80],
                 char (*feedback)[80], int max, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo (name, NULL, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_NODATA)
        return 0;
    if (rc != 0) {
        snprintf (err, errlen, "%s", gai_strerror (rc));
        return -1;
    }
    /* every address of the answer, then sorted: the resolver's order must
     * not decide which stores are kept (roster_offer does, past the table) */
    size_t n = 0, cap = 0;
    char (*addrs)[INET6_ADDRSTRLEN + 2] = NULL;
    for (struct addrinfo *ai = res; ai && n < S_MAX; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        if (ai->ai_family == AF_INET)
            inet_ntop (AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof text);
        else if (ai->ai_family == AF_INET6)
            inet_ntop (AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text,
                       sizeof text);
        else
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *more = realloc (addrs, ncap * sizeof *addrs);
            if (!more)
                break;
            addrs = more;
            cap = ncap;
        }
        if (ai->ai_family == AF_INET6)
            snprintf (addrs[n], sizeof addrs[n], "[%s]", text);
        else
            snprintf (addrs[n], sizeof addrs[n], "%s", text);
        n++;
    }
    freeaddrinfo (res);
    if (n > 0)
        qsort (addrs, n, sizeof addrs[0], s_cmp);
    int out = 0;
    for (size_t i = 0; i < n && out < max; i++) {
        if (i > 0 && strcmp (addrs[i], addrs[i - 1]) == 0)
            continue;
        snprintf (ingest[out], 80, "tcp://%.50s:%d", addrs[i], ingest_port);
        snprintf (feedback[out], 80, "tcp://%.50s:%d", addrs[i], feedback_port);
        out++;
    }
    free (addrs);
    return out;
}

static void
s_once (discover_t *self)
{
    char err[256] = "";
    int n = discover_lookup (self->name, self->ingest_port, self->feedback_port, self->ingest,
                             self->feedback, S_MAX, err, sizeof err);
    uint64_t sup = 0;
    if (n < 0) {
        if (self->error)
            mdf_counter_inc (self->error);
        if (mdf_ratelimit_allow (&self->rl, &sup))
            mdf_warn ("store discovery failed, keeping the stores found before",
                      "name=%s error=\"%s\" suppressed=%llu", self->name, err,
                      (unsigned long long)sup);
        return;
    }
    if (n == 0) {
        if (self->nxdomain)
            mdf_counter_inc (self->nxdomain);
        if (mdf_ratelimit_allow (&self->rl, &sup))
            mdf_warn ("store discovery: the name does not resolve; the stores still heard are kept",
                      "name=%s suppressed=%llu", self->name, (unsigned long long)sup);
    } else if (self->ok)
        mdf_counter_inc (self->ok);
    const char **ip = calloc ((size_t)n + 1, sizeof *ip), **fp = calloc ((size_t)n + 1, sizeof *fp);
    if (!ip || !fp) {
        free (ip);
        free (fp);
        return; /* out of memory: keep the stores as they are */
    }
    for (int i = 0; i < n; i++) {
        ip[i] = self->ingest[i];
        fp[i] = self->feedback[i];
    }
    roster_offer_t r;
    roster_offer (self->roster, ip, fp, (size_t)n, &r);
    free (ip);
    free (fp);
    if (self->stores_g)
        mdf_gauge_set (self->stores_g, n);
    if (self->left_out_g)
        mdf_gauge_set (self->left_out_g, (double)r.left_out);
    if (r.left_out > 0 && mdf_ratelimit_allow (&self->rl_left, &sup))
        mdf_warn ("store discovery: more stores than a pipeline follows; the stores known "
                  "are kept, the others are tried in turn",
                  "name=%s addresses=%d limit=%d left_out=%zu example=%s suppressed=%llu",
                  self->name, n, MEMBERS_MAX, r.left_out, r.left_out_example,
                  (unsigned long long)sup);
}

static void *
s_thread (void *arg)
{
    discover_t *self = arg;
    pthread_setname_np (pthread_self (), "mdp-discover");
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        pthread_mutex_unlock (&self->lock);
        s_once (self);
        pthread_mutex_lock (&self->lock);
        int64_t end = mdf_mono_ns () + self->interval_ms * 1000000;
        while (!self->stop) {
            int64_t left = end - mdf_mono_ns ();
            if (left <= 0)
                break;
            mdf_cond_wait_ns (&self->cond, &self->lock, left);
        }
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

discover_t *
discover_new (const char *name, int ingest_port, int feedback_port, int64_t interval_ms,
              roster_t *roster, mdf_metrics_t *metrics)
{
    discover_t *self = calloc (1, sizeof *self);
    if (!self || !(self->name = strdup (name))) {
        free (self);
        return NULL;
    }
    self->ingest_port = ingest_port;
    self->feedback_port = feedback_port;
    self->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    self->roster = roster;
    self->rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (10000, 1);
    self->rl_left = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (60000, 1);
    self->ingest = calloc (S_MAX, sizeof *self->ingest);
    self->feedback = calloc (S_MAX, sizeof *self->feedback);
    if (!self->ingest || !self->feedback) {
        free (self->ingest);
        free (self->feedback);
        free (self->name);
        free (self);
        return NULL;
    }
    if (metrics) {
        self->stores_g = mdf_metrics_gauge (metrics, "mdp_discovery_stores",
                                            "Stores (addresses) in the last DNS answer", NULL);
        self->left_out_g = mdf_metrics_gauge (
            metrics, "mdp_discovery_left_out",
            "Addresses of the last DNS answer not followed (more than the pipeline's 256)", NULL);
        const char *help = "Store lookups by result";
        self->ok = mdf_metrics_counter (metrics, "mdp_discovery_lookups_total", help, "result",
                                        "ok", NULL);
        self->nxdomain = mdf_metrics_counter (metrics, "mdp_discovery_lookups_total", help,
                                              "result", "nxdomain", NULL);
        self->error = mdf_metrics_counter (metrics, "mdp_discovery_lookups_total", help, "result",
                                           "error", NULL);
    }
    pthread_mutex_init (&self->lock, NULL);
    mdf_cond_init_monotonic (&self->cond);
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0) {
        pthread_cond_destroy (&self->cond);
        pthread_mutex_destroy (&self->lock);
        free (self->ingest);
        free (self->feedback);
        free (self->name);
        free (self);
        return NULL;
    }
    mdf_info ("store discovery started", "name=%s interval_ms=%lld ingest_port=%d feedback_port=%d",
              name, (long long)self->interval_ms, ingest_port, feedback_port);
    return self;
}

void
discover_destroy (discover_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    discover_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self->ingest);
    free (self->feedback);
    free (self->name);
    free (self);
    *self_p = NULL;
}
