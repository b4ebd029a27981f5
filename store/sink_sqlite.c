/*
 * sink_sqlite: bars into a SQLite file.
 *
 * WAL journal (readers never block the writer), PRAGMA synchronous from the
 * config, a busy timeout so several workers (each with its own connection)
 * take turns instead of failing, and one prepared upsert reused for every bar.
 * A write is BEGIN IMMEDIATE .. upserts .. COMMIT; any error rolls back, and
 * the caller (sink.c) closes the connection.
 */
#include "store/sink.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *path, *table, *synchronous;
    sqlite3 *db;
    sqlite3_stmt *upsert;
} sqlite_sink_t;

static void *
s_create (const sink_config_t *cfg)
{
    sqlite_sink_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup (cfg->path ? cfg->path : "");
    self->table = strdup (cfg->table && *cfg->table ? cfg->table : "bars");
    self->synchronous
        = strdup (cfg->synchronous && *cfg->synchronous ? cfg->synchronous : "normal");
    if (!self->path || !self->table || !self->synchronous) {
        free (self->path), free (self->table), free (self->synchronous), free (self);
        return NULL;
    }
    return self;
}

static int
s_fail (sqlite_sink_t *self, const char *what, char *err, size_t errlen)
{
    snprintf (err, errlen, "sqlite %s: %s: %s", self->path, what,
              self->db ? sqlite3_errmsg (self->db) : "out of memory");
    return -1;
}

static int
s_exec (sqlite_sink_t *self, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return s_fail (self, sql, err, errlen);
    return 0;
}

static int
s_open (void *state, char *err, size_t errlen)
{
    sqlite_sink_t *self = state;
    if (sink_mkdir_parent (self->path, err, errlen) != 0)
        return -1;
    if (sqlite3_open_v2 (self->path, &self->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
        return s_fail (self, "open", err, errlen);
    sqlite3_busy_timeout (self->db, 5000);
    char sql[1024];
    snprintf (sql, sizeof sql, "PRAGMA synchronous=%s", self->synchronous);
    if (s_exec (self, "PRAGMA journal_mode=WAL", err, errlen) || s_exec (self, sql, err, errlen))
        return -1;
    char *q = sqlite3_mprintf ("CREATE TABLE IF NOT EXISTS \"%w\" (provider TEXT, symbol TEXT, "
                               "ts INTEGER, open REAL, high REAL, low REAL, close REAL, "
                               "volume REAL, PRIMARY KEY (provider, symbol, ts))",
                               self->table);
    int rc = q ? s_exec (self, q, err, errlen) : -1;
    sqlite3_free (q);
    if (rc)
        return -1;
    q = sqlite3_mprintf ("INSERT INTO \"%w\" (provider, symbol, ts, open, high, low, close, "
                         "volume) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                         "ON CONFLICT (provider, symbol, ts) DO UPDATE SET open = excluded.open, "
                         "high = excluded.high, low = excluded.low, close = excluded.close, "
                         "volume = excluded.volume",
                         self->table);
    rc = q ? sqlite3_prepare_v2 (self->db, q, -1, &self->upsert, NULL) : SQLITE_NOMEM;
    sqlite3_free (q);
    if (rc != SQLITE_OK)
        return s_fail (self, "prepare upsert", err, errlen);
    return 0;
}

static int
s_upsert (sqlite_sink_t *self, const char *provider, const mdf_bar_t *bar)
{
    sqlite3_stmt *st = self->upsert;
    sqlite3_bind_text (st, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, bar->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 3, bar->ts);
    sqlite3_bind_double (st, 4, bar->open);
    sqlite3_bind_double (st, 5, bar->high);
    sqlite3_bind_double (st, 6, bar->low);
    sqlite3_bind_double (st, 7, bar->close);
    sqlite3_bind_double (st, 8, bar->volume);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int
s_write (void *state, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    sqlite_sink_t *self = state;
    if (s_exec (self, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < batches[b]->nbars; i++)
            if (s_upsert (self, batches[b]->provider, &batches[b]->bars[i]) != 0) {
                s_fail (self, "upsert", err, errlen);
                sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
                return -1;
            }
    if (s_exec (self, "COMMIT", err, errlen)) {
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static void
s_close (void *state)
{
    sqlite_sink_t *self = state;
    sqlite3_finalize (self->upsert);
    self->upsert = NULL;
    sqlite3_close (self->db);
    self->db = NULL;
}

static void
s_destroy (void *state)
{
    sqlite_sink_t *self = state;
    s_close (self);
    free (self->path);
    free (self->table);
    free (self->synchronous);
    free (self);
}

const sink_ops_t sink_sqlite_ops = { "sqlite", s_create, s_open, s_write, s_close, s_destroy };
