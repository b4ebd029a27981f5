/*
 * sink: where committed bars go, behind one small interface (open / write /
 * close).  Backends: sink_sqlite.c, sink_postgres.c, sink_null.c.
 *
 * One sink_t is one connection and is used by one thread at a time (each
 * worker owns its own).  sink_write stores bars as upserts on
 * (provider, symbol, ts) in ONE transaction: when it returns 0 every bar of
 * every batch given is committed; when it returns -1 none is, and the sink has
 * closed its connection so the next write reconnects (a dropped PostgreSQL
 * connection or a locked SQLite file heals by itself).
 *
 * The table is bars(provider, symbol, ts, open, high, low, close,
 * volume, PRIMARY KEY (provider, symbol, ts)), created if missing; ts is an
 * INTEGER of nanoseconds in SQLite and a timestamptz in PostgreSQL (which keeps
 * microseconds: bars whose ts differ by less than 1 us are the same row there).
 */
#ifndef STORE_SINK_H
#define STORE_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/batch.h"

typedef struct {
    const char *type;        /* "sqlite", "postgres", "null" */
    const char *path;        /* sqlite: database file (parent directory created) */
    const char *conninfo;    /* postgres: libpq connection string */
    const char *table;       /* default "bars" */
    const char *synchronous; /* sqlite: "off", "normal", "full" */
} sink_config_t;

typedef struct _sink_t sink_t;

/* New unconnected sink of cfg->type (strings are copied); NULL with err for an
 * unknown type.  No I/O happens here. */
sink_t *sink_new (const sink_config_t *cfg, char *err, size_t errlen);

/* Connect and create the table if missing.  Idempotent.  0, or -1 with err. */
int sink_open (sink_t *self, char *err, size_t errlen);

/* Upsert every bar of batches[0..n) in one transaction, opening first if
 * needed.  0 when committed, -1 with err when nothing was.  sqlite: also -1
 * when the file at the configured path is not (or, checked after the commit,
 * no longer) the one the transaction went to; the retry writes the bars into
 * the file at the path, and the upsert stores each once. */
int sink_write (sink_t *self, const mdf_batch_t *const *batches, size_t n, char *err,
                size_t errlen);

/* Drop the connection (a later write reconnects). */
void sink_close (sink_t *self);

/* Can the sink take bars right now?  Checks without writing, on a connection
 * of its own: a sink that is pinged is used for nothing else (sink_write on
 * it fails).  postgres: connect if needed and SELECT 1, each step bounded by
 * timeout_ms; sqlite: open if needed, the file check of sink_check and a
 * one-row read; null: always 0.  0, or -1 with err and the connection
 * closed.  Blocks at most about timeout_ms (sqlite: its busy timeout). */
int sink_ping (sink_t *self, int timeout_ms, char *err, size_t errlen);

/* Cheap check between writes, no query: sqlite compares the files at the
 * configured path (database, -wal, -shm) with those its connection has open
 * and closes the connection when they are no longer the same, returning -1
 * with err naming what changed; other backends and a closed sink: 0. */
int sink_check (sink_t *self, char *err, size_t errlen);

bool sink_is_open (const sink_t *self);
const char *sink_type (const sink_t *self);

void sink_destroy (sink_t **self_p);

/* ---- for backends ---- */

typedef struct {
    const char *name;
    /* Allocate backend state from cfg (no I/O); NULL on allocation failure. */
    void *(*create) (const sink_config_t *cfg);
    int (*open) (void *state, char *err, size_t errlen);
    int (*write) (void *state, const mdf_batch_t *const *batches, size_t n, char *err,
                  size_t errlen);
    void (*close) (void *state);
    void (*destroy) (void *state);
    /* sink_ping: manages its own connection (opens what it needs); on -1 the
     * caller closes.  NULL: always reachable. */
    int (*ping) (void *state, int timeout_ms, char *err, size_t errlen);
    /* sink_check: 0 when the open connection (if any) is still good; on -1
     * the caller closes.  NULL: nothing to check. */
    int (*check) (void *state, char *err, size_t errlen);
} sink_ops_t;

extern const sink_ops_t sink_sqlite_ops;
extern const sink_ops_t sink_postgres_ops;
extern const sink_ops_t sink_null_ops;

#endif
