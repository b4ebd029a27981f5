/*
 * journal: segment files of checksummed records.  See journal.h.
 *
 * This file: the segments, appending, syncing, trimming; journal_read.c:
 * checking at start, the reader, snapshots, records in a buffer.
 *
 * Invariants: segs[] lists the segments on disk by ascending id, with the
 * bytes each holds up to its last good record; the newest is segs[n - 1] and
 * only it is written, at offset `pos` (== its bytes) through `fd` (-1 until
 * the first write after an open or a roll); `total` is the sum of bytes.
 */
#include "pipeline/journal.h"
#include "pipeline/journal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/log.h"

/* ---- helpers ---- */

void
journal_path_of (const journal_t *self, uint64_t id, char *out, size_t size)
{
    snprintf (out, size, "%s/%020" PRIu64 ".mdj", self->dir, id);
}

void
journal_snap_path_of (const journal_t *self, uint64_t id, char *out, size_t size, bool tmp)
{
    snprintf (out, size, "%s/%020" PRIu64 ".snap%s", self->dir, id, tmp ? ".tmp" : "");
}

int
journal_fail (journal_t *self, const char *what, uint64_t id)
{
    int e = errno;
    snprintf (self->error, sizeof self->error, "%s %020" PRIu64 ".mdj: %s", what, id, strerror (e));
    errno = e;
    return -1;
}

static int
s_mkdirs (const char *dir)
{
    char tmp[4096];
    if (snprintf (tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir (tmp, 0750) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir (tmp, 0750) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

void
journal_fsync_dir (const journal_t *self)
{
    int dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync (dfd);
        close (dfd);
    }
}

static bool
s_seg_name (const char *name, uint64_t *id)
{
    size_t n = strlen (name);
    if (n != S_NAME_DIGITS + 4 || strcmp (name + S_NAME_DIGITS, ".mdj") != 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < S_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *id = v;
    return v > 0;
}

static int
s_cmp_seg (const void *a, const void *b)
{
    uint64_t x = ((const s_seg_t *)a)->id, y = ((const s_seg_t *)b)->id;
    return x < y ? -1 : x > y;
}

static int
s_push_seg (journal_t *self, uint64_t id, int64_t bytes)
{
    if (self->nsegs == self->capsegs) {
        size_t cap = self->capsegs ? self->capsegs * 2 : 16;
        s_seg_t *segs = realloc (self->segs, cap * sizeof *segs);
        if (!segs)
            return -1;
        self->segs = segs;
        self->capsegs = cap;
    }
    self->segs[self->nsegs++] = (s_seg_t){ id, bytes };
    self->total += bytes;
    return 0;
}

uint32_t
journal_get32 (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

uint32_t
journal_crc (const uint8_t *p, size_t n)
{
    return mdf_crc32c (0, p, n);
}

/* ---- open, close ---- */

journal_t *
journal_open (const journal_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->dir || !*cfg->dir || cfg->max_bytes <= 0) {
        snprintf (err, errlen, "journal: no directory or no size");
        return NULL;
    }
    if (s_mkdirs (cfg->dir) < 0) {
        snprintf (err, errlen, "journal: cannot create %s: %s", cfg->dir, strerror (errno));
        return NULL;
    }
    DIR *d = opendir (cfg->dir);
    if (!d) {
        snprintf (err, errlen, "journal: cannot read %s: %s", cfg->dir, strerror (errno));
        return NULL;
    }
    journal_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (cfg->dir))) {
        free (self);
        closedir (d);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->fd = -1;
    self->rfd = -1;
    self->sync_fd = -1;
    pthread_mutex_init (&self->sync_lock, NULL);
    pthread_cond_init (&self->sync_cond, NULL);
    self->max_bytes = cfg->max_bytes;
    int64_t seg = cfg->segment_bytes > 0 ? cfg->segment_bytes : cfg->max_bytes / 8;
    if (cfg->segment_bytes <= 0)
        seg = seg < 4096 ? 4096 : seg > (64 << 20) ? (64 << 20) : seg;
    self->segment_bytes = seg;
    self->fsync_ns = cfg->fsync_ms * 1000000;
    for (struct dirent *e; (e = readdir (d));) {
        uint64_t id;
        if (!s_seg_name (e->d_name, &id))
            continue;
        char path[4200];
        journal_path_of (self, id, path, sizeof path);
        struct stat st;
        if (stat (path, &st) < 0 || s_push_seg (self, id, (int64_t)st.st_size) < 0) {
            snprintf (err, errlen, "journal: cannot read %s: %s", path, strerror (errno));
            closedir (d);
            journal_close (&self);
            return NULL;
        }
    }
    closedir (d);
    if (self->nsegs > 1)
        qsort (self->segs, self->nsegs, sizeof *self->segs, s_cmp_seg);
    return self;
}

static void *
s_syncer (void *arg)
{
    journal_t *self = arg;
    pthread_mutex_lock (&self->sync_lock);
    for (;;) {
        while (self->sync_fd < 0 && !self->sync_quit)
            pthread_cond_wait (&self->sync_cond, &self->sync_lock);
        if (self->sync_fd < 0)
            break;
        int fd = self->sync_fd;
        uint64_t id = self->sync_id;
        pthread_mutex_unlock (&self->sync_lock);
        int e = fdatasync (fd) < 0 ? errno : 0;
        close (fd);
        pthread_mutex_lock (&self->sync_lock);
        self->sync_fd = -1;
        if (e) {
            self->sync_errno = e;
            self->sync_err_id = id;
        }
        pthread_cond_broadcast (&self->sync_cond);
    }
    pthread_mutex_unlock (&self->sync_lock);
    return NULL;
}

/* Wait for the syncer to be idle.  Lock held. */
static void
s_sync_idle_locked (journal_t *self)
{
    while (self->sync_fd >= 0)
        pthread_cond_wait (&self->sync_cond, &self->sync_lock);
}

void
journal_close (journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    journal_t *self = *self_p;
    if (self->syncer_on) {
        pthread_mutex_lock (&self->sync_lock);
        s_sync_idle_locked (self);
        self->sync_quit = true;
        pthread_cond_broadcast (&self->sync_cond);
        pthread_mutex_unlock (&self->sync_lock);
        pthread_join (self->syncer, NULL);
    }
    pthread_mutex_destroy (&self->sync_lock);
    pthread_cond_destroy (&self->sync_cond);
    if (self->fd >= 0) {
        if (self->dirty)
            (void)fdatasync (self->fd);
        close (self->fd);
    }
    if (self->rfd >= 0)
        close (self->rfd);
    free (self->rbuf);
    free (self->segs);
    free (self->buf);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/* ---- append ---- */

uint8_t *
journal_reserve (journal_t *self, size_t max)
{
    if (max + 1 > JOURNAL_RECORD_MAX)
        return NULL;
    size_t need = self->len + S_RECHDR + 1 + max;
    if (need > self->cap) {
        size_t cap = self->cap ? self->cap : 65536;
        while (cap < need)
            cap *= 2;
        uint8_t *buf = realloc (self->buf, cap);
        if (!buf)
            return NULL;
        self->buf = buf;
        self->cap = cap;
    }
    return self->buf + self->len + S_RECHDR + 1;
}

void
journal_commit_record (journal_t *self, uint8_t type, size_t len)
{
    self->last_len = 0;
    uint8_t *p = self->buf + self->len;
    uint32_t rlen = (uint32_t)(len + 1);
    p[S_RECHDR] = type;
    uint32_t crc = journal_crc (p + S_RECHDR, rlen);
    memcpy (p, &rlen, 4);
    memcpy (p + 4, &crc, 4);
    self->len += S_RECHDR + rlen;
}

int
journal_add (journal_t *self, uint8_t type, const void *payload, size_t len)
{
    uint8_t *p = journal_reserve (self, len);
    if (!p)
        return -1;
    if (len)
        memcpy (p, payload, len);
    journal_commit_record (self, type, len);
    return 0;
}

size_t
journal_buffered (const journal_t *self)
{
    return self->len;
}

const uint8_t *
journal_last_write (const journal_t *self, size_t *len)
{
    *len = self->len == 0 ? self->last_len : 0;
    return self->buf;
}

static int
s_open_newest (journal_t *self)
{
    s_seg_t *seg = &self->segs[self->nsegs - 1];
    char path[4200];
    journal_path_of (self, seg->id, path, sizeof path);
    self->fd = open (path, O_WRONLY | O_CLOEXEC);
    if (self->fd < 0)
        return journal_fail (self, "open", seg->id);
    self->pos = seg->bytes;
    return 0;
}

uint64_t
journal_roll (journal_t *self)
{
    uint64_t id = self->nsegs ? self->segs[self->nsegs - 1].id + 1 : 1;
    if (self->fd >= 0) {
        if (self->dirty && fdatasync (self->fd) < 0) {
            journal_fail (self, "sync", id - 1);
            return 0;
        }
        self->dirty = false;
        close (self->fd);
        self->fd = -1;
    }
    char path[4200];
    journal_path_of (self, id, path, sizeof path);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        journal_fail (self, "create", id);
        return 0;
    }
    uint8_t hdr[S_HEADER];
    uint32_t ver = S_VERSION;
    memcpy (hdr, S_MAGIC, 4);
    memcpy (hdr + 4, &ver, 4);
    memcpy (hdr + 8, &id, 8);
    if (pwrite (fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
        if (errno == 0)
            errno = ENOSPC;
        journal_fail (self, "write", id);
        close (fd);
        unlink (path);
        return 0;
    }
    if (s_push_seg (self, id, S_HEADER) < 0) {
        close (fd);
        unlink (path);
        errno = ENOMEM;
        journal_fail (self, "create", id);
        return 0;
    }
    journal_fsync_dir (self);
    self->fd = fd;
    self->pos = S_HEADER;
    self->dirty = true;
    return id;
}

int
journal_write (journal_t *self)
{
    if (self->len == 0)
        return 0;
    if (self->nsegs == 0 && journal_roll (self) == 0)
        return -1;
    if (self->fd < 0 && s_open_newest (self) < 0)
        return -1;
    s_seg_t *seg = &self->segs[self->nsegs - 1];
    size_t done = 0;
    while (done < self->len) {
        ssize_t n = pwrite (self->fd, self->buf + done, self->len - done,
                            (off_t)(self->pos + (int64_t)done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            int e = errno;
            /* nothing of it counts: the next write goes over it */
            (void)ftruncate (self->fd, (off_t)self->pos);
            errno = e;
            return journal_fail (self, "write", seg->id);
        }
        done += (size_t)n;
    }
    if (self->fsync_ns == 0 && fdatasync (self->fd) < 0) {
        int e = errno;
        (void)ftruncate (self->fd, (off_t)self->pos);
        errno = e;
        return journal_fail (self, "sync", seg->id);
    }
    self->pos += (int64_t)self->len;
    seg->bytes = self->pos;
    self->total += (int64_t)self->len;
    self->last_len = self->len;
    self->len = 0;
    self->dirty = self->fsync_ns != 0;
    self->error[0] = '\0';
    return 0;
}

int
journal_sync (journal_t *self, int64_t now_ns, bool force)
{
    if (self->syncer_on) { /* the last background sync's outcome */
        pthread_mutex_lock (&self->sync_lock);
        if (force)
            s_sync_idle_locked (self);
        int e = self->sync_errno;
        uint64_t id = self->sync_err_id;
        self->sync_errno = 0;
        pthread_mutex_unlock (&self->sync_lock);
        if (e) {
            errno = e;
            return journal_fail (self, "sync", id);
        }
    }
    if (!self->dirty || self->fd < 0)
        return 0;
    if (!force && now_ns - self->synced_ns < self->fsync_ns)
        return 0;
    uint64_t id = self->segs[self->nsegs - 1].id;
    if (force || self->fsync_ns == 0) {
        if (fdatasync (self->fd) < 0)
            return journal_fail (self, "sync", id);
    } else {
        if (!self->syncer_on) {
            if (pthread_create (&self->syncer, NULL, s_syncer, self) != 0)
                return fdatasync (self->fd) < 0 ? journal_fail (self, "sync", id) : 0;
            self->syncer_on = true;
        }
        pthread_mutex_lock (&self->sync_lock);
        bool busy = self->sync_fd >= 0;
        int fd = busy ? -1 : dup (self->fd);
        if (fd >= 0) {
            self->sync_fd = fd;
            self->sync_id = id;
            pthread_cond_broadcast (&self->sync_cond);
        }
        pthread_mutex_unlock (&self->sync_lock);
        if (busy)
            return 0; /* the last one is still on: the next tick */
        if (fd < 0)
            return journal_fail (self, "sync", id);
    }
    self->dirty = false;
    self->synced_ns = now_ns;
    return 0;
}

size_t
journal_trim (journal_t *self, uint64_t id)
{
    size_t n = 0;
    while (n < self->nsegs && self->segs[n].id < id && n + 1 < self->nsegs
           && self->segs[n].id < self->rid) {
        char path[4200];
        journal_path_of (self, self->segs[n].id, path, sizeof path);
        if (unlink (path) < 0 && errno != ENOENT) {
            journal_fail (self, "remove", self->segs[n].id);
            break;
        }
        journal_snap_path_of (self, self->segs[n].id, path, sizeof path, false);
        (void)unlink (path);
        self->total -= self->segs[n].bytes;
        n++;
    }
    if (n > 0) {
        memmove (self->segs, self->segs + n, (self->nsegs - n) * sizeof *self->segs);
        self->nsegs -= n;
        journal_fsync_dir (self);
    }
    return n;
}

bool
journal_full (const journal_t *self)
{
    return self->total >= self->max_bytes;
}

bool
journal_roll_due (const journal_t *self)
{
    return self->nsegs == 0 || self->segs[self->nsegs - 1].bytes >= self->segment_bytes;
}

int64_t
journal_bytes (const journal_t *self)
{
    return self->total;
}

size_t
journal_segments (const journal_t *self)
{
    return self->nsegs;
}

uint64_t
journal_oldest (const journal_t *self)
{
    return self->nsegs ? self->segs[0].id : 0;
}

uint64_t
journal_newest (const journal_t *self)
{
    return self->nsegs ? self->segs[self->nsegs - 1].id : 0;
}

const char *
journal_error (const journal_t *self)
{
    return self->error;
}
