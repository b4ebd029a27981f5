/*
 * scrape: read a service's Prometheus exposition (GET /metrics) and the few
 * series mdctl shows: the pipeline's scale and bar rates, the store's write
 * rate.
 *
 * Counters become rates with scrape_rate_t: the difference between two
 * readings over the monotonic time between them.  A counter that went down
 * (the service restarted) restarts the rate instead of showing a negative one.
 */
#ifndef MDCTL_SCRAPE_H
#define MDCTL_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _scrape_t scrape_t;

/* A scraper for http://HOSTPORT/metrics.  NULL with err when hostport is not
 * HOST:PORT.  Each fetch waits at most timeout_ms. */
scrape_t *scrape_new (const char *hostport, long timeout_ms, char *err, size_t errlen);
void scrape_destroy (scrape_t **self_p);

/* GET /metrics and keep the body.  0, or -1 with err (connection refused,
 * HTTP status, timeout); the previous body is then dropped. */
int scrape_fetch (scrape_t *self, char *err, size_t errlen);

/* "HOST:PORT" as given. */
const char *scrape_target (const scrape_t *self);

typedef enum { SCRAPE_SUM, SCRAPE_MIN, SCRAPE_MAX } scrape_fold_t;

/* Fold every series called `name` (any labels) of the last body: their sum,
 * their minimum or their maximum.  NAN when there is no body or no such series. */
double scrape_value (const scrape_t *self, const char *name, scrape_fold_t fold);

/* The same over any exposition text (pure; exposed for reuse). */
double scrape_fold_text (const char *text, const char *name, scrape_fold_t fold);

typedef struct {
    bool has;
    double value;
    int64_t at_ms;
} scrape_rate_t;

/* Feed a counter reading taken at now_ms; returns the rate per second since
 * the previous reading, or NAN for the first reading, a missing value (NAN)
 * or a counter reset. */
double scrape_rate_update (scrape_rate_t *rate, double value, int64_t now_ms);

#endif
