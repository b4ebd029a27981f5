/*
 * metrics_internal: the registry's data structures, shared by metrics.c
 * (registration and updates) and metrics_render.c (text exposition); private
 * to common/metrics*.c, users include common/metrics.h only.  The layout and
 * its invariants are described at the top of metrics.c.
 */
#ifndef MDF_METRICS_INTERNAL_H
#define MDF_METRICS_INTERNAL_H

#include "common/metrics.h"
#include "common/strv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_type_t;

struct _mdf_counter_t {
    _Atomic uint64_t value;
};

struct _mdf_gauge_t {
    _Atomic uint64_t bits;
};

struct _mdf_histogram_t {
    const double *bounds; /* the family's copy */
    size_t nbounds;
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t *buckets; /* nbounds + 1, the last one is +Inf */
};

typedef struct series_t {
    struct series_t *next;
    mdf_strlist_t values; /* one per label of the family */
    atomic_bool hidden;   /* not rendered (mdf_gauge_hide) until registered again */
    union {
        struct _mdf_counter_t counter;
        struct _mdf_gauge_t gauge;
        struct _mdf_histogram_t histogram;
    } u;
} series_t;

typedef struct {
    char *name;
    char *help;
    metric_type_t type;
    mdf_strlist_t label_names;
    double *bounds;
    size_t nbounds;
    series_t *head, *tail;
} family_t;

struct _mdf_metrics_t {
    pthread_mutex_t lock;
    family_t **families;
    size_t nfamilies, cap;
};

/* Cumulative counts into cum[0..nbounds] (cum[nbounds] is +Inf = count). */
void metrics_histogram_cumulative (const mdf_histogram_t *h, uint64_t *cum);

#endif
