/*
 * journal: segment files of checksummed records.  See journal.h.
 *
 * Invariants: segs[] lists the segments on disk by ascending id, with the
 * bytes each holds up to its last good record; the newest is segs[n - 1] and
 * only it is written, at offset `pos` (== its bytes) through `fd` (-1 until
 * the first write after an open or a roll); `total` is the sum of bytes.
 */
#include "pipeline/journal.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crc32c.h"
#include "common/log.h"

#define S_MAGIC "MDJ1"
#define S_VERSION 1u
#define S_HEADER 16
#define S_RECHDR 8
#define S_NAME_DIGITS 20

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the journal is written little-endian");

typedef struct {
    uint64_t id;
    int64_t bytes;
} s_seg_t;

struct _journal_t {
    char *dir;
    int64_t max_bytes, segment_bytes, fsync_ns;
    s_seg_t *segs;
    size_t nsegs, capsegs;
    int64_t total;
    int fd;
    int64_t pos;
    uint8_t *buf;
    size_t len, cap;
    size_t last_len; /* what the last journal_write wrote from buf */
    bool dirty;
    int64_t synced_ns;
    /* the syncer thread (fsync_ms > 0): fdatasync of a dup of fd, so the
     * writer's thread never waits for the disk; under sync_lock */
    pthread_t syncer;
    bool syncer_on, sync_quit;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    int sync_fd;      /* to sync, -1 none */
    uint64_t sync_id; /* its segment */
    int sync_errno;   /* of the last sync, 0 ok */
    uint64_t sync_err_id;
    char error[256];
    /* the reader: in segment rid (0: before the first), at offset roff;
     * rbuf holds the file's bytes [rbase, rbase + rlen) */
    uint64_t rid;
    int64_t roff;
    int rfd;
    uint8_t *rbuf;
    size_t rlen, rcap;
    int64_t rbase;
};

/* ---- helpers ---- */

static void
s_path (const journal_t *self, uint64_t id, char *out, size_t size)
{
    snprintf (out, size, "%s/%020" PRIu64 ".mdj", self->dir, id);
}

static void
s_snap_path (const journal_t *self, uint64_t id, char *out, size_t size, bool tmp)
{
    snprintf (out, size, "%s/%020" PRIu64 ".snap%s", self->dir, id, tmp ? ".tmp" : "");
}

static int
s_fail (journal_t *self, const char *what, uint64_t id)
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

static void
s_fsync_dir (const journal_t *self)
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

static uint32_t
s_get32 (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

static uint32_t
s_crc (const uint8_t *p, size_t n)
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
        s_path (self, id, path, sizeof path);
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

/* ---- replay ---- */

/* Is there a good record at off (or the end)? */
static bool
s_good_at (const uint8_t *data, size_t size, size_t off)
{
    if (off == size)
        return true;
    if (size - off < S_RECHDR)
        return false;
    uint32_t len = s_get32 (data + off);
    if (len == 0 || len > JOURNAL_RECORD_MAX || len > size - off - S_RECHDR)
        return false;
    return s_crc (data + off + S_RECHDR, len) == s_get32 (data + off + 4);
}

static int
s_replay_seg (journal_t *self, s_seg_t *seg, journal_record_fn *fn, void *arg,
              journal_replay_stats_t *st, char *err, size_t errlen)
{
    char path[4200];
    s_path (self, seg->id, path, sizeof path);
    FILE *f = fopen (path, "rb");
    uint8_t *data = NULL;
    size_t size = (size_t)seg->bytes;
    if (!f || (size > 0 && !(data = malloc (size)))
        || (size > 0 && fread (data, 1, size, f) != size)) {
        snprintf (err, errlen, "journal: cannot read %s: %s", path,
                  errno ? strerror (errno) : "short read");
        if (f)
            fclose (f);
        free (data);
        return -1;
    }
    fclose (f);
    st->segments++;
    size_t off = 0, good_end = 0;
    int rc = 0;
    bool header_ok
        = size >= S_HEADER && memcmp (data, S_MAGIC, 4) == 0 && s_get32 (data + 4) == S_VERSION;
    if (header_ok) {
        off = good_end = S_HEADER;
        while (off < size) {
            if (s_good_at (data, size, off)) {
                uint32_t len = s_get32 (data + off);
                const uint8_t *rec = data + off + S_RECHDR;
                st->records++;
                off += S_RECHDR + len;
                good_end = off;
                if ((rc = fn (arg, rec[0], rec + 1, len - 1, seg->id)) != 0)
                    break;
                continue;
            }
            /* a garbled record whose length still leads to a good one */
            uint32_t len = size - off >= S_RECHDR ? s_get32 (data + off) : 0;
            if (len > 0 && len <= JOURNAL_RECORD_MAX && len <= size - off - S_RECHDR
                && off + S_RECHDR + len < size && s_good_at (data, size, off + S_RECHDR + len)) {
                st->skipped++;
                mdf_warn ("journal record skipped (bad checksum)", "file=%s offset=%zu bytes=%u",
                          path, off, len + S_RECHDR);
                off += S_RECHDR + len;
                continue;
            }
            break;
        }
    }
    if (rc == 0 && good_end < size) { /* a torn or corrupt tail: cut it */
        st->cut++;
        st->cut_bytes += size - good_end;
        mdf_warn ("journal tail cut at the last good record",
                  "file=%s offset=%zu bytes_cut=%zu header_ok=%s", path, good_end, size - good_end,
                  header_ok ? "true" : "false");
        if (truncate (path, (off_t)good_end) == 0) {
            self->total -= seg->bytes - (int64_t)good_end;
            seg->bytes = (int64_t)good_end;
        }
    }
    free (data);
    return rc;
}

int
journal_scan (journal_t *self, journal_record_fn *fn, void *arg, journal_replay_stats_t *st,
              char *err, size_t errlen)
{
    journal_replay_stats_t local;
    if (!st)
        st = &local;
    memset (st, 0, sizeof *st);
    for (size_t i = 0; i < self->nsegs; i++) {
        int rc = s_replay_seg (self, &self->segs[i], fn, arg, st, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
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
    uint32_t crc = s_crc (p + S_RECHDR, rlen);
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

int
journal_each (const uint8_t *p, size_t len, journal_record_fn *fn, void *arg, uint64_t segment)
{
    for (size_t off = 0; off + S_RECHDR < len;) {
        uint32_t rlen = s_get32 (p + off);
        const uint8_t *rec = p + off + S_RECHDR;
        off += S_RECHDR + rlen;
        int rc = fn (arg, rec[0], rec + 1, rlen - 1, segment);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_open_newest (journal_t *self)
{
    s_seg_t *seg = &self->segs[self->nsegs - 1];
    char path[4200];
    s_path (self, seg->id, path, sizeof path);
    self->fd = open (path, O_WRONLY | O_CLOEXEC);
    if (self->fd < 0)
        return s_fail (self, "open", seg->id);
    self->pos = seg->bytes;
    return 0;
}

uint64_t
journal_roll (journal_t *self)
{
    uint64_t id = self->nsegs ? self->segs[self->nsegs - 1].id + 1 : 1;
    if (self->fd >= 0) {
        if (self->dirty && fdatasync (self->fd) < 0) {
            s_fail (self, "sync", id - 1);
            return 0;
        }
        self->dirty = false;
        close (self->fd);
        self->fd = -1;
    }
    char path[4200];
    s_path (self, id, path, sizeof path);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        s_fail (self, "create", id);
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
        s_fail (self, "write", id);
        close (fd);
        unlink (path);
        return 0;
    }
    if (s_push_seg (self, id, S_HEADER) < 0) {
        close (fd);
        unlink (path);
        errno = ENOMEM;
        s_fail (self, "create", id);
        return 0;
    }
    s_fsync_dir (self);
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
            return s_fail (self, "write", seg->id);
        }
        done += (size_t)n;
    }
    if (self->fsync_ns == 0 && fdatasync (self->fd) < 0) {
        int e = errno;
        (void)ftruncate (self->fd, (off_t)self->pos);
        errno = e;
        return s_fail (self, "sync", seg->id);
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
            return s_fail (self, "sync", id);
        }
    }
    if (!self->dirty || self->fd < 0)
        return 0;
    if (!force && now_ns - self->synced_ns < self->fsync_ns)
        return 0;
    uint64_t id = self->segs[self->nsegs - 1].id;
    if (force || self->fsync_ns == 0) {
        if (fdatasync (self->fd) < 0)
            return s_fail (self, "sync", id);
    } else {
        if (!self->syncer_on) {
            if (pthread_create (&self->syncer, NULL, s_syncer, self) != 0)
                return fdatasync (self->fd) < 0 ? s_fail (self, "sync", id) : 0;
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
            return s_fail (self, "sync", id);
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
        s_path (self, self->segs[n].id, path, sizeof path);
        if (unlink (path) < 0 && errno != ENOENT) {
            s_fail (self, "remove", self->segs[n].id);
            break;
        }
        s_snap_path (self, self->segs[n].id, path, sizeof path, false);
        (void)unlink (path);
        self->total -= self->segs[n].bytes;
        n++;
    }
    if (n > 0) {
        memmove (self->segs, self->segs + n, (self->nsegs - n) * sizeof *self->segs);
        self->nsegs -= n;
        s_fsync_dir (self);
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

/* ---- the reader ---- */

static s_seg_t *
s_seg_of (journal_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->nsegs; i++)
        if (self->segs[i].id == id)
            return &self->segs[i];
    return NULL;
}

/* The segment after id (the first one for id 0), or NULL. */
static s_seg_t *
s_seg_after (journal_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->nsegs; i++)
        if (self->segs[i].id > id)
            return &self->segs[i];
    return NULL;
}

static void
s_reader_to (journal_t *self, uint64_t id)
{
    if (self->rfd >= 0)
        close (self->rfd);
    self->rfd = -1;
    self->rid = id;
    self->roff = S_HEADER;
    self->rlen = 0;
    self->rbase = S_HEADER;
}

void
journal_reader_reset (journal_t *self)
{
    if (self->nsegs == 0) {
        s_reader_to (self, 0);
        return;
    }
    s_reader_to (self, self->segs[0].id);
}

bool
journal_reader_at_end (const journal_t *self)
{
    if (self->nsegs == 0)
        return self->rid == 0;
    const s_seg_t *last = &self->segs[self->nsegs - 1];
    return self->rid == last->id && self->roff >= last->bytes;
}

void
journal_reader_to_end (journal_t *self)
{
    if (self->nsegs == 0)
        return;
    const s_seg_t *last = &self->segs[self->nsegs - 1];
    if (self->rid != last->id)
        s_reader_to (self, last->id);
    self->roff = last->bytes;
}

uint64_t
journal_reader_segment (const journal_t *self)
{
    return self->rid;
}

/* Bytes [roff, roff + need) of the reader's segment into rbuf: a pointer to
 * them, or NULL (-1 in *rc on a read error). */
static const uint8_t *
s_reader_bytes (journal_t *self, int64_t limit, size_t need, int *rc)
{
    if (self->roff >= self->rbase
        && self->roff + (int64_t)need <= self->rbase + (int64_t)self->rlen)
        return self->rbuf + (self->roff - self->rbase);
    size_t want = need > 262144 ? need : 262144;
    if ((int64_t)want > limit - self->roff)
        want = (size_t)(limit - self->roff);
    if (want < need)
        return NULL;
    if (want > self->rcap) {
        uint8_t *b = realloc (self->rbuf, want);
        if (!b) {
            *rc = -1;
            return NULL;
        }
        self->rbuf = b;
        self->rcap = want;
    }
    if (self->rfd < 0) {
        char path[4200];
        s_path (self, self->rid, path, sizeof path);
        self->rfd = open (path, O_RDONLY | O_CLOEXEC);
        if (self->rfd < 0) {
            s_fail (self, "open", self->rid);
            *rc = -1;
            return NULL;
        }
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n
            = pread (self->rfd, self->rbuf + got, want - got, (off_t)(self->roff + (int64_t)got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            s_fail (self, "read", self->rid);
            *rc = -1;
            return NULL;
        }
        got += (size_t)n;
    }
    self->rbase = self->roff;
    self->rlen = got;
    return self->rbuf;
}

int
journal_read (journal_t *self, journal_record_fn *fn, journal_enter_fn *enter, void *arg,
              size_t max, char *err, size_t errlen)
{
    size_t done = 0;
    for (;;) {
        s_seg_t *seg = self->rid ? s_seg_of (self, self->rid) : NULL;
        if (!seg || self->roff >= seg->bytes) {
            /* the end of this segment: on to the next one, if the writer started it */
            s_seg_t *next = s_seg_after (self, self->rid);
            if (!next || (seg && seg->id == self->segs[self->nsegs - 1].id))
                return 1;
            s_reader_to (self, next->id);
            if (enter)
                enter (arg, next->id);
            continue;
        }
        if (done >= max)
            return 0;
        int rc = 0;
        const uint8_t *h = s_reader_bytes (self, seg->bytes, S_RECHDR, &rc);
        uint32_t len = h ? s_get32 (h) : 0;
        if (!h || len == 0 || len > JOURNAL_RECORD_MAX
            || (int64_t)len > seg->bytes - self->roff - S_RECHDR) {
            if (rc < 0) {
                snprintf (err, errlen, "journal: %s", self->error);
                return -1;
            }
            self->roff = seg->bytes; /* nothing readable is left in it */
            continue;
        }
        uint32_t crc = s_get32 (h + 4);
        const uint8_t *rec = s_reader_bytes (self, seg->bytes, S_RECHDR + len, &rc);
        if (!rec) {
            if (rc < 0) {
                snprintf (err, errlen, "journal: %s", self->error);
                return -1;
            }
            self->roff = seg->bytes;
            continue;
        }
        self->roff += S_RECHDR + len;
        rec += S_RECHDR;
        if (s_crc (rec, len) != crc)
            continue; /* garbled: the scan counted it */
        done++;
        if (fn (arg, rec[0], rec + 1, len - 1, seg->id) != 0)
            return 0;
    }
}

/* ---- snapshots ---- */

int
journal_snapshot_write (journal_t *self, uint64_t id, const void *blob, size_t len)
{
    char tmp[4200], path[4200];
    s_snap_path (self, id, tmp, sizeof tmp, true);
    s_snap_path (self, id, path, sizeof path, false);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return s_fail (self, "create snapshot", id);
    uint8_t hdr[24];
    uint32_t ver = S_VERSION, crc = s_crc (blob, len);
    uint32_t n32 = (uint32_t)len;
    memcpy (hdr, "MDS1", 4);
    memcpy (hdr + 4, &ver, 4);
    memcpy (hdr + 8, &id, 8);
    memcpy (hdr + 16, &n32, 4);
    memcpy (hdr + 20, &crc, 4);
    bool ok = len <= UINT32_MAX && pwrite (fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr;
    size_t done = 0;
    while (ok && done < len) {
        ssize_t n
            = pwrite (fd, (const uint8_t *)blob + done, len - done, (off_t)(sizeof hdr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            ok = false;
            break;
        }
        done += (size_t)n;
    }
    if (ok && fdatasync (fd) < 0)
        ok = false;
    int e = errno;
    close (fd);
    if (!ok || rename (tmp, path) < 0) {
        if (ok)
            e = errno;
        unlink (tmp);
        errno = e;
        return s_fail (self, "write snapshot", id);
    }
    s_fsync_dir (self);
    return 0;
}

int
journal_snapshot_read (journal_t *self, uint64_t id, uint8_t **blob, size_t *len)
{
    char path[4200];
    s_snap_path (self, id, path, sizeof path, false);
    FILE *f = fopen (path, "rb");
    if (!f)
        return -1;
    uint8_t hdr[24];
    uint32_t n32 = 0, crc = 0, ver = 0;
    uint64_t sid = 0;
    uint8_t *data = NULL;
    bool ok = fread (hdr, 1, sizeof hdr, f) == sizeof hdr && memcmp (hdr, "MDS1", 4) == 0;
    if (ok) {
        memcpy (&ver, hdr + 4, 4);
        memcpy (&sid, hdr + 8, 8);
        memcpy (&n32, hdr + 16, 4);
        memcpy (&crc, hdr + 20, 4);
        ok = ver == S_VERSION && sid == id && (data = malloc (n32 ? n32 : 1))
             && fread (data, 1, n32, f) == n32 && s_crc (data, n32) == crc;
    }
    fclose (f);
    if (!ok) {
        free (data);
        errno = EBADMSG;
        return -1;
    }
    *blob = data;
    *len = n32;
    return 0;
}
