/*
 * fixture: see fixture.h.
 */
#include "fixture.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
fx_start (fx_t *fx, const char *store_tuning, const char *feedback_section, const char *providers,
          char *const env[])
{
    memset (fx, 0, sizeof *fx);
    fx->dir = h_tmpdir ();
    ck_assert_ptr_nonnull (fx->dir);
    fx->ingest_port = h_free_port ();
    fx->feedback_port = h_free_port ();
    while (fx->feedback_port == fx->ingest_port)
        fx->feedback_port = h_free_port ();
    fx->http_port = h_free_port ();
    fx->store = standin_new (fx->ingest_port, fx->feedback_port, 100);
    ck_assert_ptr_nonnull (fx->store);
    char *text = h_strf (
        "[pipeline]\nid = \"it\"\n\n[store]\ningest = [\"tcp://127.0.0.1:%d\"]\n"
        "feedback = [\"tcp://127.0.0.1:%d\"]\n%s\n\n%s\n\n[http]\nlisten = \"127.0.0.1:%d\"\n\n%s",
        fx->ingest_port, fx->feedback_port,
        store_tuning ? store_tuning
                     : "batch_max = 100\nlinger_ms = 5\nmax_inflight = 4\nack_timeout_ms = 300\n"
                       "retry_backoff_ms = 20\nretry_backoff_max_ms = 200\ndrain_timeout_ms = 2000",
        feedback_section
            ? feedback_section
            : "[feedback]\npolicy = \"step\"\nstale_after_ms = 600\nfailsafe = \"soft\"",
        fx->http_port, providers ? providers : FX_SYNTHETIC);
    fx->config = h_write_file (fx->dir, "pipeline.toml", text);
    free (text);
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *log = h_strf ("%s/pipeline.log", fx->dir);
    char *argv[] = { bin, "--config", fx->config, NULL };
    ck_assert_int_eq (h_spawn (&fx->proc, argv, env, log), 0);
    free (bin);
    free (log);
    if (h_wait_service (&fx->proc, fx->http_port, 10000) != 0) {
        h_dump_log (&fx->proc);
        ck_abort_msg ("md-pipeline did not answer HTTP");
    }
}

int
fx_stop (fx_t *fx)
{
    int rc = -1;
    if (fx->proc.pid > 0) {
        rc = h_stop (&fx->proc, 8000);
        if (rc != 0)
            h_dump_log (&fx->proc);
    }
    standin_destroy (&fx->store);
    if (fx->dir)
        h_rmtree (fx->dir);
    free (fx->dir);
    free (fx->config);
    fx->dir = fx->config = NULL;
    return rc;
}

double
fx_metric (fx_t *fx, const char *series)
{
    return h_scrape (fx->http_port, series);
}

typedef struct {
    fx_t *fx;
    const char *series;
    double value, tol;
} s_cond_t;

static bool
s_near (void *arg)
{
    s_cond_t *c = arg;
    double v = fx_metric (c->fx, c->series);
    return !isnan (v) && fabs (v - c->value) <= c->tol;
}

bool
fx_wait_metric (fx_t *fx, const char *series, double value, double tol, int timeout_ms)
{
    s_cond_t c = { fx, series, value, tol };
    return h_wait_until (s_near, &c, timeout_ms) == 0;
}

double
fx_measure_rate (fx_t *fx, int window_ms)
{
    long long t0 = h_now_ms ();
    long n0 = standin_distinct (fx->store);
    /* The measurement window itself: time is what is being measured here. */
    struct timespec w = { window_ms / 1000, (long)(window_ms % 1000) * 1000000L };
    nanosleep (&w, NULL);
    long n1 = standin_distinct (fx->store);
    long long t1 = h_now_ms ();
    return (double)(n1 - n0) * 1000.0 / (double)(t1 - t0);
}

int
fx_post (fx_t *fx, const char *path)
{
    int status = 0;
    char *body = h_http ("POST", fx->http_port, path, "", &status, 3000);
    free (body);
    return status;
}

void
fx_edit_config (fx_t *fx, const char *from, const char *to)
{
    FILE *f = fopen (fx->config, "r");
    ck_assert_ptr_nonnull (f);
    char buf[8192];
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    char *at = strstr (buf, from);
    ck_assert_msg (at, "'%s' not in %s", from, fx->config);
    *at = '\0';
    f = fopen (fx->config, "w");
    ck_assert_ptr_nonnull (f);
    fprintf (f, "%s%s%s", buf, to, at + strlen (from));
    fclose (f);
}
