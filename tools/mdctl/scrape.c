/*
 * scrape: GET /metrics with libcurl and read series from the text format.
 *
 * The parser understands what the Prometheus text format allows on a sample
 * line: `name{label="value",...} value [timestamp]`, label values that hold
 * spaces, braces or escaped quotes, comments and blank lines.  It only needs
 * the sample's name and value, so it skips the labels rather than parsing
 * them.  The curl handle is reused so keep-alive saves a connect per sample.
 */
#include "tools/mdctl/scrape.h"
#include "tools/mdctl/mdctl.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRAPE_BODY_MAX (8u << 20) /* a /metrics body larger than this is refused */

struct _scrape_t {
    CURL *curl;
    char target[256];
    char url[300];
    char *body;
    size_t len, cap;
    bool overflow;
};

static size_t
s_write (char *data, size_t size, size_t nmemb, void *arg)
{
    scrape_t *self = arg;
    size_t n = size * nmemb;
    if (self->len + n + 1 > SCRAPE_BODY_MAX) {
        self->overflow = true;
        return 0;
    }
    if (self->len + n + 1 > self->cap) {
        size_t cap = self->cap ? self->cap : 16384;
        while (cap < self->len + n + 1)
            cap *= 2;
        char *body = realloc (self->body, cap);
        if (!body)
            return 0;
        self->body = body;
        self->cap = cap;
    }
    memcpy (self->body + self->len, data, n);
    self->len += n;
    self->body[self->len] = '\0';
    return n;
}

scrape_t *
scrape_new (const char *hostport, long timeout_ms, char *err, size_t errlen)
{
    scrape_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (mdctl_http_url (hostport, "/metrics", self->url, sizeof self->url, err, errlen) != 0) {
        free (self);
        return NULL;
    }
    snprintf (self->target, sizeof self->target, "%s", hostport);
    self->curl = curl_easy_init ();
    if (!self->curl) {
        snprintf (err, errlen, "curl_easy_init failed");
        free (self);
        return NULL;
    }
    curl_easy_setopt (self->curl, CURLOPT_URL, self->url);
    curl_easy_setopt (self->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt (self->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt (self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (self->curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (self->curl, CURLOPT_WRITEDATA, self);
    return self;
}

void
scrape_destroy (scrape_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scrape_t *self = *self_p;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    free (self->body);
    free (self);
    *self_p = NULL;
}

int
scrape_fetch (scrape_t *self, char *err, size_t errlen)
{
    self->len = 0;
    self->overflow = false;
    if (self->body)
        self->body[0] = '\0';
    CURLcode rc = curl_easy_perform (self->curl);
    long status = 0;
    curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || !self->body) {
        if (self->overflow)
            snprintf (err, errlen, "%s: body larger than %u bytes", self->url, SCRAPE_BODY_MAX);
        else if (rc != CURLE_OK)
            snprintf (err, errlen, "%s: %s", self->url, curl_easy_strerror (rc));
        else
            snprintf (err, errlen, "%s: HTTP %ld", self->url, status);
        self->len = 0;
        if (self->body)
            self->body[0] = '\0';
        return -1;
    }
    return 0;
}

const char *
scrape_target (const scrape_t *self)
{
    return self->target;
}

double
scrape_value (const scrape_t *self, const char *name, scrape_fold_t fold)
{
    if (!self->body || self->len == 0)
        return NAN;
    return scrape_fold_text (self->body, name, fold);
}

/* Skip a label set starting at '{'; returns the position after '}' or NULL. */
static const char *
s_skip_labels (const char *p, const char *eol)
{
    bool quoted = false;
    for (p++; p < eol; p++) {
        if (quoted) {
            if (*p == '\\' && p + 1 < eol)
                p++;
            else if (*p == '"')
                quoted = false;
        } else if (*p == '"') {
            quoted = true;
        } else if (*p == '}') {
            return p + 1;
        }
    }
    return NULL;
}

/* The value of one sample line if its name is `name`; false otherwise. */
static bool
s_sample (const char *line, const char *eol, const char *name, size_t nlen, double *value)
{
    if ((size_t)(eol - line) <= nlen || strncmp (line, name, nlen) != 0)
        return false;
    const char *p = line + nlen;
    if (*p == '{')
        p = s_skip_labels (p, eol);
    else if (*p != ' ' && *p != '\t')
        return false;
    if (!p)
        return false;
    while (p < eol && (*p == ' ' || *p == '\t'))
        p++;
    char num[64];
    size_t k = 0;
    while (p < eol && *p != ' ' && *p != '\t' && k + 1 < sizeof num)
        num[k++] = *p++;
    num[k] = '\0';
    char *end = NULL;
    double v = strtod (num, &end);
    if (k == 0 || *end)
        return false;
    *value = v;
    return true;
}

double
scrape_fold_text (const char *text, const char *name, scrape_fold_t fold)
{
    size_t nlen = strlen (name);
    double acc = NAN;
    for (const char *line = text; line && *line;) {
        const char *eol = strchr (line, '\n');
        if (!eol)
            eol = line + strlen (line);
        double v;
        if (*line != '#' && s_sample (line, eol, name, nlen, &v) && !isnan (v)) {
            if (isnan (acc))
                acc = v;
            else if (fold == SCRAPE_SUM)
                acc += v;
            else if (fold == SCRAPE_MAX ? v > acc : v < acc)
                acc = v;
        }
        line = *eol ? eol + 1 : eol;
    }
    return acc;
}

double
scrape_rate_update (scrape_rate_t *rate, double value, int64_t now_ms)
{
    double out = NAN;
    if (isnan (value)) {
        rate->has = false;
        return NAN;
    }
    if (rate->has && value >= rate->value && now_ms > rate->at_ms)
        out = (value - rate->value) * 1000.0 / (double)(now_ms - rate->at_ms);
    rate->has = true;
    rate->value = value;
    rate->at_ms = now_ms;
    return out;
}
