/*
 * Ack: round trips of each status, `error` only when rejected, optional level,
 * and every rejection with its text.
 */
#include <stdio.h>
#include <string.h>

#include "mp.h"
#include "proto/batch.h"
#include "suites.h"

static void
s_expect_reject (const mp_kv_t *change, const char *skip, const char *want)
{
    mp_kv_t kvs[16];
    size_t n = mp_ack_kvs (kvs);
    for (size_t i = 0; change && i < n; i++)
        if (strcmp (kvs[i].key, change->key) == 0)
            kvs[i] = *change;
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, skip, NULL, NULL, 0);
    mdf_ack_t ack;
    char err[256] = "";
    ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &ack, err, sizeof err), -1);
    ck_assert_str_eq (err, want);
    mdf_buf_free (&buf);
}

START_TEST (ack_round_trip_of_each_status)
{
    for (int st = MDF_ACK_OK; st <= MDF_ACK_REJECTED; st++) {
        mdf_ack_t in = { .batch_seq = st == 1 ? UINT64_MAX : 3,
                         .status = (mdf_ack_status_t)st,
                         .count = st == 0 ? 500 : 0,
                         .level = MDF_LEVEL_HARD,
                         .has_level = true };
        if (st == MDF_ACK_REJECTED) {
            memset (in.error, 'e', MDF_ERROR_MAX);
            in.error[MDF_ERROR_MAX] = '\0';
        }
        mdf_buf_t buf = { 0 };
        ck_assert_int_eq (mdf_ack_encode (&in, &buf), 0);
        bool has_error_key = memmem (buf.data, buf.size,
                                     "\xa5"
                                     "error",
                                     6)
                             != NULL;
        ck_assert (has_error_key == (st == MDF_ACK_REJECTED));
        mdf_ack_t out;
        char err[256];
        ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &out, err, sizeof err), 0);
        ck_assert_uint_eq (out.batch_seq, in.batch_seq);
        ck_assert_int_eq (out.status, in.status);
        ck_assert_uint_eq (out.count, in.count);
        ck_assert_str_eq (out.error, in.error);
        ck_assert_int_eq (out.level, MDF_LEVEL_HARD);
        ck_assert (out.has_level);
        mdf_buf_free (&buf);
    }
    ck_assert_str_eq (mdf_ack_status_name (MDF_ACK_RETRY), "retry");
    ck_assert_str_eq (mdf_ack_status_name ((mdf_ack_status_t)9), "unknown");
}
END_TEST

START_TEST (ack_level_is_optional)
{
    mp_kv_t kvs[16];
    size_t n = mp_ack_kvs (kvs);
    mdf_buf_t buf = { 0 };
    mdf_ack_t ack;
    char err[256];
    mp_map (&buf, kvs, n, "level", NULL, NULL, 0);
    ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &ack, err, sizeof err), 0);
    ck_assert (!ack.has_level);
    kvs[5].kind = MP_NIL;
    mp_map (&buf, kvs, n, NULL, NULL, NULL, 0);
    ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &ack, err, sizeof err), 0);
    ck_assert (!ack.has_level);
    mdf_buf_free (&buf);
    s_expect_reject (&(mp_kv_t){ .key = "level", .kind = MP_STR, .s = "red" }, NULL,
                     "key 'level': unknown level 'red' (ok, soft, hard)");
}
END_TEST

START_TEST (ack_error_is_required_only_when_rejected)
{
    mp_kv_t kvs[16];
    size_t n = mp_ack_kvs (kvs);
    kvs[3].s = "rejected";
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, NULL, 0);
    mdf_ack_t ack;
    char err[256];
    ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &ack, err, sizeof err), -1);
    ck_assert_str_eq (err, "key 'error' missing (required when rejected)");
    /* an error on an ok ack is ignored */
    n = mp_ack_kvs (kvs);
    const mp_kv_t extra[] = { { .key = "error", .kind = MP_STR, .s = "stray" } };
    mp_map (&buf, kvs, n, NULL, NULL, extra, 1);
    ck_assert_int_eq (mdf_ack_decode (buf.data, buf.size, &ack, err, sizeof err), 0);
    ck_assert_str_eq (ack.error, "");
    ck_assert_uint_eq (ack.count, 500);
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (ack_rejections_name_the_key)
{
    mp_kv_t kvs[16];
    size_t n = mp_ack_kvs (kvs);
    for (size_t i = 0; i < n; i++) {
        if (strcmp (kvs[i].key, "level") == 0)
            continue;
        char want[64];
        snprintf (want, sizeof want, "key '%s' missing", kvs[i].key);
        s_expect_reject (NULL, kvs[i].key, want);
    }
    s_expect_reject (&(mp_kv_t){ .key = "v", .kind = MP_INT, .i = 0 }, NULL,
                     "key 'v': unsupported version 0 (this decoder speaks 1)");
    s_expect_reject (&(mp_kv_t){ .key = "type", .kind = MP_STR, .s = "bars" }, NULL,
                     "key 'type': expected \"ack\", got \"bars\"");
    s_expect_reject (&(mp_kv_t){ .key = "status", .kind = MP_STR, .s = "maybe" }, NULL,
                     "key 'status': unknown status 'maybe' (ok, retry, rejected)");
    s_expect_reject (&(mp_kv_t){ .key = "status", .kind = MP_INT, .i = 0 }, NULL,
                     "key 'status': expected string, got integer");
    s_expect_reject (&(mp_kv_t){ .key = "count", .kind = MP_INT, .i = -1 }, NULL,
                     "key 'count': must not be negative (-1)");
    s_expect_reject (&(mp_kv_t){ .key = "batch_seq", .kind = MP_DBL, .d = 9.0 }, NULL,
                     "key 'batch_seq': expected integer, got float");
}
END_TEST

TCase *
ack_tcase (void)
{
    TCase *tc = tcase_create ("ack");
    tcase_add_test (tc, ack_round_trip_of_each_status);
    tcase_add_test (tc, ack_level_is_optional);
    tcase_add_test (tc, ack_error_is_required_only_when_rejected);
    tcase_add_test (tc, ack_rejections_name_the_key);
    return tc;
}
