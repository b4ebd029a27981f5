/*
 * batch: codec of the bars request (pipeline -> store) and the bar rules.
 *
 * Encoding writes v, type, producer_id, batch_seq, provider, bars in that order;
 * each bar is the array [symbol, ts, open, high, low, close, volume] with ts as
 * an integer and the five numbers as float64, so a batch always encodes to the
 * same bytes.  The encoder does not validate: tests use it to build bad bars.
 *
 * Decoding reads batch_seq first (so has_batch_seq is set even when a later key
 * is wrong and the store can still answer), then checks the version, the type,
 * the ids and the bars in order.  The first problem wins, in bar order: a bar
 * of the wrong shape or types makes the batch MDF_DECODE_MALFORMED, a bar that
 * breaks a bar rule (proto/README.md) MDF_DECODE_INVALID; both errors start "bar N: ".
 * Symbol rules are checked while decoding because an over-long symbol does not
 * fit mdf_bar_t.  On anything but MDF_DECODE_OK the bars are freed (nbars 0);
 * batch_seq/has_batch_seq, producer_id and provider keep what was read.
 */
#include "proto/batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

#define S_BAR_FIELDS 7

static void
s_encode_bar (wire_enc_t *enc, const mdf_bar_t *bar)
{
    msgpack_packer *pk = &enc->pk;
    if (msgpack_pack_array (pk, S_BAR_FIELDS))
        enc->rc = -1;
    wire_enc_strn (enc, bar->symbol, sizeof bar->symbol);
    if (msgpack_pack_int64 (pk, bar->ts) || msgpack_pack_double (pk, bar->open)
        || msgpack_pack_double (pk, bar->high) || msgpack_pack_double (pk, bar->low)
        || msgpack_pack_double (pk, bar->close) || msgpack_pack_double (pk, bar->volume))
        enc->rc = -1;
}

int
mdf_batch_encode (const mdf_batch_t *batch, mdf_buf_t *out)
{
    if (batch->nbars > UINT32_MAX || (batch->nbars > 0 && !batch->bars))
        return -1;
    wire_enc_t enc;
    wire_enc_begin (&enc, 6);
    wire_enc_int_kv (&enc, "v", MDF_PROTO_VERSION);
    wire_enc_str_kv (&enc, "type", "bars", 4);
    wire_enc_str_kv (&enc, "producer_id", batch->producer_id, sizeof batch->producer_id);
    wire_enc_uint_kv (&enc, "batch_seq", batch->batch_seq);
    wire_enc_str_kv (&enc, "provider", batch->provider, sizeof batch->provider);
    wire_enc_key (&enc, "bars");
    if (msgpack_pack_array (&enc.pk, batch->nbars))
        enc.rc = -1;
    for (size_t i = 0; i < batch->nbars && enc.rc == 0; i++)
        s_encode_bar (&enc, &batch->bars[i]);
    return wire_enc_finish (&enc, out);
}

int
mdf_bar_validate (const mdf_bar_t *bar, size_t index, char *err, size_t errlen)
{
    char a[32], b[32];
    size_t n = strnlen (bar->symbol, sizeof bar->symbol);
    if (n == 0)
        return wire_fail (err, errlen, "bar %zu: empty symbol", index);
    if (n > MDF_SYMBOL_MAX)
        return wire_fail (err, errlen, "bar %zu: symbol longer than %d bytes", index,
                          MDF_SYMBOL_MAX);
    if (bar->ts <= 0)
        return wire_fail (err, errlen, "bar %zu: ts (%lld) must be > 0", index, (long long)bar->ts);
    const char *names[] = { "open", "high", "low", "close", "volume" };
    const double values[] = { bar->open, bar->high, bar->low, bar->close, bar->volume };
    for (size_t i = 0; i < 5; i++) {
        if (!isfinite (values[i]))
            return wire_fail (err, errlen, "bar %zu: %s is not finite (%s)", index, names[i],
                              wire_fmt_double (values[i], a, sizeof a));
    }
    if (bar->low > bar->high)
        return wire_fail (err, errlen, "bar %zu: low (%s) > high (%s)", index,
                          wire_fmt_double (bar->low, a, sizeof a),
                          wire_fmt_double (bar->high, b, sizeof b));
    if (bar->volume < 0)
        return wire_fail (err, errlen, "bar %zu: volume (%s) is negative", index,
                          wire_fmt_double (bar->volume, a, sizeof a));
    return 0;
}

/* The symbol: a string (else malformed) that obeys the rules (else invalid). */
static mdf_decode_t
s_decode_symbol (const msgpack_object *o, size_t i, mdf_bar_t *bar, char *err, size_t errlen)
{
    size_t n = o->via.str.size;
    if (n == 0)
        wire_fail (err, errlen, "bar %zu: empty symbol", i);
    else if (n > MDF_SYMBOL_MAX)
        wire_fail (err, errlen, "bar %zu: symbol longer than %d bytes (%zu)", i, MDF_SYMBOL_MAX, n);
    else if (memchr (o->via.str.ptr, '\0', n))
        wire_fail (err, errlen, "bar %zu: symbol contains a NUL byte", i);
    else {
        memcpy (bar->symbol, o->via.str.ptr, n);
        bar->symbol[n] = '\0';
        return MDF_DECODE_OK;
    }
    return MDF_DECODE_INVALID;
}

static mdf_decode_t
s_decode_bar (const msgpack_object *o, size_t i, mdf_bar_t *bar, char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        wire_fail (err, errlen, "bar %zu: expected an array of %d values, got %s", i, S_BAR_FIELDS,
                   wire_type_name (o));
        return MDF_DECODE_MALFORMED;
    }
    if (o->via.array.size != S_BAR_FIELDS) {
        wire_fail (err, errlen, "bar %zu: expected an array of %d values, got %u", i, S_BAR_FIELDS,
                   (unsigned)o->via.array.size);
        return MDF_DECODE_MALFORMED;
    }
    const msgpack_object *f = o->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_STR) {
        wire_fail (err, errlen, "bar %zu: symbol: expected string, got %s", i,
                   wire_type_name (&f[0]));
        return MDF_DECODE_MALFORMED;
    }
    int rc = wire_obj_int64 (&f[1], &bar->ts);
    if (rc) {
        if (rc == -1)
            wire_fail (err, errlen, "bar %zu: ts: expected integer, got %s", i,
                       wire_type_name (&f[1]));
        else
            wire_fail (err, errlen, "bar %zu: ts: integer out of range", i);
        return MDF_DECODE_MALFORMED;
    }
    const char *names[] = { "open", "high", "low", "close", "volume" };
    double *dst[] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (size_t k = 0; k < 5; k++) {
        if (wire_obj_double (&f[2 + k], dst[k])) {
            wire_fail (err, errlen, "bar %zu: %s: expected number, got %s", i, names[k],
                       wire_type_name (&f[2 + k]));
            return MDF_DECODE_MALFORMED;
        }
    }
    if (s_decode_symbol (&f[0], i, bar, err, errlen) != MDF_DECODE_OK)
        return MDF_DECODE_INVALID;
    return mdf_bar_validate (bar, i, err, errlen) ? MDF_DECODE_INVALID : MDF_DECODE_OK;
}

static mdf_decode_t
s_decode_bars (const wire_body_t *body, mdf_batch_t *batch, size_t limit, char *err, size_t errlen)
{
    const msgpack_object *o = wire_find (body, "bars");
    if (!o)
        return wire_fail (err, errlen, "key 'bars' missing"), MDF_DECODE_MALFORMED;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return wire_fail (err, errlen, "key 'bars': expected array, got %s", wire_type_name (o)),
               MDF_DECODE_MALFORMED;
    size_t n = o->via.array.size;
    if (n > limit)
        return wire_fail (err, errlen, "key 'bars': %zu bars, more than the limit of %zu", n,
                          limit),
               MDF_DECODE_MALFORMED;
    if (n == 0)
        return MDF_DECODE_OK;
    batch->bars = calloc (n, sizeof *batch->bars);
    if (!batch->bars)
        return wire_fail (err, errlen, "out of memory for %zu bars", n), MDF_DECODE_MALFORMED;
    batch->nbars = n;
    for (size_t i = 0; i < n; i++) {
        mdf_decode_t rc = s_decode_bar (&o->via.array.ptr[i], i, &batch->bars[i], err, errlen);
        if (rc != MDF_DECODE_OK)
            return rc;
    }
    return MDF_DECODE_OK;
}

static mdf_decode_t
s_decode (const wire_body_t *body, mdf_batch_t *batch, size_t limit, char *err, size_t errlen)
{
    /* batch_seq first, so the store can answer even a bad batch; but a version
     * mismatch is the more useful error, so it is reported first. */
    char seq_err[MDF_ERROR_MAX];
    int seq_rc = wire_get_uint (body, "batch_seq", &batch->batch_seq, seq_err, sizeof seq_err);
    batch->has_batch_seq = seq_rc == 0;
    if (wire_check_version (body, err, errlen))
        return MDF_DECODE_MALFORMED;
    if (seq_rc)
        return wire_fail (err, errlen, "%s", seq_err), MDF_DECODE_MALFORMED;
    if (wire_check_type (body, "bars", err, errlen)
        || wire_get_str (body, "producer_id", batch->producer_id, MDF_ID_MAX, false, err, errlen)
        || wire_get_str (body, "provider", batch->provider, MDF_ID_MAX, false, err, errlen))
        return MDF_DECODE_MALFORMED;
    return s_decode_bars (body, batch, limit, err, errlen);
}

mdf_decode_t
mdf_batch_decode (const void *data, size_t size, mdf_batch_t *batch, size_t max_bars, char *err,
                  size_t errlen)
{
    mdf_batch_clear (batch);
    size_t limit = max_bars == 0 || max_bars > MDF_BATCH_MAX_BARS ? MDF_BATCH_MAX_BARS : max_bars;
    wire_body_t body;
    if (wire_body_open (&body, data, size, err, errlen))
        return MDF_DECODE_MALFORMED;
    mdf_decode_t rc = s_decode (&body, batch, limit, err, errlen);
    wire_body_close (&body);
    if (rc != MDF_DECODE_OK) {
        free (batch->bars);
        batch->bars = NULL;
        batch->nbars = 0;
    }
    return rc;
}

void
mdf_batch_clear (mdf_batch_t *batch)
{
    if (!batch)
        return;
    free (batch->bars);
    memset (batch, 0, sizeof *batch);
}
