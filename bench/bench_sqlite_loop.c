/*
 * bench_sqlite_loop: the SQLite ceiling the store's sink is compared with.
 *
 * A bare C loop over libsqlite3 doing exactly what store/sink_sqlite.c does,
 * minus everything else: the same table and primary key, WAL journal, the same
 * PRAGMA synchronous, one prepared upsert (INSERT .. ON CONFLICT DO UPDATE)
 * reused for every bar, BEGIN IMMEDIATE .. COMMIT around each batch.
 *
 *   bench_sqlite_loop --db PATH [--rows 1000000] [--batch 5000]
 *                     [--synchronous normal]
 *
 * The file is created (or appended to).  Prints one line of key=value pairs,
 * rows_per_sec first.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_http.h"

static int
s_exec (sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf (stderr, "bench_sqlite_loop: %s: %s\n", sql, err ? err : "?");
        sqlite3_free (err);
        return -1;
    }
    return 0;
}

/* Open the file as the sink does and prepare its upsert; 0 or -1. */
static int
s_open (const char *path, const char *sync, sqlite3 **db, sqlite3_stmt **st)
{
    char pragma[64];
    snprintf (pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    if (sqlite3_open (path, db) != SQLITE_OK) {
        fprintf (stderr, "bench_sqlite_loop: open %s failed\n", path);
        return -1;
    }
    if (s_exec (*db, "PRAGMA journal_mode=WAL") || s_exec (*db, pragma)
        || s_exec (*db, "CREATE TABLE IF NOT EXISTS bars (provider TEXT, symbol TEXT, ts INTEGER, "
                        "open REAL, high REAL, low REAL, close REAL, volume REAL, "
                        "PRIMARY KEY (provider, symbol, ts))"))
        return -1;
    return sqlite3_prepare_v2 (*db,
                               "INSERT INTO bars (provider, symbol, ts, open, high, low, close, "
                               "volume) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                               "ON CONFLICT (provider, symbol, ts) DO UPDATE SET open = "
                               "excluded.open, high = excluded.high, low = excluded.low, "
                               "close = excluded.close, volume = excluded.volume",
                               -1, st, NULL)
                   == SQLITE_OK
               ? 0
               : -1;
}

/* Upsert `rows` bars in transactions of `batch`; 0 or -1. */
static int
s_loop (sqlite3 *db, sqlite3_stmt *st, long rows, long batch)
{
    static const char *const symbols[] = { "AAPL", "MSFT", "GOOG", "AMZN" };
    long long ts0 = (long long)(bench_wall_s () * 1e9);
    for (long done = 0; done < rows;) {
        if (s_exec (db, "BEGIN IMMEDIATE"))
            return -1;
        for (long i = 0; i < batch && done < rows; i++, done++) {
            double open = 100.0 + (double)(done % 97) * 0.01;
            sqlite3_bind_text (st, 1, "synthetic", -1, SQLITE_STATIC);
            sqlite3_bind_text (st, 2, symbols[done % 4], -1, SQLITE_STATIC);
            sqlite3_bind_int64 (st, 3, ts0 + done / 4);
            sqlite3_bind_double (st, 4, open);
            sqlite3_bind_double (st, 5, open + 0.5);
            sqlite3_bind_double (st, 6, open - 0.5);
            sqlite3_bind_double (st, 7, open + 0.1);
            sqlite3_bind_double (st, 8, 1000 + (double)(done % 13));
            if (sqlite3_step (st) != SQLITE_DONE) {
                fprintf (stderr, "bench_sqlite_loop: upsert: %s\n", sqlite3_errmsg (db));
                return -1;
            }
            sqlite3_reset (st);
        }
        if (s_exec (db, "COMMIT"))
            return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    const char *path = NULL, *sync = "normal";
    long rows = 1000000, batch = 5000;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--db") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp (argv[i], "--rows") && i + 1 < argc)
            rows = atol (argv[++i]);
        else if (!strcmp (argv[i], "--batch") && i + 1 < argc)
            batch = atol (argv[++i]);
        else if (!strcmp (argv[i], "--synchronous") && i + 1 < argc)
            sync = argv[++i];
        else
            bad = true;
    }
    if (bad || !path || rows < 1 || batch < 1) {
        fprintf (stderr, "usage: bench_sqlite_loop --db PATH [--rows N] [--batch N] "
                         "[--synchronous off|normal|full]\n");
        return 2;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = s_open (path, sync, &db, &st);
    double t0 = bench_mono_s ();
    if (rc == 0)
        rc = s_loop (db, st, rows, batch);
    double dt = bench_mono_s () - t0;
    if (rc == 0)
        printf ("rows_per_sec=%.0f rows=%ld batch=%ld synchronous=%s seconds=%.2f\n",
                (double)rows / dt, rows, batch, sync, dt);
    sqlite3_finalize (st);
    sqlite3_close (db);
    return rc == 0 ? 0 : 1;
}
