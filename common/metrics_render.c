/*
 * metrics_render: the registry as Prometheus text exposition format 0.0.4
 * (see metrics.h; hand-written because no Prometheus C client library is
 * packaged for Debian 12).
 *
 * Rendering takes the registry lock (so no family or series appears half
 * made) and reads every value atomically; families come out sorted by name,
 * series in registration order.  HELP text escapes '\\' and newlines, label
 * values '"' too; doubles are printed in the shortest form that reads back
 * as the same value, with NaN, +Inf and -Inf spelt as the format wants.
 */
#include "common/metrics_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void
s_buf_append (s_buf_t *b, const char *text, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc (b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy (b->data + b->len, text, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
s_buf_puts (s_buf_t *b, const char *text)
{
    s_buf_append (b, text, strlen (text));
}

/* Append text escaping '\\' and '\n' always, '"' too when in a label value. */
static void
s_buf_escaped (s_buf_t *b, const char *text, bool quote)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            s_buf_puts (b, "\\\\");
        else if (*p == '\n')
            s_buf_puts (b, "\\n");
        else if (quote && *p == '"')
            s_buf_puts (b, "\\\"");
        else
            s_buf_append (b, p, 1);
    }
}

/* Shortest text that reads back as the same double ("0.1", not 0.1000…01). */
static void
s_format_double (char *out, size_t size, double v)
{
    if (isnan (v))
        snprintf (out, size, "NaN");
    else if (isinf (v))
        snprintf (out, size, v > 0 ? "+Inf" : "-Inf");
    else
        for (int prec = 1; prec <= 17; prec++) {
            snprintf (out, size, "%.*g", prec, v);
            if (strtod (out, NULL) == v)
                break;
        }
}

/* name{l1="v1",l2="v2"[,le="x"]} */
static void
s_render_series_name (s_buf_t *b, const family_t *f, const char *suffix, const series_t *s,
                      const char *le)
{
    s_buf_puts (b, f->name);
    s_buf_puts (b, suffix);
    if (f->label_names.count == 0 && !le)
        return;
    s_buf_puts (b, "{");
    for (size_t i = 0; i < f->label_names.count; i++) {
        if (i)
            s_buf_puts (b, ",");
        s_buf_puts (b, f->label_names.items[i]);
        s_buf_puts (b, "=\"");
        s_buf_escaped (b, s->values.items[i], true);
        s_buf_puts (b, "\"");
    }
    if (le) {
        s_buf_puts (b, f->label_names.count ? ",le=\"" : "le=\"");
        s_buf_puts (b, le);
        s_buf_puts (b, "\"");
    }
    s_buf_puts (b, "}");
}

static void
s_render_sample (s_buf_t *b, const family_t *f, const char *suffix, const series_t *s,
                 const char *le, const char *value)
{
    s_render_series_name (b, f, suffix, s, le);
    s_buf_puts (b, " ");
    s_buf_puts (b, value);
    s_buf_puts (b, "\n");
}

static void
s_render_histogram (s_buf_t *b, const family_t *f, const series_t *s)
{
    const mdf_histogram_t *h = &s->u.histogram;
    uint64_t *cum = malloc ((h->nbounds + 1) * sizeof *cum);
    if (!cum) {
        b->failed = true;
        return;
    }
    metrics_histogram_cumulative (h, cum);
    char le[64], value[64];
    for (size_t i = 0; i <= h->nbounds; i++) {
        if (i < h->nbounds)
            s_format_double (le, sizeof le, h->bounds[i]);
        else
            snprintf (le, sizeof le, "+Inf");
        snprintf (value, sizeof value, "%" PRIu64, cum[i]);
        s_render_sample (b, f, "_bucket", s, le, value);
    }
    s_format_double (value, sizeof value, mdf_histogram_sum (h));
    s_render_sample (b, f, "_sum", s, NULL, value);
    snprintf (value, sizeof value, "%" PRIu64, cum[h->nbounds]);
    s_render_sample (b, f, "_count", s, NULL, value);
    free (cum);
}

static void
s_render_family (s_buf_t *b, const family_t *f)
{
    static const char *type_names[] = { "counter", "gauge", "histogram" };
    s_buf_puts (b, "# HELP ");
    s_buf_puts (b, f->name);
    s_buf_puts (b, " ");
    s_buf_escaped (b, f->help, false);
    s_buf_puts (b, "\n# TYPE ");
    s_buf_puts (b, f->name);
    s_buf_puts (b, " ");
    s_buf_puts (b, type_names[f->type]);
    s_buf_puts (b, "\n");
    char value[64];
    for (const series_t *s = f->head; s; s = s->next) {
        if (atomic_load (&s->hidden))
            continue;
        if (f->type == M_COUNTER) {
            snprintf (value, sizeof value, "%" PRIu64, mdf_counter_value (&s->u.counter));
            s_render_sample (b, f, "", s, NULL, value);
        } else if (f->type == M_GAUGE) {
            s_format_double (value, sizeof value, mdf_gauge_value (&s->u.gauge));
            s_render_sample (b, f, "", s, NULL, value);
        } else
            s_render_histogram (b, f, s);
    }
}

static int
s_family_cmp (const void *a, const void *b)
{
    return strcmp ((*(family_t *const *)a)->name, (*(family_t *const *)b)->name);
}

char *
mdf_metrics_render (mdf_metrics_t *self)
{
    if (!self)
        return NULL;
    s_buf_t b = { 0 };
    s_buf_puts (&b, ""); /* an empty registry renders as "" */
    pthread_mutex_lock (&self->lock);
    family_t **sorted = malloc ((self->nfamilies ? self->nfamilies : 1) * sizeof *sorted);
    if (sorted && self->nfamilies) {
        memcpy (sorted, self->families, self->nfamilies * sizeof *sorted);
        qsort (sorted, self->nfamilies, sizeof *sorted, s_family_cmp);
        for (size_t i = 0; i < self->nfamilies; i++)
            s_render_family (&b, sorted[i]);
    }
    pthread_mutex_unlock (&self->lock);
    if (!sorted || b.failed) {
        free (sorted);
        free (b.data);
        return NULL;
    }
    free (sorted);
    return b.data;
}
