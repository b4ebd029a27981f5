/*
 * sink_postgres: bars into PostgreSQL (TimescaleDB when available) via libpq.
 *
 * The table has ts as timestamptz (microseconds: the bar's ns are truncated
 * toward zero, so bars less than 1 us apart are the same row).  A write is
 * one transaction sent as ONE simple query, so it costs one round trip:
 *
 *   BEGIN;
 *   COPY pg_temp.mds_stage FROM STDIN (FORMAT binary);   -- rows streamed here
 *   EXECUTE mds_merge;   -- INSERT INTO bars SELECT * FROM mds_stage
 *                        --   ON CONFLICT (provider, symbol, ts) DO UPDATE ...
 *   COMMIT
 *
 * mds_stage is a TEMP table created once per connection, emptied ON COMMIT
 * (a truncation at every commit, which is why it has no TOAST table).
 * Binary COPY spares both sides the formatting and parsing of doubles and
 * timestamps (ts is sent as a timestamptz already).  Measured with
 * bench/sink/pg_paths against text COPY, unnest'ed binary arrays and a
 * prepared multi-row INSERT, this path costs the least CPU per row at 5,000
 * rows per write (what a busy store writes) and as little as unnest'ed arrays
 * at 500; sending the whole transaction at once saves three round trips per
 * write.
 *
 * ON CONFLICT cannot touch one row twice in one INSERT, so the rows are
 * sorted by key here and, when a key repeats within the write (a resend, a
 * provider repeating a bar), only its last occurrence is sent: the last bar
 * wins, as with one upsert per bar.  Keys are compared as PostgreSQL compares
 * them for the primary key: provider and symbol bytewise (the default,
 * deterministic collations), ts in whole microseconds.  The sorted order also
 * makes concurrent writers (several workers) take row locks in the same
 * order, so overlapping writes wait for each other instead of deadlocking.
 *
 * Any error (server, connection, protocol) fails the write with nothing
 * committed: the server skips the rest of the query after an error, and the
 * caller (sink.c) closes the connection, which ends the transaction.
 *
 * On open: client_encoding UTF8 (bars' strings are UTF-8, proto/README.md),
 * CREATE TABLE IF NOT EXISTS; if the timescaledb extension is available,
 * CREATE EXTENSION IF NOT EXISTS and create_hypertable(if_not_exists).  The
 * SQL above works on a hypertable: the primary key includes ts, as
 * TimescaleDB requires of unique indexes, and the staging table is a plain
 * temporary table.
 */
#include "store/sink.h"

#include <endian.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

/* PostgreSQL's timestamps count microseconds from 2000-01-01 UTC. */
#define PG_EPOCH_UNIX_US 946684800000000LL
/* COPY data goes to libpq in pieces of this size, so libpq's own output
 * buffer stays small whatever the size of the write. */
#define COPY_CHUNK 65536

/* One row to send: where its values are, and its key. */
typedef struct {
    const char *provider, *symbol;
    uint32_t provider_len, symbol_len;
    int64_t us; /* ts in Unix microseconds, truncated toward zero */
    size_t seq; /* position in the write: among equal keys, the highest wins */
    const mdf_bar_t *bar;
} pg_row_t;

typedef struct {
    char *conninfo, *table;
    PGconn *conn;
    pg_row_t *rows; /* reused between writes */
    size_t rows_cap;
    char *buf; /* binary COPY data, reused */
    size_t len, cap;
} pg_sink_t;

static const char s_copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static void *
s_create (const sink_config_t *cfg)
{
    pg_sink_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->conninfo = strdup (cfg->conninfo ? cfg->conninfo : "");
    self->table = strdup (cfg->table && *cfg->table ? cfg->table : "bars");
    if (!self->conninfo || !self->table) {
        free (self->conninfo), free (self->table), free (self);
        return NULL;
    }
    return self;
}

/* "postgres WHAT: <server or libpq message>" into err; -1.  `what` is a short
 * label, not the SQL text.  A message longer than err is cut and ends in
 * "..." so that a reader knows it was cut. */
static int
s_fail (pg_sink_t *self, const char *what, char *err, size_t errlen)
{
    const char *msg = self->conn ? PQerrorMessage (self->conn) : "out of memory";
    size_t len = strlen (msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    int w = snprintf (err, errlen, "postgres %s: %.*s", what, (int)len, msg);
    if (w >= 0 && (size_t)w >= errlen && errlen >= 4)
        memcpy (err + errlen - 4, "...", 4);
    return -1;
}

/* A failure of ours (not reported by libpq); -1. */
static int
s_fail_msg (const char *what, const char *msg, char *err, size_t errlen)
{
    int w = snprintf (err, errlen, "postgres %s: %s", what, msg);
    if (w >= 0 && (size_t)w >= errlen && errlen >= 4)
        memcpy (err + errlen - 4, "...", 4);
    return -1;
}

/* Run a command expecting `want`; 0 or -1 with err naming `what`. */
static int
s_exec (pg_sink_t *self, const char *what, const char *sql, ExecStatusType want, char *err,
        size_t errlen)
{
    PGresult *res = PQexec (self->conn, sql);
    int rc = PQresultStatus (res) == want ? 0 : -1;
    if (rc)
        s_fail (self, what, err, errlen);
    PQclear (res);
    return rc;
}

static void
s_hypertable (pg_sink_t *self, const char *ident)
{
    PGresult *res = PQexec (self->conn, "SELECT 1 FROM pg_available_extensions "
                                        "WHERE name = 'timescaledb'");
    bool available = PQresultStatus (res) == PGRES_TUPLES_OK && PQntuples (res) > 0;
    PQclear (res);
    if (!available)
        return;
    char err[512];
    int rc = s_exec (self, "create extension", "CREATE EXTENSION IF NOT EXISTS timescaledb",
                     PGRES_COMMAND_OK, err, sizeof err);
    if (rc == 0) {
        const char *params[] = { ident };
        res = PQexecParams (self->conn,
                            "SELECT create_hypertable($1::regclass, 'ts', if_not_exists => TRUE, "
                            "migrate_data => TRUE)",
                            1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus (res) != PGRES_TUPLES_OK)
            rc = s_fail (self, "create_hypertable", err, sizeof err);
        PQclear (res);
    }
    if (rc) {
        char q[600];
        mdf_warn ("timescaledb present but hypertable not made", "error=%s",
                  mdf_log_quote (q, sizeof q, err));
    }
}

static int
s_open (void *state, char *err, size_t errlen)
{
    pg_sink_t *self = state;
    self->conn = PQconnectdb (self->conninfo);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK)
        return s_fail (self, "connect", err, errlen);
    const char *dt = PQparameterStatus (self->conn, "integer_datetimes");
    if (!dt || strcmp (dt, "on") != 0)
        return s_fail_msg ("connect", "server without integer_datetimes", err, errlen);
    char *ident = PQescapeIdentifier (self->conn, self->table, strlen (self->table));
    if (!ident)
        return s_fail (self, "table name", err, errlen);
    char sql[1024];
    snprintf (sql, sizeof sql,
              "CREATE TABLE IF NOT EXISTS %s (provider text NOT NULL, symbol text NOT NULL, "
              "ts timestamptz NOT NULL, open double precision, high double precision, "
              "low double precision, close double precision, volume double precision, "
              "PRIMARY KEY (provider, symbol, ts))",
              ident);
    int rc = -1;
    if (s_exec (self, "set", "SET client_min_messages = warning; SET client_encoding = 'UTF8'",
                PGRES_COMMAND_OK, err, errlen)
        || s_exec (self, "create table", sql, PGRES_COMMAND_OK, err, errlen))
        goto out;
    s_hypertable (self, ident);
    /* varchar(n) rather than text: n (characters) covers the longest provider
     * and symbol (bytes), and with every column bounded the table gets no
     * TOAST table, so the truncation at each commit touches one file instead
     * of three (half a millisecond less per write, bench/sink/pg_paths). */
    snprintf (sql, sizeof sql,
              "CREATE TEMP TABLE IF NOT EXISTS mds_stage (provider varchar(%d), "
              "symbol varchar(%d), ts timestamptz, open float8, high float8, low float8, "
              "close float8, volume float8) ON COMMIT DELETE ROWS",
              MDF_ID_MAX, MDF_SYMBOL_MAX);
    if (s_exec (self, "create staging table", sql, PGRES_COMMAND_OK, err, errlen))
        goto out;
    snprintf (sql, sizeof sql,
              "INSERT INTO %s (provider, symbol, ts, open, high, low, close, volume) "
              "SELECT provider, symbol, ts, open, high, low, close, volume "
              "FROM pg_temp.mds_stage "
              "ON CONFLICT (provider, symbol, ts) DO UPDATE SET open = EXCLUDED.open, "
              "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
              "volume = EXCLUDED.volume",
              ident);
    PGresult *res = PQprepare (self->conn, "mds_merge", sql, 0, NULL);
    rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_fail (self, "prepare", err, errlen);
    PQclear (res);
out:
    PQfreemem (ident);
    return rc;
}

static int
s_cmp_bytes (const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    int c = memcmp (a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Key order (provider, symbol, us) then position, so equal keys are adjacent
 * with the last one last. */
static int
s_cmp_rows (const void *pa, const void *pb)
{
    const pg_row_t *a = pa, *b = pb;
    int c;
    if (a->provider != b->provider
        && (c = s_cmp_bytes (a->provider, a->provider_len, b->provider, b->provider_len)))
        return c;
    if ((c = s_cmp_bytes (a->symbol, a->symbol_len, b->symbol, b->symbol_len)))
        return c;
    if (a->us != b->us)
        return a->us < b->us ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static bool
s_same_key (const pg_row_t *a, const pg_row_t *b)
{
    return a->us == b->us && a->symbol_len == b->symbol_len && a->provider_len == b->provider_len
           && !memcmp (a->symbol, b->symbol, a->symbol_len)
           && (a->provider == b->provider || !memcmp (a->provider, b->provider, a->provider_len));
}

/* Collect the rows of every batch into self->rows, sorted by key, with
 * repeated keys reduced to their last occurrence; *count rows.  0, or -1 when
 * out of memory. */
static int
s_collect (pg_sink_t *self, const mdf_batch_t *const *batches, size_t n, size_t *count)
{
    size_t total = 0;
    for (size_t b = 0; b < n; b++)
        total += batches[b]->nbars;
    if (total > self->rows_cap) {
        pg_row_t *rows = realloc (self->rows, total * sizeof *rows);
        if (!rows)
            return -1;
        self->rows = rows;
        self->rows_cap = total;
    }
    size_t k = 0;
    bool sorted = true;
    for (size_t b = 0; b < n; b++) {
        const char *provider = batches[b]->provider;
        uint32_t provider_len = (uint32_t)strlen (provider);
        for (size_t i = 0; i < batches[b]->nbars; i++, k++) {
            const mdf_bar_t *bar = &batches[b]->bars[i];
            pg_row_t *r = &self->rows[k];
            r->provider = provider;
            r->provider_len = provider_len;
            r->symbol = bar->symbol;
            r->symbol_len = (uint32_t)strlen (bar->symbol);
            r->us = bar->ts / 1000;
            r->seq = k;
            r->bar = bar;
            if (sorted && k && s_cmp_rows (&self->rows[k - 1], r) > 0)
                sorted = false;
        }
    }
    if (!sorted)
        qsort (self->rows, total, sizeof *self->rows, s_cmp_rows);
    size_t out = 0;
    for (size_t i = 0; i < total; i++) {
        if (i + 1 < total && s_same_key (&self->rows[i], &self->rows[i + 1]))
            continue; /* a later bar has the same key: it wins */
        self->rows[out++] = self->rows[i];
    }
    *count = out;
    return 0;
}

static inline char *
s_be16 (char *p, uint16_t v)
{
    v = htobe16 (v);
    memcpy (p, &v, 2);
    return p + 2;
}

static inline char *
s_be32 (char *p, uint32_t v)
{
    v = htobe32 (v);
    memcpy (p, &v, 4);
    return p + 4;
}

static inline char *
s_be64 (char *p, uint64_t v)
{
    v = htobe64 (v);
    memcpy (p, &v, 8);
    return p + 8;
}

/* An 8-byte field: its length, then the value big-endian. */
static inline char *
s_field8 (char *p, uint64_t v)
{
    return s_be64 (s_be32 (p, 8), v);
}

static inline char *
s_field_f8 (char *p, double d)
{
    uint64_t v;
    memcpy (&v, &d, 8);
    return s_field8 (p, v);
}

static inline char *
s_field_text (char *p, const char *s, uint32_t len)
{
    p = s_be32 (p, len);
    memcpy (p, s, len);
    return p + len;
}

/* The binary COPY stream for rows[0..n): header, one tuple of 8 fields per
 * row, trailer.  0, or -1 when out of memory. */
static int
s_encode (pg_sink_t *self, size_t n)
{
    size_t need = sizeof s_copy_header + 2;
    for (size_t i = 0; i < n; i++) /* field count, 8 lengths, 6 x 8 bytes, the strings */
        need += 2 + 8 * 4 + 6 * 8 + self->rows[i].provider_len + self->rows[i].symbol_len;
    if (need > self->cap) {
        char *buf = realloc (self->buf, need);
        if (!buf)
            return -1;
        self->buf = buf;
        self->cap = need;
    }
    char *p = self->buf;
    memcpy (p, s_copy_header, sizeof s_copy_header);
    p += sizeof s_copy_header;
    for (size_t i = 0; i < n; i++) {
        const pg_row_t *r = &self->rows[i];
        const mdf_bar_t *bar = r->bar;
        p = s_be16 (p, 8);
        p = s_field_text (p, r->provider, r->provider_len);
        p = s_field_text (p, r->symbol, r->symbol_len);
        p = s_field8 (p, (uint64_t)(r->us - PG_EPOCH_UNIX_US));
        p = s_field_f8 (p, bar->open);
        p = s_field_f8 (p, bar->high);
        p = s_field_f8 (p, bar->low);
        p = s_field_f8 (p, bar->close);
        p = s_field_f8 (p, bar->volume);
    }
    p = s_be16 (p, 0xffff);
    self->len = (size_t)(p - self->buf);
    return 0;
}

static int
s_put_copy (pg_sink_t *self)
{
    for (size_t at = 0; at < self->len; at += COPY_CHUNK) {
        size_t piece = self->len - at < COPY_CHUNK ? self->len - at : COPY_CHUNK;
        if (PQputCopyData (self->conn, self->buf + at, (int)piece) != 1)
            return -1;
    }
    return PQputCopyEnd (self->conn, NULL) == 1 ? 0 : -1;
}

/* The statements of one write, in the order their results come back. */
static const char *const s_steps[] = { "BEGIN", "COPY", "upsert", "COMMIT" };

static int
s_write (void *state, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    pg_sink_t *self = state;
    size_t rows;
    if (s_collect (self, batches, n, &rows) != 0 || s_encode (self, rows) != 0)
        return s_fail_msg ("write", "out of memory", err, errlen);
    if (!PQsendQuery (self->conn, "BEGIN; COPY pg_temp.mds_stage FROM STDIN (FORMAT binary); "
                                  "EXECUTE mds_merge; COMMIT"))
        return s_fail (self, "send", err, errlen);
    /* Read the results up to NULL, even after a failure, so that the first
     * failure is the one reported.  The server runs nothing after an error.
     * Should the COPY itself go wrong, stop there: the caller closes the
     * connection, which ends the transaction. */
    int rc = 0;
    size_t step = 0;
    bool copied = false;
    PGresult *res;
    while ((res = PQgetResult (self->conn))) {
        ExecStatusType st = PQresultStatus (res);
        const char *what = step < 4 ? s_steps[step] : "result";
        if (st == PGRES_COPY_IN && !copied) {
            copied = true;
            if (s_put_copy (self) != 0)
                rc = rc ? rc : s_fail (self, "COPY", err, errlen);
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            rc = rc ? rc : s_fail_msg (what, "unexpected COPY state", err, errlen);
        } else {
            if (rc == 0 && st != PGRES_COMMAND_OK)
                rc = s_fail (self, what, err, errlen);
            else if (rc == 0 && step == 1 && strtoull (PQcmdTuples (res), NULL, 10) != rows)
                rc = s_fail_msg ("COPY", "row count differs from the rows sent", err, errlen);
            else if (rc == 0 && step == 3 && strcmp (PQcmdStatus (res), "COMMIT") != 0)
                rc = s_fail_msg ("COMMIT", "transaction rolled back", err, errlen);
            step++;
        }
        PQclear (res);
        if (rc && st != PGRES_COMMAND_OK && st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR)
            return rc; /* a COPY state we cannot get out of: the connection goes */
    }
    if (rc == 0 && step != 4)
        rc = s_fail_msg ("write", "unexpected end of results", err, errlen);
    return rc;
}

static void
s_close (void *state)
{
    pg_sink_t *self = state;
    if (self->conn)
        PQfinish (self->conn);
    self->conn = NULL;
}

static void
s_destroy (void *state)
{
    pg_sink_t *self = state;
    s_close (self);
    free (self->rows);
    free (self->buf);
    free (self->conninfo);
    free (self->table);
    free (self);
}

/* ---- ping: a connection of its own, without the table setup ---- */

/* Wait until the socket is ready for `events` or the deadline (monotonic ms)
 * passes; 1 ready, 0 timed out, -1 error. */
static int
s_ping_wait (PGconn *conn, short events, int64_t deadline_ms)
{
    for (;;) {
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        int64_t left = deadline_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (left <= 0)
            return 0;
        struct pollfd pfd = { PQsocket (conn), events, 0 };
        if (pfd.fd < 0)
            return -1;
        int rc = poll (&pfd, 1, (int)left);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static int64_t
s_ping_deadline (int timeout_ms)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
}

/* Connect without blocking past timeout_ms (libpq's asynchronous connect). */
static int
s_ping_connect (pg_sink_t *self, int timeout_ms, char *err, size_t errlen)
{
    const char *const keys[] = { "dbname", NULL };
    const char *const values[] = { self->conninfo, NULL };
    self->conn = PQconnectStartParams (keys, values, 1);
    if (!self->conn || PQstatus (self->conn) == CONNECTION_BAD)
        return s_fail (self, "connect", err, errlen);
    int64_t deadline = s_ping_deadline (timeout_ms);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return s_fail (self, "connect", err, errlen);
        int rc = s_ping_wait (self->conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (rc <= 0) {
            snprintf (err, errlen, "postgres connect: %s within %d ms",
                      rc == 0 ? "no connection" : "socket error", timeout_ms);
            return -1;
        }
        st = PQconnectPoll (self->conn);
    }
    return 0;
}

/* SELECT 1 and wait for its answer at most timeout_ms. */
static int
s_ping_query (pg_sink_t *self, int timeout_ms, char *err, size_t errlen)
{
    if (!PQsendQuery (self->conn, "SELECT 1"))
        return s_fail (self, "SELECT 1", err, errlen);
    int64_t deadline = s_ping_deadline (timeout_ms);
    while (PQisBusy (self->conn)) {
        int rc = s_ping_wait (self->conn, POLLIN, deadline);
        if (rc <= 0) {
            snprintf (err, errlen, "postgres SELECT 1: %s within %d ms",
                      rc == 0 ? "no answer" : "socket error", timeout_ms);
            return -1;
        }
        if (!PQconsumeInput (self->conn))
            return s_fail (self, "SELECT 1", err, errlen);
    }
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult (self->conn))) {
        if (rc == 0 && PQresultStatus (res) != PGRES_TUPLES_OK)
            rc = s_fail (self, "SELECT 1", err, errlen);
        PQclear (res);
    }
    return rc;
}

/* The connection is kept between pings; one that went bad since (a server
 * restart) is replaced at once rather than reported as a failure. */
static int
s_ping (void *state, int timeout_ms, char *err, size_t errlen)
{
    pg_sink_t *self = state;
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK
        && s_ping_query (self, timeout_ms, err, errlen) == 0)
        return 0;
    s_close (self);
    if (s_ping_connect (self, timeout_ms, err, errlen) != 0)
        return -1;
    return s_ping_query (self, timeout_ms, err, errlen);
}

const sink_ops_t sink_postgres_ops
    = { "postgres", s_create, s_open, s_write, s_close, s_destroy, s_ping, NULL };
