/*
 * bench_react: how fast md-pipeline applies a level change.
 *
 * Plays the store's side of the feedback contract: binds an XPUB on --bind,
 * waits for md-pipeline's subscription, then publishes --transitions level
 * changes (ok -> soft -> hard -> soft -> ok ..., each a watermark crossing of
 * a real store, with seq and ts as md-store sends them).  After each event it
 * polls the pipeline's /metrics over one kept-alive connection until
 * pipeline_backpressure_state shows the new level, and records the time from
 * publishing to seeing it (an upper bound of the reaction: it includes one
 * HTTP scrape).  At the end it also reads the pipeline's own histogram
 * mdp_feedback_apply_delay_seconds (event ts -> scale applied, bucketed).
 *
 *   bench_react --bind tcp://127.0.0.1:PORT --pipeline-http PORT [--transitions 1000]
 *
 * Prints one line of key=value pairs (milliseconds).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench/bench_http.h"
#include "proto/feedback.h"

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int
s_publish (void *xpub, mdf_feedback_t *ev, mdf_buf_t *body)
{
    char topic[160];
    ev->ts = bench_wall_s ();
    if (mdf_feedback_encode (ev, body) != 0)
        return -1;
    mdf_feedback_topic (ev->coordinator_id, topic, sizeof topic);
    if (zmq_send (xpub, topic, strlen (topic), ZMQ_SNDMORE) < 0
        || zmq_send (xpub, body->data, body->size, 0) < 0)
        return -1;
    return 0;
}

/* Poll until the pipeline shows `level`; seconds taken, or -1 after 5 s. */
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

/* Bind the XPUB and wait (10 s) for the pipeline's subscription; NULL on failure. */
static void *
s_xpub (void *ctx, const char *endpoint)
{
    void *xpub = zmq_socket (ctx, ZMQ_XPUB);
    int linger = 0, timeout = 10000;
    zmq_setsockopt (xpub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (xpub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind (xpub, endpoint) != 0) {
        fprintf (stderr, "bench_react: cannot bind %s: %s\n", endpoint,
                 zmq_strerror (zmq_errno ()));
        zmq_close (xpub);
        return NULL;
    }
    char sub[256];
    if (zmq_recv (xpub, sub, sizeof sub, 0) < 1 || sub[0] != 1) {
        fprintf (stderr, "bench_react: no subscriber within 10 s\n");
        zmq_close (xpub);
        return NULL;
    }
    return xpub;
}

/* Publish n transitions, timing each into lat[]; returns how many were seen. */
static int
s_run (void *xpub, bench_http_t *http, int n, double *lat)
{
    static const int pattern[] = { 1, 2, 1, 0 };
    static const int depth[] = { 5001, 8000, 7799, 4800 };
    mdf_feedback_t ev = { 0 };
    ev.v = 1;
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "bench-store");
    snprintf (ev.source, sizeof ev.source, "store");
    snprintf (ev.reason, sizeof ev.reason, "watermark");
    ev.epoch = (int64_t)(bench_wall_s () * 1000);
    ev.capacity = 10000;
    ev.seq = 1;
    ev.level = MDF_LEVEL_OK; /* start from a known level (not counted) */
    mdf_buf_t body = { 0 };
    int done = 0;
    if (s_publish (xpub, &ev, &body) != 0 || s_wait_level (http, 0, bench_mono_s ()) < 0) {
        fprintf (stderr, "bench_react: the pipeline never showed level ok\n");
        n = 0;
    }
    for (; done < n; done++) {
        int level = pattern[done % 4];
        ev.seq++;
        ev.level = (mdf_level_t)level;
        ev.queue_size = depth[done % 4];
        double t0 = bench_mono_s ();
        if (s_publish (xpub, &ev, &body) != 0)
            break;
        lat[done] = s_wait_level (http, level, t0);
        if (lat[done] < 0) {
            fprintf (stderr, "bench_react: transition %d (to %d) not seen within 5 s\n", done,
                     level);
            break;
        }
    }
    mdf_buf_free (&body);
    return done;
}

static void
s_report (bench_http_t *http, double *lat, int done)
{
    const char *text = bench_http_get (http, "/metrics");
    double h50 = bench_histogram_quantile (text, "mdp_feedback_apply_delay_seconds", 0.5);
    double h99 = bench_histogram_quantile (text, "mdp_feedback_apply_delay_seconds", 0.99);
    double hsum = bench_metric (text, "mdp_feedback_apply_delay_seconds_sum");
    double hcount = bench_metric (text, "mdp_feedback_apply_delay_seconds_count");
    qsort (lat, (size_t)done, sizeof *lat, s_cmp);
    printf ("transitions=%d seen_p50_ms=%.3f seen_p99_ms=%.3f seen_max_ms=%.3f "
            "applied_p50_ms=%.3f applied_p99_ms=%.3f applied_mean_ms=%.3f\n",
            done, 1000 * lat[(size_t)(done * 0.5)], 1000 * lat[(size_t)(done * 0.99)],
            1000 * lat[done - 1], 1000 * h50, 1000 * h99, hcount > 0 ? 1000 * hsum / hcount : NAN);
}

int
main (int argc, char **argv)
{
    const char *bind = NULL;
    int port = 0, n = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--bind"))
            bind = argv[i + 1];
        else if (!strcmp (argv[i], "--pipeline-http"))
            port = atoi (argv[i + 1]);
        else if (!strcmp (argv[i], "--transitions"))
            n = atoi (argv[i + 1]);
    }
    if (!bind || port <= 0 || n < 1) {
        fprintf (stderr, "usage: bench_react --bind ENDPOINT --pipeline-http PORT "
                         "[--transitions N]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new ();
    void *xpub = s_xpub (ctx, bind);
    bench_http_t *http = bench_http_new (port);
    double *lat = calloc ((size_t)n, sizeof *lat);
    int done = xpub && http && lat ? s_run (xpub, http, n, lat) : 0;
    if (done > 0)
        s_report (http, lat, done);
    free (lat);
    bench_http_destroy (&http);
    if (xpub)
        zmq_close (xpub);
    zmq_ctx_term (ctx);
    return done == n ? 0 : 1;
}
