/*
 * bench_probe: watch a running closed loop and summarise it.
 *
 * Polls the /metrics of one or more md-stores (and md-pipelines, when given)
 * every --interval-ms for --seconds.  The first --warmup seconds are the
 * start-up, summarised apart (highest depth, level changes); the rest is the
 * measured window.  Several stores count as one: their committed bars, retry
 * acks, level changes and ingest->commit histograms are summed; a depth is
 * always one store's (the highest of them).  Over the window:
 *  - committed rate (mds_bars_written_total) and the pipelines' acked rate;
 *  - efficiency = committed / the integral of min(sink capacity, offered) dt,
 *    and busy = committed / the integral of the sinks' throttle dt, from a
 *    --schedule file (below; without one both are committed / (--sink-rows x
 *    window));
 *  - ingest->commit p50/p99/p99.9 from the difference of the stores'
 *    mds_ingest_commit_seconds buckets between the window's first and last
 *    sample (start-up excluded), interpolated inside a bucket;
 *  - mean and max queue depth (coordinator_queue_depth) over the samples
 *    (a peak shorter than an interval can be missed);
 *  - the time at each level (the highest among the stores), and level
 *    changes counted from the stores' logs (--store-log: their "level
 *    changed" lines, by their ts=);
 *  - fairness: the lowest over the highest mdp_bars_acked_total increase
 *    among the pipelines (1 with one pipeline);
 *  - retry acks (mds_batches_total{status="retry"}), over the whole run.
 * Apart from the window: the highest depth after --settle seconds (default
 * 2; start-up included), against --high-watermark (samples above it are
 * counted).  At the end, the pipelines' mean feedback apply delay.
 *
 * --schedule FILE: lines "wall_s throttle capacity offered" (rows/s, wall
 * clock seconds, all stores together), each valid until the next; before the
 * first line the sink runs at --sink-rows and the provider offers more than
 * that.  The scenario scripts append to it as they change the sink or pause
 * the provider; it is read at the end.  --trace FILE writes one line per
 * sample: seconds since start, the highest depth, the highest level, the
 * pipelines' mean scale, and what the stores last published for pacing: the
 * sum of their service rates (mds_sink_service_rate, -1 while unknown counts
 * as 0) and the first store's producers (mds_producers).
 *
 *   bench_probe --store-http PORT[,PORT...] [--pipeline-http PORT[,PORT...]]
 *               [--seconds 30] [--warmup 5] [--settle 2] [--interval-ms 10]
 *               [--sink-rows C] [--high-watermark 8000] [--schedule FILE]
 *               [--store-log FILE[,FILE...]] [--trace FILE]
 *
 * Prints one line of key=value pairs: the window's measures as above
 * (efficiency, busy, mean_depth, window_max_depth, window_p50_ms,
 * window_p99_ms, window_p999_ms, level_changes, changes_per_min,
 * window_retries, fairness, acked_min, acked_max), after the settle time
 * (settled_max_depth, over_high_samples), the start-up's (start_max_depth,
 * start_changes), and the whole run's as before (max_depth, commit_p50_ms,
 * commit_p99_ms, retries) for bench/run.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_http.h"

#define S_HIST "mds_ingest_commit_seconds"
#define S_MAXB 64
#define S_MAXN 16 /* stores, pipelines, logs */

typedef struct {
    double le[S_MAXB], cum[S_MAXB];
    int n;
} s_hist_t;

typedef struct {
    double written, retries, t, wall;
    double service, producers; /* as last published (trace only) */
    double acked[S_MAXN];
    s_hist_t hist; /* the stores' buckets summed */
} s_point_t;

typedef struct {
    int store_port[S_MAXN], pipe_port[S_MAXN];
    int nstores, npipes, interval_ms;
    double seconds, warmup, settle, sink_rows, high;
    const char *schedule, *trace;
    const char *store_log[S_MAXN];
    int nlogs;
} s_opts_t;

typedef struct {
    s_point_t warm, last;
    int have_warm;
    double max_depth, window_max_depth, start_max_depth, settled_max_depth, sum_depth;
    double at_level[3];
    int samples, window_samples, over_high;
} s_watch_t;

typedef struct {
    bench_http_t *store[S_MAXN], *pipe[S_MAXN];
    int nstores, npipes;
} s_conn_t;

/* The cumulative buckets of histogram `name`, added to h (the first store
 * sets the bounds; a store with other bounds is ignored). */
static void
s_hist_add (const char *text, const char *name, s_hist_t *h, int first)
{
    char prefix[256];
    snprintf (prefix, sizeof prefix, "%s_bucket{le=\"", name);
    size_t n = strlen (prefix);
    s_hist_t one = { .n = 0 };
    for (const char *line = text; line && *line && one.n < S_MAXB;) {
        const char *next = strchr (line, '\n');
        if (!strncmp (line, prefix, n)) {
            const char *p = line + n;
            one.le[one.n] = !strncmp (p, "+Inf", 4) ? INFINITY : strtod (p, NULL);
            const char *sp = strchr (p, ' ');
            one.cum[one.n] = sp ? strtod (sp + 1, NULL) : 0;
            one.n++;
        }
        line = next ? next + 1 : NULL;
    }
    if (first) {
        *h = one;
        return;
    }
    if (one.n != h->n)
        return;
    for (int i = 0; i < one.n; i++)
        h->cum[i] += one.cum[i];
}

/* Quantile q of (b - a), linear inside a bucket as PromQL does; NAN when empty. */
static double
s_hist_quantile (const s_hist_t *a, const s_hist_t *b, double q)
{
    if (b->n == 0 || a->n != b->n)
        return NAN;
    double total = b->cum[b->n - 1] - a->cum[a->n - 1];
    if (total <= 0)
        return NAN;
    double rank = q * total;
    for (int i = 0; i < b->n; i++) {
        double cum = b->cum[i] - a->cum[i];
        if (cum >= rank) {
            if (isinf (b->le[i]))
                return i > 0 ? b->le[i - 1] : NAN;
            double lo = i > 0 ? b->le[i - 1] : 0;
            double below = i > 0 ? b->cum[i - 1] - a->cum[i - 1] : 0;
            double in = cum - below;
            return in > 0 ? lo + (b->le[i] - lo) * (rank - below) / in : b->le[i];
        }
    }
    return NAN;
}

/* One sample of every service: *depth = the highest store depth, *level =
 * the highest level, *scale = the pipelines' mean scale.  -1 when a store
 * does not answer. */
static int
s_point (s_conn_t *c, s_point_t *p, double *depth, int *level, double *scale)
{
    memset (p, 0, sizeof *p);
    *depth = 0;
    *level = 0;
    for (int k = 0; k < c->nstores; k++) {
        const char *text = bench_http_get (c->store[k], "/metrics");
        if (!text)
            return -1;
        p->written += bench_metric (text, "mds_bars_written_total");
        p->retries += bench_metric (text, "mds_batches_total{status=\"retry\"}");
        s_hist_add (text, S_HIST, &p->hist, k == 0);
        double d = bench_metric (text, "coordinator_queue_depth");
        int l = bench_metric (text, "coordinator_backpressure_hard") == 1   ? 2
                : bench_metric (text, "coordinator_backpressure_soft") == 1 ? 1
                                                                            : 0;
        double mu = bench_metric (text, "mds_sink_service_rate");
        p->service += mu > 0 ? mu : 0;
        if (k == 0)
            p->producers = bench_metric (text, "mds_producers");
        *depth = d > *depth ? d : *depth;
        *level = l > *level ? l : *level;
    }
    p->t = bench_mono_s ();
    p->wall = bench_wall_s ();
    double sum = 0;
    int nscale = 0;
    for (int k = 0; k < c->npipes; k++) {
        const char *ptext = bench_http_get (c->pipe[k], "/metrics");
        p->acked[k] = ptext ? bench_metric (ptext, "mdp_bars_acked_total") : NAN;
        double s = ptext ? bench_metric (ptext, "pipeline_rate_scale_factor") : NAN;
        if (isfinite (s)) {
            sum += s;
            nscale++;
        }
    }
    *scale = nscale ? sum / nscale : NAN;
    return 0;
}

/* "P,P,..." into ports[]; how many, or -1. */
static int
s_ports (const char *v, int *ports)
{
    int n = 0;
    for (const char *p = v; *p && n < S_MAXN;) {
        char *end;
        long port = strtol (p, &end, 10);
        if (end == p || port <= 0 || port > 65535)
            return -1;
        ports[n++] = (int)port;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

/* "F,F,..." into paths[] (pointers into v, which is modified); how many. */
static int
s_paths (char *v, const char **paths)
{
    int n = 0;
    for (char *save = NULL, *tok = strtok_r (v, ",", &save); tok && n < S_MAXN;
         tok = strtok_r (NULL, ",", &save))
        paths[n++] = tok;
    return n;
}

static int
s_args (int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){ .interval_ms = 10, .seconds = 30, .warmup = 5, .settle = 2, .high = 8000 };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        char *v = argv[i + 1];
        if (!strcmp (k, "--store-http"))
            o->nstores = s_ports (v, o->store_port);
        else if (!strcmp (k, "--pipeline-http"))
            o->npipes = s_ports (v, o->pipe_port);
        else if (!strcmp (k, "--seconds"))
            o->seconds = atof (v);
        else if (!strcmp (k, "--warmup"))
            o->warmup = atof (v);
        else if (!strcmp (k, "--settle"))
            o->settle = atof (v);
        else if (!strcmp (k, "--interval-ms"))
            o->interval_ms = atoi (v);
        else if (!strcmp (k, "--sink-rows"))
            o->sink_rows = atof (v);
        else if (!strcmp (k, "--high-watermark"))
            o->high = atof (v);
        else if (!strcmp (k, "--schedule"))
            o->schedule = v;
        else if (!strcmp (k, "--store-log"))
            o->nlogs = s_paths (v, o->store_log);
        else if (!strcmp (k, "--trace"))
            o->trace = v;
        else
            return -1;
    }
    return o->nstores > 0 && o->npipes >= 0 && o->interval_ms > 0 && o->warmup < o->seconds ? 0
                                                                                            : -1;
}

/* Sample until o->seconds have passed; 0, or -1 when a store stops answering. */
static int
s_watch (const s_opts_t *o, s_conn_t *c, s_watch_t *w)
{
    FILE *trace = o->trace ? fopen (o->trace, "w") : NULL;
    double start = bench_mono_s (), prev_t = 0;
    int prev_level = -1;
    memset (w, 0, sizeof *w);
    while (bench_mono_s () - start < o->seconds) {
        s_point_t p;
        double depth, scale;
        int level;
        if (s_point (c, &p, &depth, &level, &scale) != 0) {
            if (trace)
                fclose (trace);
            return -1;
        }
        w->samples++;
        if (depth > w->max_depth)
            w->max_depth = depth;
        if (trace)
            fprintf (trace, "%.3f %.0f %d %.4f %.0f %.0f\n", p.t - start, depth, level, scale,
                     p.service, p.producers);
        if (p.t - start >= o->settle) {
            if (depth > w->settled_max_depth)
                w->settled_max_depth = depth;
            if (depth > o->high)
                w->over_high++;
        }
        if (p.t - start < o->warmup) {
            if (depth > w->start_max_depth)
                w->start_max_depth = depth;
        } else {
            if (!w->have_warm) {
                w->warm = p;
                w->have_warm = 1;
            } else if (prev_level >= 0) {
                w->at_level[prev_level] += p.t - prev_t;
            }
            if (depth > w->window_max_depth)
                w->window_max_depth = depth;
            w->sum_depth += depth;
            w->window_samples++;
            prev_level = level;
            prev_t = p.t;
            w->last = p;
        }
        struct timespec ts = { 0, (long)o->interval_ms * 1000000L };
        nanosleep (&ts, NULL);
    }
    if (trace)
        fclose (trace);
    return w->have_warm ? 0 : -1;
}

/* Integrals over [t0, t1] (wall seconds) of the throttle and of
 * min(capacity, offered), from the schedule; without one, sink_rows x span. */
static void
s_schedule (const s_opts_t *o, double t0, double t1, double *throttle_int, double *fair_int)
{
    double thr = o->sink_rows, capy = o->sink_rows, off = INFINITY, at = t0;
    *throttle_int = *fair_int = 0;
    FILE *f = o->schedule ? fopen (o->schedule, "r") : NULL;
    double t, a, b, c;
    while (f && fscanf (f, "%lf %lf %lf %lf", &t, &a, &b, &c) == 4) {
        if (t > at) {
            double until = t < t1 ? t : t1;
            if (until > at) {
                *throttle_int += thr * (until - at);
                *fair_int += (capy < off ? capy : off) * (until - at);
                at = until;
            }
        }
        thr = a, capy = b, off = c;
    }
    if (f)
        fclose (f);
    if (t1 > at) {
        *throttle_int += thr * (t1 - at);
        *fair_int += (capy < off ? capy : off) * (t1 - at);
    }
}

/* "level changed" lines of a store's log before t0 and within [t0, t1],
 * added to *before and *within. */
static void
s_level_changes (const char *path, double t0, double t1, int *before, int *within)
{
    FILE *f = path ? fopen (path, "r") : NULL;
    char line[1024];
    while (f && fgets (line, sizeof line, f)) {
        if (!strstr (line, "\"level changed\""))
            continue;
        struct tm tm = { 0 };
        int ms = 0;
        if (sscanf (line, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms)
            != 7)
            continue;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        double ts = (double)timegm (&tm) + ms / 1000.0;
        if (ts < t0)
            (*before)++;
        else if (ts <= t1)
            (*within)++;
    }
    if (f)
        fclose (f);
}

/* The pipelines' mean feedback apply delay (ms) and event count. */
static void
s_apply_delay (s_conn_t *c, double *mean_ms, double *events)
{
    double sum = 0, count = 0;
    for (int k = 0; k < c->npipes; k++) {
        const char *ptext = bench_http_get (c->pipe[k], "/metrics");
        if (!ptext)
            continue;
        double n = bench_metric (ptext, "mdp_feedback_apply_delay_seconds_count");
        if (n > 0) {
            count += n;
            sum += bench_metric (ptext, "mdp_feedback_apply_delay_seconds_sum");
        }
    }
    *events = c->npipes ? count : NAN;
    *mean_ms = count > 0 ? 1000 * sum / count : NAN;
}

static void
s_print (const s_opts_t *o, s_conn_t *c, const s_watch_t *w)
{
    double fb_mean, fb_count;
    s_apply_delay (c, &fb_mean, &fb_count);
    double capacity = 0;
    s_hist_t end = { .n = 0 };
    int ok = 1;
    for (int k = 0; k < c->nstores; k++) {
        const char *text = bench_http_get (c->store[k], "/metrics");
        if (!text) {
            ok = 0;
            break;
        }
        capacity += bench_metric (text, "coordinator_queue_capacity");
        s_hist_add (text, S_HIST, &end, k == 0);
    }
    if (!ok)
        end = w->last.hist;
    s_hist_t zero = end;
    for (int i = 0; i < zero.n; i++)
        zero.cum[i] = 0;
    double span = w->last.t - w->warm.t;
    double committed = w->last.written - w->warm.written;
    double rate = span > 0 ? committed / span : NAN;
    double acked = 0, amin = INFINITY, amax = 0;
    for (int k = 0; k < c->npipes; k++) {
        double a = w->last.acked[k] - w->warm.acked[k];
        acked += a;
        amin = a < amin ? a : amin;
        amax = a > amax ? a : amax;
    }
    double fairness = c->npipes && amax > 0 ? amin / amax : NAN;
    double thr_int, fair_int;
    s_schedule (o, w->warm.wall, w->last.wall, &thr_int, &fair_int);
    int ch_start = 0, ch_window = 0;
    for (int k = 0; k < o->nlogs; k++)
        s_level_changes (o->store_log[k], w->warm.wall, w->last.wall, &ch_start, &ch_window);
    double total = w->at_level[0] + w->at_level[1] + w->at_level[2];
    double pct[3];
    for (int l = 0; l < 3; l++)
        pct[l] = total > 0 ? 100 * w->at_level[l] / total : 0;
    /* commit_p50/p99_ms and max_depth: the whole run (as bench/run.sh reads
     * them); window_*: after the warm-up */
    printf ("committed_rate=%.0f acked_rate=%.0f efficiency=%.3f busy=%.3f mean_depth=%.0f "
            "max_depth=%.0f window_max_depth=%.0f start_max_depth=%.0f settled_max_depth=%.0f "
            "over_high_samples=%d high_watermark=%.0f capacity=%.0f "
            "retries=%.0f window_retries=%.0f level_changes=%d changes_per_min=%.1f "
            "start_changes=%d hard_pct=%.1f soft_pct=%.1f ok_pct=%.1f commit_p50_ms=%.0f "
            "commit_p99_ms=%.0f window_p50_ms=%.0f window_p99_ms=%.0f window_p999_ms=%.0f "
            "fairness=%.3f acked_min=%.0f acked_max=%.0f stores=%d pipelines=%d "
            "fb_events=%.0f fb_apply_mean_ms=%.3f samples=%d seconds=%.1f\n",
            rate, span > 0 && c->npipes ? acked / span : NAN,
            fair_int > 0 ? committed / fair_int : NAN, thr_int > 0 ? committed / thr_int : NAN,
            w->window_samples ? w->sum_depth / w->window_samples : NAN, w->max_depth,
            w->window_max_depth, w->start_max_depth, w->settled_max_depth, w->over_high, o->high,
            capacity, w->last.retries, w->last.retries - w->warm.retries, ch_window,
            span > 0 ? ch_window * 60 / span : NAN, ch_start, pct[2], pct[1], pct[0],
            1000 * s_hist_quantile (&zero, &end, 0.5), 1000 * s_hist_quantile (&zero, &end, 0.99),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.5),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.99),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.999), fairness,
            c->npipes && isfinite (amin) ? amin : NAN, c->npipes ? amax : NAN, c->nstores,
            c->npipes, fb_count, fb_mean, w->samples, span);
}

int
main (int argc, char **argv)
{
    s_opts_t o;
    if (s_args (argc, argv, &o) != 0) {
        fprintf (stderr,
                 "usage: bench_probe --store-http PORT[,PORT...] [--pipeline-http PORT[,PORT...]] "
                 "[--seconds S] [--warmup S] [--settle S] [--interval-ms N] [--sink-rows C] "
                 "[--high-watermark N] [--schedule FILE] [--store-log FILE[,FILE...]] "
                 "[--trace FILE]\n");
        return 2;
    }
    s_conn_t c = { .nstores = o.nstores, .npipes = o.npipes };
    int ok = 1;
    for (int k = 0; k < o.nstores; k++)
        ok &= (c.store[k] = bench_http_new (o.store_port[k])) != NULL;
    for (int k = 0; k < o.npipes; k++)
        ok &= (c.pipe[k] = bench_http_new (o.pipe_port[k])) != NULL;
    s_watch_t w;
    int rc = ok ? s_watch (&o, &c, &w) : -1;
    if (rc == 0)
        s_print (&o, &c, &w);
    else
        fprintf (stderr, "bench_probe: a store stopped answering\n");
    for (int k = 0; k < S_MAXN; k++) {
        bench_http_destroy (&c.store[k]);
        bench_http_destroy (&c.pipe[k]);
    }
    return rc == 0 ? 0 : 1;
}
