/*
 * metrics: a small Prometheus registry.  See metrics.h.
 *
 * Layout
 *   registry --(array of pointers, registration order)--> family
 *   family   --(singly linked list, registration order)--> series
 *   series   = label values + one of {counter, gauge, histogram}
 *
 * Invariants
 *   - Families and series are allocated one by one and never moved or freed
 *     before mdf_metrics_destroy, so a handle (a pointer into a series) stays
 *     valid for the registry's lifetime without any reference counting.
 *   - Structure (families, series lists) changes only under `lock`; values
 *     change only through C11 atomics, so the hot path never takes the lock.
 *   - A gauge holds the bits of a double in an _Atomic uint64_t; a histogram's
 *     sum likewise, updated by compare-and-swap.  Histogram buckets are stored
 *     non-cumulative (one atomic increment per observation) and summed when
 *     read, so _count is by construction the +Inf bucket.
 *   - Names are validated against the exposition format's grammar; label
 *     names must match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__", not repeat,
 *     and histograms may not use "le".  Every misuse returns NULL.
 *   - Rendering sorts a copy of the family array by name; series keep
 *     registration order.
 *
 * Files.  The registry is hand-written (no Prometheus C client library is
 * packaged for Debian 12, see metrics.h) and split in two, sharing the
 * private common/metrics_internal.h: this file (registration, validation and
 * the lock-free updates) and metrics_render.c (text exposition format 0.0.4).
 */
#include "common/metrics_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MDF_METRICS_MAX_LABELS 16

const double mdf_buckets_latency[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10 };
const size_t mdf_buckets_latency_n = sizeof mdf_buckets_latency / sizeof mdf_buckets_latency[0];

/* ---- doubles as bits ---- */

static uint64_t
s_bits (double v)
{
    uint64_t b;
    memcpy (&b, &v, sizeof b);
    return b;
}

static double
s_double (uint64_t b)
{
    double v;
    memcpy (&v, &b, sizeof v);
    return v;
}

/* ---- registry ---- */

mdf_metrics_t *
mdf_metrics_new (void)
{
    mdf_metrics_t *self = calloc (1, sizeof *self);
    if (self)
        pthread_mutex_init (&self->lock, NULL);
    return self;
}

static void
s_family_free (family_t *f)
{
    series_t *s = f->head;
    while (s) {
        series_t *next = s->next;
        mdf_strlist_free (&s->values);
        if (f->type == M_HISTOGRAM)
            free (s->u.histogram.buckets);
        free (s);
        s = next;
    }
    mdf_strlist_free (&f->label_names);
    free (f->name);
    free (f->help);
    free (f->bounds);
    free (f);
}

void
mdf_metrics_destroy (mdf_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->nfamilies; i++)
        s_family_free (self->families[i]);
    free (self->families);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* ---- validation ---- */

static bool
s_valid_name (const char *name, bool colon_ok)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
                     || (colon_ok && c == ':');
        bool digit = c >= '0' && c <= '9';
        if (!(alpha || (digit && p != name)))
            return false;
    }
    return true;
}

/* The label pairs of one call, borrowed from the caller's arguments. */
typedef struct {
    const char *names[MDF_METRICS_MAX_LABELS];
    const char *values[MDF_METRICS_MAX_LABELS];
    size_t n;
} s_labels_t;

static int
s_labels_collect (s_labels_t *l, va_list ap, bool is_histogram)
{
    l->n = 0;
    const char *name;
    while ((name = va_arg (ap, const char *)) != NULL) {
        const char *value = va_arg (ap, const char *);
        if (!value || l->n == MDF_METRICS_MAX_LABELS || !s_valid_name (name, false)
            || strncmp (name, "__", 2) == 0 || (is_histogram && strcmp (name, "le") == 0))
            return -1;
        for (size_t i = 0; i < l->n; i++)
            if (strcmp (l->names[i], name) == 0)
                return -1;
        l->names[l->n] = name;
        l->values[l->n] = value;
        l->n++;
    }
    return 0;
}

/* ---- families and series (called with the lock held) ---- */

static family_t *
s_family_find (mdf_metrics_t *self, const char *name)
{
    for (size_t i = 0; i < self->nfamilies; i++)
        if (strcmp (self->families[i]->name, name) == 0)
            return self->families[i];
    return NULL;
}

static bool
s_family_matches (const family_t *f, metric_type_t type, const s_labels_t *l, const double *bounds,
                  size_t nbounds)
{
    if (f->type != type || f->label_names.count != l->n)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp (f->label_names.items[i], l->names[i]) != 0)
            return false;
    if (type == M_HISTOGRAM
        && (f->nbounds != nbounds || memcmp (f->bounds, bounds, nbounds * sizeof *bounds) != 0))
        return false;
    return true;
}

static family_t *
s_family_add (mdf_metrics_t *self, const char *name, const char *help, metric_type_t type,
              const s_labels_t *l, const double *bounds, size_t nbounds)
{
    if (self->nfamilies == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        family_t **grown = realloc (self->families, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->families = grown;
        self->cap = cap;
    }
    family_t *f = calloc (1, sizeof *f);
    if (!f)
        return NULL;
    f->type = type;
    f->name = strdup (name);
    f->help = strdup (help ? help : "");
    int labels = mdf_strlist_set (&f->label_names, l->names, l->n);
    f->nbounds = nbounds;
    f->bounds = malloc ((nbounds ? nbounds : 1) * sizeof *bounds);
    if (!f->name || !f->help || labels != 0 || !f->bounds) {
        s_family_free (f);
        return NULL;
    }
    if (nbounds)
        memcpy (f->bounds, bounds, nbounds * sizeof *bounds);
    self->families[self->nfamilies++] = f;
    return f;
}

static series_t *
s_series_find (const family_t *f, const s_labels_t *l)
{
    for (series_t *s = f->head; s; s = s->next) {
        size_t i = 0;
        while (i < l->n && strcmp (s->values.items[i], l->values[i]) == 0)
            i++;
        if (i == l->n)
            return s;
    }
    return NULL;
}

static series_t *
s_series_add (family_t *f, const s_labels_t *l)
{
    series_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    int values = mdf_strlist_set (&s->values, l->values, l->n);
    if (f->type == M_HISTOGRAM) {
        s->u.histogram.bounds = f->bounds;
        s->u.histogram.nbounds = f->nbounds;
        s->u.histogram.buckets = calloc (f->nbounds + 1, sizeof (_Atomic uint64_t));
        atomic_init (&s->u.histogram.sum_bits, s_bits (0.0));
    } else if (f->type == M_GAUGE)
        atomic_init (&s->u.gauge.bits, s_bits (0.0));
    if (values != 0 || (f->type == M_HISTOGRAM && !s->u.histogram.buckets)) {
        mdf_strlist_free (&s->values);
        if (f->type == M_HISTOGRAM)
            free (s->u.histogram.buckets);
        free (s);
        return NULL;
    }
    if (f->tail)
        f->tail->next = s;
    else
        f->head = s;
    f->tail = s;
    return s;
}

static bool
s_bounds_valid (const double *bounds, size_t nbounds)
{
    if (nbounds && !bounds)
        return false;
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite (bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return false;
    return true;
}

/* Find or create the series; NULL on any misuse or allocation failure. */
static series_t *
s_register (mdf_metrics_t *self, const char *name, const char *help, metric_type_t type,
            const double *bounds, size_t nbounds, va_list ap)
{
    s_labels_t labels;
    if (!self || !s_valid_name (name, true)
        || s_labels_collect (&labels, ap, type == M_HISTOGRAM) != 0
        || (type == M_HISTOGRAM && !s_bounds_valid (bounds, nbounds)))
        return NULL;
    pthread_mutex_lock (&self->lock);
    series_t *s = NULL;
    family_t *f = s_family_find (self, name);
    if (!f)
        f = s_family_add (self, name, help, type, &labels, bounds, nbounds);
    else if (!s_family_matches (f, type, &labels, bounds, nbounds))
        f = NULL;
    if (f && !(s = s_series_find (f, &labels)))
        s = s_series_add (f, &labels);
    if (s)
        atomic_store (&s->hidden, false); /* asked for again: shown again */
    pthread_mutex_unlock (&self->lock);
    return s;
}

void
mdf_gauge_hide (mdf_gauge_t *g)
{
    if (g) {
        series_t *s = (series_t *)((char *)g - offsetof (series_t, u.gauge));
        atomic_store (&s->hidden, true);
    }
}

mdf_counter_t *
mdf_metrics_counter (mdf_metrics_t *self, const char *name, const char *help, ...)
{
    va_list ap;
    va_start (ap, help);
    series_t *s = s_register (self, name, help, M_COUNTER, NULL, 0, ap);
    va_end (ap);
    return s ? &s->u.counter : NULL;
}

mdf_gauge_t *
mdf_metrics_gauge (mdf_metrics_t *self, const char *name, const char *help, ...)
{
    va_list ap;
    va_start (ap, help);
    series_t *s = s_register (self, name, help, M_GAUGE, NULL, 0, ap);
    va_end (ap);
    return s ? &s->u.gauge : NULL;
}

mdf_histogram_t *
mdf_metrics_histogram (mdf_metrics_t *self, const char *name, const char *help,
                       const double *bounds, size_t nbounds, ...)
{
    va_list ap;
    va_start (ap, nbounds);
    series_t *s = s_register (self, name, help, M_HISTOGRAM, bounds, nbounds, ap);
    va_end (ap);
    return s ? &s->u.histogram : NULL;
}

/* ---- hot path ---- */

void
mdf_counter_inc (mdf_counter_t *c)
{
    atomic_fetch_add_explicit (&c->value, 1, memory_order_relaxed);
}

void
mdf_counter_add (mdf_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit (&c->value, n, memory_order_relaxed);
}

uint64_t
mdf_counter_value (const mdf_counter_t *c)
{
    return atomic_load_explicit (&((mdf_counter_t *)c)->value, memory_order_relaxed);
}

void
mdf_gauge_set (mdf_gauge_t *g, double v)
{
    atomic_store_explicit (&g->bits, s_bits (v), memory_order_relaxed);
}

/* Add to a double stored as bits, by compare-and-swap. */
static void
s_add_double (_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit (bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit (bits, &old, s_bits (s_double (old) + delta),
                                                   memory_order_relaxed, memory_order_relaxed))
        ;
}

void
mdf_gauge_add (mdf_gauge_t *g, double delta)
{
    s_add_double (&g->bits, delta);
}

double
mdf_gauge_value (const mdf_gauge_t *g)
{
    return s_double (atomic_load_explicit (&((mdf_gauge_t *)g)->bits, memory_order_relaxed));
}

void
mdf_histogram_observe (mdf_histogram_t *h, double v)
{
    /* First bucket whose upper bound is >= v (binary search); NaN and values
     * above every bound land in +Inf. */
    size_t lo = 0, hi = h->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (isnan (v))
        lo = h->nbounds;
    atomic_fetch_add_explicit (&h->buckets[lo], 1, memory_order_relaxed);
    s_add_double (&h->sum_bits, v);
}

/* Cumulative counts into cum[0..nbounds] (cum[nbounds] is +Inf = count). */
void
metrics_histogram_cumulative (const mdf_histogram_t *h, uint64_t *cum)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        total += atomic_load_explicit (&h->buckets[i], memory_order_relaxed);
        cum[i] = total;
    }
}

uint64_t
mdf_histogram_count (const mdf_histogram_t *h)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= h->nbounds; i++)
        total += atomic_load_explicit (&h->buckets[i], memory_order_relaxed);
    return total;
}

double
mdf_histogram_sum (const mdf_histogram_t *h)
{
    return s_double (
        atomic_load_explicit (&((mdf_histogram_t *)h)->sum_bits, memory_order_relaxed));
}

/* PromQL's bucketQuantile over cumulative counts `cum` (nbounds + 1 of them). */
static double
s_bucket_quantile (const double *bounds, size_t nbounds, const uint64_t *cum, double q)
{
    if (isnan (q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    double total = (double)cum[nbounds];
    if (total == 0 || nbounds < 1)
        return NAN;
    double rank = q * total;
    size_t b = 0;
    while (b < nbounds && (double)cum[b] < rank)
        b++;
    if (b == nbounds)
        return bounds[nbounds - 1];
    if (b == 0 && bounds[0] <= 0)
        return bounds[0];
    double start = 0, end = bounds[b], count = (double)cum[b];
    if (b > 0) {
        start = bounds[b - 1];
        count -= (double)cum[b - 1];
        rank -= (double)cum[b - 1];
    }
    return start + (end - start) * (rank / count);
}

double
mdf_histogram_quantile (const mdf_histogram_t *h, double q)
{
    uint64_t *cum = malloc ((h->nbounds + 1) * sizeof *cum);
    if (!cum)
        return NAN;
    metrics_histogram_cumulative (h, cum);
    double v = s_bucket_quantile (h->bounds, h->nbounds, cum, q);
    free (cum);
    return v;
}
