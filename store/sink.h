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
 * needed.  0 when committed, -1 with err when nothing was. */
int sink_write (sink_t *self, const mdf_batch_t *const *batches, size_t n, char *err,
                size_t errlen);

/* Drop the connection (a later write reconnects). */
void sink_close (sink_t *self);

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
} sink_ops_t;

extern const sink_ops_t sink_sqlite_ops;
extern const sink_ops_t sink_postgres_ops;
extern const sink_ops_t sink_null_ops;

/* Create the parent directory of `path` (mkdir -p); 0 or -1 with err. */
int sink_mkdir_parent (const char *path, char *err, size_t errlen);

#endif
