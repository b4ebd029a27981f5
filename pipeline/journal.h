/*
 * journal: an append-only log of records in segment files, with a checksum
 * per record; what md-pipeline's live providers write every tick to before
 * the operator sees it (pipeline/live_journal.c holds what the records mean).
 *
 * On disk, a directory of segments named by a 20-digit number, ascending:
 *
 *     00000000000000000001.mdj  00000000000000000002.mdj ...
 *
 * A segment is a 16-byte header ("MDJ1", u32 version 1, u64 its number) and
 * records, each
 *
 *     u32 length (of type + payload)   u32 CRC-32C of type + payload
 *     u8 type                          payload (length - 1 bytes)
 *
 * all little-endian.  Only the newest segment is appended to.
 *
 * Appending: journal_add encodes records into a buffer in memory; journal_write
 * writes the buffer to the segment with one pwrite at the end of the last
 * good record, so a failed or short write leaves nothing half-counted (the
 * next attempt writes over it).  Once journal_write returned 0 the records
 * are in the page cache: a kill -9 of the process loses none of them.
 * Durability against a power cut: journal_sync, from a timer, has
 * fdatasync run at most every fsync_ms, on a thread of its own (on a dup of
 * the segment's fd), so the writer never waits for the disk; its failure is
 * journal_sync's next -1.  With fsync_ms 0, journal_write syncs before it
 * returns.
 *
 * Bounds: journal_full is true once the segments hold max_bytes or more
 * (the write that crosses it is made, so it is exceeded by one write);
 * the writer then stops taking input (live_journal.c) until journal_trim
 * removes old segments.  A segment is rolled (journal_roll) by the writer,
 * who then writes what a reader of the new segment needs first (a
 * snapshot); journal_trim (before id) removes every older segment.
 *
 * Checking at start: journal_scan calls a function for every good record,
 * in order, from the oldest segment.  A record whose checksum or length is
 * wrong is where that segment's good data ends: when what follows it is a
 * good record (a garbled record of intact length) only that record is
 * skipped; otherwise the rest of the segment is cut (ftruncate: a torn
 * tail, as a crash during a write leaves).  Each is logged with the file and
 * offset and counted in journal_replay_stats_t; neither stops the scan.
 *
 * Reading as the writer goes: one reader (the aggregator) follows the
 * records, from the oldest segment's first (journal_reader_reset) to the
 * last one written, across segments; journal_read hands them over and may
 * stop anywhere (the reader stays there), so the aggregator can fall behind
 * the writer, as far as max_bytes, while the store does not take bars.
 *
 * Snapshots: journal_snapshot_write keeps a blob for segment id in
 * ID.snap (written to a temporary file, synced, renamed: all or nothing),
 * journal_snapshot_read gives it back after checking its checksum.  The
 * aggregator stores there its state as it enters a segment, so that a replay
 * can begin at that segment.  journal_trim removes a segment's snapshot
 * with it.
 *
 * Errors (ENOSPC, EIO, EROFS, a directory that cannot be created): the call
 * returns -1 with errno kept and journal_error says what failed; nothing is
 * lost from the buffer, and the next journal_write tries again.
 *
 * Not thread-safe: one thread (the provider's loop) owns a journal.
 */
#ifndef PIPELINE_JOURNAL_H
#define PIPELINE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_RECORD_MAX (1u << 20) /* a longer length field is corruption */

typedef struct {
    const char *dir;       /* created (with parents) if missing */
    int64_t max_bytes;     /* > 0 */
    int64_t segment_bytes; /* roll past this; 0: max_bytes / 8, in 64 KiB .. 64 MiB */
    int64_t fsync_ms;      /* 0: sync in every journal_write */
} journal_config_t;

typedef struct {
    uint64_t records; /* good records read */
    uint64_t skipped; /* garbled records skipped */
    uint64_t cut;     /* tails cut (segments truncated) */
    uint64_t cut_bytes;
    uint64_t segments; /* segments read */
} journal_replay_stats_t;

typedef struct _journal_t journal_t;

/* Open (create) the directory and list its segments; nothing is read yet.
 * NULL with err when the directory cannot be made or read. */
journal_t *journal_open (const journal_config_t *cfg, char *err, size_t errlen);
void journal_close (journal_t **self_p);

/* Called for each good record: 0 to go on, non-zero to stop (returned). */
typedef int (journal_record_fn) (void *arg, uint8_t type, const uint8_t *payload, size_t len,
                                 uint64_t segment);

/* Check every segment, oldest first (see above); call before appending and
 * before reading.  0, fn's non-zero, or -1 when a segment cannot be read (err). */
int journal_scan (journal_t *self, journal_record_fn *fn, void *arg, journal_replay_stats_t *st,
                  char *err, size_t errlen);

/* The reader to the first record of the oldest segment (or, with none yet,
 * before the first segment the writer starts). */
void journal_reader_reset (journal_t *self);

/* Called when the reader enters segment `segment` (from an older one, or
 * from before the first), before any of its records. */
typedef void (journal_enter_fn) (void *arg, uint64_t segment);

/* Hand fn the records written since the reader's place, up to `max` of them.
 * fn returns 0 (go on) or non-zero (the record is taken; stop after it).
 * Returns 1 when the reader reached the end of what was written, 0 when it
 * stopped before (fn or max), -1 when a segment cannot be read (err). */
int journal_read (journal_t *self, journal_record_fn *fn, journal_enter_fn *enter, void *arg,
                  size_t max, char *err, size_t errlen);

/* The reader has handed over every record written (it is in the newest
 * segment, at its end). */
bool journal_reader_at_end (const journal_t *self);

/* After a write made while journal_reader_at_end: the writer's caller
 * handed those records over itself (the aggregator's fast path), so the
 * reader moves to the new end without reading them. */
void journal_reader_to_end (journal_t *self);

/* The segment the reader is in (0: before the first). */
uint64_t journal_reader_segment (const journal_t *self);

/* ID.snap, all or nothing: 0, or -1 (errno, journal_error). */
int journal_snapshot_write (journal_t *self, uint64_t id, const void *blob, size_t len);

/* ID.snap into *blob (malloc'd, *len bytes): 0; -1 when missing (errno
 * ENOENT) or unreadable or its checksum is wrong (errno EBADMSG). */
int journal_snapshot_read (journal_t *self, uint64_t id, uint8_t **blob, size_t *len);

/* A record into the buffer (len <= JOURNAL_RECORD_MAX - 1).  0, or -1 out of memory. */
int journal_add (journal_t *self, uint8_t type, const void *payload, size_t len);

/* The same in two steps, for a caller that encodes in place: room for a
 * payload of up to `max` bytes (where to write it, or NULL: too long or out
 * of memory), then the record of its first len bytes. */
uint8_t *journal_reserve (journal_t *self, size_t max);
void journal_commit_record (journal_t *self, uint8_t type, size_t len);

/* Bytes waiting in the buffer. */
size_t journal_buffered (const journal_t *self);

/* The records of the last journal_write that wrote something (framed as on
 * disk), until the next journal_add: for a caller that hands them over
 * itself (journal_reader_to_end). */
const uint8_t *journal_last_write (const journal_t *self, size_t *len);

/* The records in [p, p + len) as written by journal_write: fn for each (no
 * checksum check: they are the caller's own).  0, or fn's non-zero. */
int journal_each (const uint8_t *p, size_t len, journal_record_fn *fn, void *arg, uint64_t segment);

/* Write the buffer (opening the newest segment, or a first one, if needed).
 * 0 (the buffer is empty), or -1 (errno; the buffer is kept). */
int journal_write (journal_t *self);

/* Start segment newest + 1 (the buffer must be empty): its number, or 0 on
 * error (errno).  The old segment is synced first. */
uint64_t journal_roll (journal_t *self);

/* Have the newest segment synced when something was written since the last
 * sync and fsync_ms passed (monotonic now_ns), in the background; `force`:
 * now, waiting for it.  0, or -1 (errno) when this or the last background
 * sync failed. */
int journal_sync (journal_t *self, int64_t now_ns, bool force);

/* Remove every segment older than `id` (never the newest, nor the reader's),
 * with its snapshot.  Returns how many were removed. */
size_t journal_trim (journal_t *self, uint64_t id);

bool journal_full (const journal_t *self);
bool journal_roll_due (const journal_t *self); /* the newest segment is past segment_bytes */
int64_t journal_bytes (const journal_t *self); /* in the segments (written) */
size_t journal_segments (const journal_t *self);
uint64_t journal_newest (const journal_t *self); /* 0: none yet */
uint64_t journal_oldest (const journal_t *self); /* 0: none yet */

/* The last failure ("write 00000000000000000003.mdj: No space left on device"), "" none. */
const char *journal_error (const journal_t *self);

#endif
