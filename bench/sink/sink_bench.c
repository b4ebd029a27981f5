/*
 * sink_bench: the sink ceiling, in rows per second, for SQLite and
 * PostgreSQL at transaction sizes 500 and 5000 (the store's sink code, called
 * directly: one transaction per write, distinct rows).
 *
 *   sink_bench [--rows N] [--symbols S] [--dir DIR] [--pg CONNINFO]
 *              [--rounds K] [--workers 1,2,4] [--no-sqlite] [--no-pg]
 *
 * Rows spread over S symbols (default 50), ts increasing per symbol: each
 * transaction touches S places of the primary key, which is what dominates
 * SQLite's cost (dirty index pages written to the WAL per commit).
 *
 * SQLite: one connection, a fresh file in DIR (default /tmp), WAL,
 * synchronous=normal (the store's default).
 *
 * PostgreSQL: for each workers count W (as [workers] count: W connections
 * writing in parallel, each its own provider so the keys are disjoint) and
 * batch size, the sink against a bare libpq loop (pg_bare.c, path
 * copy-binary-1rt: the same binary COPY + upsert in one round trip, the same
 * rows, no mdflow code) on the same server.  N rows in all per run; each round
 * runs both, alternating which goes first, and the figures are medians over
 * the rounds (a shared machine is noisy), printed as "rows/s = R x bare"
 * where R is the median of the rounds' sink/bare ratios.  CPU per row of the
 * writer threads (client) and, when the server was started here, of all the
 * server's processes (its backends, WAL writer, checkpointer) show what each
 * side costs independently of what else runs on the machine.  The server is CONNINFO, or
 * $MDF_BENCH_PG, or a throwaway one started here on loopback with default
 * (durable) settings and stopped at the end; skipped when none can be reached
 * or started.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "pg_bare.h"
#include "store/sink.h"
#include "tests/integration/store/pg_server.h"

#define MAX_ROUNDS 32
#define MAX_WORKERS 16

static size_t s_symbols = 50;

static void
s_fill (mdf_batch_t *b, size_t n, int64_t ts0)
{
    for (size_t i = 0; i < n; i++) {
        mdf_bar_t *bar = &b->bars[i];
        snprintf (bar->symbol, sizeof bar->symbol, "SYM%03zu", i % s_symbols);
        bar->ts = ts0 + (int64_t)(i / s_symbols) * 1000000; /* per symbol: 1 ms apart */
        bar->open = 100.0 + (double)(i % 7);
        bar->high = bar->open + 1;
        bar->low = bar->open - 1;
        bar->close = bar->open + 0.5;
        bar->volume = 1000;
    }
}

/* The same rows for the bare loop (symbols point into b's bars). */
static void
s_fill_bare (bare_row_t *rows, const mdf_batch_t *b)
{
    for (size_t i = 0; i < b->nbars; i++) {
        const mdf_bar_t *bar = &b->bars[i];
        rows[i] = (bare_row_t){ b->provider,
                                bar->symbol,
                                bar->ts,
                                { bar->open, bar->high, bar->low, bar->close, bar->volume } };
    }
}

static double
s_thread_cpu (void)
{
    struct timespec t;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of the PostgreSQL server whose postmaster is `postmaster`: the
 * postmaster and its children (backends, WAL writer, checkpointer, ...), per
 * process from /proc/PID/schedstat. */
#define MAX_PROCS 256
typedef struct {
    int n;
    int pid[MAX_PROCS];
    double cpu[MAX_PROCS];
} procs_t;

static void
s_server_cpu (int postmaster, procs_t *out)
{
    out->n = 0;
    DIR *d = postmaster > 0 ? opendir ("/proc") : NULL;
    struct dirent *e;
    while (d && (e = readdir (d)) && out->n < MAX_PROCS) {
        int p = atoi (e->d_name);
        if (p <= 0)
            continue;
        char path[64], line[512];
        snprintf (path, sizeof path, "/proc/%d/stat", p);
        FILE *f = fopen (path, "r");
        int ppid = 0;
        if (f) {
            const char *rp = fgets (line, sizeof line, f) ? strrchr (line, ')') : NULL;
            if (!rp || sscanf (rp, ") %*c %d", &ppid) != 1)
                ppid = 0;
            fclose (f);
        }
        if (p != postmaster && ppid != postmaster)
            continue;
        snprintf (path, sizeof path, "/proc/%d/schedstat", p);
        f = fopen (path, "r");
        unsigned long long ns = 0;
        if (f) {
            if (fscanf (f, "%llu", &ns) != 1)
                ns = 0;
            fclose (f);
        }
        out->pid[out->n] = p;
        out->cpu[out->n++] = (double)ns / 1e9;
    }
    if (d)
        closedir (d);
}

/* CPU seconds the server used between two snapshots (a process that ended in
 * between is missed; one that started counts whole). */
static double
s_server_cpu_used (const procs_t *before, const procs_t *after)
{
    double used = 0;
    for (int i = 0; i < after->n; i++) {
        double was = 0;
        for (int j = 0; j < before->n; j++)
            if (before->pid[j] == after->pid[i])
                was = before->cpu[j];
        used += after->cpu[i] - was;
    }
    return used;
}

/* The postmaster's PID from DIR/data/postmaster.pid; 0 when unknown. */
static int
s_postmaster (const pg_server_t *pg)
{
    if (!pg->running)
        return 0;
    char path[400];
    snprintf (path, sizeof path, "%s/data/postmaster.pid", pg->dir);
    FILE *f = fopen (path, "r");
    int pid = 0;
    if (f) {
        if (fscanf (f, "%d", &pid) != 1)
            pid = 0;
        fclose (f);
    }
    return pid;
}

static int s_postmaster_pid;

/* ---- SQLite: one connection ---- */

/* Rows per second writing `total` rows in transactions of `batch`; -1 on error. */
static double
s_run_sqlite (const sink_config_t *cfg, size_t batch, size_t total)
{
    char err[512];
    sink_t *sink = sink_new (cfg, err, sizeof err);
    if (!sink || sink_open (sink, err, sizeof err) != 0) {
        fprintf (stderr, "sink_bench: %s: %s\n", cfg->type, err);
        sink_destroy (&sink);
        return -1;
    }
    mdf_batch_t b = { 0 };
    snprintf (b.provider, sizeof b.provider, "bench%zu", batch);
    b.bars = calloc (batch, sizeof *b.bars);
    b.nbars = batch;
    const mdf_batch_t *one[] = { &b };
    size_t done = 0;
    int64_t ts0 = 1763850000000000000LL, busy_ns = 0;
    while (done < total) {
        s_fill (&b, batch, ts0);
        ts0 += (int64_t)(batch / s_symbols + 1) * 1000000;
        int64_t t0 = mdf_mono_ns ();
        if (sink_write (sink, one, 1, err, sizeof err) != 0) {
            fprintf (stderr, "sink_bench: %s: %s\n", cfg->type, err);
            break;
        }
        busy_ns += mdf_mono_ns () - t0;
        done += batch;
    }
    free (b.bars);
    sink_destroy (&sink);
    return done < total ? -1 : (double)done / ((double)busy_ns / 1e9);
}

static void
s_report_sqlite (const sink_config_t *cfg, size_t total)
{
    size_t sizes[] = { 500, 5000 };
    for (size_t i = 0; i < 2; i++) {
        double rate = s_run_sqlite (cfg, sizes[i], total);
        if (rate < 0)
            printf ("%-10s batch %5zu: failed\n", "sqlite", sizes[i]);
        else
            printf ("%-10s batch %5zu: %10.0f rows/s  (%zu rows, %zu symbols)\n", "sqlite",
                    sizes[i], rate, total, s_symbols);
        fflush (stdout);
    }
}

/* ---- PostgreSQL: W writers in parallel, the sink or the bare loop ---- */

typedef struct {
    const char *conninfo;
    bool bare;
    size_t batch, rows;
    char provider[64];
    sink_t *sink;
    bare_t *loop;
    pthread_barrier_t *go;
    int rc;
    double cpu_s;
    char err[512];
} writer_t;

static void *
s_writer (void *arg)
{
    writer_t *w = arg;
    mdf_batch_t b = { 0 };
    snprintf (b.provider, sizeof b.provider, "%s", w->provider);
    b.bars = calloc (w->batch, sizeof *b.bars);
    bare_row_t *rows = calloc (w->batch, sizeof *rows);
    const mdf_batch_t *one[] = { &b };
    int64_t ts0 = 1763850000000000000LL;
    pthread_barrier_wait (w->go);
    double c0 = s_thread_cpu ();
    if (!b.bars || !rows) {
        snprintf (w->err, sizeof w->err, "out of memory");
        w->rc = -1;
    }
    for (size_t done = 0; w->rc == 0 && done < w->rows; done += w->batch) {
        b.nbars = w->rows - done < w->batch ? w->rows - done : w->batch;
        s_fill (&b, b.nbars, ts0);
        ts0 += (int64_t)(b.nbars / s_symbols + 1) * 1000000;
        if (w->bare) {
            s_fill_bare (rows, &b);
            w->rc = bare_write (w->loop, rows, b.nbars, w->err, sizeof w->err);
        } else
            w->rc = sink_write (w->sink, one, 1, w->err, sizeof w->err);
    }
    w->cpu_s = s_thread_cpu () - c0;
    free (rows);
    free (b.bars);
    return NULL;
}

/* Rows per second of `workers` writers (sink or bare) writing `total` rows in
 * transactions of `batch`, wall clock; -1 on error.  *cpu_us: the writer
 * threads' CPU microseconds per row; *server_us: the server's (0 unknown). */
static double
s_run_pg (const char *conninfo, const char *table, bool bare, int workers, size_t batch,
          size_t total, int round, double *cpu_us, double *server_us)
{
    writer_t w[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    pthread_barrier_t go;
    pthread_barrier_init (&go, NULL, (unsigned)workers + 1);
    bool ok = true;
    for (int i = 0; i < workers; i++) {
        memset (&w[i], 0, sizeof w[i]);
        w[i].conninfo = conninfo;
        w[i].bare = bare;
        w[i].batch = batch;
        w[i].rows = total / (size_t)workers;
        w[i].go = &go;
        snprintf (w[i].provider, sizeof w[i].provider, "%s-b%zu-w%d-r%d-%d", bare ? "bare" : "sink",
                  batch, workers, round, i);
        char err[512];
        if (bare)
            w[i].loop = bare_open (conninfo, table, "copy-binary-1rt", err, sizeof err);
        else {
            sink_config_t cfg = { "postgres", NULL, conninfo, table, NULL };
            w[i].sink = sink_new (&cfg, err, sizeof err);
            if (w[i].sink && sink_open (w[i].sink, err, sizeof err) != 0)
                sink_destroy (&w[i].sink);
        }
        if (!w[i].loop && !w[i].sink) {
            fprintf (stderr, "sink_bench: postgres %s: %s\n", bare ? "bare" : "sink", err);
            ok = false;
        }
    }
    double rate = -1;
    if (ok) {
        for (int i = 0; i < workers; i++)
            pthread_create (&th[i], NULL, s_writer, &w[i]);
        static procs_t before, after;
        s_server_cpu (s_postmaster_pid, &before);
        pthread_barrier_wait (&go);
        int64_t t0 = mdf_mono_ns ();
        size_t rows = 0;
        double cpu = 0;
        for (int i = 0; i < workers; i++) {
            pthread_join (th[i], NULL);
            if (w[i].rc) {
                fprintf (stderr, "sink_bench: postgres %s: %s\n", bare ? "bare" : "sink", w[i].err);
                ok = false;
            }
            rows += w[i].rows;
            cpu += w[i].cpu_s;
        }
        double dt = (double)(mdf_mono_ns () - t0) / 1e9;
        s_server_cpu (s_postmaster_pid, &after); /* before the backends go */
        double server = s_server_cpu_used (&before, &after);
        if (ok) {
            rate = (double)rows / dt;
            *cpu_us = cpu * 1e6 / (double)rows;
            *server_us = server * 1e6 / (double)rows;
        }
    }
    for (int i = 0; i < workers; i++) {
        bare_close (w[i].loop);
        sink_destroy (&w[i].sink);
    }
    pthread_barrier_destroy (&go);
    return rate;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
s_median (double *v, int n)
{
    qsort (v, (size_t)n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
s_report_pg (const char *conninfo, size_t total, int rounds, const int *workers, int nworkers)
{
    const size_t sizes[] = { 500, 5000 };
    enum { SINK, BARE };
    /* [who][workers][size][round] */
    static double rate[2][8][2][MAX_ROUNDS], cpu[2][8][2][MAX_ROUNDS], server[2][8][2][MAX_ROUNDS],
        ratio[8][2][MAX_ROUNDS];
    bool failed[8][2] = { { false } };
    for (int r = 0; r < rounds; r++)
        for (int wi = 0; wi < nworkers; wi++)
            for (int si = 0; si < 2; si++) {
                for (int k = 0; k < 2; k++) {
                    int who = (k == 0) == (r % 2 == 0) ? BARE : SINK; /* alternate who goes first */
                    rate[who][wi][si][r]
                        = s_run_pg (conninfo, "bars_bench", who == BARE, workers[wi], sizes[si],
                                    total, r, &cpu[who][wi][si][r], &server[who][wi][si][r]);
                    if (rate[who][wi][si][r] < 0)
                        failed[wi][si] = true;
                }
                ratio[wi][si][r] = rate[SINK][wi][si][r] / rate[BARE][wi][si][r];
                fprintf (stderr,
                         "  round %d  workers %d  batch %5zu: sink %8.0f rows/s, bare %8.0f "
                         "rows/s (%.2f); server CPU %.2f vs %.2f us/row\n",
                         r + 1, workers[wi], sizes[si], rate[SINK][wi][si][r],
                         rate[BARE][wi][si][r], ratio[wi][si][r], server[SINK][wi][si][r],
                         server[BARE][wi][si][r]);
            }
    printf ("postgres: the sink vs a bare libpq loop doing the same COPY + upsert, medians of %d "
            "rounds of %zu rows;\n          R = the median of each round's sink/bare; CPU "
            "in us per row, sink vs bare\n",
            rounds, total);
    for (int wi = 0; wi < nworkers; wi++)
        for (int si = 0; si < 2; si++) {
            if (failed[wi][si]) {
                printf ("postgres   workers %d  batch %5zu: failed\n", workers[wi], sizes[si]);
                continue;
            }
            printf ("postgres   workers %d  batch %5zu: %7.0f rows/s = %.2f x bare (%7.0f "
                    "rows/s); client CPU %.2f vs %.2f",
                    workers[wi], sizes[si], s_median (rate[SINK][wi][si], rounds),
                    s_median (ratio[wi][si], rounds), s_median (rate[BARE][wi][si], rounds),
                    s_median (cpu[SINK][wi][si], rounds), s_median (cpu[BARE][wi][si], rounds));
            if (s_postmaster_pid)
                printf (", server CPU %.2f vs %.2f", s_median (server[SINK][wi][si], rounds),
                        s_median (server[BARE][wi][si], rounds));
            printf ("\n");
        }
    fflush (stdout);
}

int
main (int argc, char **argv)
{
    size_t total = 200000;
    int rounds = 3, workers[8] = { 1, 2, 4 }, nworkers = 3;
    bool sqlite = true, pg = true;
    const char *dir = "/tmp", *conninfo = getenv ("MDF_BENCH_PG");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--no-sqlite"))
            sqlite = false;
        else if (!strcmp (a, "--no-pg"))
            pg = false;
        else if (v && !strcmp (a, "--rows"))
            total = (size_t)atol (v), i++;
        else if (v && !strcmp (a, "--symbols"))
            s_symbols = atol (v) > 0 ? (size_t)atol (v) : 1, i++;
        else if (v && !strcmp (a, "--dir"))
            dir = v, i++;
        else if (v && !strcmp (a, "--pg"))
            conninfo = v, i++;
        else if (v && !strcmp (a, "--rounds"))
            rounds = atoi (v), i++;
        else if (v && !strcmp (a, "--workers")) {
            nworkers = 0;
            char list[128];
            snprintf (list, sizeof list, "%s", v);
            for (char *t = strtok (list, ","); t && nworkers < 8; t = strtok (NULL, ","))
                if (atoi (t) >= 1 && atoi (t) <= MAX_WORKERS)
                    workers[nworkers++] = atoi (t);
            i++;
        } else {
            fprintf (stderr, "usage: sink_bench [--rows N] [--symbols S] [--dir DIR] [--pg "
                             "CONNINFO] [--rounds K] [--workers 1,2,4] [--no-sqlite] [--no-pg]\n");
            return 2;
        }
    }
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    if (sqlite) {
        char path[512];
        snprintf (path, sizeof path, "%s/sink-bench-%d.db", dir, (int)getpid ());
        sink_config_t sq = { "sqlite", path, NULL, "bars", "normal" };
        s_report_sqlite (&sq, total);
        char wal[600];
        unlink (path);
        snprintf (wal, sizeof wal, "%s-wal", path);
        unlink (wal);
        snprintf (wal, sizeof wal, "%s-shm", path);
        unlink (wal);
    }
    if (!pg || nworkers == 0)
        return 0;
    pg_server_t server = { 0 };
    char why[512];
    if (!conninfo) {
        if (pg_server_start_ex (&server, true, why, sizeof why) != 0) {
            printf ("postgres   skipped: %s\n", why);
            pg_server_stop (&server);
            return 0;
        }
        conninfo = server.conninfo;
    }
    s_postmaster_pid = s_postmaster (&server);
    s_report_pg (conninfo, total, rounds, workers, nworkers);
    pg_server_stop (&server);
    return 0;
}
