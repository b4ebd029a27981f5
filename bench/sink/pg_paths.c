/*
 * pg_paths: PostgreSQL write paths compared, bare libpq only (pg_bare.h):
 * text vs binary COPY into a staging table, with and without DISTINCT ON,
 * one INSERT from unnest'ed binary arrays, one prepared multi-row VALUES.
 *
 *   pg_paths [--rows N] [--rounds K] [--conns C] [--batches 500,5000]
 *            [--paths copy-text,unnest,...] [--fast] [--pg CONNINFO]
 *
 * Each round runs every path at every batch size, in turn, so that a busy
 * neighbour on a shared machine weighs on all paths alike; the table at the
 * end gives each path's median over the rounds.  C connections write in
 * parallel, each its own provider (disjoint keys), N rows in all.  Rows are
 * spread over 50 symbols with increasing ts, as in sink_bench.
 *
 * The server is CONNINFO, or $MDF_BENCH_PG, or a throwaway one started here
 * on loopback (durable settings; --fast: fsync off, to see CPU cost alone),
 * stopped at the end.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_bare.h"
#include "tests/integration/store/pg_server.h"

#define MAX_ROUNDS 32
#define MAX_CONNS 16

typedef struct {
    const char *conninfo, *path;
    char table[64], provider[32];
    size_t batch, rows;
    int64_t ts0;
    bare_t *bare;
    pthread_barrier_t *go;
    int rc;
    double server_s, client_s; /* CPU seconds of the backend and of this thread */
    char err[512];
} job_t;

static double
s_now (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char s_symbols[50][8];

/* CPU seconds a process has run, from /proc/PID/schedstat (ns resolution). */
static double
s_proc_cpu (int pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen (path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf (f, "%llu", &ns) != 1)
            ns = 0;
        fclose (f);
    }
    return (double)ns / 1e9;
}

static double
s_thread_cpu (void)
{
    struct timespec t;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
s_job (void *arg)
{
    job_t *j = arg;
    bare_row_t *rows = calloc (j->batch, sizeof *rows);
    pthread_barrier_wait (j->go);
    int pid = bare_backend_pid (j->bare);
    double s0 = s_proc_cpu (pid), c0 = s_thread_cpu ();
    for (size_t done = 0; rows && done < j->rows && j->rc == 0; done += j->batch) {
        size_t n = j->rows - done < j->batch ? j->rows - done : j->batch;
        for (size_t i = 0; i < n; i++) {
            bare_row_t *r = &rows[i];
            r->provider = j->provider;
            r->symbol = s_symbols[i % 50];
            r->ts = j->ts0 + (int64_t)(i / 50) * 1000000;
            r->v[0] = 100.0 + (double)(i % 7);
            r->v[1] = r->v[0] + 1;
            r->v[2] = r->v[0] - 1;
            r->v[3] = r->v[0] + 0.5;
            r->v[4] = 1000;
        }
        j->ts0 += (int64_t)(n / 50 + 1) * 1000000;
        j->rc = bare_write (j->bare, rows, n, j->err, sizeof j->err);
    }
    j->server_s = s_proc_cpu (pid) - s0;
    j->client_s = s_thread_cpu () - c0;
    free (rows);
    return NULL;
}

/* Rows per second for one path, batch and round; -1 on error.  *cpu_us: CPU
 * microseconds per row, server backends and client threads together. */
static double
s_run (const char *conninfo, const char *path, size_t batch, size_t total, int conns, int round,
       double *cpu_us)
{
    job_t jobs[MAX_CONNS];
    pthread_t th[MAX_CONNS];
    pthread_barrier_t go;
    pthread_barrier_init (&go, NULL, (unsigned)conns + 1);
    int ok = 1;
    for (int c = 0; c < conns; c++) {
        job_t *j = &jobs[c];
        memset (j, 0, sizeof *j);
        j->conninfo = conninfo;
        j->path = path;
        snprintf (j->table, sizeof j->table, "paths_%.40s", path);
        for (char *p = j->table; *p; p++)
            if (*p == '-')
                *p = '_';
        snprintf (j->provider, sizeof j->provider, "b%zu-r%d-c%d", batch, round, c);
        j->batch = batch;
        j->rows = total / (size_t)conns;
        j->ts0 = 1763850000000000000LL;
        j->go = &go;
        j->bare = bare_open (conninfo, j->table, path, j->err, sizeof j->err);
        if (!j->bare) {
            fprintf (stderr, "pg_paths: %s: %s\n", path, j->err);
            ok = 0;
        }
    }
    if (!ok) {
        for (int c = 0; c < conns; c++)
            bare_close (jobs[c].bare);
        pthread_barrier_destroy (&go);
        return -1;
    }
    for (int c = 0; c < conns; c++)
        pthread_create (&th[c], NULL, s_job, &jobs[c]);
    pthread_barrier_wait (&go);
    double t0 = s_now ();
    size_t rows = 0;
    for (int c = 0; c < conns; c++) {
        pthread_join (th[c], NULL);
        if (jobs[c].rc) {
            fprintf (stderr, "pg_paths: %s: %s\n", path, jobs[c].err);
            ok = 0;
        }
        rows += jobs[c].rows;
    }
    double dt = s_now () - t0, cpu = 0;
    for (int c = 0; c < conns; c++)
        cpu += jobs[c].server_s + jobs[c].client_s;
    *cpu_us = cpu * 1e6 / (double)rows;
    for (int c = 0; c < conns; c++)
        bare_close (jobs[c].bare);
    pthread_barrier_destroy (&go);
    return ok ? (double)rows / dt : -1;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t
s_split (char *list, const char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok (list, ","); tok && n < max; tok = strtok (NULL, ","))
        out[n++] = tok;
    return n;
}

int
main (int argc, char **argv)
{
    size_t total = 100000;
    int rounds = 3, conns = 1;
    bool fast = false;
    const char *conninfo = getenv ("MDF_BENCH_PG");
    char paths_arg[512] = "", batches_arg[128] = "500,5000";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--fast"))
            fast = true;
        else if (v && !strcmp (a, "--rows"))
            total = (size_t)atol (v), i++;
        else if (v && !strcmp (a, "--rounds"))
            rounds = atoi (v), i++;
        else if (v && !strcmp (a, "--conns"))
            conns = atoi (v), i++;
        else if (v && !strcmp (a, "--paths"))
            snprintf (paths_arg, sizeof paths_arg, "%s", v), i++;
        else if (v && !strcmp (a, "--batches"))
            snprintf (batches_arg, sizeof batches_arg, "%s", v), i++;
        else if (v && !strcmp (a, "--pg"))
            conninfo = v, i++;
        else {
            fprintf (stderr, "usage: pg_paths [--rows N] [--rounds K] [--conns C] [--batches "
                             "500,5000] [--paths a,b] [--fast] [--pg CONNINFO]\n");
            return 2;
        }
    }
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    conns = conns < 1 ? 1 : conns > MAX_CONNS ? MAX_CONNS : conns;
    for (int i = 0; i < 50; i++)
        snprintf (s_symbols[i], sizeof s_symbols[i], "SYM%03d", i);
    const char *paths[16], *batch_s[8];
    size_t npaths = 0;
    if (*paths_arg)
        npaths = s_split (paths_arg, paths, 16);
    else
        for (; bare_paths[npaths]; npaths++)
            paths[npaths] = bare_paths[npaths];
    size_t nbatches = s_split (batches_arg, batch_s, 8);

    pg_server_t pg = { 0 };
    char why[512];
    if (!conninfo) {
        if (pg_server_start_ex (&pg, !fast, why, sizeof why) != 0) {
            printf ("pg_paths: no server: %s\n", why);
            pg_server_stop (&pg);
            return 0;
        }
        conninfo = pg.conninfo;
    }
    printf ("pg_paths: %zu rows per run, %d connection(s), %d round(s), %s server\n", total, conns,
            rounds, pg.running ? (fast ? "fsync=off" : "durable") : "given");
    static double rate[16][8][MAX_ROUNDS], cpu[16][8][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        for (size_t b = 0; b < nbatches; b++)
            for (size_t p = 0; p < npaths; p++) {
                size_t batch = (size_t)atol (batch_s[b]);
                rate[p][b][r] = s_run (conninfo, paths[p], batch, total, conns, r, &cpu[p][b][r]);
                printf ("  round %d  %-22s batch %5zu: %9.0f rows/s  %6.2f us CPU/row\n", r + 1,
                        paths[p], batch, rate[p][b][r], cpu[p][b][r]);
                fflush (stdout);
            }
    printf ("\nmedians: rows/s, CPU us/row (server + client)\n%-22s", "path");
    for (size_t b = 0; b < nbatches; b++)
        printf ("  %21s", batch_s[b]);
    printf ("\n");
    for (size_t p = 0; p < npaths; p++) {
        printf ("%-22s", paths[p]);
        for (size_t b = 0; b < nbatches; b++) {
            qsort (rate[p][b], (size_t)rounds, sizeof (double), s_cmp);
            qsort (cpu[p][b], (size_t)rounds, sizeof (double), s_cmp);
            printf ("  %9.0f rows/s %5.2f", rate[p][b][rounds / 2], cpu[p][b][rounds / 2]);
        }
        printf ("\n");
    }
    pg_server_stop (&pg);
    return 0;
}
