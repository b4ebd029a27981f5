/*
 * sink_bench: the sink ceiling, in rows per second, for SQLite and
 * PostgreSQL at transaction sizes 500 and 5000 (the store's sink code, called
 * directly: one connection, one transaction per batch, distinct rows).
 *
 *   sink_bench [--rows N] [--symbols S] [--dir DIR] [--pg CONNINFO]
 *
 * Rows spread over S symbols (default 50), ts increasing per symbol: each
 * transaction touches S places of the primary key, which is what dominates
 * SQLite's cost (dirty index pages written to the WAL per commit).
 *
 * SQLite: a fresh file in DIR (default /tmp), WAL, synchronous=normal (the
 * store's default).  PostgreSQL: CONNINFO, or $MDF_BENCH_PG, or a throwaway
 * server started here with default (durable) settings; skipped when none can
 * be reached or started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "store/sink.h"
#include "tests/integration/store/pg_server.h"

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

/* Rows per second writing `total` rows in transactions of `batch`; -1 on error. */
static double
s_run (const sink_config_t *cfg, size_t batch, size_t total)
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
s_report (const char *name, const sink_config_t *cfg, size_t total)
{
    size_t sizes[] = { 500, 5000 };
    for (size_t i = 0; i < 2; i++) {
        double rate = s_run (cfg, sizes[i], total);
        if (rate < 0)
            printf ("%-10s batch %5zu: failed\n", name, sizes[i]);
        else
            printf ("%-10s batch %5zu: %10.0f rows/s  (%zu rows, %zu symbols)\n", name, sizes[i],
                    rate, total, s_symbols);
        fflush (stdout);
    }
}

int
main (int argc, char **argv)
{
    size_t total = 200000;
    const char *dir = "/tmp", *conninfo = getenv ("MDF_BENCH_PG");
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--rows"))
            total = (size_t)atol (argv[i + 1]);
        else if (!strcmp (argv[i], "--symbols"))
            s_symbols = (size_t)atol (argv[i + 1]) > 0 ? (size_t)atol (argv[i + 1]) : 1;
        else if (!strcmp (argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp (argv[i], "--pg"))
            conninfo = argv[i + 1];
    }
    char path[512];
    snprintf (path, sizeof path, "%s/sink-bench-%d.db", dir, (int)getpid ());
    sink_config_t sq = { "sqlite", path, NULL, "bars", "normal" };
    s_report ("sqlite", &sq, total);
    char wal[600];
    unlink (path);
    snprintf (wal, sizeof wal, "%s-wal", path);
    unlink (wal);
    snprintf (wal, sizeof wal, "%s-shm", path);
    unlink (wal);

    pg_server_t pg = { 0 };
    char why[512];
    if (!conninfo) {
        if (pg_server_start_ex (&pg, true, why, sizeof why) != 0) {
            printf ("postgres   skipped: %s\n", why);
            pg_server_stop (&pg);
            return 0;
        }
        conninfo = pg.conninfo;
    }
    sink_config_t pq = { "postgres", NULL, conninfo, "bars_bench", NULL };
    s_report ("postgres", &pq, total);
    pg_server_stop (&pg);
    return 0;
}
