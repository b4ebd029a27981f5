/*
 * pg_bare: the bare libpq upsert loops (see pg_bare.h).  Deliberately plain:
 * no mdflow header, one growable buffer, the SQL written out per path.
 */
#include "pg_bare.h"

#include <endian.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    P_COPY_TEXT,
    P_COPY_TEXT_PLAIN,
    P_COPY_BINARY,
    P_COPY_BINARY_DISTINCT,
    P_COPY_BINARY_1RT_TEXT,
    P_COPY_BINARY_1RT,
    P_COPY_BINARY_1RT_SORTED,
    P_UNNEST,
    P_VALUES
};

const char *const bare_paths[] = { "copy-text",
                                   "copy-text-plain",
                                   "copy-binary",
                                   "copy-binary-distinct",
                                   "copy-binary-1rt-text",
                                   "copy-binary-1rt",
                                   "copy-binary-1rt-sorted",
                                   "unnest",
                                   "values",
                                   NULL };

struct bare_s {
    PGconn *conn;
    int path;
    char table[128];
    char *buf;
    size_t len, cap;
    size_t values_n; /* rows of the prepared VALUES statement, 0: none */
};

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 in Unix microseconds */

#define SET_COLS                                                                                   \
    " ON CONFLICT (provider, symbol, ts) DO UPDATE SET open = EXCLUDED.open, high = "              \
    "EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume"

static int
s_err (bare_t *self, const char *what, char *err, size_t errlen)
{
    int w = snprintf (err, errlen, "%s: %s", what, PQerrorMessage (self->conn));
    (void)w;
    return -1;
}

static int
s_exec (bare_t *self, const char *sql, ExecStatusType want, char *err, size_t errlen)
{
    PGresult *r = PQexec (self->conn, sql);
    int rc = PQresultStatus (r) == want ? 0 : s_err (self, sql, err, errlen);
    PQclear (r);
    return rc;
}

static int
s_reserve (bare_t *self, size_t more)
{
    if (self->len + more <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap : 65536;
    while (cap < self->len + more)
        cap *= 2;
    char *b = realloc (self->buf, cap);
    if (!b)
        return -1;
    self->buf = b;
    self->cap = cap;
    return 0;
}

static void
s_u16 (bare_t *self, uint16_t v)
{
    v = htobe16 (v);
    memcpy (self->buf + self->len, &v, 2);
    self->len += 2;
}

static void
s_u32 (bare_t *self, uint32_t v)
{
    v = htobe32 (v);
    memcpy (self->buf + self->len, &v, 4);
    self->len += 4;
}

static void
s_u64 (bare_t *self, uint64_t v)
{
    v = htobe64 (v);
    memcpy (self->buf + self->len, &v, 8);
    self->len += 8;
}

static void
s_f8 (bare_t *self, double d)
{
    uint64_t v;
    memcpy (&v, &d, 8);
    s_u64 (self, v);
}

static void
s_bytes (bare_t *self, const char *s, size_t n)
{
    s_u32 (self, (uint32_t)n);
    memcpy (self->buf + self->len, s, n);
    self->len += n;
}

static int64_t
s_pg_ts (int64_t ns)
{
    return ns / 1000 - PG_EPOCH_US;
}

bare_t *
bare_open (const char *conninfo, const char *table, const char *path, char *err, size_t errlen)
{
    int p = -1;
    for (int i = 0; bare_paths[i]; i++)
        if (!strcmp (path, bare_paths[i]))
            p = i;
    if (p < 0) {
        snprintf (err, errlen, "unknown path %s", path);
        return NULL;
    }
    bare_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->path = p;
    snprintf (self->table, sizeof self->table, "%s", table);
    self->conn = PQconnectdb (conninfo);
    if (PQstatus (self->conn) != CONNECTION_OK) {
        s_err (self, "connect", err, errlen);
        bare_close (self);
        return NULL;
    }
    char sql[2048];
    snprintf (sql, sizeof sql,
              "CREATE TABLE IF NOT EXISTS %s (provider text NOT NULL, symbol text NOT NULL, "
              "ts timestamptz NOT NULL, open float8, high float8, low float8, close float8, "
              "volume float8, PRIMARY KEY (provider, symbol, ts))",
              table);
    const char *stage = NULL, *merge = NULL;
    char merge_sql[2048];
    switch (p) {
    case P_COPY_TEXT:
    case P_COPY_TEXT_PLAIN:
        stage = "CREATE TEMP TABLE bare_stage (n bigint, provider text, symbol text, ts bigint, "
                "open float8, high float8, low float8, close float8, volume float8) "
                "ON COMMIT DELETE ROWS";
        if (p == P_COPY_TEXT)
            snprintf (merge_sql, sizeof merge_sql,
                      "INSERT INTO %s SELECT DISTINCT ON (provider, symbol, t) provider, "
                      "symbol, t, open, high, low, close, volume FROM (SELECT n, provider, "
                      "symbol, timestamptz 'epoch' + (ts / 1000) * interval '1 microsecond' AS "
                      "t, open, high, low, close, volume FROM bare_stage) s ORDER BY provider, "
                      "symbol, t, n DESC" SET_COLS,
                      table);
        else
            snprintf (merge_sql, sizeof merge_sql,
                      "INSERT INTO %s SELECT provider, symbol, timestamptz 'epoch' + (ts / 1000) "
                      "* interval '1 microsecond', open, high, low, close, volume FROM "
                      "bare_stage" SET_COLS,
                      table);
        merge = merge_sql;
        break;
    case P_COPY_BINARY:
    case P_COPY_BINARY_1RT_TEXT:
    case P_COPY_BINARY_1RT:
    case P_COPY_BINARY_1RT_SORTED:
        /* varchar(n) with n covering the longest provider and symbol: no
         * TOAST table, so ON COMMIT DELETE ROWS truncates one file, not three */
        stage = p == P_COPY_BINARY_1RT || p == P_COPY_BINARY_1RT_SORTED
                    ? "CREATE TEMP TABLE bare_stage (provider varchar(128), symbol varchar(64), "
                      "ts timestamptz, open float8, high float8, low float8, close float8, "
                      "volume float8) ON COMMIT DELETE ROWS"
                    : "CREATE TEMP TABLE bare_stage (provider text, symbol text, ts timestamptz, "
                      "open float8, high float8, low float8, close float8, volume float8) "
                      "ON COMMIT DELETE ROWS";
        snprintf (merge_sql, sizeof merge_sql, "INSERT INTO %s SELECT * FROM bare_stage" SET_COLS,
                  table);
        merge = merge_sql;
        break;
    case P_COPY_BINARY_DISTINCT:
        stage = "CREATE TEMP TABLE bare_stage (n int4, provider text, symbol text, "
                "ts timestamptz, open float8, high float8, low float8, close float8, "
                "volume float8) ON COMMIT DELETE ROWS";
        snprintf (merge_sql, sizeof merge_sql,
                  "INSERT INTO %s SELECT DISTINCT ON (provider, symbol, ts) provider, symbol, "
                  "ts, open, high, low, close, volume FROM bare_stage ORDER BY provider, "
                  "symbol, ts, n DESC" SET_COLS,
                  table);
        merge = merge_sql;
        break;
    case P_UNNEST:
        snprintf (merge_sql, sizeof merge_sql,
                  "INSERT INTO %s SELECT * FROM unnest($1::text[], $2::text[], "
                  "$3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], "
                  "$8::float8[])" SET_COLS,
                  table);
        merge = merge_sql;
        break;
    default:
        break;
    }
    if (s_exec (self, "SET client_min_messages = warning", PGRES_COMMAND_OK, err, errlen)
        || s_exec (self, sql, PGRES_COMMAND_OK, err, errlen)
        || (stage && s_exec (self, stage, PGRES_COMMAND_OK, err, errlen))) {
        bare_close (self);
        return NULL;
    }
    if (merge) {
        PGresult *r = PQprepare (self->conn, "merge", merge, 0, NULL);
        int rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "prepare", err, errlen);
        PQclear (r);
        if (rc) {
            bare_close (self);
            return NULL;
        }
    }
    return self;
}

static void
s_text (bare_t *self, const char *s)
{
    for (; *s; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '\t' ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                                       : NULL;
        if (esc) {
            memcpy (self->buf + self->len, esc, 2);
            self->len += 2;
        } else
            self->buf[self->len++] = *s;
    }
    self->buf[self->len++] = '\t';
}

static int
s_fill_text (bare_t *self, const bare_row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const bare_row_t *r = &rows[i];
        if (s_reserve (self, 2 * (strlen (r->provider) + strlen (r->symbol)) + 200))
            return -1;
        self->len += (size_t)snprintf (self->buf + self->len, 32, "%zu\t", i);
        s_text (self, r->provider);
        s_text (self, r->symbol);
        self->len += (size_t)snprintf (
            self->buf + self->len, 160, "%lld\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\n",
            (long long)r->ts, r->v[0], r->v[1], r->v[2], r->v[3], r->v[4]);
    }
    return 0;
}

static int
s_fill_binary (bare_t *self, const bare_row_t *rows, size_t n, bool numbered)
{
    if (s_reserve (self, 19 + 2))
        return -1;
    memcpy (self->buf, "PGCOPY\n\377\r\n\0", 11);
    self->len = 11;
    s_u32 (self, 0);
    s_u32 (self, 0);
    for (size_t i = 0; i < n; i++) {
        const bare_row_t *r = &rows[i];
        size_t lp = strlen (r->provider), ls = strlen (r->symbol);
        if (s_reserve (self, 2 + 8 + 4 + lp + 4 + ls + 6 * 12 + 2))
            return -1;
        s_u16 (self, numbered ? 9 : 8);
        if (numbered) {
            s_u32 (self, 4);
            s_u32 (self, (uint32_t)i);
        }
        s_bytes (self, r->provider, lp);
        s_bytes (self, r->symbol, ls);
        s_u32 (self, 8);
        s_u64 (self, (uint64_t)s_pg_ts (r->ts));
        for (int k = 0; k < 5; k++) {
            s_u32 (self, 8);
            s_f8 (self, r->v[k]);
        }
    }
    s_u16 (self, 0xffff);
    return 0;
}

/* BEGIN; COPY; EXECUTE merge; COMMIT as one simple query: one round trip.
 * Every result must be COMMAND_OK (COPY_IN for the COPY) up to NULL. */
static int
s_one_trip (bare_t *self, char *err, size_t errlen)
{
    if (!PQsendQuery (self->conn, "BEGIN; COPY bare_stage FROM STDIN (FORMAT binary); "
                                  "EXECUTE merge; COMMIT"))
        return s_err (self, "send", err, errlen);
    int rc = 0, results = 0;
    PGresult *r;
    while ((r = PQgetResult (self->conn))) {
        ExecStatusType st = PQresultStatus (r);
        results++;
        if (st == PGRES_COPY_IN) {
            if (PQputCopyData (self->conn, self->buf, (int)self->len) != 1
                || PQputCopyEnd (self->conn, NULL) != 1)
                rc = rc ? rc : s_err (self, "copy", err, errlen);
        } else if (st != PGRES_COMMAND_OK)
            rc = rc ? rc : s_err (self, "one trip", err, errlen);
        PQclear (r);
    }
    if (rc == 0 && results != 5) {
        snprintf (err, errlen, "one trip: %d results", results);
        rc = -1;
    }
    return rc;
}

static int
s_cmp_rows (const void *pa, const void *pb)
{
    const bare_row_t *a = pa, *b = pb;
    int c = strcmp (a->provider, b->provider);
    if (!c)
        c = strcmp (a->symbol, b->symbol);
    return c ? c : (a->ts > b->ts) - (a->ts < b->ts);
}

static int
s_staged (bare_t *self, const bare_row_t *rows, size_t n, char *err, size_t errlen)
{
    bare_row_t *sorted = NULL;
    if (self->path == P_COPY_BINARY_1RT_SORTED) {
        sorted = malloc (n * sizeof *sorted);
        if (!sorted) {
            snprintf (err, errlen, "out of memory");
            return -1;
        }
        memcpy (sorted, rows, n * sizeof *sorted);
        qsort (sorted, n, sizeof *sorted, s_cmp_rows);
        rows = sorted;
    }
    self->len = 0;
    bool text = self->path == P_COPY_TEXT || self->path == P_COPY_TEXT_PLAIN;
    int rc = text ? s_fill_text (self, rows, n)
                  : s_fill_binary (self, rows, n, self->path == P_COPY_BINARY_DISTINCT);
    free (sorted);
    if (rc) {
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    if (self->path == P_COPY_BINARY_1RT || self->path == P_COPY_BINARY_1RT_SORTED
        || self->path == P_COPY_BINARY_1RT_TEXT)
        return s_one_trip (self, err, errlen);
    if (s_exec (self, "BEGIN", PGRES_COMMAND_OK, err, errlen)
        || s_exec (self,
                   text ? "COPY bare_stage FROM STDIN"
                        : "COPY bare_stage FROM STDIN (FORMAT binary)",
                   PGRES_COPY_IN, err, errlen))
        return -1;
    if (PQputCopyData (self->conn, self->buf, (int)self->len) != 1
        || PQputCopyEnd (self->conn, NULL) != 1)
        return s_err (self, "copy", err, errlen);
    PGresult *r = PQgetResult (self->conn);
    rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "copy", err, errlen);
    PQclear (r);
    while ((r = PQgetResult (self->conn)))
        PQclear (r);
    if (rc)
        return -1;
    r = PQexecPrepared (self->conn, "merge", 0, NULL, NULL, NULL, 0);
    rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "merge", err, errlen);
    PQclear (r);
    if (rc)
        return -1;
    return s_exec (self, "COMMIT", PGRES_COMMAND_OK, err, errlen);
}

/* One binary array: ndim 1, no nulls, element type oid, n elements. */
static void
s_array_head (bare_t *self, uint32_t oid, size_t n)
{
    s_u32 (self, 1);
    s_u32 (self, 0);
    s_u32 (self, oid);
    s_u32 (self, (uint32_t)n);
    s_u32 (self, 1);
}

static int
s_unnest (bare_t *self, const bare_row_t *rows, size_t n, char *err, size_t errlen)
{
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        text += strlen (rows[i].provider) + strlen (rows[i].symbol);
    self->len = 0;
    if (s_reserve (self, 8 * 20 + text + n * (8 + 7 * 12))) {
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    size_t off[8], len[8];
    for (int c = 0; c < 8; c++) {
        off[c] = self->len;
        s_array_head (self, c < 2 ? 25 : c == 2 ? 1184 : 701, n);
        for (size_t i = 0; i < n; i++) {
            const bare_row_t *r = &rows[i];
            if (c < 2) {
                const char *s = c == 0 ? r->provider : r->symbol;
                s_bytes (self, s, strlen (s));
            } else if (c == 2) {
                s_u32 (self, 8);
                s_u64 (self, (uint64_t)s_pg_ts (r->ts));
            } else {
                s_u32 (self, 8);
                s_f8 (self, r->v[c - 3]);
            }
        }
        len[c] = self->len - off[c];
    }
    const char *values[8];
    int lengths[8], formats[8];
    for (int c = 0; c < 8; c++) {
        values[c] = self->buf + off[c];
        lengths[c] = (int)len[c];
        formats[c] = 1;
    }
    PGresult *r = PQexecPrepared (self->conn, "merge", 8, values, lengths, formats, 0);
    int rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "unnest", err, errlen);
    PQclear (r);
    return rc;
}

static int
s_values (bare_t *self, const bare_row_t *rows, size_t n, char *err, size_t errlen)
{
    if (n * 8 > 65535) {
        snprintf (err, errlen, "values: at most 8191 rows");
        return -1;
    }
    if (self->values_n != n) {
        size_t cap = 256 + n * 64;
        char *sql = malloc (cap);
        if (!sql) {
            snprintf (err, errlen, "out of memory");
            return -1;
        }
        size_t at = (size_t)snprintf (sql, cap, "INSERT INTO %s VALUES ", self->table);
        for (size_t i = 0; i < n; i++) {
            size_t p = i * 8;
            at += (size_t)snprintf (sql + at, cap - at,
                                    "%s($%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu,$%zu)", i ? "," : "",
                                    p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7, p + 8);
        }
        snprintf (sql + at, cap - at, "%s", SET_COLS);
        Oid *types = malloc (n * 8 * sizeof *types);
        if (!types) {
            free (sql);
            snprintf (err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n * 8; i++)
            types[i] = i % 8 < 2 ? 25 : i % 8 == 2 ? 1184 : 701;
        if (self->values_n) {
            PGresult *d = PQexec (self->conn, "DEALLOCATE values_stmt");
            PQclear (d);
        }
        PGresult *r = PQprepare (self->conn, "values_stmt", sql, (int)(n * 8), types);
        int rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "prepare", err, errlen);
        PQclear (r);
        free (sql);
        free (types);
        if (rc)
            return -1;
        self->values_n = n;
    }
    self->len = 0;
    if (s_reserve (self, n * 6 * 8)) {
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    const char **values = malloc (n * 8 * sizeof *values);
    int *lengths = malloc (n * 8 * sizeof *lengths), *formats = malloc (n * 8 * sizeof *formats);
    if (!values || !lengths || !formats) {
        free (values), free (lengths), free (formats);
        snprintf (err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const bare_row_t *r = &rows[i];
        const char **v = values + i * 8;
        int *l = lengths + i * 8;
        v[0] = r->provider, l[0] = (int)strlen (r->provider);
        v[1] = r->symbol, l[1] = (int)strlen (r->symbol);
        v[2] = self->buf + self->len, l[2] = 8;
        uint64_t t = htobe64 ((uint64_t)s_pg_ts (r->ts));
        memcpy (self->buf + self->len, &t, 8);
        self->len += 8;
        for (int k = 0; k < 5; k++) {
            v[3 + k] = self->buf + self->len, l[3 + k] = 8;
            s_f8 (self, r->v[k]);
        }
    }
    for (size_t i = 0; i < n * 8; i++)
        formats[i] = 1;
    PGresult *r
        = PQexecPrepared (self->conn, "values_stmt", (int)(n * 8), values, lengths, formats, 0);
    int rc = PQresultStatus (r) == PGRES_COMMAND_OK ? 0 : s_err (self, "values", err, errlen);
    PQclear (r);
    free (values), free (lengths), free (formats);
    return rc;
}

int
bare_write (bare_t *self, const bare_row_t *rows, size_t n, char *err, size_t errlen)
{
    switch (self->path) {
    case P_UNNEST:
        return s_unnest (self, rows, n, err, errlen);
    case P_VALUES:
        return s_values (self, rows, n, err, errlen);
    default:
        return s_staged (self, rows, n, err, errlen);
    }
}

int
bare_backend_pid (const bare_t *self)
{
    return PQbackendPID (self->conn);
}

void
bare_close (bare_t *self)
{
    if (!self)
        return;
    PQfinish (self->conn);
    free (self->buf);
    free (self);
}
