/*
 * sink_sqlite: bars into a SQLite file.
 *
 * WAL journal (readers never block the writer), PRAGMA synchronous from the
 * config, a busy timeout so several workers (each with its own connection)
 * take turns instead of failing, and one prepared upsert reused for every bar.
 * A write is BEGIN IMMEDIATE .. upserts .. COMMIT; any error rolls back, and
 * the caller (sink.c) closes the connection.
 *
 * The files under a connection.  SQLite keeps PATH, PATH-wal (where a commit
 * lands until a checkpoint copies it into PATH) and PATH-shm (the WAL's
 * index, mapped into memory) open by descriptor; -wal and -shm sit beside
 * the file PATH resolves to when PATH is a symbolic link, and are checked
 * there.  If they are deleted or
 * replaced while the store runs, the connection goes on committing into
 * files that are no longer at the path and vanish with it.  So each
 * connection records the identity (device, inode) of the three files right
 * after opening and compares it with what is at the path before BEGIN,
 * before COMMIT and after COMMIT, and between writes (sink_check): a file
 * gone or replaced, or a -shm shorter than before (truncated by another
 * process), fails the write with an error naming the file, logged once per
 * connection and change (rate-limited).  A write whose commit went into such
 * files returns -1 like any failure: the retry reopens the file at the path
 * (creating it again if it was deleted) and stores the bars there, so an ok
 * never covers bars that are not in the file at the configured path.
 *
 * Closing a connection whose files were replaced must not touch the new
 * ones: while the database file is in place, SQLite's last close checkpoints
 * the -wal it has open into it and then unlinks PATH-wal and PATH-shm by
 * name, which would overwrite pages and delete the fresh files another
 * process commits into.  Such a connection (and any not verified) is closed
 * with SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE: no checkpoint, no unlink, no read
 * of the -shm mapping (which a truncated -shm would turn into SIGBUS).
 *
 * Connections of one process to the same database inode share one -shm
 * mapping inside SQLite.  So a connection is not opened while another of
 * this process still holds that database with a -wal or -shm that is no
 * longer at the path (it would read the old index against a new -wal): the
 * open fails until those have closed (workers check their connection every
 * second while idle).  A process-wide registry of open connections serves
 * this check.
 *
 * A -wal or -shm at the path without the database beside it belongs to a
 * deleted database: the -wal is renamed aside (PATH-wal.orphaned-SECONDS, for
 * inspection) and the -shm removed before the open, with a warning, so the
 * new database starts with files of its own.
 */
#include "store/sink.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define S_BUSY_TIMEOUT_MS 5000 /* a lock held by another connection: wait this long */

enum { S_DB, S_WAL, S_SHM, S_NFILES };

/* Identity of one file at a path (present = false when there is none). */
typedef struct {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
} s_file_id_t;

typedef struct _sqlite_sink_t sqlite_sink_t;
struct _sqlite_sink_t {
    char *path, *table, *synchronous;
    /* PATH, and the -wal and -shm SQLite uses: beside the file PATH resolves
     * to (a symbolic link is followed); stable while registered */
    char *names[S_NFILES];
    sqlite3 *db;
    sqlite3_stmt *upsert;
    /* the files this connection has open; written under s_reg_lock */
    s_file_id_t ids[S_NFILES];
    bool registered;
    sqlite_sink_t *next; /* in s_reg while registered */
};

/* Every registered (open and verified) connection of the process. */
static pthread_mutex_t s_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite_sink_t *s_reg;
static mdf_ratelimit_t s_change_rl = MDF_RATELIMIT_INIT (5000, 5);

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
    bool ok = self->path && self->table && self->synchronous;
    for (int i = 0; ok && i < S_NFILES; i++) {
        static const char *const suffix[S_NFILES] = { "", "-wal", "-shm" };
        ok = asprintf (&self->names[i], "%s%s", self->path, suffix[i]) >= 0;
        if (!ok)
            self->names[i] = NULL;
    }
    if (!ok) {
        for (int i = 0; i < S_NFILES; i++)
            free (self->names[i]);
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

/* PRAGMA journal_mode=WAL needs an exclusive lock, and SQLite answers BUSY
 * at once, without its busy handler, while another connection holds the
 * database (two connections of a starting store creating it together): try
 * again for up to the busy timeout. */
static int
s_exec_wal (sqlite_sink_t *self, char *err, size_t errlen)
{
    for (int waited_ms = 0;; waited_ms += 10) {
        if (sqlite3_exec (self->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) == SQLITE_OK)
            return 0;
        if ((sqlite3_errcode (self->db) & 0xff) != SQLITE_BUSY || waited_ms >= S_BUSY_TIMEOUT_MS)
            return s_fail (self, "PRAGMA journal_mode=WAL", err, errlen);
        nanosleep (&(struct timespec){ 0, 10000000 }, NULL);
    }
}

/* ---- the files under the connection ---- */

/* -wal and -shm beside `db` (SQLite names them after the resolved path). */
static void
s_name_companions (sqlite_sink_t *self, const char *db)
{
    static const char *const suffix[S_NFILES] = { "", "-wal", "-shm" };
    for (int i = S_WAL; i < S_NFILES; i++) {
        char *name = NULL;
        if (asprintf (&name, "%s%s", db, suffix[i]) < 0)
            continue; /* keep the previous name */
        free (self->names[i]);
        self->names[i] = name;
    }
}

static void
s_stat_all (const sqlite_sink_t *self, s_file_id_t now[S_NFILES])
{
    for (int i = 0; i < S_NFILES; i++) {
        struct stat st;
        memset (&now[i], 0, sizeof now[i]);
        if (stat (self->names[i], &st) == 0)
            now[i] = (s_file_id_t){ true, st.st_dev, st.st_ino, st.st_size };
    }
}

static bool
s_same_file (const s_file_id_t *a, const s_file_id_t *b)
{
    return a->present && b->present && a->dev == b->dev && a->ino == b->ino;
}

/* Describe how the files at the path (`now`) differ from the recorded ones
 * (`ids`) into why; false when they are the same files. */
static bool
s_describe_change (const sqlite_sink_t *self, const s_file_id_t ids[S_NFILES],
                   const s_file_id_t now[S_NFILES], char *why, size_t size)
{
    for (int i = 0; i < S_NFILES; i++) {
        if (!now[i].present)
            snprintf (why, size, "%s was deleted", self->names[i]);
        else if (!s_same_file (&ids[i], &now[i]))
            snprintf (why, size, "%s was replaced by another file", self->names[i]);
        else if (i == S_SHM && now[i].size < ids[i].size)
            snprintf (why, size, "%s was truncated from %lld to %lld bytes", self->names[i],
                      (long long)ids[i].size, (long long)now[i].size);
        else
            continue;
        return true;
    }
    return false;
}

/* 0 while the files at the path are still the ones this connection has open,
 * else -1 with err (and a log line) saying what changed and `when`. */
static int
s_verify (sqlite_sink_t *self, const char *when, char *err, size_t errlen)
{
    s_file_id_t now[S_NFILES];
    s_stat_all (self, now);
    char why[1024];
    if (!s_describe_change (self, self->ids, now, why, sizeof why)) {
        if (now[S_SHM].size > self->ids[S_SHM].size) { /* SQLite grew it */
            pthread_mutex_lock (&s_reg_lock);
            self->ids[S_SHM].size = now[S_SHM].size;
            pthread_mutex_unlock (&s_reg_lock);
        }
        return 0;
    }
    uint64_t suppressed = 0;
    if (mdf_ratelimit_allow (&s_change_rl, &suppressed)) {
        char q1[600], q2[1100];
        mdf_error ("sqlite database files changed under the store, closing the connection",
                   "path=%s change=%s when=%s suppressed=%llu",
                   mdf_log_quote (q1, sizeof q1, self->path), mdf_log_quote (q2, sizeof q2, why),
                   when, (unsigned long long)suppressed);
    }
    snprintf (err, errlen, "sqlite %s: %s (%s); the next attempt reopens the file at the path",
              self->path, why, when);
    return -1;
}

/* Before an open: set aside a -wal / -shm left without their database, and
 * refuse while another connection of the process holds this database with
 * files that are no longer at the path (see the top of the file). */
static int
s_before_open (sqlite_sink_t *self, char *err, size_t errlen)
{
    char *real = realpath (self->path, NULL);
    s_name_companions (self, real ? real : self->path);
    free (real);
    s_file_id_t now[S_NFILES];
    s_stat_all (self, now);
    if (!now[S_DB].present) {
        if (now[S_WAL].present) {
            char aside[4200];
            snprintf (aside, sizeof aside, "%s.orphaned-%lld", self->names[S_WAL],
                      (long long)time (NULL));
            if (rename (self->names[S_WAL], aside) != 0) {
                snprintf (err, errlen,
                          "sqlite %s: %s without its database: cannot move it aside: %s",
                          self->path, self->names[S_WAL], strerror (errno));
                return -1;
            }
            char q1[600], q2[600];
            mdf_warn ("sqlite -wal file without its database moved aside", "path=%s moved_to=%s",
                      mdf_log_quote (q1, sizeof q1, self->path),
                      mdf_log_quote (q2, sizeof q2, aside));
        }
        if (now[S_SHM].present && unlink (self->names[S_SHM]) != 0 && errno != ENOENT) {
            snprintf (err, errlen, "sqlite %s: %s without its database: cannot remove it: %s",
                      self->path, self->names[S_SHM], strerror (errno));
            return -1;
        }
        return 0;
    }
    char why[1024] = "";
    pthread_mutex_lock (&s_reg_lock);
    for (const sqlite_sink_t *p = s_reg; p && !*why; p = p->next)
        if (p != self && s_same_file (&p->ids[S_DB], &now[S_DB]))
            s_describe_change (p, p->ids, now, why, sizeof why);
    pthread_mutex_unlock (&s_reg_lock);
    if (*why) {
        snprintf (err, errlen,
                  "sqlite %s: another connection of this store still uses the files from before "
                  "(%s); opening once it has closed",
                  self->path, why);
        return -1;
    }
    return 0;
}

/* After an open: record the files SQLite has open and register the
 * connection.  The database's identity is confirmed by SQLite itself
 * (SQLITE_FCNTL_HAS_MOVED compares its descriptor with the path). */
static int
s_after_open (sqlite_sink_t *self, char *err, size_t errlen)
{
    const char *opened = sqlite3_db_filename (self->db, "main");
    if (opened && *opened)
        s_name_companions (self, opened);
    s_file_id_t now[S_NFILES];
    s_stat_all (self, now);
    int moved = 0;
    if (sqlite3_file_control (self->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
        moved = 0;
    for (int i = 0; i < S_NFILES; i++)
        if (moved || !now[i].present) {
            snprintf (err, errlen, "sqlite %s: %s changed while the database was being opened",
                      self->path, self->names[moved ? S_DB : i]);
            return -1;
        }
    pthread_mutex_lock (&s_reg_lock);
    memcpy (self->ids, now, sizeof self->ids);
    self->next = s_reg;
    s_reg = self;
    self->registered = true;
    pthread_mutex_unlock (&s_reg_lock);
    return 0;
}

static void
s_unregister (sqlite_sink_t *self)
{
    pthread_mutex_lock (&s_reg_lock);
    for (sqlite_sink_t **pp = &s_reg; *pp; pp = &(*pp)->next)
        if (*pp == self) {
            *pp = self->next;
            break;
        }
    self->registered = false;
    self->next = NULL;
    memset (self->ids, 0, sizeof self->ids);
    pthread_mutex_unlock (&s_reg_lock);
}

/* ---- open, write, close ---- */

/* Create the parent directory of `path` (mkdir -p); 0 or -1 with err. */
static int
s_mkdir_parent (const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf (dir, sizeof dir, "%s", path);
    char *slash = strrchr (dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir (dir, 0755) != 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir (dir, 0755) != 0 && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf (err, errlen, "%s: cannot create directory: %s", dir, strerror (errno));
    return -1;
}

static int
s_open (void *state, char *err, size_t errlen)
{
    sqlite_sink_t *self = state;
    if (s_mkdir_parent (self->path, err, errlen) != 0 || s_before_open (self, err, errlen) != 0)
        return -1;
    if (sqlite3_open_v2 (self->path, &self->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
        return s_fail (self, "open", err, errlen);
    sqlite3_busy_timeout (self->db, S_BUSY_TIMEOUT_MS);
    char sql[1024];
    snprintf (sql, sizeof sql, "PRAGMA synchronous=%s", self->synchronous);
    if (s_exec_wal (self, err, errlen) || s_exec (self, sql, err, errlen))
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
    return s_after_open (self, err, errlen);
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
    if (s_verify (self, "before the transaction", err, errlen)
        || s_exec (self, "BEGIN IMMEDIATE", err, errlen))
        return -1;
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < batches[b]->nbars; i++)
            if (s_upsert (self, batches[b]->provider, &batches[b]->bars[i]) != 0) {
                s_fail (self, "upsert", err, errlen);
                sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
                return -1;
            }
    if (s_verify (self, "before the commit", err, errlen) || s_exec (self, "COMMIT", err, errlen)) {
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    /* committed, but into the files at the path?  If not, the write fails and
     * its retry stores the bars in the file that is there now */
    return s_verify (self, "after the commit, not acknowledged", err, errlen);
}

static void
s_close (void *state)
{
    sqlite_sink_t *self = state;
    sqlite3_finalize (self->upsert);
    self->upsert = NULL;
    if (!self->db)
        return;
    s_file_id_t now[S_NFILES];
    s_stat_all (self, now);
    char why[1024];
    /* a connection to files no longer at the path (or never verified) must
     * not checkpoint and unlink -wal / -shm by name: they may be new files */
    if (!self->registered || s_describe_change (self, self->ids, now, why, sizeof why))
        sqlite3_db_config (self->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    sqlite3_close (self->db);
    self->db = NULL;
    s_unregister (self);
}

static int
s_check (void *state, char *err, size_t errlen)
{
    sqlite_sink_t *self = state;
    return self->db ? s_verify (self, "between writes", err, errlen) : 0;
}

/* Open if needed, check the files, read one row, check again. */
static int
s_ping (void *state, int timeout_ms, char *err, size_t errlen)
{
    (void)timeout_ms; /* a WAL read does not wait for writers */
    sqlite_sink_t *self = state;
    if (!self->db && s_open (self, err, errlen) != 0)
        return -1;
    if (s_verify (self, "check", err, errlen))
        return -1;
    char *q = sqlite3_mprintf ("SELECT 1 FROM \"%w\" LIMIT 1", self->table);
    int rc = q ? s_exec (self, q, err, errlen) : s_fail (self, "check", err, errlen);
    sqlite3_free (q);
    return rc ? -1 : s_verify (self, "check", err, errlen);
}

static void
s_destroy (void *state)
{
    sqlite_sink_t *self = state;
    s_close (self);
    for (int i = 0; i < S_NFILES; i++)
        free (self->names[i]);
    free (self->path);
    free (self->table);
    free (self->synchronous);
    free (self);
}

const sink_ops_t sink_sqlite_ops
    = { "sqlite", s_create, s_open, s_write, s_close, s_destroy, s_ping, s_check };
