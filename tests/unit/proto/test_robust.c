/*
 * Robustness: truncated input at every offset, trailing bytes, headers that
 * declare huge sizes, deep nesting, and a few thousand random and mutated
 * bodies (seeded, so a failure reproduces).  Under the sanitizer build these
 * prove "never a crash, never an out-of-bounds read".
 */
#include <stdlib.h>
#include <string.h>

#include "examples.h"
#include "roundtrip.h"
#include "suites.h"

typedef int (*decode_fn) (const void *data, size_t size, char *err, size_t errlen);

static int
s_feedback (const void *data, size_t size, char *err, size_t errlen)
{
    mdf_feedback_t ev;
    return mdf_feedback_decode (data, size, &ev, err, errlen);
}

static int
s_batch (const void *data, size_t size, char *err, size_t errlen)
{
    mdf_batch_t b = { 0 };
    mdf_decode_t rc = mdf_batch_decode (data, size, &b, 0, err, errlen);
    mdf_batch_clear (&b);
    return rc == MDF_DECODE_OK ? 0 : -1;
}

static int
s_ack (const void *data, size_t size, char *err, size_t errlen)
{
    mdf_ack_t ack;
    return mdf_ack_decode (data, size, &ack, err, errlen);
}

static const decode_fn s_decoders[] = { s_feedback, s_batch, s_ack };

/* The README examples, encoded: [0] feedback, [1] batch, [2] ack rejected. */
static void
s_examples (mdf_buf_t bufs[3])
{
    mdf_feedback_t ev;
    mdf_batch_t batch;
    mdf_ack_t ack;
    example_feedback (&ev);
    example_batch (&batch);
    example_ack_rejected (&ack);
    memset (bufs, 0, 3 * sizeof bufs[0]);
    ck_assert_int_eq (mdf_feedback_encode (&ev, &bufs[0]), 0);
    ck_assert_int_eq (mdf_batch_encode (&batch, &bufs[1]), 0);
    ck_assert_int_eq (mdf_ack_encode (&ack, &bufs[2]), 0);
}

START_TEST (truncated_bodies_fail_cleanly_at_every_offset)
{
    mdf_buf_t bufs[3];
    s_examples (bufs);
    for (int m = 0; m < 3; m++) {
        char err[256];
        ck_assert_int_eq (s_decoders[m](bufs[m].data, bufs[m].size, err, sizeof err), 0);
        for (size_t len = 0; len < bufs[m].size; len++) {
            /* a copy of exactly len bytes, so ASan sees any read past the end */
            char *copy = malloc (len ? len : 1);
            memcpy (copy, bufs[m].data, len);
            err[0] = '\0';
            ck_assert_int_eq (s_decoders[m](copy, len, err, sizeof err), -1);
            ck_assert_msg (err[0] != '\0', "no message at length %zu", len);
            free (copy);
        }
        mdf_buf_free (&bufs[m]);
    }
}
END_TEST

START_TEST (trailing_bytes_are_rejected)
{
    mdf_buf_t bufs[3];
    s_examples (bufs);
    for (int m = 0; m < 3; m++) {
        char *longer = malloc (bufs[m].size + 1);
        memcpy (longer, bufs[m].data, bufs[m].size);
        longer[bufs[m].size] = '\0';
        char err[256];
        ck_assert_int_eq (s_decoders[m](longer, bufs[m].size + 1, err, sizeof err), -1);
        ck_assert_str_eq (err, "1 trailing bytes after the body");
        free (longer);
        mdf_buf_free (&bufs[m]);
    }
}
END_TEST

START_TEST (huge_declared_sizes_fail_without_allocating)
{
    /* array32, map32, str32, bin32, ext32 claiming ~4 GiB; and the same inside
     * a map value.  msgpack-c alone would try to allocate ~100 GB for these. */
    const struct {
        const char *bytes;
        size_t n;
    } cases[] = {
        { "\xdd\xff\xff\xff\xff", 5 },
        { "\xdf\xff\xff\xff\xff", 5 },
        { "\xdb\xff\xff\xff\xff", 5 },
        { "\xc6\xff\xff\xff\xff", 5 },
        { "\xc9\xff\xff\xff\xff\x01", 6 },
        { "\x81\xa1v\xdd\x7f\xff\xff\xff\x01", 9 },
        { "\x81\xa4"
          "bars\xdc\xff\xff\x01\x02",
          10 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int m = 0; m < 3; m++) {
            char err[256] = "";
            ck_assert_int_eq (s_decoders[m](cases[i].bytes, cases[i].n, err, sizeof err), -1);
            ck_assert_msg (strncmp (err, "truncated body", 14) == 0, "case %zu: %s", i, err);
        }
    }
}
END_TEST

START_TEST (deep_nesting_fails_cleanly)
{
    size_t depth = 10000;
    char *deep = malloc (depth + 3);
    deep[0] = (char)0x81;
    deep[1] = (char)0xa1;
    deep[2] = 'x';
    memset (deep + 3, 0x91, depth - 1);
    deep[depth + 2] = (char)0xc0;
    for (int m = 0; m < 3; m++) {
        char err[256] = "";
        ck_assert_int_eq (s_decoders[m](deep, depth + 3, err, sizeof err), -1);
        ck_assert_msg (err[0] != '\0', "no message");
    }
    free (deep);
}
END_TEST

static uint64_t
s_next (uint64_t *state)
{
    /* xorshift64*: small, seeded, reproducible */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void
s_check_all (const uint8_t *data, size_t size, const char *what, int round)
{
    char why[256];
    ck_assert_msg (roundtrip_feedback (data, size, why, sizeof why) == 0, "%s %d: %s", what, round,
                   why);
    ck_assert_msg (roundtrip_batch (data, size, why, sizeof why) == 0, "%s %d: %s", what, round,
                   why);
    ck_assert_msg (roundtrip_ack (data, size, why, sizeof why) == 0, "%s %d: %s", what, round, why);
}

START_TEST (random_bodies_never_crash)
{
    uint64_t seed = 0x6d64666c6f77ULL; /* "mdflow" */
    uint8_t data[96];
    for (int round = 0; round < 3000; round++) {
        size_t size = s_next (&seed) % sizeof data;
        for (size_t i = 0; i < size; i++)
            data[i] = (uint8_t)s_next (&seed);
        if (size > 0 && round % 2)
            data[0] = (uint8_t)(0x80 | (s_next (&seed) & 0x0f)); /* start as a map */
        s_check_all (data, size, "random", round);
    }
}
END_TEST

START_TEST (mutated_messages_never_crash)
{
    mdf_buf_t bufs[3];
    s_examples (bufs);
    uint64_t seed = 42;
    int decoded = 0;
    for (int round = 0; round < 4000; round++) {
        const mdf_buf_t *src = &bufs[round % 3];
        uint8_t *data = malloc (src->size + 8);
        memcpy (data, src->data, src->size);
        size_t size = src->size;
        int edits = 1 + (int)(s_next (&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = s_next (&seed) % size;
            switch (s_next (&seed) % 4) {
            case 0:
                data[at] = (uint8_t)s_next (&seed);
                break; /* replace */
            case 1:
                data[at] ^= (uint8_t)(1u << (s_next (&seed) % 8));
                break; /* flip */
            case 2:
                if (size > 1) {
                    memmove (data + at, data + at + 1, size - at - 1);
                    size--;
                }
                break; /* delete */
            default:
                if (size < src->size + 8) { /* insert */
                    memmove (data + at + 1, data + at, size - at);
                    data[at] = (uint8_t)s_next (&seed);
                    size++;
                }
            }
        }
        char err[256];
        decoded += s_decoders[round % 3](data, size, err, sizeof err) == 0;
        s_check_all (data, size, "mutated", round);
        free (data);
    }
    /* some mutations (e.g. a changed digit in a string) still decode */
    ck_assert_int_gt (decoded, 0);
    for (int m = 0; m < 3; m++)
        mdf_buf_free (&bufs[m]);
}
END_TEST

TCase *
robust_tcase (void)
{
    TCase *tc = tcase_create ("robust");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, truncated_bodies_fail_cleanly_at_every_offset);
    tcase_add_test (tc, trailing_bytes_are_rejected);
    tcase_add_test (tc, huge_declared_sizes_fail_without_allocating);
    tcase_add_test (tc, deep_nesting_fails_cleanly);
    tcase_add_test (tc, random_bodies_never_crash);
    tcase_add_test (tc, mutated_messages_never_crash);
    return tc;
}
