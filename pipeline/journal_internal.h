/*
 * journal_internal: what journal.c (the files, appending, syncing,
 * trimming) and journal_read.c (checking, the reader, snapshots) share.  Not
 * an API: journal.h is.  Calls go journal_read.c -> journal.c.
 */
#ifndef PIPELINE_JOURNAL_INTERNAL_H
#define PIPELINE_JOURNAL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/journal.h"

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

/* DIR/ID.mdj, DIR/ID.snap (or .snap.tmp) into out. */
void journal_path_of (const journal_t *self, uint64_t id, char *out, size_t size);
void journal_snap_path_of (const journal_t *self, uint64_t id, char *out, size_t size, bool tmp);
/* errno's text as the journal's error ("WHAT ID.mdj: ..."); -1, errno kept. */
int journal_fail (journal_t *self, const char *what, uint64_t id);
void journal_fsync_dir (const journal_t *self);
uint32_t journal_get32 (const uint8_t *p);
uint32_t journal_crc (const uint8_t *p, size_t n);

#endif
