/*
 * pg_bare: PostgreSQL upsert loops written directly on libpq, with no mdflow
 * code, as the reference the sink is measured against (sink_bench) and to
 * compare write paths (pg_paths).
 *
 * Every path stores rows into a table shaped like the sink's
 * (provider text, symbol text, ts timestamptz, open, high, low, close,
 * volume float8, PRIMARY KEY (provider, symbol, ts)) as an upsert, one
 * transaction per call:
 *
 *   copy-text       text COPY into a TEMP staging table, INSERT ... SELECT
 *                   DISTINCT ON (key) ORDER BY row DESC ... ON CONFLICT
 *                   (the sink before binary COPY)
 *   copy-text-plain the same without DISTINCT ON (rows known distinct)
 *   copy-binary     binary COPY into a TEMP staging table (ts already a
 *                   timestamptz), INSERT ... SELECT ... ON CONFLICT
 *   copy-binary-distinct  binary COPY with a row number, DISTINCT ON
 *   copy-binary-1rt-text  BEGIN; COPY; EXECUTE; COMMIT as one query (one round
 *                   trip), staging columns provider and symbol text
 *   copy-binary-1rt the same with varchar(128) and varchar(64) instead: the
 *                   staging table has no TOAST table, which ON COMMIT DELETE
 *                   ROWS would truncate too at every commit (the sink's SQL)
 *   copy-binary-1rt-sorted  the same with the rows sorted by key first
 *   unnest          one INSERT ... SELECT FROM unnest($1..$8) ON CONFLICT,
 *                   the columns as binary arrays (no staging table)
 *   values          one prepared INSERT ... VALUES (...), (...) ON CONFLICT
 *                   with 8 parameters per row (binary)
 *
 * Paths without DISTINCT ON need rows with distinct keys (the benchmark's
 * rows are).  The staging table is created once per connection
 * (ON COMMIT DELETE ROWS).
 */
#ifndef MDF_PG_BARE_H
#define MDF_PG_BARE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *provider;
    const char *symbol;
    int64_t ts;  /* ns since the Unix epoch; stored truncated to microseconds */
    double v[5]; /* open, high, low, close, volume */
} bare_row_t;

typedef struct bare_s bare_t;

/* Names of the paths above, NULL-terminated. */
extern const char *const bare_paths[];

/* Connect, create `table` if missing and whatever the path needs per
 * connection.  NULL with err. */
bare_t *bare_open (const char *conninfo, const char *table, const char *path, char *err,
                   size_t errlen);

/* Upsert rows[0..n) in one transaction.  0, or -1 with err (the connection is
 * then unusable: bare_close it). */
int bare_write (bare_t *self, const bare_row_t *rows, size_t n, char *err, size_t errlen);

/* The server process serving this connection (to read its CPU time). */
int bare_backend_pid (const bare_t *self);

void bare_close (bare_t *self);

#endif
