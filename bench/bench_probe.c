/*
 * bench_probe: watch a running closed loop and summarise it.
 *
 * Polls md-store's /metrics (and md-pipeline's, when given) every
 * --interval-ms for --seconds.  From --warmup on it measures the committed
 * rate (mds_bars_written_total), the pipeline's acked rate, and the time the
 * store spent at each level; over the whole run the highest queue depth seen
 * (a sample every interval, so a peak between two samples can be missed); at
 * the end the pipeline's mean feedback apply delay (mdp_feedback_apply_delay_
 * seconds: a real store event's ts -> the scale applied).
 *
 *   bench_probe --store-http PORT [--pipeline-http PORT] [--seconds 30]
 *               [--warmup 5] [--interval-ms 10] [--sink-rows C]
 *
 * Prints one line of key=value pairs; with --sink-rows, efficiency is the
 * committed rate / C.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_http.h"

typedef struct {
    double written, acked, t;
} s_point_t;

static int
s_point (bench_http_t *store, bench_http_t *pipe, s_point_t *p, double *depth, int *level)
{
    const char *text = bench_http_get (store, "/metrics");
    if (!text)
        return -1;
    p->t = bench_mono_s ();
    p->written = bench_metric (text, "mds_bars_written_total");
    *depth = bench_metric (text, "coordinator_queue_depth");
    *level = bench_metric (text, "coordinator_backpressure_hard") == 1   ? 2
             : bench_metric (text, "coordinator_backpressure_soft") == 1 ? 1
                                                                         : 0;
    p->acked = NAN;
    if (pipe) {
        const char *ptext = bench_http_get (pipe, "/metrics");
        p->acked = ptext ? bench_metric (ptext, "mdp_bars_acked_total") : NAN;
    }
    return 0;
}

typedef struct {
    int store_port, pipe_port, interval_ms;
    double seconds, warmup, sink_rows;
} s_opts_t;

typedef struct {
    s_point_t warm, last;
    double max_depth, at_level[3];
    int samples;
} s_watch_t;

static int
s_args (int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){ 0, 0, 10, 30, 5, 0 };
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--store-http"))
            o->store_port = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--pipeline-http"))
            o->pipe_port = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--seconds"))
            o->seconds = atof (argv[i + 1]);
        else if (!strcmp (argv[i], "--warmup"))
            o->warmup = atof (argv[i + 1]);
        else if (!strcmp (argv[i], "--interval-ms"))
            o->interval_ms = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--sink-rows"))
            o->sink_rows = atof (argv[i + 1]);
        else
            return -1;
    }
    return o->store_port > 0 && o->interval_ms > 0 ? 0 : -1;
}

/* Sample until o->seconds have passed; 0, or -1 when the store stops answering. */
static int
s_watch (const s_opts_t *o, bench_http_t *store, bench_http_t *pipe, s_watch_t *w)
{
    double start = bench_mono_s (), prev_t = 0;
    int prev_level = -1;
    *w = (s_watch_t){ .warm = { NAN, NAN, 0 }, .last = { NAN, NAN, 0 } };
    while (bench_mono_s () - start < o->seconds) {
        s_point_t p;
        double depth;
        int level;
        if (s_point (store, pipe, &p, &depth, &level) != 0)
            return -1;
        w->samples++;
        if (depth > w->max_depth)
            w->max_depth = depth;
        if (p.t - start >= o->warmup) {
            if (isnan (w->warm.written))
                w->warm = p;
            else if (prev_level >= 0)
                w->at_level[prev_level] += p.t - prev_t;
            prev_level = level;
            prev_t = p.t;
            w->last = p;
        }
        struct timespec ts = { 0, (long)o->interval_ms * 1000000L };
        nanosleep (&ts, NULL);
    }
    return 0;
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
    double span = w->last.t - w->warm.t;
    double rate = span > 0 ? (w->last.written - w->warm.written) / span : NAN;
    double acked = span > 0 ? (w->last.acked - w->warm.acked) / span : NAN;
    double total = w->at_level[0] + w->at_level[1] + w->at_level[2];
    double pct[3];
    for (int l = 0; l < 3; l++)
        pct[l] = total > 0 ? 100 * w->at_level[l] / total : 0;
    printf ("committed_rate=%.0f acked_rate=%.0f efficiency=%.3f max_depth=%.0f capacity=%.0f "
            "retries=%.0f hard_pct=%.1f soft_pct=%.1f ok_pct=%.1f commit_p50_ms=%.0f "
            "commit_p99_ms=%.0f fb_events=%.0f fb_apply_mean_ms=%.3f samples=%d seconds=%.1f\n",
            rate, acked, o->sink_rows > 0 ? rate / o->sink_rows : NAN, w->max_depth,
            bench_metric (text, "coordinator_queue_capacity"),
            bench_metric (text, "mds_batches_total{status=\"retry\"}"), pct[2], pct[1], pct[0],
            1000 * bench_histogram_quantile (text, "mds_ingest_commit_seconds", 0.5),
            1000 * bench_histogram_quantile (text, "mds_ingest_commit_seconds", 0.99), fb_count,
            1000 * fb_mean, w->samples, span);
}

int
main (int argc, char **argv)
{
    s_opts_t o;
    if (s_args (argc, argv, &o) != 0) {
        fprintf (stderr, "usage: bench_probe --store-http PORT [--pipeline-http PORT] "
                         "[--seconds S] [--warmup S] [--interval-ms N] [--sink-rows C]\n");
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
