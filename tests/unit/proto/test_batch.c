/*
 * Bars request: round trips, each bar rule of proto/README.md (invalid ->
 * "rejected"), each shape error (malformed), limits, and has_batch_seq: set
 * whenever batch_seq can be read, even from a body the walk refuses.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_probe.h"
#include "mp.h"
#include "proto/batch.h"
#include "suites.h"

static mdf_bar_t
s_bar (const char *symbol, int64_t ts)
{
    mdf_bar_t bar = { .ts = ts, .open = 10, .high = 11, .low = 9, .close = 10.5, .volume = 100 };
    strcpy (bar.symbol, symbol);
    return bar;
}

/* Encode three good bars with bar 2 replaced by `bad`, decode, return the rc. */
static mdf_decode_t
s_decode_with_bar (const mdf_bar_t *bad, mdf_batch_t *out, char *err, size_t errlen)
{
    mdf_bar_t bars[3] = { s_bar ("AAPL", 1), s_bar ("MSFT", 2), *bad };
    mdf_batch_t in = { .batch_seq = 5, .bars = bars, .nbars = 3 };
    strcpy (in.producer_id, "p");
    strcpy (in.provider, "synthetic");
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    err[0] = '\0';
    mdf_decode_t rc = mdf_batch_decode (buf.data, buf.size, out, 0, err, errlen);
    mdf_buf_free (&buf);
    return rc;
}

static void
s_expect_invalid (mdf_bar_t bad, const char *want)
{
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (s_decode_with_bar (&bad, &out, err, sizeof err), MDF_DECODE_INVALID);
    ck_assert_str_eq (err, want);
    ck_assert (out.has_batch_seq);
    ck_assert_uint_eq (out.batch_seq, 5);
    ck_assert_uint_eq (out.nbars, 0);
    ck_assert_ptr_null (out.bars);
    /* the same rule, checked on the struct, says the same */
    if (strnlen (bad.symbol, sizeof bad.symbol) <= MDF_SYMBOL_MAX) {
        char err2[256];
        ck_assert_int_eq (mdf_bar_validate (&bad, 2, err2, sizeof err2), -1);
        ck_assert_str_eq (err2, want);
    }
    mdf_batch_clear (&out);
}

/* Decode the body the n key/values make; expect rc and err.  Returns what
 * the decoder left (batch_seq when readable); the caller clears it. */
static mdf_batch_t
s_expect_kvs (const mp_kv_t *kvs, size_t n, mdf_decode_t want_rc, const char *want)
{
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, NULL, 0);
    mdf_batch_t out = { 0 };
    char err[256] = "";
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err), want_rc);
    ck_assert_str_eq (err, want);
    mdf_buf_free (&buf);
    return out;
}

/* Decode a body whose "bars" value is the packed `bars`; expect rc and err. */
static void
s_expect_raw (const mdf_buf_t *bars, mdf_decode_t want_rc, const char *want)
{
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, bars);
    mdf_batch_t out = s_expect_kvs (kvs, n, want_rc, want);
    mdf_batch_clear (&out);
}

/* Pack [[sym, ts, o, h, l, c, v]] with the given symbol bytes and ts. */
static void
s_one_bar_raw (mdf_buf_t *out, const char *sym, size_t symlen, int64_t ts)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    mp_begin (&sb, &pk);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_array (&pk, 7);
    mp_str (&pk, sym, symlen);
    msgpack_pack_int64 (&pk, ts);
    for (int i = 0; i < 5; i++)
        msgpack_pack_int (&pk, 10);
    mp_end (&sb, out);
}

START_TEST (batch_round_trip_keeps_every_bar)
{
    mdf_bar_t bars[4] = { s_bar ("AAPL", 1700000000000000000), s_bar ("X", 1),
                          s_bar ("", INT64_MAX), s_bar ("MSFT", 2) };
    memset (bars[2].symbol, 'S', MDF_SYMBOL_MAX);
    bars[2].symbol[MDF_SYMBOL_MAX] = '\0';
    bars[1] = (mdf_bar_t){ .symbol = "X",
                           .ts = 1,
                           .open = -DBL_MAX,
                           .high = DBL_MAX,
                           .low = -DBL_MAX,
                           .close = DBL_MIN,
                           .volume = 0.0 };
    bars[3].open = -0.0;
    bars[3].volume = 1e300;
    mdf_batch_t in = { .batch_seq = UINT64_MAX, .bars = bars, .nbars = 4 };
    memset (in.producer_id, 'p', MDF_ID_MAX);
    memset (in.provider, 'q', MDF_ID_MAX);
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert_uint_eq (out.batch_seq, UINT64_MAX);
    ck_assert (out.has_batch_seq);
    ck_assert_str_eq (out.producer_id, in.producer_id);
    ck_assert_str_eq (out.provider, in.provider);
    ck_assert_uint_eq (out.nbars, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_str_eq (out.bars[i].symbol, bars[i].symbol);
        ck_assert_int_eq (out.bars[i].ts, bars[i].ts);
        ck_assert (memcmp (&out.bars[i].open, &bars[i].open, 5 * sizeof (double)) == 0);
    }
    /* decoding into a used batch frees its old bars first (no leak) */
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    mdf_batch_clear (&out);
    ck_assert_ptr_null (out.bars);
    mdf_buf_free (&buf);
}
END_TEST

/* The optional "live" key: encoded only when set (a history batch's bytes
 * are unchanged), decoded as a boolean; nil counts as absent, any other
 * type is malformed. */
START_TEST (batch_live_key_round_trips_and_must_be_a_boolean)
{
    mdf_bar_t bars[1] = { s_bar ("AAPL", 1700000000000000000) };
    mdf_batch_t in = { .batch_seq = 7, .bars = bars, .nbars = 1 };
    strcpy (in.producer_id, "p");
    strcpy (in.provider, "feed");
    mdf_buf_t plain = { 0 }, live = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&in, &plain), 0);
    in.live = true;
    ck_assert_int_eq (mdf_batch_encode (&in, &live), 0);
    ck_assert_ptr_null (memmem (plain.data, plain.size, "\xa4live", 5));
    char *at = memmem (live.data, live.size, "\xa4live\xc3", 6);
    ck_assert_ptr_nonnull (at);
    ck_assert_uint_eq (live.size, plain.size + 6);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (live.data, live.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert (out.live);
    ck_assert_uint_eq (out.nbars, 1);
    ck_assert_int_eq (mdf_batch_decode (plain.data, plain.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert (!out.live);
    at[5] = (char)0xc2; /* false */
    ck_assert_int_eq (mdf_batch_decode (live.data, live.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert (!out.live);
    at[5] = (char)0xc0; /* nil: absent */
    ck_assert_int_eq (mdf_batch_decode (live.data, live.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert (!out.live);
    at[5] = (char)0x01; /* an int */
    ck_assert_int_eq (mdf_batch_decode (live.data, live.size, &out, 0, err, sizeof err),
                      MDF_DECODE_MALFORMED);
    ck_assert_str_eq (err, "key 'live': not a boolean");
    ck_assert (out.has_batch_seq); /* still answerable */
    mdf_batch_clear (&out);
    mdf_buf_free (&plain);
    mdf_buf_free (&live);
}
END_TEST

START_TEST (batch_with_no_bars_is_valid)
{
    mdf_batch_t in = { .batch_seq = 0 };
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert_uint_eq (out.nbars, 0);
    ck_assert (out.has_batch_seq);
    mdf_buf_free (&buf);
}
END_TEST

START_TEST (batch_rejects_each_bar_rule_naming_the_bar)
{
    mdf_bar_t b = s_bar ("", 3);
    s_expect_invalid (b, "bar 2: empty symbol");
    b = s_bar ("IBM", 3);
    memset (b.symbol, 'S', MDF_SYMBOL_MAX + 1); /* 65 bytes, no terminator */
    s_expect_invalid (b, "bar 2: symbol longer than 64 bytes (65)");
    b = s_bar ("IBM", 0);
    s_expect_invalid (b, "bar 2: ts (0) must be > 0");
    b = s_bar ("IBM", -5);
    s_expect_invalid (b, "bar 2: ts (-5) must be > 0");
    b = s_bar ("IBM", 3);
    b.open = NAN;
    s_expect_invalid (b, "bar 2: open is not finite (nan)");
    b = s_bar ("IBM", 3);
    b.high = INFINITY;
    s_expect_invalid (b, "bar 2: high is not finite (inf)");
    b = s_bar ("IBM", 3);
    b.low = -INFINITY;
    s_expect_invalid (b, "bar 2: low is not finite (-inf)");
    b = s_bar ("IBM", 3);
    b.close = NAN;
    s_expect_invalid (b, "bar 2: close is not finite (nan)");
    b = s_bar ("IBM", 3);
    b.volume = INFINITY;
    s_expect_invalid (b, "bar 2: volume is not finite (inf)");
    b = s_bar ("IBM", 3);
    b.low = 10.5;
    b.high = 10.2;
    s_expect_invalid (b, "bar 2: low (10.5) > high (10.2)");
    b = s_bar ("IBM", 3);
    b.volume = -1;
    s_expect_invalid (b, "bar 2: volume (-1) is negative");
}
END_TEST

START_TEST (batch_applies_no_rule_beyond_design)
{
    /* open/close outside [low, high] and low == high are not rules */
    mdf_bar_t b
        = { .symbol = "IBM", .ts = 1, .open = 50, .high = 10, .low = 10, .close = -3, .volume = 0 };
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (s_decode_with_bar (&b, &out, err, sizeof err), MDF_DECODE_OK);
    ck_assert_uint_eq (out.nbars, 3);
    ck_assert (out.bars[2].open == 50);
    mdf_batch_clear (&out);
}
END_TEST

START_TEST (batch_rejects_raw_symbols_breaking_rules)
{
    mdf_buf_t bars = { 0 };
    s_one_bar_raw (&bars, "A\0PL", 4, 1);
    s_expect_raw (&bars, MDF_DECODE_INVALID, "bar 0: symbol contains a NUL byte");
    char big[300];
    memset (big, 'Z', sizeof big);
    s_one_bar_raw (&bars, big, sizeof big, 1);
    s_expect_raw (&bars, MDF_DECODE_INVALID, "bar 0: symbol longer than 64 bytes (300)");
    s_one_bar_raw (&bars, big, MDF_SYMBOL_MAX, 1);
    s_expect_raw (&bars, MDF_DECODE_OK, "");
    /* UTF-8: multibyte symbols are fine, broken ones are refused (a sink
     * like PostgreSQL would refuse them on every retry) */
    const char *good[] = { "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x93\x88" };
    for (size_t k = 0; k < 3; k++) {
        s_one_bar_raw (&bars, good[k], strlen (good[k]), 1);
        s_expect_raw (&bars, MDF_DECODE_OK, "");
    }
    /* a lone continuation byte, then an ASCII letter */
    static const char lone[] = { (char)0x80, 'A', 0 };
    const char *bad[] = { "\xff", "A\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", lone };
    for (size_t k = 0; k < 6; k++) {
        s_one_bar_raw (&bars, bad[k], strlen (bad[k]), 1);
        s_expect_raw (&bars, MDF_DECODE_INVALID, "bar 0: symbol is not valid UTF-8");
    }
    mdf_bar_t b = s_bar ("\xff", 1);
    char err[128];
    ck_assert_int_eq (mdf_bar_validate (&b, 0, err, sizeof err), -1);
    ck_assert_str_eq (err, "bar 0: symbol is not valid UTF-8");
    mdf_buf_free (&bars);
}
END_TEST

START_TEST (batch_refuses_ids_that_are_not_utf8)
{
    mdf_buf_t bars = { .data = "\x90", .size = 1 };
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, &bars);
    for (size_t i = 0; i < n; i++)
        if (strcmp (kvs[i].key, "provider") == 0)
            kvs[i] = (mp_kv_t){ .key = "provider", .kind = MP_STR, .s = "bad\xfe" };
    mdf_batch_t out
        = s_expect_kvs (kvs, n, MDF_DECODE_MALFORMED, "key 'provider': string is not valid UTF-8");
    ck_assert (out.has_batch_seq); /* answered "rejected" */
    mdf_batch_clear (&out);
}
END_TEST

START_TEST (batch_accepts_ints_for_prices)
{
    mdf_buf_t bars = { 0 };
    s_one_bar_raw (&bars, "AAPL", 4, 1);
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, &bars);
    const mp_kv_t extra[] = { { .key = "compression", .kind = MP_STR, .s = "none" } };
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, n, NULL, NULL, extra, 1);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert (out.bars[0].open == 10.0 && out.bars[0].volume == 10.0);
    mdf_batch_clear (&out);
    mdf_buf_free (&buf);
    mdf_buf_free (&bars);
}
END_TEST

START_TEST (batch_rejects_bars_of_the_wrong_shape)
{
    mdf_buf_t bars = { .data = "\x92\x97\xa1X\x01\x01\x01\x01\x01\x01\x81\xa1X\x01", .size = 14 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 1: expected an array of 7 values, got map");
    bars = (mdf_buf_t){ .data = "\x91\x96\xa1X\x01\x01\x01\x01\x01", .size = 9 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: expected an array of 7 values, got 6");
    bars = (mdf_buf_t){ .data = "\x91\x97\x05\x01\x01\x01\x01\x01\x01", .size = 9 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: symbol: expected string, got integer");
    bars = (mdf_buf_t){ .data = "\x91\x97\xa1X\xca\x3f\x80\x00\x00\x01\x01\x01\x01\x01",
                        .size = 14 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: ts: expected integer, got float");
    bars = (mdf_buf_t){ .data = "\x91\x97\xa1X\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                                "\x01\x01\x01\x01\x01",
                        .size = 18 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: ts: integer out of range");
    bars = (mdf_buf_t){ .data = "\x91\x97\xa1X\x01\x01\x01\xa1"
                                "1\x01\x01",
                        .size = 11 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: low: expected number, got string");
    bars = (mdf_buf_t){ .data = "\x91\x97\xa1X\x01\x01\x01\x01\x01\xc0", .size = 10 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "bar 0: volume: expected number, got nil");
    /* a malformed bar after an invalid one: the first problem wins */
    bars = (mdf_buf_t){ .data = "\x92\x97\xa0\x01\x01\x01\x01\x01\x01\x05", .size = 10 };
    s_expect_raw (&bars, MDF_DECODE_INVALID, "bar 0: empty symbol");
    bars = (mdf_buf_t){ .data = "\x81\xa1X\x01", .size = 4 };
    s_expect_raw (&bars, MDF_DECODE_MALFORMED, "key 'bars': expected array, got map");
}
END_TEST

START_TEST (batch_names_missing_and_mistyped_keys)
{
    mdf_buf_t bars = { .data = "\x90", .size = 1 };
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, &bars);
    for (size_t i = 0; i < n; i++) {
        for (int wrong = 0; wrong < 2; wrong++) {
            mdf_buf_t buf = { 0 };
            mp_map (&buf, kvs, n, wrong ? NULL : kvs[i].key, wrong ? kvs[i].key : NULL, NULL, 0);
            mdf_batch_t out = { 0 };
            char err[256], want[64];
            ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                              MDF_DECODE_MALFORMED);
            if (wrong)
                snprintf (want, sizeof want, "key '%s': expected ", kvs[i].key);
            else
                snprintf (want, sizeof want, "key '%s' missing", kvs[i].key);
            ck_assert_msg (strncmp (err, want, strlen (want)) == 0, "%s", err);
            /* the store can still answer whenever batch_seq was readable */
            ck_assert (out.has_batch_seq == (strcmp (kvs[i].key, "batch_seq") != 0));
            mdf_buf_free (&buf);
        }
    }
}
END_TEST

START_TEST (batch_rejects_other_versions_and_types)
{
    mdf_buf_t bars = { .data = "\x90", .size = 1 };
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, &bars);
    kvs[0].i = 2;
    kvs[3] = (mp_kv_t){ .key = "batch_seq", .kind = MP_STR, .s = "v2-style" };
    mdf_batch_t out = s_expect_kvs (kvs, n, MDF_DECODE_MALFORMED,
                                    "key 'v': unsupported version 2 (this decoder speaks 1)");
    ck_assert (!out.has_batch_seq);

    n = mp_batch_kvs (kvs, &bars);
    kvs[1].s = "ack";
    out = s_expect_kvs (kvs, n, MDF_DECODE_MALFORMED, "key 'type': expected \"bars\", got \"ack\"");
    ck_assert (out.has_batch_seq);
    ck_assert_uint_eq (out.batch_seq, 77);

    n = mp_batch_kvs (kvs, &bars);
    kvs[3] = (mp_kv_t){ .key = "batch_seq", .kind = MP_INT, .i = -4 };
    out = s_expect_kvs (kvs, n, MDF_DECODE_MALFORMED, "key 'batch_seq': must not be negative (-4)");
    mdf_batch_clear (&out);
}
END_TEST

START_TEST (batch_over_the_bar_limit_is_malformed)
{
    size_t n = MDF_BATCH_MAX_BARS + 1;
    mdf_bar_t *bars = malloc (n * sizeof *bars);
    ck_assert_ptr_nonnull (bars);
    for (size_t i = 0; i < n; i++)
        bars[i] = s_bar ("S", (int64_t)i + 1);
    mdf_batch_t in = { .batch_seq = 1, .bars = bars, .nbars = n };
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_MALFORMED);
    ck_assert_str_eq (err, "key 'bars': 100001 bars, more than the limit of 100000");
    ck_assert (out.has_batch_seq);
    ck_assert_uint_eq (out.nbars, 0);
    /* a caller's max_bars above the limit does not lift it */
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, n, err, sizeof err),
                      MDF_DECODE_MALFORMED);
    in.nbars = MDF_BATCH_MAX_BARS;
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert_uint_eq (out.nbars, MDF_BATCH_MAX_BARS);
    /* a smaller max_bars from the caller */
    in.nbars = 11;
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    ck_assert_int_eq (mdf_batch_decode (buf.data, buf.size, &out, 10, err, sizeof err),
                      MDF_DECODE_MALFORMED);
    ck_assert_str_eq (err, "key 'bars': 11 bars, more than the limit of 10");
    mdf_batch_clear (&out);
    mdf_buf_free (&buf);
    free (bars);
}
END_TEST

/* The bytes msgpack-c's packer writes for `b`, as the encoder's contract says:
 * keys in table order, each bar [str, int, float64 x 5]. */
static void
s_pack_like_msgpack_c (const mdf_batch_t *b, mdf_buf_t *out)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    mp_begin (&sb, &pk);
    msgpack_pack_map (&pk, 6);
    mp_str (&pk, "v", 1);
    msgpack_pack_int64 (&pk, 1);
    mp_str (&pk, "type", 4);
    mp_str (&pk, "bars", 4);
    mp_str (&pk, "producer_id", 11);
    mp_str (&pk, b->producer_id, strnlen (b->producer_id, sizeof b->producer_id));
    mp_str (&pk, "batch_seq", 9);
    msgpack_pack_uint64 (&pk, b->batch_seq);
    mp_str (&pk, "provider", 8);
    mp_str (&pk, b->provider, strnlen (b->provider, sizeof b->provider));
    mp_str (&pk, "bars", 4);
    msgpack_pack_array (&pk, b->nbars);
    for (size_t i = 0; i < b->nbars; i++) {
        const mdf_bar_t *r = &b->bars[i];
        msgpack_pack_array (&pk, 7);
        mp_str (&pk, r->symbol, strnlen (r->symbol, sizeof r->symbol));
        msgpack_pack_int64 (&pk, r->ts);
        msgpack_pack_double (&pk, r->open);
        msgpack_pack_double (&pk, r->high);
        msgpack_pack_double (&pk, r->low);
        msgpack_pack_double (&pk, r->close);
        msgpack_pack_double (&pk, r->volume);
    }
    mp_end (&sb, out);
}

START_TEST (batch_encodes_the_bytes_msgpack_c_packs)
{
    /* every width of int for ts (the encoder does not validate), symbols of
     * every length up to a full array, odd doubles, 16+ bars (array 16) */
    const int64_t ts[] = { 0,          1,
                           127,        128,
                           255,        256,
                           65535,      65536,
                           4294967295, 4294967296,
                           INT64_MAX,  -1,
                           -32,        -33,
                           -128,       -129,
                           -32768,     -32769,
                           INT32_MIN,  (int64_t)INT32_MIN - 1,
                           INT64_MIN,  1700000000000000000 };
    const double odd[] = { NAN, INFINITY, -INFINITY, -0.0, DBL_MIN, DBL_MAX, 1e-310, 0.1 };
    const size_t nts = sizeof ts / sizeof ts[0], nodd = sizeof odd / sizeof odd[0];
    mdf_bar_t bars[MDF_SYMBOL_MAX + 2];
    const size_t n = sizeof bars / sizeof bars[0];
    for (size_t i = 0; i < n; i++) {
        memset (&bars[i], 0, sizeof bars[i]);
        memset (bars[i].symbol, 'A' + (int)(i % 26), i); /* i bytes; 65 fills the array */
        bars[i].ts = ts[i % nts];
        bars[i].open = odd[i % nodd];
        bars[i].high = odd[(i + 1) % nodd];
        bars[i].low = -(double)i;
        bars[i].close = (double)i * 0.25;
        bars[i].volume = odd[(i + 3) % nodd];
    }
    const uint64_t seqs[] = { 0, 127, 128, 65536, UINT64_MAX };
    const size_t idlens[] = { 0, 31, 32, MDF_ID_MAX };
    for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++) {
        mdf_batch_t in = { .batch_seq = seqs[k], .bars = bars, .nbars = k == 0 ? 0 : n - k };
        memset (in.producer_id, 'p', idlens[k % 4]);
        memset (in.provider, 'q', idlens[(k + 1) % 4]);
        mdf_buf_t ours = { 0 }, theirs = { 0 };
        ck_assert_int_eq (mdf_batch_encode (&in, &ours), 0);
        s_pack_like_msgpack_c (&in, &theirs);
        ck_assert_uint_eq (ours.size, theirs.size);
        ck_assert_msg (memcmp (ours.data, theirs.data, ours.size) == 0, "case %zu differs", k);
        mdf_buf_free (&ours);
        mdf_buf_free (&theirs);
    }
}
END_TEST

START_TEST (batch_decode_allocates_only_what_the_body_can_hold)
{
    /* 5000 declared bars in ~5 KB: a valid bar takes 9 bytes at least, so
     * they cannot all be valid and nothing is allocated */
    size_t n = 5000;
    mdf_buf_t bars = { .data = malloc (3 + n), .size = 3 + n };
    ck_assert_ptr_nonnull (bars.data);
    memcpy (bars.data, "\xdc\x13\x88", 3); /* array 16 of 5000 */
    memset (bars.data + 3, 0x01, n);
    mp_kv_t kvs[8];
    size_t nkvs = mp_batch_kvs (kvs, &bars);
    mdf_buf_t buf = { 0 };
    mp_map (&buf, kvs, nkvs, NULL, NULL, NULL, 0);
    mdf_batch_t out = { 0 };
    char err[256];
    /* (Check's assertions allocate: read the probe before asserting) */
    alloc_probe_reset ();
    mdf_decode_t rc = mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err);
    size_t allocated = alloc_probe_max ();
    ck_assert_int_eq (rc, MDF_DECODE_MALFORMED);
    ck_assert_uint_eq (allocated, 0);
    ck_assert_str_eq (err, "bar 0: expected an array of 7 values, got integer");
    /* the same count of real bars: one array of exactly that many */
    mdf_bar_t *many = malloc (n * sizeof *many);
    ck_assert_ptr_nonnull (many);
    for (size_t i = 0; i < n; i++)
        many[i] = s_bar ("S", (int64_t)i + 1);
    mdf_batch_t in = { .batch_seq = 1, .bars = many, .nbars = n };
    ck_assert_int_eq (mdf_batch_encode (&in, &buf), 0);
    alloc_probe_reset ();
    rc = mdf_batch_decode (buf.data, buf.size, &out, 0, err, sizeof err);
    allocated = alloc_probe_max ();
    ck_assert_int_eq (rc, MDF_DECODE_OK);
    ck_assert_uint_eq (allocated, n * sizeof (mdf_bar_t));
    mdf_batch_clear (&out);
    mdf_buf_free (&buf);
    mdf_buf_free (&bars);
    free (many);
}
END_TEST

/* ---- batch_seq readable in a body refused as a whole ---- */

/* Decode `body`: malformed, the error starting with `want`, and batch_seq 77
 * read (or not). */
static void
s_expect_refused (const mdf_buf_t *body, const char *want, bool seq_read)
{
    mdf_batch_t out = { 0 };
    char err[256] = "";
    ck_assert_int_eq (mdf_batch_decode (body->data, body->size, &out, 0, err, sizeof err),
                      MDF_DECODE_MALFORMED);
    ck_assert_msg (strncmp (err, want, strlen (want)) == 0, "error '%s', expected '%s...'", err,
                   want);
    ck_assert_msg (out.has_batch_seq == seq_read, "has_batch_seq %d for '%s'", out.has_batch_seq,
                   err);
    if (seq_read)
        ck_assert_uint_eq (out.batch_seq, 77);
    ck_assert_uint_eq (out.nbars, 0);
    ck_assert_ptr_null (out.bars);
    mdf_batch_clear (&out);
}

/* `depth` arrays nested in one another, the innermost empty. */
static void
s_nest (mdf_buf_t *out, size_t depth)
{
    mdf_buf_free (out);
    out->data = malloc (depth);
    ck_assert_ptr_nonnull (out->data);
    memset (out->data, 0x91, depth - 1);
    out->data[depth - 1] = (char)0x90;
    out->size = depth;
}

/* A valid request (batch_seq 77, one bar) plus `extra` pairs after its keys,
 * or with batch_seq moved after them when seq_last. */
static void
s_request (mdf_buf_t *out, const mp_kv_t *extra, size_t nextra, bool seq_last)
{
    mdf_buf_t bars = { 0 };
    s_one_bar_raw (&bars, "AAPL", 4, 1);
    mp_kv_t kvs[16];
    size_t n = mp_batch_kvs (kvs, &bars);
    for (size_t i = 0; i < nextra; i++)
        kvs[n++] = extra[i];
    if (seq_last) {
        mp_kv_t seq = kvs[3];
        memmove (&kvs[3], &kvs[4], (n - 4) * sizeof kvs[0]);
        kvs[n - 1] = seq;
    }
    mp_map (out, kvs, n, NULL, NULL, NULL, 0);
    mdf_buf_free (&bars);
}

START_TEST (batch_seq_is_read_from_a_body_with_trailing_bytes)
{
    mdf_buf_t body = { 0 };
    s_request (&body, NULL, 0, false);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (body.data, body.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    mdf_batch_clear (&out);
    char *longer = realloc (body.data, body.size + 3);
    ck_assert_ptr_nonnull (longer);
    memcpy (longer + body.size, "\xc0\x01\x02", 3);
    body.data = longer;
    body.size += 1;
    s_expect_refused (&body, "1 trailing bytes after the body", true);
    body.size += 2;
    s_expect_refused (&body, "3 trailing bytes after the body", true);
    mdf_buf_free (&body);
}
END_TEST

START_TEST (batch_seq_is_read_from_a_body_nested_too_deep)
{
    /* the top-level map is level 1: 31 arrays below it are allowed ... */
    mdf_buf_t deep = { 0 }, body = { 0 };
    s_nest (&deep, 31);
    mp_kv_t x = { .key = "x", .kind = MP_RAW, .s = deep.data, .n = deep.size };
    s_request (&body, &x, 1, false);
    mdf_batch_t out = { 0 };
    char err[256];
    ck_assert_int_eq (mdf_batch_decode (body.data, body.size, &out, 0, err, sizeof err),
                      MDF_DECODE_OK);
    ck_assert_uint_eq (out.nbars, 1);
    mdf_batch_clear (&out);
    /* ... 32 are not, after batch_seq or before it */
    s_nest (&deep, 32);
    x = (mp_kv_t){ .key = "x", .kind = MP_RAW, .s = deep.data, .n = deep.size };
    s_request (&body, &x, 1, false);
    s_expect_refused (&body, "containers nested more than 32 deep", true);
    s_request (&body, &x, 1, true);
    s_expect_refused (&body, "containers nested more than 32 deep", true);
    /* a deep bars array, and thousands of levels */
    mp_kv_t kvs[8];
    size_t n = mp_batch_kvs (kvs, &deep);
    mp_map (&body, kvs, n, NULL, NULL, NULL, 0);
    s_expect_refused (&body, "containers nested more than 32 deep", true);
    s_nest (&deep, 5000);
    n = mp_batch_kvs (kvs, &deep);
    mp_map (&body, kvs, n, NULL, NULL, NULL, 0);
    s_expect_refused (&body, "containers nested more than 32 deep", true);
    mdf_buf_free (&deep);
    mdf_buf_free (&body);
}
END_TEST

START_TEST (batch_seq_is_read_from_a_body_broken_after_it)
{
    /* a reserved byte, a non-string key, a truncation: after batch_seq */
    mdf_buf_t body = { 0 };
    mp_kv_t bad = { .key = "x", .kind = MP_RAW, .s = "\x92\x01\xc1", .n = 3 };
    s_request (&body, &bad, 1, false);
    s_expect_refused (&body, "not msgpack: byte 0xc1", true);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    mp_begin (&sb, &pk);
    msgpack_pack_map (&pk, 2);
    mp_str (&pk, "batch_seq", 9);
    msgpack_pack_uint64 (&pk, 77);
    msgpack_pack_int (&pk, 5); /* a key that is not a string */
    msgpack_pack_nil (&pk);
    mp_end (&sb, &body);
    s_expect_refused (&body, "body map has a non-string key (integer)", true);

    s_request (&body, NULL, 0, false);
    const char *at = memmem (body.data, body.size,
                             "\xa9"
                             "batch_seq",
                             10);
    ck_assert_ptr_nonnull (at);
    const size_t seq_end = (size_t)(at - body.data) + 11; /* key, then 77 as a fixint */
    for (size_t len = seq_end; len < body.size; len++) {
        mdf_buf_t cut = { .data = body.data, .size = len };
        s_expect_refused (&cut, "truncated body", true);
    }
    /* batch_seq cut off, or not yet there: nothing to answer */
    for (size_t len = 1; len < seq_end; len++) {
        mdf_buf_t cut = { .data = body.data, .size = len };
        s_expect_refused (&cut, "truncated body", false);
    }
    mdf_buf_free (&body);
}
END_TEST

START_TEST (batch_seq_is_not_read_when_its_first_value_is_unusable)
{
    /* the first batch_seq wins: a string then a number is not readable */
    mdf_buf_t body = { 0 };
    mp_kv_t kvs[8];
    mdf_buf_t bars = { .data = "\x90", .size = 1 };
    size_t n = mp_batch_kvs (kvs, &bars);
    kvs[3] = (mp_kv_t){ .key = "batch_seq", .kind = MP_STR, .s = "77" };
    const mp_kv_t again[] = { { .key = "batch_seq", .kind = MP_UINT, .u = 77 },
                              { .key = "x", .kind = MP_RAW, .s = "\xc1", .n = 1 } };
    mp_map (&body, kvs, n, NULL, NULL, again, 2);
    s_expect_refused (&body, "not msgpack: byte 0xc1", false);
    /* a negative batch_seq is not readable either */
    kvs[3] = (mp_kv_t){ .key = "batch_seq", .kind = MP_INT, .i = -77 };
    mp_map (&body, kvs, n, NULL, NULL, &again[1], 1);
    s_expect_refused (&body, "not msgpack: byte 0xc1", false);
    /* nor one in a map that is not the body's */
    const char inner[] = "\x91\x81\xa9"
                         "batch_seq\x4d";
    mdf_buf_t wrapped = { .data = (char *)inner, .size = sizeof inner - 1 };
    s_expect_refused (&wrapped, "body is not a map (got array)", false);
    mdf_buf_free (&body);
}
END_TEST

TCase *
batch_tcase (void)
{
    TCase *tc = tcase_create ("batch");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, batch_round_trip_keeps_every_bar);
    tcase_add_test (tc, batch_encodes_the_bytes_msgpack_c_packs);
    tcase_add_test (tc, batch_live_key_round_trips_and_must_be_a_boolean);
    tcase_add_test (tc, batch_with_no_bars_is_valid);
    tcase_add_test (tc, batch_rejects_each_bar_rule_naming_the_bar);
    tcase_add_test (tc, batch_applies_no_rule_beyond_design);
    tcase_add_test (tc, batch_rejects_raw_symbols_breaking_rules);
    tcase_add_test (tc, batch_refuses_ids_that_are_not_utf8);
    tcase_add_test (tc, batch_accepts_ints_for_prices);
    tcase_add_test (tc, batch_rejects_bars_of_the_wrong_shape);
    tcase_add_test (tc, batch_names_missing_and_mistyped_keys);
    tcase_add_test (tc, batch_rejects_other_versions_and_types);
    tcase_add_test (tc, batch_over_the_bar_limit_is_malformed);
    tcase_add_test (tc, batch_decode_allocates_only_what_the_body_can_hold);
    tcase_add_test (tc, batch_seq_is_read_from_a_body_with_trailing_bytes);
    tcase_add_test (tc, batch_seq_is_read_from_a_body_nested_too_deep);
    tcase_add_test (tc, batch_seq_is_read_from_a_body_broken_after_it);
    tcase_add_test (tc, batch_seq_is_not_read_when_its_first_value_is_unusable);
    return tc;
}
