/*
 * PostgreSQL outage: md-store writes to a throwaway PostgreSQL (pg_server)
 * under load; the server is stopped (pg_ctl stop -m fast) for 10 s and then
 * started again on the same data directory and port.  While it is down the
 * sink's writes fail and are retried with backoff, nothing is acked, the
 * sink's service rate falls to 0 and the pipeline stops sending (scale 0);
 * the queue holds what was in flight, within the store's credit.  Once
 * the server is back the store reconnects, drains its queue, returns to OK and
 * rows keep growing.  After a pause and the last acks, the rows in PostgreSQL
 * equal mdp_bars_ingested_total: zero loss.
 *
 * PostgreSQL keeps ts to the microsecond; the load here is a looping CSV
 * provider whose bars are 1 ms apart, so every bar is one row.
 * The store's queue can only fill with bars the pipeline has in flight, and
 * each of them only once:
 * at the end of the outage its depth equals the bars in flight although every
 * batch was resent after ack_timeout_ms (md-store drops resends it still holds).
 * Skips (77) when no PostgreSQL server can be started.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/e2e/e2e_fixture.h"
#include "tests/integration/store/pg_server.h"

#define OUTAGE_MS 10000
#define QUEUE "[queue]\ncapacity = 4000\nhigh_watermark = 3000\nlow_watermark = 2000\n"
#define WORKERS                                                                                    \
    "[workers]\nretry_initial_ms = 50\nretry_max_ms = 500\nbreaker_failures = 5\n"                 \
    "breaker_cooldown_ms = 500\n"

static pg_server_t s_pg; /* started by main, shared by the forked test */

/* A CSV of n bars, 1 ms apart, two symbols (replayed in a loop). */
static char *
s_csv (const char *dir, int n)
{
    char *path = h_strf ("%s/bars.csv", dir);
    FILE *f = fopen (path, "w");
    if (!f) {
        free (path);
        return NULL;
    }
    fprintf (f, "symbol,ts,open,high,low,close,volume\n");
    for (int i = 0; i < n; i++)
        fprintf (f, "%s,%lld,100,101,99,100.5,10\n", i % 2 ? "BBB" : "AAA",
                 1700000000000000000LL + (long long)i * 1000000LL);
    fclose (f);
    return path;
}

/* Bars the pipeline sent and has not had acked (NAN if unreadable). */
static double
s_pipe_inflight (const e2e_pipe_t *p)
{
    return h_scrape (p->http_port, "mdp_bars_sent_total{provider=\"syn\"}")
           - h_scrape (p->http_port, "mdp_bars_acked_total{provider=\"syn\"}");
}

/* Replace the fixture's synthetic provider with the looping CSV one. */
static int
s_pipe_config (const e2e_pipe_t *p, const e2e_store_t *s, const char *csv)
{
    FILE *f = fopen (p->config, "w");
    if (!f)
        return -1;
    fprintf (
        f,
        "[pipeline]\nid = \"faults-pg\"\n\n[store]\ningest = [\"tcp://127.0.0.1:%d\"]\n"
        "feedback = [\"tcp://127.0.0.1:%d\"]\nbatch_max = 500\nlinger_ms = 100\nmax_inflight = 16\n"
        "ack_timeout_ms = 3000\n\n[feedback]\nstale_after_ms = 2000\n\n"
        "[http]\nlisten = \"127.0.0.1:%d\"\n\n"
        "[[providers]]\nname = \"syn\"\ntype = \"csv\"\npath = \"%s\"\nloop = true\n"
        "capacity = 1000\nrefill_rate = 5000\n",
        s->ingest_port, s->feedback_port, p->http_port, csv);
    return fclose (f) == 0 ? 0 : -1;
}

/* Rows in the outage's PostgreSQL (e2e_finish_without_loss). */
static long
s_pg_rows (void *arg)
{
    return pg_server_rows (arg);
}

START_TEST (postgres_outage_goes_hard_retries_recovers_and_loses_nothing)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    e2e_store_t *stores[] = { &store };
    char *csv = s_csv (dir, 1000);
    E2E_CHECK (csv != NULL, "csv");
    E2E_CHECK (e2e_store_init (&store, dir, "store-pg", 0, 200, QUEUE WORKERS) == 0,
               "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (s_pipe_config (&pipe, &store, csv) == 0, "pipeline config");
    free (csv);
    char *conninfo = h_strf ("MDS_SINK_CONNINFO=%s", s_pg.conninfo);
    char *env[] = { (char *)"MDS_SINK_TYPE=postgres", conninfo, NULL };
    E2E_CHECK (e2e_store_start (&store, env) == 0, "md-store did not start");
    free (conninfo);
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");
    double w = h_wait_metric_ge (store.http_port, "mds_bars_written_total", 5000, 15000);
    E2E_CHECK (w >= 5000, "only %.0f bars written before the outage", w);

    E2E_CHECK (pg_server_halt (&s_pg) == 0, "pg_ctl stop -m fast failed");
    long long t_down = h_now_ms ();
    double failed = h_wait_metric_ge (store.http_port, "mds_sink_errors_total", 1, OUTAGE_MS);
    E2E_CHECK (failed >= 1, "no failed write while PostgreSQL was down");
    /* the sink takes nothing: its service rate falls to 0 and the pipeline
     * stops sending (share); what is in flight stays within the store's
     * credit, below the high watermark */
    double scale = -1;
    for (int i = 0; i < 50 && scale != 0; i++) {
        scale = h_scrape (pipe.http_port, "pipeline_rate_scale_factor{provider=\"syn\"}");
        usleep (100000);
    }
    E2E_CHECK (scale == 0, "the pipeline still sends (scale %.2f) with the sink down", scale);
    while (h_now_ms () - t_down < OUTAGE_MS)
        E2E_CHECK (h_wait_http (store.http_port, 1000) == 0, "md-store stopped answering HTTP");
    double errors = h_scrape (store.http_port, "mds_sink_errors_total");
    double written_down = h_scrape (store.http_port, "mds_bars_written_total");
    /* The queue holds only bars the pipeline has in flight (sent, not acked),
     * each once, though every batch was resent after ack_timeout_ms (3 s)
     * during the outage: md-store drops a resend of a batch it still holds.
     * So depth <= in flight, and == when they all fit the queue (a push can
     * only fail when the queue is full).  The pipeline sends nothing new and
     * nothing is acked, so the window is still; read it on both sides of the
     * store's depth and use the reading when they agree. */
    double depth = -1, inflight = -1;
    for (int i = 0; i < 20 && depth < 0; i++) {
        double before = s_pipe_inflight (&pipe);
        double d = h_scrape (store.http_port, "coordinator_queue_depth");
        if (before == s_pipe_inflight (&pipe))
            depth = d, inflight = before;
    }
    double dups = h_scrape (store.http_port, "mds_ingest_duplicates_total");
    double resent = h_scrape (pipe.http_port, "mdp_batches_resent_total{reason=\"timeout\"}");
    fprintf (stderr,
             "pg outage: queue depth %.0f, bars in flight %.0f, resent on timeout %.0f, "
             "duplicates dropped %.0f, retry acks %.0f\n",
             depth, inflight, resent, dups,
             h_scrape (store.http_port, "mds_batches_total{status=\"retry\"}"));
    E2E_CHECK (depth >= 0, "the pipeline's window kept moving during the outage");
    E2E_CHECK (resent >= 1 && dups >= 1, "no resend during the outage (%.0f, %.0f dropped)", resent,
               dups);
    E2E_CHECK (depth <= inflight, "queue depth %.0f > bars in flight %.0f: resends queued twice",
               depth, inflight);
    if (inflight <= 4000) /* [queue] capacity */
        E2E_CHECK (depth == inflight, "queue depth %.0f != bars in flight %.0f", depth, inflight);
    E2E_CHECK (errors >= 3, "only %.0f failed writes in %d ms: no retries", errors, OUTAGE_MS);
    E2E_CHECK (pg_server_resume (&s_pg) == 0, "PostgreSQL did not start again");

    double ok = h_wait_metric_ge (store.http_port, "coordinator_backpressure_ok", 1, 20000);
    E2E_CHECK (ok == 1, "the store did not return to OK after PostgreSQL came back");
    w = h_wait_metric_ge (store.http_port, "mds_bars_written_total", written_down + 10000, 20000);
    E2E_CHECK (w >= written_down + 10000, "writes did not resume (%.0f then %.0f)", written_down,
               w);
    E2E_CHECK (h_scrape (store.http_port, "mds_sink_breaker_state") == 0, "breaker not closed");
    char detail[64];
    snprintf (detail, sizeof detail, "%.0f failed writes", errors);
    e2e_finish_without_loss ("pg outage", detail, &pipe, &store, s_pg_rows, &s_pg, &dir);
}
END_TEST

int
main (void)
{
    char why[512];
    if (pg_server_start (&s_pg, why, sizeof why) != 0) {
        printf ("SKIP: %s\n", why);
        pg_server_stop (&s_pg);
        return 77;
    }
    Suite *s = suite_create ("faults_pg_outage");
    TCase *tc = tcase_create ("pg_outage");
    tcase_set_timeout (tc, 80);
    tcase_add_test (tc, postgres_outage_goes_hard_retries_recovers_and_loses_nothing);
    suite_add_tcase (s, tc);
    int rc = h_run_suite (s);
    pg_server_stop (&s_pg);
    return rc;
}
