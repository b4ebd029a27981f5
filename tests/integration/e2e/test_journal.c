/*
 * e2e_journal: nothing a live feed delivered is lost (pipeline/live.h, the
 * journal).  A real md-store (SQLite) and a real md-pipeline whose exec
 * provider runs tickseq: a known tick sequence with cursor = its number, on a
 * wall-clock schedule like a live feed (a restart without a cursor misses
 * what was due meanwhile), that resumes after MDP_RESUME_CURSOR.  At the end of each test the
 * database must equal the reference aggregation of the whole sequence: every bar, each exactly
 * right.
 *
 *  - crash loop: the pipeline is killed with SIGKILL at random moments, six
 *    times, and started again each time;
 *  - a torn tail: the newest segment is cut in the middle of a record while
 *    the pipeline is down; the restart reports it and loses nothing (the
 *    feed resumes from the last good record's cursor);
 *  - journal full: with the store down the journal reaches journal.max_bytes,
 *    the source is no longer read, /health says so; once the store is back
 *    every tick reaches the database;
 *  - disk full: the journal directory is a small tmpfs (in the pipeline's
 *    own mount namespace: root only, skipped otherwise); ENOSPC makes
 *    /health/ready 503 with the error, and once space is freed every tick
 *    reaches the database.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>
#include "tests/integration/e2e/e2e_fixture.h"
#include "tests/integration/e2e/tickseq.h"

#define S_SEC 1000000000LL

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * S_SEC + ts.tv_nsec;
}
#define S_RATE 1000 /* ticks per second of wall time (10 s of event time) */

typedef struct {
    char symbol[4];
    int64_t ts;
    double o, h, l, c, v;
} s_bar_t;

/* The bars of ticks 0..count-1 (1 s bars), ordered by symbol, ts. */
static size_t
s_reference (long count, s_bar_t **out)
{
    size_t cap = (size_t)(count / 100 + 2) * 3, n = 0;
    s_bar_t *bars = calloc (cap, sizeof *bars);
    for (int sym = 0; sym < 3; sym++) {
        s_bar_t *b = NULL;
        for (long i = sym; i < count; i += 3) {
            tickseq_t t;
            tickseq_tick (i, &t);
            int64_t start = t.ts - t.ts % S_SEC;
            if (!b || b->ts != start) {
                b = &bars[n++];
                snprintf (b->symbol, sizeof b->symbol, "%s", t.symbol);
                b->ts = start;
                b->o = b->h = b->l = t.price;
                b->v = 0;
            }
            b->c = t.price;
            b->h = fmax (b->h, t.price);
            b->l = fmin (b->l, t.price);
            b->v += t.size;
        }
    }
    *out = bars;
    return n;
}

/* The rows against the reference: NULL when equal, else what differs. */
static char *
s_diff_db (const char *db, const s_bar_t *want, size_t n)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close (h);
        return h_strf ("cannot open %s", db);
    }
    sqlite3_busy_timeout (h, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (h,
                            "SELECT symbol, ts, open, high, low, close, volume FROM bars "
                            "WHERE provider = 'feed' ORDER BY symbol, ts",
                            -1, &st, NULL)
        != SQLITE_OK) {
        sqlite3_close (h);
        return h_strf ("no bars table yet");
    }
    size_t i = 0;
    char *diff = NULL;
    while (!diff && sqlite3_step (st) == SQLITE_ROW) {
        const char *sym = (const char *)sqlite3_column_text (st, 0);
        int64_t ts = sqlite3_column_int64 (st, 1);
        double o = sqlite3_column_double (st, 2), hi = sqlite3_column_double (st, 3),
               lo = sqlite3_column_double (st, 4), c = sqlite3_column_double (st, 5),
               v = sqlite3_column_double (st, 6);
        if (i >= n) {
            diff = h_strf ("more rows than the %zu bars of the sequence", n);
            break;
        }
        const s_bar_t *b = &want[i++];
        if (strcmp (sym, b->symbol) != 0 || ts != b->ts)
            diff = h_strf ("row %zu is %s@%lld, expected %s@%lld (a bar missing)", i, sym,
                           (long long)ts, b->symbol, (long long)b->ts);
        else if (o != b->o || hi != b->h || lo != b->l || c != b->c || v != b->v)
            diff = h_strf ("%s@%lld: %g %g %g %g %g, expected %g %g %g %g %g", sym, (long long)ts,
                           o, hi, lo, c, v, b->o, b->h, b->l, b->c, b->v);
    }
    sqlite3_finalize (st);
    sqlite3_close (h);
    if (!diff && i != n)
        diff = h_strf ("%zu rows, expected %zu bars", i, n);
    return diff;
}

/* Wait until the database equals the reference; fail with the last difference. */
static void
s_wait_db (const e2e_store_t *store, long count, int timeout_ms)
{
    s_bar_t *want = NULL;
    size_t n = s_reference (count, &want);
    int64_t end = s_now_ns () + (int64_t)timeout_ms * 1000000;
    char *diff = NULL;
    for (;;) {
        free (diff);
        diff = s_diff_db (store->db, want, n);
        if (!diff || s_now_ns () > end)
            break;
        usleep (200000);
    }
    free (want);
    E2E_CHECK (!diff, "the database is not the sequence's %zu bars: %s", n, diff);
}

/* DIR/pipeline.toml: the store, the journal in jdir, the tickseq provider. */
static void
s_pipe_init (e2e_pipe_t *p, const char *dir, const e2e_store_t *s, const char *jdir, long max_bytes,
             long count)
{
    memset (p, 0, sizeof *p);
    snprintf (p->config, sizeof p->config, "%s/pipeline.toml", dir);
    snprintf (p->log, sizeof p->log, "%s/pipeline.log", dir);
    p->http_port = h_free_port ();
    char *seq = h_build_path ("tests/integration/e2e/tickseq");
    FILE *f = fopen (p->config, "w");
    E2E_CHECK (f && p->http_port > 0 && seq, "cannot write %s", p->config);
    fprintf (
        f,
        "[pipeline]\nid = \"journal-test\"\n\n[store]\ningest = [\"tcp://127.0.0.1:%d\"]\n"
        "feedback = [\"tcp://127.0.0.1:%d\"]\nlinger_ms = 5\nack_timeout_ms = 1000\n\n"
        "[http]\nlisten = \"127.0.0.1:%d\"\n\n"
        "[journal]\ndir = \"%s\"\nmax_bytes = %ld\nfsync_ms = 100\n\n"
        "[[providers]]\nname = \"feed\"\ntype = \"exec\"\n"
        "command = [\"%s\", \"%ld\", \"%d\", \"%s/t0\"]\nbar_interval = \"1s\"\ngrace_ms = 500\n"
        "late_ms = 60000\ncooldown_ms = 100\nbreaker_threshold = 0\n",
        s->ingest_port, s->feedback_port, p->http_port, jdir, max_bytes, seq, count, S_RATE, dir);
    fclose (f);
    free (seq);
}

static void
s_pipe_start (e2e_pipe_t *p, const char *wrapper_jdir)
{
    char *bin = h_build_path ("pipeline/md-pipeline");
    char script[2048];
    char *argv_plain[] = { bin, "--config", p->config, NULL };
    /* the journal on a 1 MiB tmpfs of the pipeline's own, nearly full */
    snprintf (script, sizeof script,
              "mkdir -p '%s' && mount -t tmpfs -o size=1m tmpfs '%s' && "
              "head -c 900k /dev/zero > '%s/filler' && exec '%s' --config '%s'",
              wrapper_jdir ? wrapper_jdir : "", wrapper_jdir ? wrapper_jdir : "",
              wrapper_jdir ? wrapper_jdir : "", bin, p->config);
    char *argv_ns[]
        = { "/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script, NULL };
    E2E_CHECK (h_spawn (&p->proc, wrapper_jdir ? argv_ns : argv_plain, NULL, p->log) == 0,
               "spawn md-pipeline");
    free (bin);
    p->running = true;
    E2E_CHECK (h_wait_http (p->http_port, 10000) == 0, "md-pipeline did not answer (see its log)");
}

static void
s_pipe_kill (e2e_pipe_t *p)
{
    h_signal (&p->proc, SIGKILL);
    h_wait (&p->proc, 5000);
    p->running = false;
}

static double
s_metric (const e2e_pipe_t *p, const char *name)
{
    char series[160];
    snprintf (series, sizeof series, "%s{provider=\"feed\"}", name);
    return h_scrape (p->http_port, series);
}

static void
s_end (e2e_pipe_t *pipe, e2e_store_t *store, char **dir)
{
    if (pipe->running) {
        E2E_CHECK (h_stop (&pipe->proc, 20000) == 0, "pipeline did not exit 0");
        pipe->running = false;
    }
    E2E_CHECK (e2e_store_stop (store, 15000) == 0, "store did not exit 0");
    ck_assert_msg (e2e_cleanup (dir) == 0, "sanitizer report in a service's log");
}

/* The newest segment file of the provider's journal. */
static char *
s_newest_segment (const char *jdir)
{
    char *cmd = h_strf ("ls '%s/feed/'*.mdj | tail -n 1", jdir);
    char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    char *out = NULL;
    int rc = h_run (argv, NULL, 5000, &out);
    free (cmd);
    E2E_CHECK (rc == 0 && out && *out, "no journal segment in %s/feed", jdir);
    out[strcspn (out, "\n")] = '\0';
    return out;
}

/* A store (started unless store_down) and the pipeline's config for `count`
 * ticks, its journal in DIR/journal with max_bytes. */
static void
s_setup (const char *dir, e2e_store_t *store, e2e_pipe_t *pipe, long max_bytes, long count,
         bool store_down)
{
    char *jdir = h_strf ("%s/journal", dir);
    E2E_CHECK (e2e_store_init (store, dir, "jstore", 0, 200, NULL) == 0, "store init");
    E2E_CHECK (store_down || e2e_store_start (store, NULL) == 0, "store start");
    s_pipe_init (pipe, dir, store, jdir, max_bytes, count);
    free (jdir);
}

START_TEST (kill_9_at_random_moments_loses_no_bar_and_gets_none_wrong)
{
    char *dir = e2e_dir ();
    const long count = 12000;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_setup (dir, &store, &pipe, 1073741824L, count, false);
    srand ((unsigned)s_now_ns ());
    for (int k = 0; k < 6; k++) {
        s_pipe_start (&pipe, NULL);
        usleep ((useconds_t)(300000 + rand () % 1200000));
        s_pipe_kill (&pipe);
    }
    s_pipe_start (&pipe, NULL);
    s_wait_db (&store, count, 60000);
    E2E_CHECK (h_log_contains (&pipe.proc, "journal replay"), "no replay logged");
    E2E_CHECK (h_log_contains (&pipe.proc, "resume_cursor=\""), "no resume cursor logged");
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (a_torn_tail_is_reported_and_costs_nothing)
{
    char *dir = e2e_dir ();
    const long count = 5000;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_setup (dir, &store, &pipe, 1073741824L, count, false);
    s_pipe_start (&pipe, NULL);
    E2E_CHECK (h_wait_metric_ge (pipe.http_port, "mdp_ticks_total{provider=\"feed\"}", 2000, 20000)
                   >= 2000,
               "the feed did not deliver");
    s_pipe_kill (&pipe);
    char *jdir = h_strf ("%s/journal", dir);
    char *seg = s_newest_segment (jdir);
    free (jdir);
    struct stat st;
    E2E_CHECK (stat (seg, &st) == 0 && st.st_size > 100, "segment %s", seg);
    E2E_CHECK (truncate (seg, st.st_size - 5) == 0, "truncate %s", seg); /* mid-record */
    s_pipe_start (&pipe, NULL);
    s_wait_db (&store, count, 60000);
    E2E_CHECK (s_metric (&pipe, "mdp_journal_corrupt_total") == 1,
               "mdp_journal_corrupt_total is not 1");
    E2E_CHECK (h_log_contains (&pipe.proc, "journal tail cut at the last good record"),
               "the cut is not logged");
    free (seg);
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (a_full_journal_stops_reading_the_source_and_loses_nothing)
{
    char *dir = e2e_dir ();
    const long count = 6000;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_setup (dir, &store, &pipe, 65536, count, true); /* the store is not started */
    s_pipe_start (&pipe, NULL);
    double st = h_wait_metric_ge (pipe.http_port, "mdp_journal_state{provider=\"feed\"}", 1, 20000);
    E2E_CHECK (st == 1, "the journal did not fill (mdp_journal_state %g)", st);
    int status = 0;
    char *health = h_http ("GET", pipe.http_port, "/health", NULL, &status, 2000);
    E2E_CHECK (health && strstr (health, "\"journal\":{\"state\":\"full\""),
               "/health does not say the journal is full: %s", health ? health : "(none)");
    E2E_CHECK (strstr (health, "\"state\":\"degraded\""), "/health is not degraded: %s", health);
    free (health);
    double bytes = s_metric (&pipe, "mdp_journal_bytes");
    E2E_CHECK (bytes >= 65536 && bytes < 65536 + 256 * 1024, "journal bytes %g", bytes);
    usleep (1000000);
    E2E_CHECK (s_metric (&pipe, "mdp_journal_bytes") == bytes,
               "the source was read while the journal was full");
    E2E_CHECK (s_metric (&pipe, "mdp_journal_full_total") >= 1, "not counted");
    E2E_CHECK (h_log_contains (&pipe.proc, "journal full"), "not logged");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "store start");
    s_wait_db (&store, count, 90000);
    E2E_CHECK (s_metric (&pipe, "mdp_journal_state") == 0, "the journal is still not ok");
    E2E_CHECK (s_metric (&pipe, "mdp_journal_trimmed_segments_total") >= 8,
               "acked segments were not trimmed");
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (a_full_disk_makes_it_not_ready_and_loses_nothing)
{
    if (geteuid () != 0) {
        fprintf (stderr, "skipped: mounting a tmpfs needs root\n");
        return;
    }
    char *dir = e2e_dir ();
    char *jdir = h_strf ("%s/jfs", dir);
    const long count = 6000;
    e2e_store_t store;
    E2E_CHECK (e2e_store_init (&store, dir, "jstore", 0, 200, NULL) == 0, "store init");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "store start");
    e2e_pipe_t pipe;
    s_pipe_init (&pipe, dir, &store, jdir, 1073741824L, count);
    s_pipe_start (&pipe, jdir);
    double errs = h_wait_metric_ge (pipe.http_port, "mdp_journal_errors_total{provider=\"feed\"}",
                                    1, 20000);
    E2E_CHECK (errs >= 1, "no disk error counted");
    int status = 0;
    char *ready = h_http ("GET", pipe.http_port, "/health/ready", NULL, &status, 2000);
    E2E_CHECK (status == 503 && ready && strstr (ready, "No space left on device"),
               "/health/ready: %d %s", status, ready ? ready : "(none)");
    free (ready);
    E2E_CHECK (s_metric (&pipe, "mdp_journal_state") == 2, "mdp_journal_state is not 2");
    E2E_CHECK (h_log_contains (&pipe.proc, "journal error"), "not logged");
    /* free the space, as an operator would, in the pipeline's own view */
    char *filler = h_strf ("/proc/%d/root%s/filler", (int)pipe.proc.pid, jdir);
    E2E_CHECK (unlink (filler) == 0, "rm %s: %s", filler, strerror (errno));
    free (filler);
    s_wait_db (&store, count, 60000);
    ready = h_http ("GET", pipe.http_port, "/health/ready", NULL, &status, 2000);
    E2E_CHECK (status == 200, "/health/ready: %d %s", status, ready ? ready : "(none)");
    free (ready);
    s_end (&pipe, &store, &dir);
    free (jdir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_journal");
    TCase *tc = tcase_create ("journal");
    tcase_set_timeout (tc, 240);
    tcase_add_test (tc, kill_9_at_random_moments_loses_no_bar_and_gets_none_wrong);
    tcase_add_test (tc, a_torn_tail_is_reported_and_costs_nothing);
    tcase_add_test (tc, a_full_journal_stops_reading_the_source_and_loses_nothing);
    tcase_add_test (tc, a_full_disk_makes_it_not_ready_and_loses_nothing);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
