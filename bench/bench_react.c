/*
 * bench_react: how fast md-pipeline applies a store's feedback event.
 *
 * Plays the store's side of the feedback contract: binds an XPUB on --bind,
 * waits for md-pipeline's subscription (and its own SUB's, below), then
 * publishes level changes (ok -> soft -> hard -> soft -> ok ..., each a
 * watermark crossing of a real store, with seq and ts as md-store sends
 * them).  Two phases of --transitions events each:
 *
 *  1. applied (the figure of record): one event at a time, spaced.  For each
 *     event, the exact time from its `ts` (set just before encoding) to the
 *     pipeline having set the new scale on its buckets: the pipeline adds
 *     that delay to mdp_feedback_apply_delay_seconds as each event is
 *     applied, so the increase of the histogram's _sum over one event (its
 *     _count up by one) is that event's delay, to the clock's precision, not
 *     to a bucket.  The bench waits --gap-us after publishing before it reads
 *     /metrics (then every 200 us) so that its scrapes do not compete with
 *     the pipeline for the CPU while the event is in flight.  Alongside, the
 *     same event goes to a SUB socket in this process, connected over TCP
 *     loopback like the pipeline's: publish -> received there is ZeroMQ's
 *     own share of the path (zmq_*), the rest of `applied` is the
 *     pipeline's (its I/O thread handing the message to the feedback
 *     thread, decoding, the roster and the policy, the buckets).  One
 *     /metrics GET is timed each time (scrape_*).
 *  2. seen (the earlier measure, for comparison): publish, then poll
 *     /metrics back to back until pipeline_backpressure_state shows the new
 *     level: an upper bound that includes up to two scrapes and the CPU the
 *     polling takes from the pipeline.
 *
 *   bench_react --bind tcp://127.0.0.1:PORT --pipeline-http PORT
 *               [--transitions 1000] [--gap-us 2000]
 *
 * Prints one line of key=value pairs (milliseconds): applied_p50/p99/max,
 * zmq_p50/p99, scrape_p50/p99, seen_p50/p99/max, transitions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench/bench_http.h"
#include "proto/feedback.h"

#define S_HIST "mdp_feedback_apply_delay_seconds"

typedef struct {
    void *xpub, *sub;
    bench_http_t *http;
    mdf_feedback_t ev;
    mdf_buf_t body;
    int gap_us;
} s_bench_t;

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of v[0..n) (sorted in place), in ms. */
static double
s_ms (double *v, int n, double q)
{
    if (n <= 0)
        return NAN;
    qsort (v, (size_t)n, sizeof *v, s_cmp);
    int i = (int)(q * n);
    return 1000 * v[i < n ? i : n - 1];
}

static void
s_sleep_us (long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep (&ts, NULL);
}

static int
s_publish (s_bench_t *b, int level, int64_t depth)
{
    char topic[160];
    b->ev.seq++;
    b->ev.level = (mdf_level_t)level;
    b->ev.queue_size = depth;
    b->ev.ts = bench_wall_s ();
    if (mdf_feedback_encode (&b->ev, &b->body) != 0)
        return -1;
    mdf_feedback_topic (b->ev.coordinator_id, topic, sizeof topic);
    if (zmq_send (b->xpub, topic, strlen (topic), ZMQ_SNDMORE) < 0
        || zmq_send (b->xpub, b->body.data, b->body.size, 0) < 0)
        return -1;
    return 0;
}

/* The event's arrival at our own SUB: seconds after its ts, or -1. */
static double
s_own_arrival (s_bench_t *b)
{
    char buf[4096];
    int more = 0;
    size_t len = sizeof more;
    do {
        if (zmq_recv (b->sub, buf, sizeof buf, 0) < 0)
            return -1;
        zmq_getsockopt (b->sub, ZMQ_RCVMORE, &more, &len);
    } while (more);
    return bench_wall_s () - b->ev.ts;
}

/* Poll until pipeline_backpressure_state shows `level`; seconds taken, or -1 after 5 s. */
static double
s_wait_level (bench_http_t *http, int level, double t0)
{
    for (;;) {
        const char *text = bench_http_get (http, "/metrics");
        double now = bench_mono_s ();
        if (text && bench_metric (text, "pipeline_backpressure_state") == level)
            return now - t0;
        if (now - t0 > 5)
            return -1;
    }
}

/* Bind the XPUB (verbose: every subscription is reported), connect our SUB
 * and wait (10 s) for both subscriptions; 0 or -1. */
static int
s_sockets (void *ctx, const char *endpoint, s_bench_t *b)
{
    b->xpub = zmq_socket (ctx, ZMQ_XPUB);
    b->sub = zmq_socket (ctx, ZMQ_SUB);
    int linger = 0, timeout = 10000, verbose = 1;
    zmq_setsockopt (b->xpub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (b->xpub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (b->xpub, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
    zmq_setsockopt (b->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (b->sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind (b->xpub, endpoint) != 0) {
        fprintf (stderr, "bench_react: cannot bind %s: %s\n", endpoint,
                 zmq_strerror (zmq_errno ()));
        return -1;
    }
    char last[256];
    size_t len = sizeof last;
    zmq_getsockopt (b->xpub, ZMQ_LAST_ENDPOINT, last, &len);
    zmq_setsockopt (b->sub, ZMQ_SUBSCRIBE, MDF_FEEDBACK_TOPIC_PREFIX,
                    strlen (MDF_FEEDBACK_TOPIC_PREFIX));
    if (zmq_connect (b->sub, last) != 0)
        return -1;
    for (int seen = 0; seen < 2;) {
        char sub[256];
        if (zmq_recv (b->xpub, sub, sizeof sub, 0) < 1) {
            fprintf (stderr, "bench_react: no subscriber within 10 s\n");
            return -1;
        }
        seen += sub[0] == 1;
    }
    return 0;
}

/* Phase 1: spaced events, exact delays from the histogram's sum.  How many
 * were measured. */
static int
s_applied (s_bench_t *b, int n, double *applied, double *zmq, double *scrape)
{
    static const int pattern[] = { 1, 2, 1, 0 };
    static const int depth[] = { 5001, 8000, 7799, 4800 };
    const char *text = bench_http_get (b->http, "/metrics");
    double count = bench_metric (text, S_HIST "_count");
    double sum = bench_metric (text, S_HIST "_sum");
    if (isnan (count) || isnan (sum))
        return 0;
    int done = 0, retries = 0;
    for (; done < n; done++) {
        int level = pattern[done % 4];
        if (s_publish (b, level, depth[done % 4]) != 0)
            break;
        double t0 = bench_mono_s ();
        zmq[done] = s_own_arrival (b);
        s_sleep_us (b->gap_us);
        scrape[done] = NAN;
        for (;;) {
            double s0 = bench_mono_s ();
            text = bench_http_get (b->http, "/metrics");
            if (isnan (scrape[done]))
                scrape[done] = bench_mono_s () - s0;
            double c = bench_metric (text, S_HIST "_count");
            if (c >= count + 1) {
                double s = bench_metric (text, S_HIST "_sum");
                applied[done] = c == count + 1 ? s - sum : NAN;
                count = c;
                sum = s;
                break;
            }
            if (bench_mono_s () - t0 > 5) {
                fprintf (stderr, "bench_react: event %d (to %d) not applied within 5 s\n", done,
                         level);
                return done;
            }
            s_sleep_us (200);
        }
        if (isnan (applied[done]) && retries++ < n) /* two events in one read: again */
            done--;
    }
    return done;
}

/* Phase 2: back-to-back polling until the level shows.  How many were seen. */
static int
s_seen (s_bench_t *b, int n, double *lat)
{
    static const int pattern[] = { 1, 2, 1, 0 };
    static const int depth[] = { 5001, 8000, 7799, 4800 };
    int done = 0;
    for (; done < n; done++) {
        int level = pattern[done % 4];
        double t0 = bench_mono_s ();
        if (s_publish (b, level, depth[done % 4]) != 0)
            break;
        lat[done] = s_wait_level (b->http, level, t0);
        s_own_arrival (b);
        if (lat[done] < 0) {
            fprintf (stderr, "bench_react: transition %d (to %d) not seen within 5 s\n", done,
                     level);
            break;
        }
    }
    return done;
}

int
main (int argc, char **argv)
{
    const char *bind = NULL;
    int port = 0, n = 1000, gap_us = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--bind"))
            bind = argv[i + 1];
        else if (!strcmp (argv[i], "--pipeline-http"))
            port = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--transitions"))
            n = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--gap-us"))
            gap_us = atoi (argv[i + 1]);
    }
    if (!bind || port <= 0 || n < 1 || gap_us < 0) {
        fprintf (stderr, "usage: bench_react --bind ENDPOINT --pipeline-http PORT "
                         "[--transitions N] [--gap-us US]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new ();
    s_bench_t b = { .gap_us = gap_us };
    b.ev.v = 1;
    snprintf (b.ev.coordinator_id, sizeof b.ev.coordinator_id, "bench-store");
    snprintf (b.ev.source, sizeof b.ev.source, "store");
    snprintf (b.ev.reason, sizeof b.ev.reason, "watermark");
    b.ev.epoch = (int64_t)(bench_wall_s () * 1000);
    b.ev.capacity = 10000;
    b.http = bench_http_new (port);
    double *v = calloc ((size_t)n * 4, sizeof *v);
    int applied = 0, seen = 0;
    if (v && b.http && s_sockets (ctx, bind, &b) == 0) {
        /* start from a known level (not counted) */
        if (s_publish (&b, 0, 0) != 0 || s_own_arrival (&b) < 0
            || s_wait_level (b.http, 0, bench_mono_s ()) < 0)
            fprintf (stderr, "bench_react: the pipeline never showed level ok\n");
        else {
            applied = s_applied (&b, n, v, v + n, v + 2 * n);
            seen = applied == n ? s_seen (&b, n, v + 3 * n) : 0;
        }
    }
    if (applied > 0 && seen > 0)
        printf ("transitions=%d applied_p50_ms=%.3f applied_p99_ms=%.3f applied_max_ms=%.3f "
                "zmq_p50_ms=%.3f zmq_p99_ms=%.3f scrape_p50_ms=%.3f scrape_p99_ms=%.3f "
                "seen_p50_ms=%.3f seen_p99_ms=%.3f seen_max_ms=%.3f\n",
                applied, s_ms (v, applied, 0.5), s_ms (v, applied, 0.99), s_ms (v, applied, 1),
                s_ms (v + n, applied, 0.5), s_ms (v + n, applied, 0.99),
                s_ms (v + 2 * n, applied, 0.5), s_ms (v + 2 * n, applied, 0.99),
                s_ms (v + 3 * n, seen, 0.5), s_ms (v + 3 * n, seen, 0.99),
                s_ms (v + 3 * n, seen, 1));
    free (v);
    mdf_buf_free (&b.body);
    bench_http_destroy (&b.http);
    if (b.xpub)
        zmq_close (b.xpub);
    if (b.sub)
        zmq_close (b.sub);
    zmq_ctx_term (ctx);
    return applied == n && seen == n ? 0 : 1;
}
