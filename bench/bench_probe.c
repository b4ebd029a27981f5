/*
 * bench_probe: watch a running closed loop and summarise it.
 *
 * Polls md-store's /metrics (and md-pipeline's, when given) every
 * --interval-ms for --seconds.  The first --warmup seconds are the start-up,
 * summarised apart (highest depth, level changes); the rest is the measured
 * window.  Over the window:
 *  - committed rate (mds_bars_written_total) and the pipeline's acked rate;
 *  - efficiency = committed / the integral of min(sink capacity, offered) dt,
 *    and busy = committed / the integral of the sink's throttle dt, from a
 *    --schedule file (below; without one both are committed / (--sink-rows x
 *    window));
 *  - ingest->commit p50/p99/p99.9 from the difference of the store's
 *    mds_ingest_commit_seconds buckets between the window's first and last
 *    sample (start-up excluded), interpolated inside a bucket;
 *  - mean and max queue depth (coordinator_queue_depth) over the samples
 *    (a peak shorter than an interval can be missed);
 *  - the time at each level, and level changes counted from the store's log
 *    (--store-log: its "level changed" lines, by their ts=);
 *  - retry acks (mds_batches_total{status="retry"}), over the whole run.
 * At the end, the pipeline's mean feedback apply delay.
 *
 * --schedule FILE: lines "wall_s throttle capacity offered" (rows/s, wall
 * clock seconds), each valid until the next; before the first line the sink
 * runs at --sink-rows and the provider offers more than that.  The scenario
 * scripts append to it as they change the sink or pause the provider; it is
 * read at the end.  --trace FILE writes one line per sample: seconds since
 * start, depth, level, the pipeline's scale.
 *
 *   bench_probe --store-http PORT [--pipeline-http PORT] [--seconds 30]
 *               [--warmup 5] [--interval-ms 10] [--sink-rows C]
 *               [--schedule FILE] [--store-log FILE] [--trace FILE]
 *
 * Prints one line of key=value pairs: the window's measures as above
 * (efficiency, busy, mean_depth, window_max_depth, window_p50_ms,
 * window_p99_ms, window_p999_ms, level_changes, changes_per_min,
 * window_retries), the
 * start-up's (start_max_depth, start_changes), and the whole run's as before
 * (max_depth, commit_p50_ms, commit_p99_ms, retries) for bench/run.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_http.h"

#define S_HIST "mds_ingest_commit_seconds"
#define S_MAXB 64

typedef struct {
    double le[S_MAXB], cum[S_MAXB];
    int n;
} s_hist_t;

typedef struct {
    double written, acked, retries, t, wall;
    s_hist_t hist;
} s_point_t;

typedef struct {
    int store_port, pipe_port, interval_ms;
    double seconds, warmup, sink_rows;
    const char *schedule, *store_log, *trace;
} s_opts_t;

typedef struct {
    s_point_t warm, last;
    int have_warm;
    double max_depth, window_max_depth, start_max_depth, sum_depth, at_level[3];
    int samples, window_samples;
} s_watch_t;

/* The cumulative buckets of histogram `name`. */
static void
s_hist_read (const char *text, const char *name, s_hist_t *h)
{
    char prefix[256];
    snprintf (prefix, sizeof prefix, "%s_bucket{le=\"", name);
    size_t n = strlen (prefix);
    h->n = 0;
    for (const char *line = text; line && *line && h->n < S_MAXB;) {
        const char *next = strchr (line, '\n');
        if (!strncmp (line, prefix, n)) {
            const char *p = line + n;
            h->le[h->n] = !strncmp (p, "+Inf", 4) ? INFINITY : strtod (p, NULL);
            const char *sp = strchr (p, ' ');
            h->cum[h->n] = sp ? strtod (sp + 1, NULL) : 0;
            h->n++;
        }
        line = next ? next + 1 : NULL;
    }
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

static int
s_point (bench_http_t *store, bench_http_t *pipe, s_point_t *p, double *depth, int *level,
         double *scale)
{
    const char *text = bench_http_get (store, "/metrics");
    if (!text)
        return -1;
    p->t = bench_mono_s ();
    p->wall = bench_wall_s ();
    p->written = bench_metric (text, "mds_bars_written_total");
    p->retries = bench_metric (text, "mds_batches_total{status=\"retry\"}");
    s_hist_read (text, S_HIST, &p->hist);
    *depth = bench_metric (text, "coordinator_queue_depth");
    *level = bench_metric (text, "coordinator_backpressure_hard") == 1   ? 2
             : bench_metric (text, "coordinator_backpressure_soft") == 1 ? 1
                                                                         : 0;
    p->acked = NAN;
    *scale = NAN;
    if (pipe) {
        const char *ptext = bench_http_get (pipe, "/metrics");
        p->acked = ptext ? bench_metric (ptext, "mdp_bars_acked_total") : NAN;
        *scale = ptext ? bench_metric (ptext, "pipeline_rate_scale_factor") : NAN;
    }
    return 0;
}

static int
s_args (int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){ .interval_ms = 10, .seconds = 30, .warmup = 5 };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp (k, "--store-http"))
            o->store_port = atoi (v);
        else if (!strcmp (k, "--pipeline-http"))
            o->pipe_port = atoi (v);
        else if (!strcmp (k, "--seconds"))
            o->seconds = atof (v);
        else if (!strcmp (k, "--warmup"))
            o->warmup = atof (v);
        else if (!strcmp (k, "--interval-ms"))
            o->interval_ms = atoi (v);
        else if (!strcmp (k, "--sink-rows"))
            o->sink_rows = atof (v);
        else if (!strcmp (k, "--schedule"))
            o->schedule = v;
        else if (!strcmp (k, "--store-log"))
            o->store_log = v;
        else if (!strcmp (k, "--trace"))
            o->trace = v;
        else
            return -1;
    }
    return o->store_port > 0 && o->interval_ms > 0 && o->warmup < o->seconds ? 0 : -1;
}

/* Sample until o->seconds have passed; 0, or -1 when the store stops answering. */
static int
s_watch (const s_opts_t *o, bench_http_t *store, bench_http_t *pipe, s_watch_t *w)
{
    FILE *trace = o->trace ? fopen (o->trace, "w") : NULL;
    double start = bench_mono_s (), prev_t = 0;
    int prev_level = -1;
    memset (w, 0, sizeof *w);
    while (bench_mono_s () - start < o->seconds) {
        s_point_t p;
        double depth, scale;
        int level;
        if (s_point (store, pipe, &p, &depth, &level, &scale) != 0) {
            if (trace)
                fclose (trace);
            return -1;
        }
        w->samples++;
        if (depth > w->max_depth)
            w->max_depth = depth;
        if (trace)
            fprintf (trace, "%.3f %.0f %d %.4f\n", p.t - start, depth, level, scale);
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

/* "level changed" lines of the store's log before t0 and within [t0, t1]. */
static void
s_level_changes (const char *path, double t0, double t1, int *before, int *within)
{
    *before = *within = 0;
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

static void
s_print (const s_opts_t *o, bench_http_t *store, bench_http_t *pipe, const s_watch_t *w)
{
    double fb_mean = NAN, fb_count = NAN;
    const char *ptext = pipe ? bench_http_get (pipe, "/metrics") : NULL;
    if (ptext) {
        fb_count = bench_metric (ptext, "mdp_feedback_apply_delay_seconds_count");
        fb_mean = fb_count > 0
                      ? bench_metric (ptext, "mdp_feedback_apply_delay_seconds_sum") / fb_count
                      : NAN;
    }
    const char *text = bench_http_get (store, "/metrics");
    double capacity = bench_metric (text, "coordinator_queue_capacity");
    s_hist_t end;
    if (text)
        s_hist_read (text, S_HIST, &end);
    else
        end = w->last.hist;
    s_hist_t zero = end;
    for (int i = 0; i < zero.n; i++)
        zero.cum[i] = 0;
    double span = w->last.t - w->warm.t;
    double committed = w->last.written - w->warm.written;
    double rate = span > 0 ? committed / span : NAN;
    double acked = span > 0 ? (w->last.acked - w->warm.acked) / span : NAN;
    double thr_int, fair_int;
    s_schedule (o, w->warm.wall, w->last.wall, &thr_int, &fair_int);
    int ch_start, ch_window;
    s_level_changes (o->store_log, w->warm.wall, w->last.wall, &ch_start, &ch_window);
    double total = w->at_level[0] + w->at_level[1] + w->at_level[2];
    double pct[3];
    for (int l = 0; l < 3; l++)
        pct[l] = total > 0 ? 100 * w->at_level[l] / total : 0;
    /* commit_p50/p99_ms and max_depth: the whole run (as bench/run.sh reads
     * them); window_*: after the warm-up */
    printf ("committed_rate=%.0f acked_rate=%.0f efficiency=%.3f busy=%.3f mean_depth=%.0f "
            "max_depth=%.0f window_max_depth=%.0f start_max_depth=%.0f capacity=%.0f "
            "retries=%.0f window_retries=%.0f level_changes=%d changes_per_min=%.1f "
            "start_changes=%d hard_pct=%.1f soft_pct=%.1f ok_pct=%.1f commit_p50_ms=%.0f "
            "commit_p99_ms=%.0f window_p50_ms=%.0f window_p99_ms=%.0f window_p999_ms=%.0f "
            "fb_events=%.0f "
            "fb_apply_mean_ms=%.3f samples=%d seconds=%.1f\n",
            rate, acked, fair_int > 0 ? committed / fair_int : NAN,
            thr_int > 0 ? committed / thr_int : NAN,
            w->window_samples ? w->sum_depth / w->window_samples : NAN, w->max_depth,
            w->window_max_depth, w->start_max_depth, capacity, w->last.retries,
            w->last.retries - w->warm.retries, ch_window, span > 0 ? ch_window * 60 / span : NAN,
            ch_start, pct[2], pct[1], pct[0], 1000 * s_hist_quantile (&zero, &end, 0.5),
            1000 * s_hist_quantile (&zero, &end, 0.99),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.5),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.99),
            1000 * s_hist_quantile (&w->warm.hist, &w->last.hist, 0.999), fb_count, 1000 * fb_mean,
            w->samples, span);
}

int
main (int argc, char **argv)
{
    s_opts_t o;
    if (s_args (argc, argv, &o) != 0) {
        fprintf (stderr, "usage: bench_probe --store-http PORT [--pipeline-http PORT] "
                         "[--seconds S] [--warmup S] [--interval-ms N] [--sink-rows C] "
                         "[--schedule FILE] [--store-log FILE] [--trace FILE]\n");
        return 2;
    }
    bench_http_t *store = bench_http_new (o.store_port);
    bench_http_t *pipe = o.pipe_port > 0 ? bench_http_new (o.pipe_port) : NULL;
    s_watch_t w;
    int rc = store ? s_watch (&o, store, pipe, &w) : -1;
    if (rc == 0)
        s_print (&o, store, pipe, &w);
    else
        fprintf (stderr, "bench_probe: the store stopped answering\n");
    bench_http_destroy (&store);
    bench_http_destroy (&pipe);
    return rc == 0 ? 0 : 1;
}
