/*
 * bench_http: what the benchmark helpers need from a service's HTTP side:
 * GET /metrics on 127.0.0.1:port over one kept-alive libcurl handle (so a tight
 * polling loop measures the service, not connection set-up), and reading a
 * series out of the Prometheus text.
 */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <stddef.h>

typedef struct _bench_http_t bench_http_t;

/* A client for http://127.0.0.1:port; NULL on failure. */
bench_http_t *bench_http_new (int port);
void bench_http_destroy (bench_http_t **self_p);

/* GET path; returns the body (owned by the client, valid until the next call)
 * or NULL when the service does not answer 200. */
const char *bench_http_get (bench_http_t *self, const char *path);

/* POST path with an empty body; 0 on a 2xx answer, else -1. */
int bench_http_post (bench_http_t *self, const char *path);

/* Value of `series` in an exposition.  With labels ("name{a=\"b\"}") the
 * line must match exactly; a bare name sums every series of that name (not
 * its _bucket/_sum/_count lines).  NAN when absent. */
double bench_metric (const char *text, const char *series);

/* Quantile q of a histogram family `name` in the exposition (linear
 * interpolation inside the bucket, as PromQL's histogram_quantile); NAN when
 * empty. */
double bench_histogram_quantile (const char *text, const char *name, double q);

/* Monotonic time in seconds / wall time in seconds since the epoch. */
double bench_mono_s (void);
double bench_wall_s (void);

#endif
