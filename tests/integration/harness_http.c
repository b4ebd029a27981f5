/*
 * harness_http: the integration tests' HTTP clients and metric reads (see
 * harness.h).  h_http goes through libcurl, the same client a user's tooling
 * would use; the h_raw_* calls use a plain socket for what libcurl would not
 * send (partial requests, odd targets, dribbled bytes).  Metrics are read
 * from a scraped exposition or from a registry inside the test process, and
 * the h_wait_* calls poll them with a deadline.
 */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- HTTP through libcurl ---- */

typedef struct {
    char *data;
    size_t len;
} s_body_t;

static size_t
s_collect (char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_body_t *b = arg;
    size_t n = size * nmemb;
    char *grown = realloc (b->data, b->len + n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy (b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

char *
h_http (const char *method, int port, const char *path, const char *body, int *status,
        int timeout_ms)
{
    return h_http_auth (method, port, path, body, NULL, status, timeout_ms);
}

char *
h_http_auth (const char *method, int port, const char *path, const char *body, const char *token,
             int *status, int timeout_ms)
{
    if (status)
        *status = 0;
    CURL *curl = curl_easy_init ();
    if (!curl)
        return NULL;
    char url[512];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    s_body_t resp = { NULL, 0 };
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &resp);
    if (body) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long)strlen (body));
    } else if (strcmp (method, "POST") == 0) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    struct curl_slist *headers = NULL;
    if (token) {
        char *line = h_strf ("Authorization: Bearer %s", token);
        headers = line ? curl_slist_append (NULL, line) : NULL;
        free (line);
        curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode rc = curl_easy_perform (curl);
    curl_slist_free_all (headers);
    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
        if (status)
            *status = (int)code;
        if (!resp.data)
            resp.data = strdup ("");
    } else {
        free (resp.data);
        resp.data = NULL;
    }
    curl_easy_cleanup (curl);
    return resp.data;
}

int
h_wait_http (int port, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    while (h_now_ms () < deadline) {
        int status = 0;
        char *body = h_http ("GET", port, "/health", NULL, &status, 1000);
        free (body);
        if (status > 0)
            return 0;
        h_sleep_ms (20);
    }
    return -1;
}

int
h_wait_service (h_proc_t *proc, int port, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    char want[32];
    snprintf (want, sizeof want, "\"pid\":%d,", (int)proc->pid);
    while (h_now_ms () < deadline) {
        if (!h_running (proc))
            return -1;
        int status = 0;
        char *body = h_http ("GET", port, "/health", NULL, &status, 1000);
        bool ours = status > 0 && body && strstr (body, want);
        free (body);
        if (ours)
            return 0;
        h_sleep_ms (20);
    }
    return -1;
}

/* ---- HTTP over a plain socket ---- */

int
h_raw_dial (const char *from, int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (from) {
        struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = 0 };
        if (inet_pton (AF_INET, from, &src.sin_addr) != 1
            || bind (fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close (fd);
            return -1;
        }
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close (fd);
        return -1;
    }
    return fd;
}

int
h_raw_status (int fd, int timeout_ms)
{
    char buf[2048];
    size_t got = 0;
    buf[0] = '\0';
    long long end = h_now_ms () + timeout_ms;
    while (got < sizeof buf - 1 && !strstr (buf, "\r\n\r\n")) {
        long long left = end - h_now_ms ();
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || poll (&p, 1, (int)left) <= 0)
            break;
        ssize_t n = recv (fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    int status = -1;
    if (sscanf (buf, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    return status;
}

int
h_raw (const char *from, int port, const char *req, size_t len, int timeout_ms)
{
    int fd = h_raw_dial (from, port);
    if (fd < 0)
        return -1;
    int status = -1;
    if (send (fd, req, len, MSG_NOSIGNAL) == (ssize_t)len)
        status = h_raw_status (fd, timeout_ms);
    close (fd);
    return status;
}

int
h_raw_get (const char *from, int port, const char *path, int timeout_ms)
{
    char req[512];
    int n = snprintf (req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (n < 0 || (size_t)n >= sizeof req)
        return -1;
    return h_raw (from, port, req, (size_t)n, timeout_ms);
}

int
h_raw_request (int port, const char *method, const char *target, size_t tlen,
               const char *authorization, int timeout_ms)
{
    char req[1024];
    int head = snprintf (req, sizeof req, "%s ", method);
    if (head < 0 || (size_t)head + tlen >= sizeof req)
        return -1;
    memcpy (req + head, target, tlen);
    size_t len = (size_t)head + tlen;
    int tail = snprintf (req + len, sizeof req - len,
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         authorization ? "Authorization: " : "", authorization ? authorization : "",
                         authorization ? "\r\n" : "");
    if (tail < 0 || (size_t)tail >= sizeof req - len)
        return -1;
    return h_raw ("127.0.0.1", port, req, len + (size_t)tail, timeout_ms);
}

bool
h_raw_closed (int fd)
{
    char c;
    ssize_t n = recv (fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

long long
h_raw_wait_closed (int fd, long long since, int timeout_ms)
{
    long long end = h_now_ms () + timeout_ms;
    while (h_now_ms () < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 20) > 0 && h_raw_closed (fd))
            return h_now_ms () - since;
    }
    return -1;
}

double
h_metric (const char *exposition, const char *series)
{
    if (!exposition || !series)
        return NAN;
    /* A series with labels must match the line's name and labels exactly; a
     * bare name matches its unlabelled series, or the first labelled one. */
    bool bare = strchr (series, '{') == NULL;
    size_t n = strlen (series);
    for (const char *line = exposition; line && *line;) {
        const char *next = strchr (line, '\n');
        if (line[0] != '#' && strncmp (line, series, n) == 0) {
            const char *val = line + n;
            if (bare && *val == '{') {
                const char *close = strchr (val, '}');
                val = (close && (!next || close < next)) ? close + 1 : NULL;
            }
            if (val && *val == ' ')
                return strtod (val, NULL);
        }
        line = next ? next + 1 : NULL;
    }
    return NAN;
}

double
h_registry_value (mdf_metrics_t *reg, const char *series)
{
    char *text = mdf_metrics_render (reg);
    double v = h_metric (text, series);
    free (text);
    return v;
}

int
h_wait_registry_ge (mdf_metrics_t *reg, const char *series, double min, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        double v = h_registry_value (reg, series);
        if (!isnan (v) && v >= min)
            return 0;
        if (h_now_ms () >= deadline)
            return -1;
        h_sleep_ms (5);
    }
}

double
h_scrape (int port, const char *series)
{
    int status = 0;
    char *body = h_http ("GET", port, "/metrics", NULL, &status, 2000);
    double v = status == 200 ? h_metric (body, series) : NAN;
    free (body);
    return v;
}

double
h_wait_metric_ge (int port, const char *series, double min, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    double v = NAN;
    for (;;) {
        double now = h_scrape (port, series);
        if (!isnan (now))
            v = now;
        if (!isnan (v) && v >= min)
            return v;
        if (h_now_ms () >= deadline)
            return v;
        h_sleep_ms (20);
    }
}
