/*
 * Ten pipelines on one store: the store's feedback shares its sink among
 * them without overfilling it, and fairly.
 *
 * One md-store (SQLite sink throttled to 5,000 rows/s, queue capacity 10,000,
 * high watermark 8,000: the defaults) and ten md-pipeline processes, each
 * with one synthetic provider asking 5,000 bars/s (10 x the sink in total),
 * all started at once, every other key at its shipped default (policy
 * `share`, window, batch size, report_ms ...).  Over the run:
 *  - no batch is answered `retry` (nothing was refused for lack of room),
 *    and the queue never reaches its capacity;
 *  - after a warm-up of S_WARM_MS the queue stays below the high watermark:
 *    no feedback event at level hard is published (the store publishes one
 *    the moment its queue reaches the high watermark), and no sample of the
 *    depth reaches it;
 *  - over a measured window after the warm-up, the pipelines' acked bars
 *    (mdp_bars_acked_total) are within 5 % of each other (min / max >= 0.95);
 *  - once every pipeline is paused and has had all its batches acked, the
 *    database holds exactly the bars the pipelines ingested (each synthetic
 *    bar is a distinct row: pipeline id in the provider's symbols, ts
 *    strictly increasing per symbol).
 * The fixture's registry holds fewer processes than this test starts, so
 * the pipelines are recorded here and killed by S_CHECK on failure.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define S_PIPES 10
#define S_SINK 5000       /* rows/s */
#define S_CAPACITY 10000  /* the store's default queue.capacity */
#define S_HIGH 8000       /* and queue.high_watermark */
#define S_WARM_MS 5000    /* start-up, then the queue must stay below S_HIGH */
#define S_WINDOW_MS 15000 /* fairness is measured over this, after the warm-up */

static e2e_pipe_t s_pipes[S_PIPES];

static void
s_kill_pipes (void)
{
    for (int i = 0; i < S_PIPES; i++)
        if (s_pipes[i].running) {
            h_signal (&s_pipes[i].proc, SIGKILL);
            h_wait (&s_pipes[i].proc, 5000);
            s_pipes[i].running = false;
            h_dump_log (&s_pipes[i].proc);
        }
}

#define S_CHECK(expr, ...)                                                                         \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            s_kill_pipes ();                                                                       \
            e2e_kill_all ();                                                                       \
            ck_abort_msg (__VA_ARGS__);                                                            \
        }                                                                                          \
    } while (0)

/* Pipeline i's config: shipped defaults but for the endpoints, its own id
 * and HTTP port, and one synthetic provider asking `rate` bars/s. */
static int
s_pipe_init (e2e_pipe_t *p, const char *dir, int i, const e2e_store_t *s, double rate)
{
    memset (p, 0, sizeof *p);
    snprintf (p->config, sizeof p->config, "%s/pipeline-%d.toml", dir, i);
    snprintf (p->log, sizeof p->log, "%s/pipeline-%d.log", dir, i);
    p->http_port = h_free_port ();
    FILE *f = p->http_port > 0 ? fopen (p->config, "w") : NULL;
    if (!f)
        return -1;
    fprintf (f,
             "[pipeline]\nid = \"pipe-%d\"\n\n"
             "[store]\ningest = [\"tcp://127.0.0.1:%d\"]\nfeedback = [\"tcp://127.0.0.1:%d\"]\n\n"
             "[http]\nlisten = \"127.0.0.1:%d\"\n\n"
             "[[providers]]\nname = \"syn\"\ntype = \"synthetic\"\nrefill_rate = %.0f\n"
             "symbols = [\"P%dA\", \"P%dB\"]\nseed = %d\n",
             i, s->ingest_port, s->feedback_port, p->http_port, rate, i, i, i + 1);
    return fclose (f) == 0 ? 0 : -1;
}

typedef struct {
    int port;
    long long warm_end;
    double max_depth, warm_max_depth, hard_at_warm_end;
    bool lost, warm_taken;
} s_watch_t;

/* One sample of the store (called every ~20 ms until the deadline). */
static bool
s_sample (void *arg)
{
    s_watch_t *w = arg;
    int status = 0;
    char *text = h_http ("GET", w->port, "/metrics", NULL, &status, 2000);
    if (!text || status != 200) {
        free (text);
        w->lost = true;
        return true;
    }
    double depth = h_metric (text, "coordinator_queue_depth");
    double hard = h_metric (text, "mds_feedback_events_total{level=\"hard\"}");
    free (text);
    w->max_depth = depth > w->max_depth ? depth : w->max_depth;
    if (h_now_ms () < w->warm_end)
        return false;
    if (!w->warm_taken) {
        w->warm_taken = true;
        w->hard_at_warm_end = hard;
    } else if (depth > w->warm_max_depth)
        w->warm_max_depth = depth;
    return false; /* sample until the deadline */
}

static bool
s_read_acked (double *acked)
{
    for (int i = 0; i < S_PIPES; i++) {
        acked[i] = h_scrape (s_pipes[i].http_port, "mdp_bars_acked_total");
        if (isnan (acked[i]))
            return false;
    }
    return true;
}

START_TEST (ten_pipelines_share_one_store_fairly_without_overfilling_it)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    S_CHECK (e2e_store_init (&store, dir, "store", S_SINK, 1000, NULL) == 0, "store config");
    for (int i = 0; i < S_PIPES; i++)
        S_CHECK (s_pipe_init (&s_pipes[i], dir, i, &store, (double)S_SINK) == 0,
                 "pipeline %d config", i);
    S_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");

    /* all at once: spawn every pipeline, then wait for each */
    char *bin = h_build_path ("pipeline/md-pipeline");
    S_CHECK (bin != NULL, "no build root");
    long long t0 = h_now_ms ();
    for (int i = 0; i < S_PIPES; i++) {
        char *argv[] = { bin, (char *)"--config", s_pipes[i].config, NULL };
        S_CHECK (h_spawn (&s_pipes[i].proc, argv, NULL, s_pipes[i].log) == 0,
                 "md-pipeline %d did not spawn", i);
        s_pipes[i].running = true;
    }
    free (bin);
    for (int i = 0; i < S_PIPES; i++)
        S_CHECK (h_wait_service (&s_pipes[i].proc, s_pipes[i].http_port, 10000) == 0,
                 "md-pipeline %d did not answer (its own pid on its port)", i);

    /* warm-up, then the measured window (the fairness window starts
     * 1 s after the warm-up, so each count starts from a settled share) */
    s_watch_t w = { .port = store.http_port, .warm_end = t0 + S_WARM_MS };
    S_CHECK (h_wait_until (s_sample, &w, S_WARM_MS + 1000) == -1 && !w.lost,
             "the store stopped answering during the warm-up");
    double a0[S_PIPES], a1[S_PIPES];
    S_CHECK (s_read_acked (a0), "a pipeline's metrics could not be read");
    S_CHECK (h_wait_until (s_sample, &w, S_WINDOW_MS) == -1 && !w.lost,
             "the store stopped answering");
    S_CHECK (s_read_acked (a1), "a pipeline's metrics could not be read");
    double hard_end = h_scrape (store.http_port, "mds_feedback_events_total{level=\"hard\"}");
    double retries = h_scrape (store.http_port, "mds_batches_total{status=\"retry\"}");

    double lo = INFINITY, hi = 0, total = 0;
    for (int i = 0; i < S_PIPES; i++) {
        double d = a1[i] - a0[i];
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        total += d;
    }
    fprintf (stderr,
             "many_pipelines: acked per pipeline over %d s: min %.0f max %.0f (fairness %.3f), "
             "%.0f bars/s in all; max depth %.0f, after the warm-up %.0f; hard events after "
             "the warm-up %.0f; retries %.0f\n",
             S_WINDOW_MS / 1000, lo, hi, hi > 0 ? lo / hi : NAN, total * 1000 / S_WINDOW_MS,
             w.max_depth, w.warm_max_depth, hard_end - w.hard_at_warm_end, retries);
    S_CHECK (retries == 0, "%.0f batches were answered retry", retries);
    S_CHECK (w.max_depth < S_CAPACITY, "the queue reached its capacity (%.0f)", w.max_depth);
    S_CHECK (w.warm_max_depth < S_HIGH && hard_end == w.hard_at_warm_end,
             "after the warm-up the queue reached the high watermark: depth up to %.0f, %.0f "
             "events at level hard",
             w.warm_max_depth, hard_end - w.hard_at_warm_end);
    S_CHECK (hi > 0 && lo / hi >= 0.95, "unfair: acked per pipeline from %.0f to %.0f", lo, hi);

    /* pause everybody, wait for the last acks: every bar ingested is stored */
    for (int i = 0; i < S_PIPES; i++) {
        int status = 0;
        free (h_http ("POST", s_pipes[i].http_port, "/control/pause", "", &status, 2000));
        S_CHECK (status == 200, "pipeline %d did not pause", i);
    }
    double ingested = 0;
    for (int i = 0; i < S_PIPES; i++) {
        double n = NAN;
        S_CHECK (e2e_pipe_wait_drained (&s_pipes[i], 30000, &n) == 0,
                 "pipeline %d still has batches unacked", i);
        ingested += n;
    }
    long rows = h_db_rows (store.db);
    S_CHECK (rows == (long)ingested, "%ld rows stored, %.0f bars ingested", rows, ingested);

    for (int i = 0; i < S_PIPES; i++) {
        S_CHECK (h_stop (&s_pipes[i].proc, 10000) == 0, "pipeline %d did not exit 0", i);
        s_pipes[i].running = false;
        S_CHECK (!h_log_contains (&s_pipes[i].proc, "Sanitizer")
                     && !h_log_contains (&s_pipes[i].proc, "runtime error:"),
                 "pipeline %d: sanitizer report", i);
    }
    S_CHECK (e2e_store_stop (&store, 10000) == 0, "md-store did not exit 0");
    ck_assert_int_eq (e2e_cleanup (&dir), 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_many_pipelines");
    TCase *tc = tcase_create ("many_pipelines");
    tcase_set_timeout (tc, 90);
    tcase_add_test (tc, ten_pipelines_share_one_store_fairly_without_overfilling_it);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
