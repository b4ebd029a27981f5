/*
 * journal_read: reading a journal back (see journal.h): the check at start
 * (journal_scan: torn tails cut, garbled records skipped), the reader that
 * follows the writer, records in a buffer, and the snapshots.
 */
#include "pipeline/journal.h"
#include "pipeline/journal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* ---- replay ---- */

/* Is there a good record at off (or the end)? */
static bool
s_good_at (const uint8_t *data, size_t size, size_t off)
{
    if (off == size)
        return true;
    if (size - off < S_RECHDR)
        return false;
    uint32_t len = journal_get32 (data + off);
    if (len == 0 || len > JOURNAL_RECORD_MAX || len > size - off - S_RECHDR)
        return false;
    return journal_crc (data + off + S_RECHDR, len) == journal_get32 (data + off + 4);
}

static int
s_replay_seg (journal_t *self, s_seg_t *seg, journal_record_fn *fn, void *arg,
              journal_replay_stats_t *st, char *err, size_t errlen)
{
    char path[4200];
    journal_path_of (self, seg->id, path, sizeof path);
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
    bool header_ok = size >= S_HEADER && memcmp (data, S_MAGIC, 4) == 0
                     && journal_get32 (data + 4) == S_VERSION;
    if (header_ok) {
        off = good_end = S_HEADER;
        while (off < size) {
            if (s_good_at (data, size, off)) {
                uint32_t len = journal_get32 (data + off);
                const uint8_t *rec = data + off + S_RECHDR;
                st->records++;
                off += S_RECHDR + len;
                good_end = off;
                if ((rc = fn (arg, rec[0], rec + 1, len - 1, seg->id)) != 0)
                    break;
                continue;
            }
            /* a garbled record whose length still leads to a good one */
            uint32_t len = size - off >= S_RECHDR ? journal_get32 (data + off) : 0;
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

int
journal_each (const uint8_t *p, size_t len, journal_record_fn *fn, void *arg, uint64_t segment)
{
    for (size_t off = 0; off + S_RECHDR < len;) {
        uint32_t rlen = journal_get32 (p + off);
        const uint8_t *rec = p + off + S_RECHDR;
        off += S_RECHDR + rlen;
        int rc = fn (arg, rec[0], rec + 1, rlen - 1, segment);
        if (rc)
            return rc;
    }
    return 0;
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
        journal_path_of (self, self->rid, path, sizeof path);
        self->rfd = open (path, O_RDONLY | O_CLOEXEC);
        if (self->rfd < 0) {
            journal_fail (self, "open", self->rid);
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
            journal_fail (self, "read", self->rid);
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
    s_seg_t *seg = NULL; /* the reader's, looked up once per segment (nothing rolls
                          * or trims while this runs, so segs[] stays put) */
    for (;;) {
        if (!seg || seg->id != self->rid)
            seg = self->rid ? s_seg_of (self, self->rid) : NULL;
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
        uint32_t len = h ? journal_get32 (h) : 0;
        if (!h || len == 0 || len > JOURNAL_RECORD_MAX
            || (int64_t)len > seg->bytes - self->roff - S_RECHDR) {
            if (rc < 0) {
                snprintf (err, errlen, "journal: %s", self->error);
                return -1;
            }
            self->roff = seg->bytes; /* nothing readable is left in it */
            continue;
        }
        uint32_t crc = journal_get32 (h + 4);
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
        if (journal_crc (rec, len) != crc)
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
    journal_snap_path_of (self, id, tmp, sizeof tmp, true);
    journal_snap_path_of (self, id, path, sizeof path, false);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return journal_fail (self, "create snapshot", id);
    uint8_t hdr[24];
    uint32_t ver = S_VERSION, crc = journal_crc (blob, len);
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
        return journal_fail (self, "write snapshot", id);
    }
    journal_fsync_dir (self);
    return 0;
}

int
journal_snapshot_read (journal_t *self, uint64_t id, uint8_t **blob, size_t *len)
{
    char path[4200];
    journal_snap_path_of (self, id, path, sizeof path, false);
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
             && fread (data, 1, n32, f) == n32 && journal_crc (data, n32) == crc;
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
