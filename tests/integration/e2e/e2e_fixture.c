/*
 * e2e_fixture: closed-loop processes for the end-to-end tests; see the header.
 *
 * What a test started is recorded by the harness (h_spawn, h_own_dir): a
 * failed E2E_CHECK kills it and prints the logs (h_kill_all), e2e_cleanup
 * stops it and looks for sanitizer reports (h_stop_all).
 */
#include "tests/integration/e2e/e2e_fixture.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
e2e_dir (void)
{
    char *dir = h_tmpdir ();
    h_own_dir (dir);
    return dir;
}

void
e2e_kill_all (void)
{
    h_kill_all ();
}

int
e2e_cleanup (char **dir)
{
    int rc = h_stop_all (10000);
    if (dir && *dir) {
        h_rmtree (*dir);
        free (*dir);
        *dir = NULL;
    }
    return rc;
}

const char *
e2e_endpoint (int port, char *buf, size_t size)
{
    snprintf (buf, size, "tcp://127.0.0.1:%d", port);
    return buf;
}

/* ------------------------------------------------------------------ store */

int
e2e_store_init (e2e_store_t *s, const char *dir, const char *id, long max_rows_per_sec,
                int heartbeat_ms, const char *extra)
{
    memset (s, 0, sizeof *s);
    snprintf (s->id, sizeof s->id, "%s", id);
    snprintf (s->config, sizeof s->config, "%s/%s.toml", dir, id);
    snprintf (s->db, sizeof s->db, "%s/%s.db", dir, id);
    snprintf (s->log, sizeof s->log, "%s/%s.log", dir, id);
    s->ingest_port = h_free_port ();
    s->feedback_port = h_free_port ();
    s->http_port = h_free_port ();
    if (s->ingest_port < 0 || s->feedback_port < 0 || s->http_port < 0)
        return -1;
    FILE *f = fopen (s->config, "w");
    if (!f)
        return -1;
    fprintf (f,
             "[store]\nid = \"%s\"\n\n[ingest]\nendpoint = \"tcp://127.0.0.1:%d\"\n\n"
             "[feedback]\nendpoint = \"tcp://127.0.0.1:%d\"\nheartbeat_ms = %d\n\n"
             "[sink]\ntype = \"sqlite\"\npath = \"%s\"\nmax_rows_per_sec = %ld\n\n"
             "[http]\nlisten = \"127.0.0.1:%d\"\n\n%s\n",
             id, s->ingest_port, s->feedback_port, heartbeat_ms, s->db, max_rows_per_sec,
             s->http_port, extra ? extra : "");
    return fclose (f) == 0 ? 0 : -1;
}

static int
s_start (h_proc_t *proc, bool *running, const char *binary, const char *config, int http_port,
         const char *log, char *const env[])
{
    char *path = h_build_path (binary);
    char *argv[] = { path, (char *)"--config", (char *)config, NULL };
    int rc = path ? h_spawn (proc, argv, env, log) : -1;
    free (path);
    if (rc != 0)
        return -1;
    *running = true;
    if (h_wait_service (proc, http_port, 10000) != 0) {
        *running = proc->pid > 0;
        return -1;
    }
    return 0;
}

int
e2e_store_start (e2e_store_t *s, char *const env[])
{
    return s_start (&s->proc, &s->running, "store/md-store", s->config, s->http_port, s->log, env);
}

int
e2e_store_stop (e2e_store_t *s, int timeout_ms)
{
    if (!s->running)
        return -1;
    int rc = h_stop (&s->proc, timeout_ms);
    s->running = false;
    return rc;
}

int
e2e_store_kill (e2e_store_t *s)
{
    if (!s->running)
        return -1;
    h_signal (&s->proc, SIGKILL);
    int rc = h_wait (&s->proc, 5000);
    s->running = false;
    return rc;
}

/* --------------------------------------------------------------- pipeline */

int
e2e_pipe_init (e2e_pipe_t *p, const char *dir, const e2e_pipe_opts_t *o, e2e_store_t *const *stores,
               size_t n)
{
    memset (p, 0, sizeof *p);
    snprintf (p->config, sizeof p->config, "%s/pipeline.toml", dir);
    snprintf (p->log, sizeof p->log, "%s/pipeline.log", dir);
    p->http_port = h_free_port ();
    FILE *f = p->http_port > 0 ? fopen (p->config, "w") : NULL;
    if (!f)
        return -1;
    fprintf (f, "[pipeline]\nid = \"e2e-pipeline\"\n\n[store]\ningest = [");
    for (size_t i = 0; i < n; i++)
        fprintf (f, "%s\"tcp://127.0.0.1:%d\"", i ? ", " : "", stores[i]->ingest_port);
    fprintf (f, "]\nfeedback = [");
    for (size_t i = 0; i < n; i++)
        fprintf (f, "%s\"tcp://127.0.0.1:%d\"", i ? ", " : "", stores[i]->feedback_port);
    fprintf (f,
             "]\nbatch_max = %d\nlinger_ms = 5\nmax_inflight = %d\nack_timeout_ms = %d\n\n"
             "[feedback]\nenabled = %s\nstale_after_ms = %d\nfailsafe = \"soft\"\n\n"
             "[http]\nlisten = \"127.0.0.1:%d\"\n\n"
             "[[providers]]\nname = \"syn\"\ntype = \"synthetic\"\ncapacity = %d\n"
             "refill_rate = %.0f\nsymbols = [\"AAA\", \"BBB\", \"CCC\"]\nseed = 42\n",
             o->batch_max, o->max_inflight, o->ack_timeout_ms, o->feedback ? "true" : "false",
             o->stale_after_ms, p->http_port, o->bucket, o->refill_rate);
    return fclose (f) == 0 ? 0 : -1;
}

int
e2e_pipe_start (e2e_pipe_t *p, char *const env[])
{
    return s_start (&p->proc, &p->running, "pipeline/md-pipeline", p->config, p->http_port, p->log,
                    env);
}

int
e2e_pipe_stop (e2e_pipe_t *p, int timeout_ms)
{
    if (!p->running)
        return -1;
    int rc = h_stop (&p->proc, timeout_ms);
    p->running = false;
    return rc;
}

typedef struct {
    int port;
    double ingested, acked, inflight;
} s_drain_t;

static bool
s_drained (void *arg)
{
    s_drain_t *d = arg;
    int status = 0;
    char *text = h_http ("GET", d->port, "/metrics", NULL, &status, 2000);
    if (text && status == 200) {
        d->ingested = h_metric (text, "mdp_bars_ingested_total");
        d->acked = h_metric (text, "mdp_bars_acked_total");
        d->inflight = h_metric (text, "mdp_batches_inflight");
    }
    free (text);
    return d->inflight == 0 && d->acked == d->ingested && !isnan (d->ingested);
}

int
e2e_pipe_drain (e2e_pipe_t *p, int timeout_ms, double *ingested)
{
    int status = 0;
    free (h_http ("POST", p->http_port, "/control/pause", "", &status, 2000));
    if (status != 200)
        return -1;
    return e2e_pipe_wait_drained (p, timeout_ms, ingested);
}

int
e2e_pipe_wait_drained (e2e_pipe_t *p, int timeout_ms, double *ingested)
{
    s_drain_t d = { p->http_port, NAN, NAN, NAN };
    int rc = h_wait_until (s_drained, &d, timeout_ms);
    if (ingested)
        *ingested = d.ingested;
    return rc;
}

void
e2e_finish_without_loss (const char *what, const char *detail, e2e_pipe_t *pipe, e2e_store_t *store,
                         long (*count_rows) (void *arg), void *arg, char **dir)
{
    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (pipe, 20000, &ingested) == 0,
               "%s: not every batch acked after pause", what);
    long rows = count_rows ? count_rows (arg) : h_db_rows (store->db);
    fprintf (stderr, "%s: %s, ingested %.0f, rows %ld\n", what, detail, ingested, rows);
    E2E_CHECK (rows == (long)ingested, "%s: rows %ld != bars produced %.0f", what, rows, ingested);
    E2E_CHECK (e2e_pipe_stop (pipe, 10000) == 0, "%s: md-pipeline did not exit 0", what);
    E2E_CHECK (e2e_store_stop (store, 20000) == 0, "%s: md-store did not exit 0", what);
    ck_assert_msg (e2e_cleanup (dir) == 0, "%s: sanitizer report in a service's log", what);
}

/* ------------------------------------------------------------ observation */

typedef struct {
    int port;
    long long end_ms, warm_ms;
    bool stop_on_retry;
    bool warm_taken, lost;
    double written_warm, written_last;
    long long t_warm, t_last;
    e2e_watch_t *w;
} s_watch_t;

static bool
s_sample (void *arg)
{
    s_watch_t *c = arg;
    int status = 0;
    char *text = h_http ("GET", c->port, "/metrics", NULL, &status, 2000);
    long long now = h_now_ms ();
    if (!text || status != 200) {
        free (text);
        c->lost = true;
        return true;
    }
    double depth = h_metric (text, "coordinator_queue_depth");
    double written = h_metric (text, "mds_bars_written_total");
    c->w->capacity = h_metric (text, "coordinator_queue_capacity");
    c->w->retries = h_metric (text, "mds_batches_total{status=\"retry\"}");
    c->w->hard_events = h_metric (text, "mds_feedback_events_total{level=\"hard\"}");
    free (text);
    c->w->samples++;
    if (depth > c->w->max_depth)
        c->w->max_depth = depth;
    if (!c->warm_taken && now >= c->warm_ms) {
        c->warm_taken = true;
        c->written_warm = written;
        c->t_warm = now;
    }
    c->written_last = written;
    c->t_last = now;
    if (c->stop_on_retry && c->w->retries > 0)
        return true;
    return now >= c->end_ms;
}

int
e2e_watch_store (const e2e_store_t *s, int duration_ms, int warmup_ms, bool stop_on_retry,
                 e2e_watch_t *w)
{
    memset (w, 0, sizeof *w);
    long long now = h_now_ms ();
    s_watch_t c = { .port = s->http_port,
                    .end_ms = now + duration_ms,
                    .warm_ms = now + warmup_ms,
                    .stop_on_retry = stop_on_retry,
                    .w = w };
    h_wait_until (s_sample, &c, duration_ms + 5000);
    if (c.warm_taken && c.t_last > c.t_warm)
        w->rate = (c.written_last - c.written_warm) * 1000.0 / (double)(c.t_last - c.t_warm);
    return c.lost ? -1 : 0;
}
