/*
 * sink_postgres: bars into PostgreSQL (TimescaleDB when available) via libpq.
 *
 * The table has ts as timestamptz (microseconds: the bar's ns are truncated).
 * A write is one transaction:
 *   BEGIN; COPY mds_stage FROM STDIN (text format, one buffer);
 *   INSERT INTO bars SELECT DISTINCT ON (provider, symbol, ts) ... FROM mds_stage
 *     ORDER BY ..., n DESC ON CONFLICT (provider, symbol, ts) DO UPDATE ...;
 *   COMMIT
 * mds_stage is a TEMP table (per connection) emptied ON COMMIT; `n` is the
 * row's position so that when a transaction holds the same key twice the last
 * bar wins (ON CONFLICT cannot touch one row twice).  COPY + one set-based
 * INSERT measured far faster than per-row prepared upserts.
 *
 * On open: CREATE TABLE IF NOT EXISTS; if the timescaledb extension is
 * available, CREATE EXTENSION IF NOT EXISTS and create_hypertable(if_not_exists).
 */
#include "store/sink.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

typedef struct {
    char *conninfo, *table;
    PGconn *conn;
    char *buf; /* COPY text, reused */
    size_t len, cap;
} pg_sink_t;

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

static int
s_fail (pg_sink_t *self, const char *what, char *err, size_t errlen)
{
    const char *msg = self->conn ? PQerrorMessage (self->conn) : "out of memory";
    size_t len = strlen (msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    snprintf (err, errlen, "postgres %s: %.*s", what, (int)len, msg);
    return -1;
}

/* Run a command expecting `want`; 0 or -1 with err. */
static int
s_exec (pg_sink_t *self, const char *sql, ExecStatusType want, char *err, size_t errlen)
{
    PGresult *res = PQexec (self->conn, sql);
    int rc = PQresultStatus (res) == want ? 0 : -1;
    if (rc)
        s_fail (self, sql, err, errlen);
    PQclear (res);
    return rc;
}

/* The table name as a quoted identifier, into buf. */
static const char *
s_ident (pg_sink_t *self, char *buf, size_t size)
{
    char *q = PQescapeIdentifier (self->conn, self->table, strlen (self->table));
    snprintf (buf, size, "%s", q ? q : "\"bars\"");
    PQfreemem (q);
    return buf;
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
    char sql[512], err[512];
    snprintf (sql, sizeof sql,
              "SELECT create_hypertable('%s', 'ts', if_not_exists => TRUE, "
              "migrate_data => TRUE)",
              ident);
    if (s_exec (self, "CREATE EXTENSION IF NOT EXISTS timescaledb", PGRES_COMMAND_OK, err,
                sizeof err)
        || s_exec (self, sql, PGRES_TUPLES_OK, err, sizeof err)) {
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
    char ident[300], sql[2048];
    s_ident (self, ident, sizeof ident);
    snprintf (sql, sizeof sql,
              "CREATE TABLE IF NOT EXISTS %s (provider text NOT NULL, symbol text NOT NULL, "
              "ts timestamptz NOT NULL, open double precision, high double precision, "
              "low double precision, close double precision, volume double precision, "
              "PRIMARY KEY (provider, symbol, ts))",
              ident);
    if (s_exec (self, "SET client_min_messages = warning", PGRES_COMMAND_OK, err, errlen)
        || s_exec (self, sql, PGRES_COMMAND_OK, err, errlen))
        return -1;
    s_hypertable (self, ident);
    if (s_exec (self,
                "CREATE TEMP TABLE IF NOT EXISTS mds_stage (n bigint, provider text, "
                "symbol text, ts bigint, open float8, high float8, low float8, "
                "close float8, volume float8) ON COMMIT DELETE ROWS",
                PGRES_COMMAND_OK, err, errlen))
        return -1;
    snprintf (sql, sizeof sql,
              "INSERT INTO %s (provider, symbol, ts, open, high, low, close, volume) "
              "SELECT DISTINCT ON (provider, symbol, t) provider, symbol, t, open, high, low, "
              "close, volume FROM (SELECT n, provider, symbol, timestamptz 'epoch' + "
              "(ts / 1000) * interval '1 microsecond' AS t, open, high, low, close, volume "
              "FROM mds_stage) s ORDER BY provider, symbol, t, n DESC "
              "ON CONFLICT (provider, symbol, ts) DO UPDATE SET open = EXCLUDED.open, "
              "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
              "volume = EXCLUDED.volume",
              ident);
    PGresult *res = PQprepare (self->conn, "mds_merge", sql, 0, NULL);
    int rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_fail (self, "prepare", err, errlen);
    PQclear (res);
    return rc;
}

static int
s_reserve (pg_sink_t *self, size_t more)
{
    if (self->len + more <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap : 65536;
    while (cap < self->len + more)
        cap *= 2;
    char *buf = realloc (self->buf, cap);
    if (!buf)
        return -1;
    self->buf = buf;
    self->cap = cap;
    return 0;
}

/* Append text escaped for COPY text format. */
static int
s_put_text (pg_sink_t *self, const char *text)
{
    if (s_reserve (self, 2 * strlen (text) + 1))
        return -1;
    for (const char *p = text; *p; p++) {
        char c = *p;
        const char *esc = c == '\\'   ? "\\\\"
                          : c == '\t' ? "\\t"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                                      : NULL;
        if (esc) {
            memcpy (self->buf + self->len, esc, 2);
            self->len += 2;
        } else
            self->buf[self->len++] = c;
    }
    self->buf[self->len++] = '\t';
    return 0;
}

static int
s_put_row (pg_sink_t *self, size_t n, const char *provider, const mdf_bar_t *bar)
{
    char num[256];
    int w = snprintf (num, sizeof num, "%zu\t", n);
    if (s_reserve (self, (size_t)w) == 0) {
        memcpy (self->buf + self->len, num, (size_t)w);
        self->len += (size_t)w;
    } else
        return -1;
    if (s_put_text (self, provider) || s_put_text (self, bar->symbol))
        return -1;
    w = snprintf (num, sizeof num, "%lld\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\n", (long long)bar->ts,
                  bar->open, bar->high, bar->low, bar->close, bar->volume);
    if (s_reserve (self, (size_t)w))
        return -1;
    memcpy (self->buf + self->len, num, (size_t)w);
    self->len += (size_t)w;
    return 0;
}

static int
s_copy (pg_sink_t *self, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    self->len = 0;
    size_t row = 0;
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < batches[b]->nbars; i++)
            if (s_put_row (self, row++, batches[b]->provider, &batches[b]->bars[i])) {
                snprintf (err, errlen, "postgres: out of memory");
                return -1;
            }
    if (s_exec (self, "COPY mds_stage FROM STDIN", PGRES_COPY_IN, err, errlen))
        return -1;
    if (PQputCopyData (self->conn, self->buf, (int)self->len) != 1
        || PQputCopyEnd (self->conn, NULL) != 1)
        return s_fail (self, "COPY", err, errlen);
    PGresult *res = PQgetResult (self->conn);
    int rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_fail (self, "COPY", err, errlen);
    PQclear (res);
    while ((res = PQgetResult (self->conn)))
        PQclear (res);
    return rc;
}

static int
s_write (void *state, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    pg_sink_t *self = state;
    if (s_exec (self, "BEGIN", PGRES_COMMAND_OK, err, errlen))
        return -1;
    int rc = s_copy (self, batches, n, err, errlen);
    if (rc == 0) {
        PGresult *res = PQexecPrepared (self->conn, "mds_merge", 0, NULL, NULL, NULL, 0);
        rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_fail (self, "upsert", err, errlen);
        PQclear (res);
    }
    if (rc == 0)
        rc = s_exec (self, "COMMIT", PGRES_COMMAND_OK, err, errlen);
    else {
        PGresult *res = PQexec (self->conn, "ROLLBACK");
        PQclear (res);
    }
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
