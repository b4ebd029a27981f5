/*
 * journal: segments of checksummed records, read back after torn writes,
 * garbled bytes, a full disk and a read-only file system.
 *
 * The disk tests mount a small tmpfs in a private mount namespace of the
 * test's own (forked) process: they need root (CI runs as root) and are
 * skipped, with a message, without it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/journal.h"
#include "tests/integration/harness.h"

typedef struct {
    uint8_t type[4096];
    char text[4096][64];
    size_t n;
} seen_t;

static int
s_collect (void *arg, uint8_t type, const uint8_t *p, size_t len, uint64_t seg)
{
    (void)seg;
    seen_t *s = arg;
    ck_assert_uint_lt (s->n, 4096);
    ck_assert_uint_lt (len, 64);
    s->type[s->n] = type;
    memcpy (s->text[s->n], p, len);
    s->text[s->n][len] = '\0';
    s->n++;
    return 0;
}

static char *
s_tmpdir (void)
{
    char tmpl[] = "/tmp/mdf-journal-XXXXXX";
    char *d = mkdtemp (tmpl);
    ck_assert_ptr_nonnull (d);
    return strdup (d);
}

static void
s_rmrf (const char *dir)
{
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq (system (cmd), 0);
}

static journal_t *
s_open (const char *dir, int64_t max, int64_t seg)
{
    journal_config_t c = { dir, max, seg, 100 };
    char err[512];
    journal_t *j = journal_open (&c, err, sizeof err);
    ck_assert_msg (j != NULL, "%s", err);
    return j;
}

/* n records "rec-K" (K from first), written in groups of 10. */
static void
s_append (journal_t *j, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char t[32];
        int len = snprintf (t, sizeof t, "rec-%d", i);
        ck_assert_int_eq (journal_add (j, (uint8_t)(1 + i % 3), t, (size_t)len), 0);
        if ((i - first) % 10 == 9)
            ck_assert_int_eq (journal_write (j), 0);
    }
    ck_assert_int_eq (journal_write (j), 0);
}

static void
s_expect_seq (const seen_t *s, int first, int n)
{
    ck_assert_uint_eq (s->n, (size_t)n);
    for (int i = 0; i < n; i++) {
        char t[32];
        snprintf (t, sizeof t, "rec-%d", first + i);
        ck_assert_str_eq (s->text[i], t);
        ck_assert_int_eq (s->type[i], 1 + (first + i) % 3);
    }
}

static char *
s_newest_path (const char *dir, journal_t *j)
{
    char *p = NULL;
    ck_assert_int_ge (asprintf (&p, "%s/%020llu.mdj", dir, (unsigned long long)journal_newest (j)),
                      0);
    return p;
}

static off_t
s_size (const char *path)
{
    struct stat st;
    ck_assert_int_eq (stat (path, &st), 0);
    return st.st_size;
}

/* Reopen dir and scan it into a fresh *s (st may be NULL). */
static journal_t *
s_rescan (const char *dir, int64_t max, int64_t seg, seen_t *s, journal_replay_stats_t *st)
{
    journal_t *j = s_open (dir, max, seg);
    memset (s, 0, sizeof *s);
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, st, err, sizeof err), 0);
    return j;
}

START_TEST (records_come_back_in_order_across_segments)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 4096);
    ck_assert_uint_eq (journal_segments (j), 0);
    for (int k = 0; k < 5; k++) {
        ck_assert_uint_ne (journal_roll (j), 0);
        s_append (j, k * 100, 100);
    }
    ck_assert_uint_eq (journal_segments (j), 5);
    int64_t bytes = journal_bytes (j);
    journal_close (&j);

    j = s_open (dir, 1 << 20, 4096);
    ck_assert_uint_eq (journal_segments (j), 5);
    ck_assert_int_eq (journal_bytes (j), bytes);
    seen_t *s = calloc (1, sizeof *s);
    journal_replay_stats_t st;
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, &st, err, sizeof err), 0);
    s_expect_seq (s, 0, 500);
    ck_assert_uint_eq (st.records, 500);
    ck_assert_uint_eq (st.segments, 5);
    ck_assert_uint_eq (st.cut + st.skipped, 0);
    /* appending goes on in the newest segment */
    s_append (j, 500, 10);
    journal_close (&j);
    j = s_rescan (dir, 1 << 20, 4096, s, NULL);
    s_expect_seq (s, 0, 510);
    journal_close (&j);
    free (s);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (a_torn_tail_is_cut_at_the_last_good_record)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 0);
    ck_assert_uint_ne (journal_roll (j), 0);
    s_append (j, 0, 50);
    char *path = s_newest_path (dir, j);
    off_t full = s_size (path);
    journal_close (&j);
    /* a crash in the middle of the last record's write */
    ck_assert_int_eq (truncate (path, full - 3), 0);

    j = s_open (dir, 1 << 20, 0);
    seen_t *s = calloc (1, sizeof *s);
    journal_replay_stats_t st;
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, &st, err, sizeof err), 0);
    s_expect_seq (s, 0, 49); /* only the torn record is lost */
    ck_assert_uint_eq (st.cut, 1);
    ck_assert_uint_eq (st.skipped, 0);
    ck_assert_int_eq (s_size (path), full - 3 - (off_t)st.cut_bytes); /* truncated */
    /* what is appended next follows the good data */
    s_append (j, 49, 5);
    journal_close (&j);
    j = s_rescan (dir, 1 << 20, 0, s, &st);
    s_expect_seq (s, 0, 54);
    ck_assert_uint_eq (st.cut, 0);
    journal_close (&j);
    free (s);
    free (path);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (a_garbled_record_is_skipped_and_the_rest_read)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 0);
    ck_assert_uint_ne (journal_roll (j), 0);
    s_append (j, 0, 20);
    char *path = s_newest_path (dir, j);
    journal_close (&j);
    /* flip a byte inside record 7's payload: 16-byte header, then records of
     * 8 + 1 + strlen("rec-K") bytes */
    off_t off = 16;
    for (int i = 0; i < 7; i++)
        off += 8 + 1 + (i < 10 ? 5 : 6);
    off += 8 + 2;
    int fd = open (path, O_RDWR);
    ck_assert_int_ge (fd, 0);
    char c;
    ck_assert_int_eq (pread (fd, &c, 1, off), 1);
    c ^= 0x55;
    ck_assert_int_eq (pwrite (fd, &c, 1, off), 1);
    close (fd);

    j = s_open (dir, 1 << 20, 0);
    seen_t *s = calloc (1, sizeof *s);
    journal_replay_stats_t st;
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, &st, err, sizeof err), 0);
    ck_assert_uint_eq (st.skipped, 1);
    ck_assert_uint_eq (st.cut, 0);
    ck_assert_uint_eq (s->n, 19);
    ck_assert_str_eq (s->text[6], "rec-6");
    ck_assert_str_eq (s->text[7], "rec-8"); /* rec-7 is the one lost */
    ck_assert_str_eq (s->text[18], "rec-19");
    journal_close (&j);
    free (s);
    free (path);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (trim_removes_older_segments_never_the_newest)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 0);
    uint64_t ids[4];
    for (int k = 0; k < 4; k++) {
        ids[k] = journal_roll (j);
        s_append (j, k * 10, 10);
    }
    ck_assert_uint_eq (journal_trim (j, ids[2]), 0); /* the reader has not read them */
    seen_t *r = calloc (1, sizeof *r);
    char rerr[256];
    ck_assert_int_eq (journal_read (j, s_collect, NULL, r, SIZE_MAX, rerr, sizeof rerr), 1);
    free (r);
    ck_assert_uint_eq (journal_trim (j, ids[2]), 2);
    ck_assert_uint_eq (journal_segments (j), 2);
    ck_assert_uint_eq (journal_trim (j, ids[3] + 100), 1); /* the newest stays */
    ck_assert_uint_eq (journal_segments (j), 1);
    ck_assert_uint_eq (journal_newest (j), ids[3]);
    journal_close (&j);
    j = s_open (dir, 1 << 20, 0);
    seen_t *s = calloc (1, sizeof *s);
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, NULL, err, sizeof err), 0);
    s_expect_seq (s, 30, 10);
    journal_close (&j);
    free (s);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (full_at_max_bytes_and_a_roll_is_due_past_segment_bytes)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 65536, 4096);
    ck_assert (journal_roll_due (j)); /* no segment yet */
    ck_assert_uint_ne (journal_roll (j), 0);
    ck_assert (!journal_roll_due (j));
    ck_assert (!journal_full (j));
    int i = 0;
    while (!journal_full (j)) {
        s_append (j, i, 10);
        i += 10;
        if (journal_roll_due (j))
            ck_assert_uint_ne (journal_roll (j), 0);
    }
    ck_assert_int_ge (journal_bytes (j), 65536);
    ck_assert_int_lt (journal_bytes (j), 65536 + 4096);
    ck_assert_uint_ge (journal_segments (j), 16);
    journal_close (&j);
    s_rmrf (dir);
    free (dir);
}
END_TEST

typedef struct {
    seen_t seen;
    uint64_t entered[16];
    size_t nentered;
    size_t stop_every; /* stop after every this many records (0: never) */
} follow_t;

static int
s_follow (void *arg, uint8_t type, const uint8_t *p, size_t len, uint64_t seg)
{
    follow_t *f = arg;
    s_collect (&f->seen, type, p, len, seg);
    return f->stop_every && f->seen.n % f->stop_every == 0;
}

static void
s_enter (void *arg, uint64_t seg)
{
    follow_t *f = arg;
    ck_assert_uint_lt (f->nentered, 16);
    f->entered[f->nentered++] = seg;
}

START_TEST (the_reader_follows_the_writer_across_segments_and_stops_where_asked)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 0);
    follow_t *f = calloc (1, sizeof *f);
    char err[256];
    journal_reader_reset (j);
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, SIZE_MAX, err, sizeof err), 1);
    ck_assert_uint_eq (f->seen.n, 0);
    uint64_t a = journal_roll (j);
    s_append (j, 0, 30);
    f->stop_every = 7;
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, SIZE_MAX, err, sizeof err), 0);
    ck_assert_uint_eq (f->seen.n, 7); /* stopped after the 7th */
    ck_assert_uint_eq (f->nentered, 1);
    ck_assert_uint_eq (f->entered[0], a);
    f->stop_every = 0;
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, 5, err, sizeof err), 0);
    ck_assert_uint_eq (f->seen.n, 12); /* max */
    uint64_t b = journal_roll (j);
    s_append (j, 30, 20);
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, SIZE_MAX, err, sizeof err), 1);
    s_expect_seq (&f->seen, 0, 50);
    ck_assert_uint_eq (f->nentered, 2);
    ck_assert_uint_eq (f->entered[1], b);
    ck_assert_uint_eq (journal_reader_segment (j), b);
    /* an empty new segment is entered too (its snapshot marks the end) */
    uint64_t c = journal_roll (j);
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, SIZE_MAX, err, sizeof err), 1);
    ck_assert_uint_eq (f->nentered, 3);
    ck_assert_uint_eq (f->entered[2], c);
    /* a reopened journal reads from the oldest segment's first record */
    journal_close (&j);
    j = s_open (dir, 1 << 20, 0);
    seen_t *sc = calloc (1, sizeof *sc);
    ck_assert_int_eq (journal_scan (j, s_collect, sc, NULL, err, sizeof err), 0);
    free (sc);
    journal_reader_reset (j);
    memset (f, 0, sizeof *f);
    ck_assert_int_eq (journal_read (j, s_follow, s_enter, f, SIZE_MAX, err, sizeof err), 1);
    s_expect_seq (&f->seen, 0, 50);
    ck_assert_uint_eq (f->nentered, 2); /* b and c; a was where it started */
    journal_close (&j);
    free (f);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (snapshots_are_all_or_nothing_and_checked)
{
    char *dir = s_tmpdir ();
    journal_t *j = s_open (dir, 1 << 20, 0);
    uint64_t a = journal_roll (j);
    static const char blob[] = "state of the operator";
    ck_assert_int_eq (journal_snapshot_write (j, a, blob, sizeof blob), 0);
    uint8_t *got = NULL;
    size_t n = 0;
    ck_assert_int_eq (journal_snapshot_read (j, a, &got, &n), 0);
    ck_assert_uint_eq (n, sizeof blob);
    ck_assert_mem_eq (got, blob, n);
    free (got);
    ck_assert_int_eq (journal_snapshot_read (j, a + 1, &got, &n), -1);
    ck_assert_int_eq (errno, ENOENT);
    /* a flipped byte is refused */
    char path[600];
    snprintf (path, sizeof path, "%s/%020llu.snap", dir, (unsigned long long)a);
    int fd = open (path, O_RDWR);
    char c = 'X';
    ck_assert_int_eq (pwrite (fd, &c, 1, 30), 1);
    close (fd);
    ck_assert_int_eq (journal_snapshot_read (j, a, &got, &n), -1);
    ck_assert_int_eq (errno, EBADMSG);
    /* trimmed with its segment */
    ck_assert_int_eq (journal_snapshot_write (j, a, blob, sizeof blob), 0);
    uint64_t b = journal_roll (j);
    char err[256];
    seen_t *r = calloc (1, sizeof *r);
    journal_reader_reset (j);
    ck_assert_int_eq (journal_read (j, s_collect, NULL, r, SIZE_MAX, err, sizeof err), 1);
    free (r);
    ck_assert_uint_eq (journal_trim (j, b), 1);
    ck_assert_int_eq (access (path, F_OK), -1);
    journal_close (&j);
    s_rmrf (dir);
    free (dir);
}
END_TEST

/* A tmpfs of `kib` KiB on dir, in this process's own mount namespace; false
 * when that is not allowed (not root). */
static bool
s_private_tmpfs (const char *dir, int kib, bool ro)
{
    if (unshare (CLONE_NEWNS) < 0)
        return false;
    if (mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) /* names: valgrind */
        return false;
    char opts[64];
    snprintf (opts, sizeof opts, "size=%dk", kib);
    if (mount ("tmpfs", dir, "tmpfs", ro ? MS_RDONLY : 0, opts) < 0)
        return false;
    return true;
}

START_TEST (disk_full_fails_the_write_keeps_the_buffer_and_recovers)
{
    char *dir = s_tmpdir ();
    if (!s_private_tmpfs (dir, 256, false)) {
        fprintf (stderr, "skipped: needs root to mount a tmpfs (%s)\n", strerror (errno));
        s_rmrf (dir);
        free (dir);
        return;
    }
    /* a filler that leaves a few KiB */
    char filler[600];
    snprintf (filler, sizeof filler, "%s/filler", dir);
    FILE *f = fopen (filler, "w");
    ck_assert_ptr_nonnull (f);
    static char block[4096];
    while (fwrite (block, 1, sizeof block, f) == sizeof block && fflush (f) == 0)
        ;
    fclose (f);
    ck_assert_int_eq (truncate (filler, s_size (filler) - 8192), 0);

    journal_t *j = s_open (dir, 1 << 20, 0);
    ck_assert_uint_ne (journal_roll (j), 0);
    int i = 0, rc = 0;
    for (; i < 100000 && rc == 0; i += 10) {
        for (int k = i; k < i + 10; k++) {
            char t[32];
            int len = snprintf (t, sizeof t, "rec-%d", k);
            ck_assert_int_eq (journal_add (j, (uint8_t)(1 + k % 3), t, (size_t)len), 0);
        }
        rc = journal_write (j);
    }
    ck_assert_int_eq (rc, -1);
    ck_assert_int_eq (errno, ENOSPC);
    ck_assert_msg (strstr (journal_error (j), "No space left on device"), "%s", journal_error (j));
    ck_assert_uint_gt (journal_buffered (j), 0); /* kept for the next attempt */
    ck_assert_int_eq (journal_write (j), -1);    /* still full */
    ck_assert_int_eq (unlink (filler), 0);
    ck_assert_int_eq (journal_write (j), 0); /* room again: nothing was lost */
    ck_assert_uint_eq (journal_buffered (j), 0);
    journal_close (&j);

    j = s_open (dir, 1 << 20, 0);
    seen_t *s = calloc (1, sizeof *s);
    journal_replay_stats_t st;
    char err[256];
    ck_assert_int_eq (journal_scan (j, s_collect, s, &st, err, sizeof err), 0);
    s_expect_seq (s, 0, i); /* every record, once, none half-written */
    ck_assert_uint_eq (st.cut + st.skipped, 0);
    journal_close (&j);
    free (s);
    umount (dir);
    s_rmrf (dir);
    free (dir);
}
END_TEST

START_TEST (a_read_only_directory_is_a_clear_error)
{
    char *dir = s_tmpdir ();
    if (!s_private_tmpfs (dir, 64, true)) {
        fprintf (stderr, "skipped: needs root to mount a tmpfs (%s)\n", strerror (errno));
        s_rmrf (dir);
        free (dir);
        return;
    }
    journal_t *j = s_open (dir, 1 << 20, 0); /* the directory exists and reads */
    ck_assert_uint_eq (journal_roll (j), 0);
    ck_assert_int_eq (errno, EROFS);
    ck_assert_msg (strstr (journal_error (j), "Read-only file system"), "%s", journal_error (j));
    ck_assert_int_eq (journal_add (j, 1, "x", 1), 0);
    ck_assert_int_eq (journal_write (j), -1);
    journal_close (&j);
    /* a directory that cannot be created */
    char sub[600];
    snprintf (sub, sizeof sub, "%s/a/b", dir);
    journal_config_t c = { sub, 1 << 20, 0, 100 };
    char err[512];
    ck_assert_ptr_null (journal_open (&c, err, sizeof err));
    ck_assert_msg (strstr (err, "cannot create") && strstr (err, "Read-only"), "%s", err);
    umount (dir);
    s_rmrf (dir);
    free (dir);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("journal");
    TCase *tc = tcase_create ("journal");
    tcase_add_test (tc, records_come_back_in_order_across_segments);
    tcase_add_test (tc, a_torn_tail_is_cut_at_the_last_good_record);
    tcase_add_test (tc, a_garbled_record_is_skipped_and_the_rest_read);
    tcase_add_test (tc, trim_removes_older_segments_never_the_newest);
    tcase_add_test (tc, the_reader_follows_the_writer_across_segments_and_stops_where_asked);
    tcase_add_test (tc, snapshots_are_all_or_nothing_and_checked);
    tcase_add_test (tc, full_at_max_bytes_and_a_roll_is_due_past_segment_bytes);
    tcase_add_test (tc, disk_full_fails_the_write_keeps_the_buffer_and_recovers);
    tcase_add_test (tc, a_read_only_directory_is_a_clear_error);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
