/*
 * bench_http: a kept-alive libcurl GET and a small exposition reader for the
 * benchmark helpers.  See bench_http.h.
 */
#include "bench/bench_http.h"

#include <curl/curl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct _bench_http_t {
    CURL *curl;
    int port;
    char *buf;
    size_t len, cap;
};

static size_t
s_write (char *data, size_t size, size_t n, void *arg)
{
    bench_http_t *self = arg;
    size_t add = size * n;
    if (self->len + add + 1 > self->cap) {
        size_t cap = (self->len + add + 1) * 2;
        char *buf = realloc (self->buf, cap);
        if (!buf)
            return 0;
        self->buf = buf;
        self->cap = cap;
    }
    memcpy (self->buf + self->len, data, add);
    self->len += add;
    self->buf[self->len] = '\0';
    return add;
}

bench_http_t *
bench_http_new (int port)
{
    bench_http_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->port = port;
    self->curl = curl_easy_init ();
    if (!self->curl) {
        free (self);
        return NULL;
    }
    curl_easy_setopt (self->curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (self->curl, CURLOPT_WRITEDATA, self);
    curl_easy_setopt (self->curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt (self->curl, CURLOPT_NOSIGNAL, 1L);
    return self;
}

void
bench_http_destroy (bench_http_t **self_p)
{
    if (!*self_p)
        return;
    curl_easy_cleanup ((*self_p)->curl);
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

static long
s_request (bench_http_t *self, const char *method, const char *path)
{
    char url[256];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", self->port, path);
    self->len = 0;
    if (self->buf)
        self->buf[0] = '\0';
    curl_easy_setopt (self->curl, CURLOPT_URL, url);
    if (!strcmp (method, "POST")) {
        curl_easy_setopt (self->curl, CURLOPT_POSTFIELDS, "");
    } else
        curl_easy_setopt (self->curl, CURLOPT_HTTPGET, 1L);
    long status = 0;
    if (curl_easy_perform (self->curl) != CURLE_OK)
        return 0;
    curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

const char *
bench_http_get (bench_http_t *self, const char *path)
{
    long status = s_request (self, "GET", path);
    return status == 200 && self->buf ? self->buf : NULL;
}

int
bench_http_post (bench_http_t *self, const char *path)
{
    long status = s_request (self, "POST", path);
    return status >= 200 && status < 300 ? 0 : -1;
}

double
bench_metric (const char *text, const char *series)
{
    if (!text)
        return NAN;
    bool bare = strchr (series, '{') == NULL;
    size_t n = strlen (series);
    double sum = 0;
    bool seen = false;
    for (const char *line = text; line && *line;) {
        const char *next = strchr (line, '\n');
        if (line[0] != '#' && strncmp (line, series, n) == 0) {
            const char *val = line + n;
            if (bare && *val == '{') {
                const char *close = strchr (val, '}');
                val = close && (!next || close < next) ? close + 1 : NULL;
            }
            if (val && *val == ' ') {
                sum += strtod (val, NULL);
                seen = true;
                if (!bare)
                    break;
            }
        }
        line = next ? next + 1 : NULL;
    }
    return seen ? sum : NAN;
}

double
bench_histogram_quantile (const char *text, const char *name, double q)
{
    char prefix[256];
    snprintf (prefix, sizeof prefix, "%s_bucket{le=\"", name);
    size_t n = strlen (prefix);
    double le[64], cum[64];
    int k = 0;
    for (const char *line = text; line && *line && k < 64;) {
        const char *next = strchr (line, '\n');
        if (!strncmp (line, prefix, n)) {
            const char *p = line + n;
            le[k] = !strncmp (p, "+Inf", 4) ? INFINITY : strtod (p, NULL);
            const char *sp = strchr (p, ' ');
            cum[k] = sp ? strtod (sp + 1, NULL) : 0;
            k++;
        }
        line = next ? next + 1 : NULL;
    }
    if (k == 0 || cum[k - 1] <= 0)
        return NAN;
    double rank = q * cum[k - 1];
    for (int i = 0; i < k; i++)
        if (cum[i] >= rank) {
            if (isinf (le[i]))
                return i > 0 ? le[i - 1] : NAN;
            double lo = i > 0 ? le[i - 1] : 0, below = i > 0 ? cum[i - 1] : 0;
            double in = cum[i] - below;
            return in > 0 ? lo + (le[i] - lo) * (rank - below) / in : le[i];
        }
    return NAN;
}

double
bench_mono_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
bench_wall_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
