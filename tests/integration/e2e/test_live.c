/*
 * Live ticks end to end, as a user meets them: a real md-store (SQLite) and a
 * real md-pipeline whose provider reads ticks from a child process (exec,
 * NDJSON), a tick file (tick_csv) or a ZeroMQ PUB the test binds (zmq).  The
 * bars in the database must equal, exactly, an aggregation of the same ticks
 * computed here a different way (stable sort by symbol, bar, ts; then group),
 * with bad ticks counted, a late tick correcting its bar and a too-late one
 * dropped.  Also: a child that exits is started again after its cooldown, a
 * command that cannot run is a counted provider error, and a SIGTERM closes
 * the open bars into the store and stops the child with SIGTERM.
 */
#include <check.h>
#include <czmq.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/tick.h"
#include "tests/integration/e2e/e2e_fixture.h"

#define S_BASE_NS 1704153600000000000LL /* 2024-01-02T00:00:00Z */
#define S_SECONDS 20
#define S_PER_SECOND 10
#define S_NSYM 3

static const char *const s_syms[S_NSYM] = { "AAA", "BBB", "FX" }; /* FX: quotes */

typedef struct {
    char symbol[8];
    int64_t ts;
    bool quote;
    double price, size, bid, ask;
} s_tick_t;

typedef struct {
    s_tick_t *t;
    size_t n;
} s_ticks_t;

static uint64_t s_rng = 88172645463325252ULL;

static uint64_t
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* Ticks in arrival order: time order with neighbours swapped now and then
 * (out of order by less than the grace), some equal ts (ties), prices in
 * quarters so every mid is exact. */
static s_ticks_t
s_make_ticks (void)
{
    s_ticks_t a = { calloc (S_SECONDS * S_PER_SECOND * S_NSYM + 8, sizeof (s_tick_t)), 0 };
    for (int sec = 0; sec < S_SECONDS; sec++)
        for (int j = 0; j < S_PER_SECOND; j++)
            for (int k = 0; k < S_NSYM; k++) {
                s_tick_t *t = &a.t[a.n++];
                snprintf (t->symbol, sizeof t->symbol, "%s", s_syms[k]);
                int64_t jitter = (int64_t)(s_rand () % 99) * 1000000;
                t->ts = S_BASE_NS + sec * 1000000000LL + j * 100000000LL + jitter;
                if (s_rand () % 8 == 0 && a.n > S_NSYM)
                    t->ts = a.t[a.n - 1 - S_NSYM].ts; /* a tie with this symbol's previous */
                t->quote = k == 2;
                if (t->quote) {
                    t->bid = 1 + (double)(s_rand () % 400) * 0.25;
                    t->ask = t->bid + 0.25 * (double)(1 + s_rand () % 4);
                } else {
                    t->price = 100 + (double)(s_rand () % 400) * 0.25;
                    t->size = (double)(1 + s_rand () % 9) * 100;
                }
            }
    for (size_t i = 1; i < a.n; i++)
        if (s_rand () % 5 == 0) {
            s_tick_t tmp = a.t[i];
            a.t[i] = a.t[i - 1];
            a.t[i - 1] = tmp;
        }
    return a;
}

typedef struct {
    char symbol[8];
    int64_t ts;
    double o, h, l, c, v;
} s_bar_t;

static int64_t
s_start_of (int64_t ts, int64_t interval)
{
    return ts - ts % interval;
}

static int64_t s_interval = 1000000000LL;

/* Stable order by symbol, bar, ts: equal keys keep arrival order. */
static int
s_cmp_tick (const void *pa, const void *pb)
{
    const s_tick_t *a = *(const s_tick_t *const *)pa, *b = *(const s_tick_t *const *)pb;
    int c = strcmp (a->symbol, b->symbol);
    if (c)
        return c;
    int64_t sa = s_start_of (a->ts, s_interval), sb = s_start_of (b->ts, s_interval);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a < b ? -1 : a > b; /* arrival order: the array's */
}

/* The bars the ticks make, by sorting then grouping. */
static size_t
s_expect (const s_ticks_t *a, s_bar_t *out)
{
    const s_tick_t **p = calloc (a->n, sizeof *p);
    for (size_t i = 0; i < a->n; i++)
        p[i] = &a->t[i];
    qsort (p, a->n, sizeof *p, s_cmp_tick);
    size_t nb = 0;
    for (size_t i = 0; i < a->n;) {
        s_bar_t *b = &out[nb++];
        snprintf (b->symbol, sizeof b->symbol, "%s", p[i]->symbol);
        b->ts = s_start_of (p[i]->ts, s_interval);
        b->h = -INFINITY;
        b->l = INFINITY;
        b->v = 0;
        size_t j = i;
        for (; j < a->n && strcmp (p[j]->symbol, b->symbol) == 0
               && s_start_of (p[j]->ts, s_interval) == b->ts;
             j++) {
            double v = p[j]->quote ? (p[j]->bid + p[j]->ask) / 2 : p[j]->price;
            if (j == i)
                b->o = v;
            b->c = v;
            b->h = v > b->h ? v : b->h;
            b->l = v < b->l ? v : b->l;
            b->v += p[j]->quote ? 1 : p[j]->size;
        }
        i = j;
    }
    free (p);
    return nb;
}

static void
s_write_ndjson (FILE *f, const s_tick_t *t)
{
    if (t->quote)
        fprintf (f, "{\"symbol\":\"%s\",\"ts\":%lld,\"bid\":%.2f,\"ask\":%.2f}\n", t->symbol,
                 (long long)t->ts, t->bid, t->ask);
    else
        fprintf (f, "{\"symbol\":\"%s\",\"ts\":%lld,\"price\":%.2f,\"size\":%.0f}\n", t->symbol,
                 (long long)t->ts, t->price, t->size);
}

static void
s_write_csv (FILE *f, const s_tick_t *t)
{
    if (t->quote)
        fprintf (f, "%s,%lld,,,%.2f,%.2f\n", t->symbol, (long long)t->ts, t->bid, t->ask);
    else
        fprintf (f, "%s,%lld,%.2f,%.0f,,\n", t->symbol, (long long)t->ts, t->price, t->size);
}

/* Rows of `provider` in the store's database against the expected bars. */
static void
s_compare_db (const char *db, const char *provider, const s_bar_t *want, size_t n)
{
    sqlite3 *h = NULL;
    E2E_CHECK (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", db);
    sqlite3_busy_timeout (h, 5000);
    sqlite3_stmt *st = NULL;
    E2E_CHECK (sqlite3_prepare_v2 (h,
                                   "SELECT symbol, ts, open, high, low, close, volume FROM bars "
                                   "WHERE provider = ?1 ORDER BY symbol, ts",
                                   -1, &st, NULL)
                   == SQLITE_OK,
               "prepare");
    sqlite3_bind_text (st, 1, provider, -1, SQLITE_STATIC);
    size_t i = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        E2E_CHECK (i < n, "more rows than the %zu bars expected", n);
        const s_bar_t *b = &want[i++];
        const char *sym = (const char *)sqlite3_column_text (st, 0);
        int64_t ts = sqlite3_column_int64 (st, 1);
        double o = sqlite3_column_double (st, 2), hi = sqlite3_column_double (st, 3),
               lo = sqlite3_column_double (st, 4), c = sqlite3_column_double (st, 5),
               v = sqlite3_column_double (st, 6);
        E2E_CHECK (strcmp (sym, b->symbol) == 0 && ts == b->ts,
                   "row %zu is %s@%lld, expected %s@%lld", i, sym, (long long)ts, b->symbol,
                   (long long)b->ts);
        E2E_CHECK (o == b->o && hi == b->h && lo == b->l && c == b->c && v == b->v,
                   "%s@%lld: got %.17g %.17g %.17g %.17g %.17g, expected %.17g %.17g %.17g "
                   "%.17g %.17g",
                   sym, (long long)ts, o, hi, lo, c, v, b->o, b->h, b->l, b->c, b->v);
    }
    sqlite3_finalize (st);
    sqlite3_close (h);
    E2E_CHECK (i == n, "%zu rows, expected %zu bars", i, n);
}

/* The pipeline's config: one store, the given provider tables. */
static void
s_pipe_init (e2e_pipe_t *p, const char *dir, const e2e_store_t *s, const char *providers)
{
    memset (p, 0, sizeof *p);
    snprintf (p->config, sizeof p->config, "%s/pipeline.toml", dir);
    snprintf (p->log, sizeof p->log, "%s/pipeline.log", dir);
    p->http_port = h_free_port ();
    FILE *f = fopen (p->config, "w");
    E2E_CHECK (f && p->http_port > 0, "cannot write %s", p->config);
    fprintf (f,
             "[pipeline]\nid = \"live-test\"\n\n[store]\ningest = [\"tcp://127.0.0.1:%d\"]\n"
             "feedback = [\"tcp://127.0.0.1:%d\"]\nlinger_ms = 5\n\n"
             "[http]\nlisten = \"127.0.0.1:%d\"\n\n[journal]\ndir = \"%s/journal\"\n\n%s",
             s->ingest_port, s->feedback_port, p->http_port, dir, providers);
    fclose (f);
}

static void
s_start_both (e2e_store_t *store, e2e_pipe_t *pipe, const char *dir, const char *providers)
{
    E2E_CHECK (e2e_store_init (store, dir, "live-store", 0, 200, NULL) == 0, "store init");
    E2E_CHECK (e2e_store_start (store, NULL) == 0, "store start");
    s_pipe_init (pipe, dir, store, providers);
    E2E_CHECK (e2e_pipe_start (pipe, NULL) == 0, "pipeline start (see its log)");
}

static double
s_metric (e2e_pipe_t *p, const char *name, const char *provider)
{
    char series[160];
    snprintf (series, sizeof series, "%s{provider=\"%s\"}", name, provider);
    return h_scrape (p->http_port, series);
}

/* Wait until `bars` bars of the provider are acked. */
static void
s_wait_acked (e2e_pipe_t *p, const char *provider, double bars)
{
    char series[160];
    snprintf (series, sizeof series, "mdp_bars_acked_total{provider=\"%s\"}", provider);
    double got = h_wait_metric_ge (p->http_port, series, bars, 20000);
    E2E_CHECK (got >= bars, "%s: %.0f bars acked, expected %.0f", provider, got, bars);
}

/* The end of a test: both services exit 0 (the pipeline first, if still
 * running), no sanitizer report, the directory removed. */
static void
s_end (e2e_pipe_t *pipe, e2e_store_t *store, char **dir)
{
    if (pipe->running)
        E2E_CHECK (e2e_pipe_stop (pipe, 15000) == 0, "pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (store, 15000) == 0, "store did not exit 0");
    ck_assert_msg (e2e_cleanup (dir) == 0, "sanitizer report in a service's log");
}

START_TEST (exec_ndjson_ticks_become_the_exact_bars_in_the_store)
{
    char *dir = e2e_dir ();
    s_ticks_t ticks = s_make_ticks ();
    char path[600];
    snprintf (path, sizeof path, "%s/ticks.ndjson", dir);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    for (size_t i = 0; i < ticks.n; i++) {
        s_write_ndjson (f, &ticks.t[i]);
        if (i == 50)
            fputs ("{\"symbol\":\"AAA\",\"ts\":1704153600,\"price\":-1,\"size\":1}\n"
                   "not json at all\n"
                   "{\"symbol\":\"FX\",\"ts\":1704153601,\"bid\":2.5,\"ask\":2}\n",
                   f);
    }
    fclose (f);
    s_bar_t *want = calloc (ticks.n, sizeof *want);
    size_t nwant = s_expect (&ticks, want);
    ck_assert_uint_eq (nwant, S_SECONDS * S_NSYM);
    char providers[4096];
    snprintf (providers, sizeof providers,
              "[[providers]]\nname = \"feed\"\ntype = \"exec\"\nformat = \"ndjson\"\n"
              "command = [\"sh\", \"-c\", \"cat \\\"$0\\\"; exec sleep 600\", \"%s\"]\n"
              "bar_interval = \"1s\"\ngrace_ms = 1000\nlate_ms = 5000\n",
              path);
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_both (&store, &pipe, dir, providers);
    s_wait_acked (&pipe, "feed", (double)nwant);
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_total", "feed") == (double)ticks.n,
               "mdp_ticks_total is not %zu", ticks.n);
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_bad_total", "feed") == 3, "3 bad ticks not counted");
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_late_total", "feed") == 0, "late ticks counted");
    E2E_CHECK (h_log_contains (&pipe.proc, "tick skipped"), "no log line for a bad tick");
    /* freshness: the last bar closed ended on 2024-01-02, years behind the clock */
    double lag = s_metric (&pipe, "mdp_live_lag_seconds", "feed");
    double want_lag = (double)time (NULL) - (double)(S_BASE_NS / 1000000000LL + S_SECONDS);
    E2E_CHECK (fabs (lag - want_lag) < 60, "mdp_live_lag_seconds %.0f, expected about %.0f", lag,
               want_lag);
    s_compare_db (store.db, "feed", want, nwant);
    free (want);
    free (ticks.t);
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (tick_csv_replay_corrects_a_late_bar_and_drops_a_too_late_tick)
{
    char *dir = e2e_dir ();
    s_ticks_t ticks = s_make_ticks ();
    /* after everything: one tick 2 s behind the newest (its bar closed:
     * corrected) and one 10 s behind (beyond late_ms = 3 s: dropped) */
    int64_t newest = 0;
    for (size_t i = 0; i < ticks.n; i++)
        newest = ticks.t[i].ts > newest ? ticks.t[i].ts : newest;
    s_tick_t late = { "AAA", newest - 2000000000LL, false, 1000, 700, 0, 0 };
    s_tick_t too_late = { "BBB", newest - 10000000000LL, false, 2000, 100, 0, 0 };
    char path[600];
    snprintf (path, sizeof path, "%s/ticks.csv", dir);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fputs ("Symbol,TS,Price,Size,Bid,Ask\n", f);
    for (size_t i = 0; i < ticks.n; i++)
        s_write_csv (f, &ticks.t[i]);
    fputs ("AAA,yesterday,1,1,,\n", f);
    s_write_csv (f, &late);
    s_write_csv (f, &too_late);
    fclose (f);
    ticks.t[ticks.n++] = late; /* part of the expected bars; too_late is not */
    s_bar_t *want = calloc (ticks.n, sizeof *want);
    size_t nwant = s_expect (&ticks, want);
    char providers[4096];
    snprintf (providers, sizeof providers,
              "[[providers]]\nname = \"replay\"\ntype = \"tick_csv\"\npath = \"%s\"\n"
              "speed = 0\nbar_interval = \"1s\"\ngrace_ms = 300\nlate_ms = 3000\n",
              path);
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_both (&store, &pipe, dir, providers);
    /* every bar once, plus the corrected one sent again */
    s_wait_acked (&pipe, "replay", (double)nwant + 1);
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_late_total", "replay") == 1, "late tick not counted");
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_dropped_total", "replay") == 1,
               "too-late tick not counted as dropped");
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_bad_total", "replay") == 1, "bad ts not counted");
    E2E_CHECK (s_metric (&pipe, "mdp_provider_state", "replay") == 3, "replay not done");
    s_compare_db (store.db, "replay", want, nwant);
    free (want);
    free (ticks.t);
    s_end (&pipe, &store, &dir);
}
END_TEST

static void
s_publish (zsock_t *pub, const s_tick_t *t, bool with_topic)
{
    mdf_tick_t m;
    memset (&m, 0, sizeof m);
    snprintf (m.symbol, sizeof m.symbol, "%s", t->symbol);
    m.ts = t->ts;
    m.kind = t->quote ? MDF_TICK_QUOTE : MDF_TICK_TRADE;
    m.price = t->price;
    m.size = t->size;
    m.bid = t->bid;
    m.ask = t->ask;
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_tick_msgpack_encode (&m, &buf), 0);
    zmsg_t *msg = zmsg_new ();
    if (with_topic)
        zmsg_addstr (msg, "ticks.");
    zmsg_addmem (msg, buf.data, buf.size);
    zmsg_send (&msg, pub);
    mdf_buf_free (&buf);
}

START_TEST (zmq_feed_ticks_become_the_exact_bars_in_the_store)
{
    char *dir = e2e_dir ();
    s_ticks_t ticks = s_make_ticks ();
    s_bar_t *want = calloc (ticks.n, sizeof *want);
    size_t nwant = s_expect (&ticks, want);
    int port = h_free_port ();
    zsock_t *pub = zsock_new (ZMQ_PUB);
    zsock_set_sndhwm (pub, 0);
    ck_assert_int_ge (zsock_bind (pub, "tcp://127.0.0.1:%d", port), 0);
    char providers[4096];
    snprintf (providers, sizeof providers,
              "[[providers]]\nname = \"bus\"\ntype = \"zmq\"\n"
              "endpoint = \"tcp://127.0.0.1:%d\"\ntopic = \"ticks.\"\n"
              "bar_interval = \"1s\"\ngrace_ms = 1000\nlate_ms = 5000\n",
              port);
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_both (&store, &pipe, dir, providers);
    /* PUB/SUB joins late: warm up with another symbol until a tick is seen */
    s_tick_t warm = { "WARM", S_BASE_NS - 3600000000000LL, false, 1, 1, 0, 0 };
    long long until = h_now_ms () + 10000;
    while (s_metric (&pipe, "mdp_ticks_total", "bus") < 1 && h_now_ms () < until) {
        s_publish (pub, &warm, true);
        h_sleep_ms (50);
    }
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_total", "bus") >= 1, "the SUB never got a tick");
    double warm_ticks = s_metric (&pipe, "mdp_ticks_total", "bus");
    for (size_t i = 0; i < ticks.n; i++)
        s_publish (pub, &ticks.t[i], true);
    zstr_sendm (pub, "ticks.");
    zstr_send (pub, "garbage, not msgpack");
    zstr_send (pub, "other.topic: not for us");
    s_wait_acked (&pipe, "bus", (double)nwant + 1); /* + the WARM bar */
    double seen = s_metric (&pipe, "mdp_ticks_total", "bus");
    E2E_CHECK (seen == warm_ticks + (double)ticks.n, "ticks lost on the bus: %.0f, expected %.0f",
               seen, warm_ticks + (double)ticks.n);
    E2E_CHECK (s_metric (&pipe, "mdp_ticks_bad_total", "bus") == 1, "garbage not counted");
    /* the warm-up bar is not part of the comparison */
    sqlite3 *h = NULL;
    sqlite3_open_v2 (store.db, &h, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_busy_timeout (h, 5000);
    E2E_CHECK (sqlite3_exec (h, "DELETE FROM bars WHERE symbol = 'WARM'", NULL, NULL, NULL)
                   == SQLITE_OK,
               "cannot remove the warm-up bar");
    sqlite3_close (h);
    s_compare_db (store.db, "bus", want, nwant);
    zsock_destroy (&pub);
    free (want);
    free (ticks.t);
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (an_exiting_child_is_restarted_and_a_missing_command_is_a_provider_error)
{
    char *dir = e2e_dir ();
    const char *providers
        = "[[providers]]\nname = \"flaky\"\ntype = \"exec\"\n"
          "command = [\"sh\", \"-c\", \"echo symbol,ts,price,size; echo AAA,1704153600,10,1; "
          "echo oops >&2; exit 3\"]\ncooldown_ms = 200\nbreaker_threshold = 0\n\n"
          "[[providers]]\nname = \"missing\"\ntype = \"exec\"\n"
          "command = [\"/nonexistent/feed\"]\ncooldown_ms = 200\n";
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_both (&store, &pipe, dir, providers);
    double restarts = h_wait_metric_ge (pipe.http_port,
                                        "mdp_live_restarts_total{provider=\"flaky\"}", 3, 15000);
    E2E_CHECK (restarts >= 3, "the child was not restarted (%.0f)", restarts);
    double errors = h_wait_metric_ge (pipe.http_port,
                                      "mdp_provider_errors_total{provider=\"missing\"}", 2, 15000);
    E2E_CHECK (errors >= 2, "a missing command is not a provider error (%.0f)", errors);
    E2E_CHECK (h_log_contains (&pipe.proc, "provider command ended"), "exit not logged");
    E2E_CHECK (h_log_contains (&pipe.proc, "cannot run /nonexistent/feed"),
               "missing command not logged");
    E2E_CHECK (h_log_contains (&pipe.proc, "oops"), "the child's stderr is not in the log");
    int status = 0;
    char *health = h_http ("GET", pipe.http_port, "/health", NULL, &status, 2000);
    E2E_CHECK (health && strstr (health, "\"missing\":\""), "no state for the provider: %s",
               health ? health : "(none)");
    free (health);
    E2E_CHECK (h_running (&pipe.proc), "the pipeline died");
    s_end (&pipe, &store, &dir);
}
END_TEST

START_TEST (sigterm_closes_the_open_bars_into_the_store_and_stops_the_child)
{
    char *dir = e2e_dir ();
    s_ticks_t ticks = s_make_ticks ();
    char path[600], marker[600];
    snprintf (path, sizeof path, "%s/ticks.ndjson", dir);
    snprintf (marker, sizeof marker, "%s/child-got-term", dir);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    for (size_t i = 0; i < ticks.n; i++)
        s_write_ndjson (f, &ticks.t[i]);
    fclose (f);
    s_bar_t *want = calloc (ticks.n, sizeof *want);
    size_t nwant = s_expect (&ticks, want);
    /* grace of 10 minutes: the last bars close only at the stop */
    char providers[4096];
    snprintf (providers, sizeof providers,
              "[[providers]]\nname = \"feed\"\ntype = \"exec\"\nformat = \"ndjson\"\n"
              "command = [\"sh\", \"-c\", \"trap 'echo term > \\\"$1\\\"; exit 0' TERM; "
              "cat \\\"$0\\\"; while :; do sleep 0.1; done\", \"%s\", \"%s\"]\n"
              "bar_interval = \"1s\"\ngrace_ms = 600000\nlate_ms = 5000\n",
              path, marker);
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_both (&store, &pipe, dir, providers);
    double got = h_wait_metric_ge (pipe.http_port, "mdp_ticks_total{provider=\"feed\"}",
                                   (double)ticks.n, 15000);
    E2E_CHECK (got == (double)ticks.n, "%.0f ticks read, expected %zu", got, ticks.n);
    double open = s_metric (&pipe, "mdp_live_open_bars", "feed");
    E2E_CHECK (open >= S_NSYM, "the last bars should still be open (%.0f)", open);
    E2E_CHECK (e2e_pipe_stop (&pipe, 20000) == 0, "pipeline did not exit 0");
    E2E_CHECK (access (marker, F_OK) == 0, "the child did not get SIGTERM");
    s_compare_db (store.db, "feed", want, nwant);
    free (want);
    free (ticks.t);
    s_end (&pipe, &store, &dir);
}
END_TEST

/* Whether pid runs (a zombie does not: nobody may reap an orphan here). */
static bool
s_alive (pid_t pid)
{
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    const char *paren = strrchr (buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* A child that ignores SIGTERM gets SIGKILL stop_grace_ms later, and a
 * child outlives no pipeline: after a kill -9 of md-pipeline it is gone. */
START_TEST (a_child_that_ignores_sigterm_is_killed_and_none_outlives_the_pipeline)
{
    char *dir = e2e_dir ();
    char pidfile[600];
    snprintf (pidfile, sizeof pidfile, "%s/child.pid", dir);
    char providers[4096];
    snprintf (providers, sizeof providers,
              "[[providers]]\nname = \"stubborn\"\ntype = \"exec\"\n"
              "command = [\"sh\", \"-c\", \"trap '' TERM; echo $$ > \\\"$0\\\"; "
              "echo symbol,ts,price,size; while :; do sleep 0.05; done\", \"%s\"]\n"
              "stop_grace_ms = 300\n",
              pidfile);
    e2e_store_t store;
    e2e_pipe_t pipe;
    for (int round = 0; round < 2; round++) {
        unlink (pidfile);
        if (round == 0)
            s_start_both (&store, &pipe, dir, providers);
        else
            E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "pipeline restart");
        long long until = h_now_ms () + 10000;
        pid_t child = 0;
        while (child <= 0 && h_now_ms () < until) {
            FILE *f = fopen (pidfile, "r");
            if (f) {
                int v = 0;
                if (fscanf (f, "%d", &v) == 1)
                    child = (pid_t)v;
                fclose (f);
            }
            if (child <= 0)
                h_sleep_ms (20);
        }
        E2E_CHECK (child > 0, "the child never wrote its pid");
        long long t0 = h_now_ms ();
        if (round == 0)
            E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "pipeline did not exit 0");
        else {
            h_signal (&pipe.proc, SIGKILL);
            h_wait (&pipe.proc, 5000);
            pipe.running = false;
        }
        /* the child is reparented to init (or a subreaper) and reaped there */
        while (s_alive (child) && h_now_ms () - t0 < 5000)
            h_sleep_ms (20);
        E2E_CHECK (!s_alive (child), "round %d: child %d still alive after the pipeline", round,
                   (int)child);
        if (round == 0)
            E2E_CHECK (h_now_ms () - t0 < 5000, "the stop took %lld ms", h_now_ms () - t0);
    }
    s_end (&pipe, &store, &dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_live");
    TCase *tc = tcase_create ("live");
    tcase_set_timeout (tc, 90);
    tcase_add_test (tc, exec_ndjson_ticks_become_the_exact_bars_in_the_store);
    tcase_add_test (tc, tick_csv_replay_corrects_a_late_bar_and_drops_a_too_late_tick);
    tcase_add_test (tc, zmq_feed_ticks_become_the_exact_bars_in_the_store);
    tcase_add_test (tc, an_exiting_child_is_restarted_and_a_missing_command_is_a_provider_error);
    tcase_add_test (tc, sigterm_closes_the_open_bars_into_the_store_and_stops_the_child);
    tcase_add_test (tc, a_child_that_ignores_sigterm_is_killed_and_none_outlives_the_pipeline);
    suite_add_tcase (s, tc);
    return h_run_suite_reaped (s);
}
