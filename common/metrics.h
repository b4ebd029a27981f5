/*
 * metrics: a Prometheus registry (no C client library is packaged for Debian
 * 12, so mdflow carries this small one).
 *
 * A registry holds metric families (name, help, type); each family holds series,
 * one per label set.  Registering a series takes a mutex and happens at start-up
 * (or the first time a label value is seen); updating one is a single atomic
 * operation with no lock, safe from any thread.  Handles stay valid until the
 * registry is destroyed.  Rendering takes the registry mutex and reads the
 * atomics, producing text exposition format 0.0.4 (checked with promtool).
 *
 * Labels are given as NULL-terminated name/value pairs:
 *   mdf_counter_t *ok = mdf_metrics_counter (reg, "mds_batches_total",
 *                         "Batches answered, by status", "status", "ok", NULL);
 * Asking again for the same name and labels returns the same handle.  A name
 * registered with another type, or with other label names, returns NULL.
 */
#ifndef MDF_METRICS_H
#define MDF_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct _mdf_metrics_t mdf_metrics_t;
typedef struct _mdf_counter_t mdf_counter_t;
typedef struct _mdf_gauge_t mdf_gauge_t;
typedef struct _mdf_histogram_t mdf_histogram_t;

mdf_metrics_t *mdf_metrics_new (void);
void mdf_metrics_destroy (mdf_metrics_t **self_p);

/* Register (or find) a series.  Label values are copied.  NULL on misuse. */
mdf_counter_t *mdf_metrics_counter (mdf_metrics_t *self, const char *name, const char *help, ...)
    __attribute__ ((sentinel));
mdf_gauge_t *mdf_metrics_gauge (mdf_metrics_t *self, const char *name, const char *help, ...)
    __attribute__ ((sentinel));
/* `bounds` are the upper bounds of the buckets, ascending, without +Inf;
 * copied.  Every series of one family must use the same bounds. */
mdf_histogram_t *mdf_metrics_histogram (mdf_metrics_t *self, const char *name, const char *help,
                                        const double *bounds, size_t nbounds, ...)
    __attribute__ ((sentinel));

/* Hot path: lock-free, any thread. */
void mdf_counter_inc (mdf_counter_t *c);
void mdf_counter_add (mdf_counter_t *c, uint64_t n);
uint64_t mdf_counter_value (const mdf_counter_t *c);

void mdf_gauge_set (mdf_gauge_t *g, double v);
/* Leave the series out of the exposition (a store that is gone), until it is
 * registered again (mdf_metrics_gauge with the same labels); the handle stays
 * valid. */
void mdf_gauge_hide (mdf_gauge_t *g);
void mdf_gauge_add (mdf_gauge_t *g, double delta);
double mdf_gauge_value (const mdf_gauge_t *g);

void mdf_histogram_observe (mdf_histogram_t *h, double v);
uint64_t mdf_histogram_count (const mdf_histogram_t *h);
double mdf_histogram_sum (const mdf_histogram_t *h);
/* Estimate of quantile q in [0,1] by linear interpolation inside the bucket
 * (as PromQL's histogram_quantile does); NAN when empty. */
double mdf_histogram_quantile (const mdf_histogram_t *h, double q);

/* Handy bucket sets (seconds). */
extern const double mdf_buckets_latency[]; /* 100us .. 10s */
extern const size_t mdf_buckets_latency_n;

/* Render every family, sorted by name, as text format 0.0.4.
 * Returns a malloc'd NUL-terminated string (caller frees) or NULL. */
char *mdf_metrics_render (mdf_metrics_t *self);

#endif
