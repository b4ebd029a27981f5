/*
 * Feedback event: round trips, nil reason, and every rejection with its text.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "mp.h"
#include "proto/feedback.h"
#include "suites.h"

static int
s_decode (const mdf_buf_t *buf, mdf_feedback_t *ev, char *err, size_t errlen)
{
    err[0] = '\0';
    return mdf_feedback_decode (buf->data, buf->size, ev, err, errlen);
}

/* Decode the default body with one kv replaced; expect failure with `want`. */
static void
s_expect_reject (const mp_kv_t *change, const char *want)
{
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    for (size_t i = 0; i < n; i++)
        if (strcmp (kvs[i].key, change->key) == 0)
            kvs[i] = *change;
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, NULL, 0);
    mdf_feedback_t ev;
    char err[256];
    ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, want);
    mdf_buf_free (&buf);
}

static void
s_assert_same (const mdf_feedback_t *a, const mdf_feedback_t *b)
{
    ck_assert_int_eq (b->v, 1);
    ck_assert_str_eq (a->coordinator_id, b->coordinator_id);
    ck_assert_int_eq (a->epoch, b->epoch);
    ck_assert_uint_eq (a->seq, b->seq);
    ck_assert_int_eq (a->level, b->level);
    ck_assert_int_eq (a->queue_size, b->queue_size);
    ck_assert_int_eq (a->capacity, b->capacity);
    ck_assert_str_eq (a->reason, b->reason);
    ck_assert_str_eq (a->source, b->source);
    ck_assert (memcmp (&a->ts, &b->ts, sizeof a->ts) == 0);
}

/* Decode the default body with one more kv; expect failure with `want`. */
static void
s_expect_reject_extra (const mp_kv_t *extra, const char *want)
{
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, extra, 1);
    mdf_feedback_t ev;
    char err[256];
    ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, want);
    mdf_buf_free (&buf);
}

START_TEST (feedback_round_trip_keeps_every_field)
{
    mdf_feedback_t in = { .v = 1,
                          .epoch = 1700000000123,
                          .seq = 1,
                          .level = MDF_LEVEL_SOFT,
                          .queue_size = 6000,
                          .capacity = 10000,
                          .ts = 1700000000.5 };
    strcpy (in.coordinator_id, "bars-coordinator");
    strcpy (in.reason, "heartbeat");
    strcpy (in.source, "store");
    mdf_buf_t buf = { 0 };
    mdf_feedback_t out;
    char err[256];
    ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
    ck_assert_int_eq (s_decode (&buf, &out, err, sizeof err), 0);
    s_assert_same (&in, &out);

    /* extremes: longest strings, integer limits, every level */
    memset (in.coordinator_id, 'c', MDF_ID_MAX);
    in.coordinator_id[MDF_ID_MAX] = '\0';
    memset (in.reason, 'r', MDF_REASON_MAX);
    in.reason[MDF_REASON_MAX] = '\0';
    memset (in.source, 's', MDF_ID_MAX);
    in.source[MDF_ID_MAX] = '\0';
    in.epoch = INT64_MIN;
    in.seq = UINT64_MAX;
    in.queue_size = INT64_MAX;
    in.capacity = 0;
    in.ts = DBL_MAX;
    for (int level = MDF_LEVEL_OK; level <= MDF_LEVEL_HARD; level++) {
        in.level = (mdf_level_t)level;
        ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
        ck_assert_int_eq (s_decode (&buf, &out, err, sizeof err), 0);
        s_assert_same (&in, &out);
    }
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (feedback_empty_reason_travels_as_nil)
{
    mdf_feedback_t in = { .v = 1, .seq = 2, .ts = 1.0 };
    strcpy (in.coordinator_id, "c");
    strcpy (in.source, "store");
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
    /* "reason" (fixstr a6) followed by nil (c0) */
    ck_assert_ptr_nonnull (memmem (buf.data, buf.size, "\xa6reason\xc0", 8));
    mdf_feedback_t out;
    char err[256];
    strcpy (out.reason, "junk");
    ck_assert_int_eq (s_decode (&buf, &out, err, sizeof err), 0);
    ck_assert_str_eq (out.reason, "");
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (feedback_zero_v_encodes_as_version_1)
{
    mdf_feedback_t in = { .v = 0, .ts = 1.0 };
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
    ck_assert_ptr_nonnull (memmem (buf.data, buf.size, "\xa1v\x01", 3));
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (feedback_accepts_ints_for_ts_and_ignores_unknown_keys)
{
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    kvs[9] = (mp_kv_t){ .key = "ts", .kind = MP_INT, .i = 1700000000 };
    const mp_kv_t extra[] = {
        { .key = "flavour", .kind = MP_STR, .s = "vanilla" },
        { .key = "nested", .kind = MP_RAW, .s = "\x81\xa1x\x92\x01\xc0", .n = 6 },
        { .key = "", .kind = MP_NIL },
    };
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, extra, 3);
    mdf_feedback_t ev;
    char err[256];
    ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), 0);
    ck_assert (ev.ts == 1700000000.0);
    ck_assert_int_eq (ev.level, MDF_LEVEL_HARD);
    ck_assert_str_eq (ev.reason, "watermark");
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (feedback_accepts_nil_reason)
{
    s_expect_reject (&(mp_kv_t){ .key = "reason", .kind = MP_BOOL },
                     "key 'reason': expected string or nil, got boolean");
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    kvs[7].kind = MP_NIL;
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, NULL, 0);
    mdf_feedback_t ev;
    char err[256];
    ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), 0);
    ck_assert_str_eq (ev.reason, "");
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (feedback_names_each_missing_key)
{
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    for (size_t i = 0; i < n; i++) {
        mdf_buf_t buf = { 0 };
        mp_map (&buf, kvs, n, kvs[i].key, NULL, NULL, 0);
        mdf_feedback_t ev;
        char err[256], want[64];
        ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), -1);
        snprintf (want, sizeof want, "key '%s' missing", kvs[i].key);
        ck_assert_str_eq (err, want);
        mdf_buf_free (&buf);
    }
}
END_TEST

START_TEST (feedback_names_each_wrong_type)
{
    mp_kv_t kvs[16];
    size_t n = mp_feedback_kvs (kvs);
    for (size_t i = 0; i < n; i++) {
        mdf_buf_t buf = { 0 };
        mp_map (&buf, kvs, n, NULL, kvs[i].key, NULL, 0);
        mdf_feedback_t ev;
        char err[256], want[64];
        ck_assert_int_eq (s_decode (&buf, &ev, err, sizeof err), -1);
        snprintf (want, sizeof want, "key '%s': expected ", kvs[i].key);
        ck_assert_msg (strncmp (err, want, strlen (want)) == 0, "%s", err);
        ck_assert_msg (strstr (err, "got boolean"), "%s", err);
        mdf_buf_free (&buf);
    }
}
END_TEST

START_TEST (feedback_rejections_say_what_is_wrong)
{
    s_expect_reject (&(mp_kv_t){ .key = "v", .kind = MP_INT, .i = 2 },
                     "key 'v': unsupported version 2 (this decoder speaks 1)");
    s_expect_reject (&(mp_kv_t){ .key = "v", .kind = MP_DBL, .d = 1.0 },
                     "key 'v': expected integer, got float");
    s_expect_reject (&(mp_kv_t){ .key = "level", .kind = MP_STR, .s = "purple" },
                     "key 'level': unknown level 'purple' (ok, soft, hard)");
    s_expect_reject (&(mp_kv_t){ .key = "level", .kind = MP_STR, .s = "HARD" },
                     "key 'level': unknown level 'HARD' (ok, soft, hard)");
    s_expect_reject (&(mp_kv_t){ .key = "seq", .kind = MP_INT, .i = -1 },
                     "key 'seq': must not be negative (-1)");
    s_expect_reject (&(mp_kv_t){ .key = "seq", .kind = MP_DBL, .d = 1.5 },
                     "key 'seq': expected integer, got float");
    s_expect_reject (&(mp_kv_t){ .key = "epoch", .kind = MP_UINT, .u = UINT64_MAX },
                     "key 'epoch': integer out of range");
    s_expect_reject (&(mp_kv_t){ .key = "ts", .kind = MP_DBL, .d = NAN },
                     "key 'ts': not a finite number");
    s_expect_reject (&(mp_kv_t){ .key = "ts", .kind = MP_STR, .s = "now" },
                     "key 'ts': expected number, got string");
    s_expect_reject (&(mp_kv_t){ .key = "source", .kind = MP_STRN, .s = "st\0re", .n = 5 },
                     "key 'source': string contains a NUL byte");
    char long_id[MDF_ID_MAX + 2];
    memset (long_id, 'x', MDF_ID_MAX + 1);
    long_id[MDF_ID_MAX + 1] = '\0';
    s_expect_reject (&(mp_kv_t){ .key = "coordinator_id", .kind = MP_STR, .s = long_id },
                     "key 'coordinator_id': string too long (129 > 128 bytes)");
    char long_reason[MDF_REASON_MAX + 2];
    memset (long_reason, 'x', MDF_REASON_MAX + 1);
    long_reason[MDF_REASON_MAX + 1] = '\0';
    s_expect_reject (&(mp_kv_t){ .key = "reason", .kind = MP_STR, .s = long_reason },
                     "key 'reason': string too long (65 > 64 bytes)");
}
END_TEST

START_TEST (feedback_rejects_bodies_that_are_not_string_keyed_maps)
{
    mdf_feedback_t ev;
    char err[256];
    ck_assert_int_eq (mdf_feedback_decode ("\x92\x01\x02", 3, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, "body is not a map (got array)");
    ck_assert_int_eq (mdf_feedback_decode ("\xa2ok", 3, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, "body is not a map (got string)");
    ck_assert_int_eq (mdf_feedback_decode ("\x81\x01\x02", 3, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, "body map has a non-string key (integer)");
    ck_assert_int_eq (mdf_feedback_decode ("", 0, &ev, err, sizeof err), -1);
    ck_assert_str_eq (err, "empty body");
    ck_assert_int_eq (mdf_feedback_decode (NULL, 0, &ev, err, sizeof err), -1);
    ck_assert_int_eq (mdf_feedback_decode ("\x80\xc1", 2, &ev, NULL, 0), -1);
}
END_TEST

/* The pacing keys (drain_rate, service_rate, producers, credit) are
 * optional: they travel when set, an event without them decodes as before,
 * and when present they must be of the right type. */
START_TEST (feedback_pacing_keys_are_optional_and_checked)
{
    mdf_feedback_t in
        = { .v = 1, .epoch = 17, .seq = 3, .level = MDF_LEVEL_OK, .capacity = 10, .ts = 1.5 };
    strcpy (in.coordinator_id, "c");
    strcpy (in.source, "store");
    mdf_buf_t buf = { 0 }, plain = { 0 };
    mdf_feedback_t out;
    char err[256];
    ck_assert_int_eq (mdf_feedback_encode (&in, &plain), 0);
    in.has_pacing = true;
    in.drain_rate = 4999.5;
    in.producers = 10;
    in.credit = 800;
    ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
    ck_assert_int_eq (s_decode (&buf, &out, err, sizeof err), 0);
    ck_assert (out.has_pacing && !out.has_service_rate);
    ck_assert_double_eq (out.drain_rate, 4999.5);
    ck_assert_int_eq (out.producers, 10);
    ck_assert_int_eq (out.credit, 800);
    in.has_service_rate = true;
    in.service_rate = 0; /* known: the sink takes nothing now */
    ck_assert_int_eq (mdf_feedback_encode (&in, &buf), 0);
    ck_assert_int_eq (s_decode (&buf, &out, err, sizeof err), 0);
    ck_assert (out.has_service_rate);
    ck_assert_double_eq (out.service_rate, 0);
    /* without them: exactly the bytes of before, and nothing known */
    ck_assert_int_eq (s_decode (&plain, &out, err, sizeof err), 0);
    ck_assert (!out.has_pacing && !out.has_service_rate);
    ck_assert_int_eq (out.credit, 0);
    mdf_buf_free (&plain);
    mdf_buf_free (&buf);
    s_expect_reject_extra (&(mp_kv_t){ .key = "service_rate", .kind = MP_STR, .s = "fast" },
                           "key 'service_rate': expected number, got string");
    s_expect_reject_extra (&(mp_kv_t){ .key = "credit", .kind = MP_INT, .i = -1 },
                           "key 'credit': must not be negative");
    s_expect_reject_extra (&(mp_kv_t){ .key = "drain_rate", .kind = MP_DBL, .d = -2 },
                           "key 'drain_rate': must be a finite number >= 0");
}
END_TEST

START_TEST (feedback_topic_is_prefix_and_id)
{
    char topic[64];
    ck_assert_str_eq (mdf_feedback_topic ("bars-coordinator", topic, sizeof topic),
                      "feedback.bars-coordinator");
    char tiny[6];
    ck_assert_str_eq (mdf_feedback_topic ("x", tiny, sizeof tiny), "feedb");
}
END_TEST

TCase *
feedback_tcase (void)
{
    TCase *tc = tcase_create ("feedback");
    tcase_add_test (tc, feedback_round_trip_keeps_every_field);
    tcase_add_test (tc, feedback_empty_reason_travels_as_nil);
    tcase_add_test (tc, feedback_zero_v_encodes_as_version_1);
    tcase_add_test (tc, feedback_accepts_ints_for_ts_and_ignores_unknown_keys);
    tcase_add_test (tc, feedback_accepts_nil_reason);
    tcase_add_test (tc, feedback_names_each_missing_key);
    tcase_add_test (tc, feedback_names_each_wrong_type);
    tcase_add_test (tc, feedback_rejections_say_what_is_wrong);
    tcase_add_test (tc, feedback_rejects_bodies_that_are_not_string_keyed_maps);
    tcase_add_test (tc, feedback_pacing_keys_are_optional_and_checked);
    tcase_add_test (tc, feedback_topic_is_prefix_and_id);
    return tc;
}
