/*
 * batch: codec of the bars request (pipeline -> store) and the bar rules.
 *
 * Encoding writes v, type, producer_id, batch_seq, provider, live (only when
 * set), bars in that order;
 * each bar is the array [symbol, ts, open, high, low, close, volume] with ts as
 * an integer and the five numbers as float64, so a batch always encodes to the
 * same bytes.  The encoder does not validate: tests use it to build bad bars.
 *
 * Decoding walks the body once (wire_body_open), then reads batch_seq first (so
 * has_batch_seq is set even when a later key is wrong and the store can still
 * answer), then checks the version, the type, the ids and the bars in order.
 * A body the walk refuses (trailing bytes, nested too deep, truncated, a
 * reserved byte, a non-string key) still gets has_batch_seq when its first
 * batch_seq key came, with an unsigned integer, before the problem: the store
 * can answer it "rejected" instead of leaving the sender to time out and
 * resend it forever.  The first problem wins, in bar
 * order: a bar of the wrong shape or types makes the batch
 * MDF_DECODE_MALFORMED, a bar that breaks a rule of proto/README.md
 * MDF_DECODE_INVALID; both errors start "bar N: ".  Symbol rules are checked
 * while decoding because an over-long symbol does not fit mdf_bar_t.  On
 * anything but MDF_DECODE_OK the bars are freed (nbars 0);
 * batch_seq/has_batch_seq, producer_id and provider keep what was read.
 *
 * The bars are read straight from the msgpack bytes, with a fast path for the
 * encodings the encoder writes (fixarray of 7, fixstr, int64 or fixint,
 * float64) and wire_read for any other; nothing is allocated but the bars
 * array, and that only when the bytes left could hold that many valid bars
 * (S_MIN_BAR_BYTES each), so a hostile count costs no memory.
 */
#include "proto/batch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

#define S_BAR_FIELDS 7

/* The smallest valid bar: fixarray, a 1-byte fixstr, then six 1-byte fixints. */
#define S_MIN_BAR_BYTES 9

/* The most one bar takes: fixarray, str8 header and 65 bytes (the encoder
 * does not validate, so a symbol may fill its array), int64, five float64. */
#define S_MAX_BAR_BYTES (1 + 2 + (MDF_SYMBOL_MAX + 1) + 9 + 5 * 9)

/* The symbol's length (symbols are short: a loop beats a call). */
static inline size_t
s_symlen (const mdf_bar_t *bar)
{
    size_t n = 0;
    while (n < sizeof bar->symbol && bar->symbol[n])
        n++;
    return n;
}

/* Bytes of the smallest encoding of v (the one msgpack_pack_int64 picks). */
static inline size_t
s_int_size (int64_t v)
{
    if (v >= -32 && v < 128)
        return 1;
    if (v >= 0)
        return v < 256 ? 2 : v < 65536 ? 3 : v <= UINT32_MAX ? 5 : 9;
    return v >= -128 ? 2 : v >= -32768 ? 3 : v >= INT32_MIN ? 5 : 9;
}

/* Bytes s_put_bar writes for the bar. */
static inline size_t
s_bar_size (const mdf_bar_t *bar)
{
    const size_t n = s_symlen (bar);
    return 1 + (n < 32 ? 1 : 2) + n + s_int_size (bar->ts) + 5 * 9;
}

static inline uint8_t *
s_put64 (uint8_t *p, uint8_t tag, uint64_t v)
{
    *p++ = tag;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64 (v);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "unknown byte order"
#endif
    memcpy (p, &v, 8);
    return p + 8;
}

static inline uint8_t *
s_put_double (uint8_t *p, double d)
{
    uint64_t u;
    memcpy (&u, &d, sizeof u);
    return s_put64 (p, 0xcb, u);
}

static inline uint8_t *
s_put_be (uint8_t *p, uint8_t tag, uint64_t v, size_t nb)
{
    *p++ = tag;
    for (size_t i = nb; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
    return p + nb;
}

/* The smallest encoding of v: the one msgpack_pack_int64 picks. */
static inline uint8_t *
s_put_int (uint8_t *p, int64_t v)
{
    if (v >= -32 && v < 128) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (v >= 0) {
        const uint64_t u = (uint64_t)v;
        return u < 256           ? s_put_be (p, 0xcc, u, 1)
               : u < 65536       ? s_put_be (p, 0xcd, u, 2)
               : u <= UINT32_MAX ? s_put_be (p, 0xce, u, 4)
                                 : s_put64 (p, 0xcf, u);
    }
    const uint64_t u = (uint64_t)v;
    return v >= -128        ? s_put_be (p, 0xd0, u, 1)
           : v >= -32768    ? s_put_be (p, 0xd1, u, 2)
           : v >= INT32_MIN ? s_put_be (p, 0xd2, u, 4)
                            : s_put64 (p, 0xd3, u);
}

/* [symbol, ts, open, high, low, close, volume], written as msgpack-c's
 * packer writes it (fixstr or str8, smallest int, float64): the bytes are
 * the same, without a callback per value. */
static uint8_t *
s_put_bar (uint8_t *p, const mdf_bar_t *bar)
{
    *p++ = 0x90 | S_BAR_FIELDS;
    const size_t n = s_symlen (bar);
    if (n < 32)
        *p++ = (uint8_t)(0xa0 | n);
    else {
        *p++ = 0xd9;
        *p++ = (uint8_t)n;
    }
    memcpy (p, bar->symbol, n);
    p = s_put_int (p + n, bar->ts);
    p = s_put_double (p, bar->open);
    p = s_put_double (p, bar->high);
    p = s_put_double (p, bar->low);
    p = s_put_double (p, bar->close);
    return s_put_double (p, bar->volume);
}

int
mdf_batch_encode (const mdf_batch_t *batch, mdf_buf_t *out)
{
    if (batch->nbars > UINT32_MAX || (batch->nbars > 0 && !batch->bars)
        || batch->nbars > (SIZE_MAX - 1024) / S_MAX_BAR_BYTES)
        return -1;
    /* the envelope through msgpack-c's packer, into a buffer that also has
     * room for the bars, so it is allocated once */
    size_t room = 0;
    for (size_t i = 0; i < batch->nbars; i++)
        room += s_bar_size (&batch->bars[i]);
    wire_enc_t enc;
    wire_enc_begin (&enc, batch->live ? 7 : 6, 512 + room);
    wire_enc_int_kv (&enc, "v", MDF_PROTO_VERSION);
    wire_enc_str_kv (&enc, "type", "bars", 4);
    wire_enc_str_kv (&enc, "producer_id", batch->producer_id, sizeof batch->producer_id);
    wire_enc_uint_kv (&enc, "batch_seq", batch->batch_seq);
    wire_enc_str_kv (&enc, "provider", batch->provider, sizeof batch->provider);
    if (batch->live) { /* only when set: a history batch's bytes are as before */
        wire_enc_key (&enc, "live");
        if (msgpack_pack_true (&enc.pk))
            enc.rc = -1;
    }
    wire_enc_key (&enc, "bars");
    if (msgpack_pack_array (&enc.pk, batch->nbars))
        enc.rc = -1;
    uint8_t *p = wire_enc_room (&enc, room);
    if (p) {
        for (size_t i = 0; i < batch->nbars; i++)
            p = s_put_bar (p, &batch->bars[i]);
        wire_enc_wrote (&enc, room);
    }
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
    if (!wire_utf8_valid (bar->symbol, n))
        return wire_fail (err, errlen, "bar %zu: symbol is not valid UTF-8", index);
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

/* ---- decoding ---- */

static const char *const s_price_names[] = { "open", "high", "low", "close", "volume" };

static mdf_decode_t s_malformed (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static mdf_decode_t
s_malformed (char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, errlen, fmt, ap);
        va_end (ap);
    }
    return MDF_DECODE_MALFORMED;
}

static inline uint64_t
s_load64 (const uint8_t *p)
{
    uint64_t u;
    memcpy (&u, p, sizeof u);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    u = __builtin_bswap64 (u);
#endif
    return u;
}

/* A number (open ... volume): float64 inline, anything else via wire_read.
 * 0, -1 not a number (o says what it is), -2 truncated. */
static inline int
s_read_number (const uint8_t **pp, const uint8_t *end, double *out, wire_obj_t *o)
{
    const uint8_t *p = *pp;
    if (end - p >= 9 && p[0] == 0xcb) {
        uint64_t u = s_load64 (p + 1);
        memcpy (out, &u, sizeof u);
        *pp = p + 9;
        return 0;
    }
    if (wire_read (pp, end, o))
        return -2;
    return wire_obj_double (o, out);
}

/* One bar at *pp, as [symbol, ts, open, high, low, close, volume].  The body
 * was walked already, so every read stays inside it; they are checked anyway. */
static mdf_decode_t
s_decode_bar (const uint8_t **pp, const uint8_t *end, size_t i, mdf_bar_t *bar, char *err,
              size_t errlen)
{
    const uint8_t *p = *pp;
    wire_obj_t o;
    if (p < end && *p == 0x97)
        p++;
    else {
        if (wire_read (&p, end, &o))
            return s_malformed (err, errlen, "bar %zu: truncated", i);
        if (o.type != WIRE_ARRAY)
            return s_malformed (err, errlen, "bar %zu: expected an array of 7 values, got %s", i,
                                wire_type_name (&o));
        if (o.n != 7)
            return s_malformed (err, errlen, "bar %zu: expected an array of 7 values, got %u", i,
                                (unsigned)o.n);
    }
    /* symbol: its type now, its rules after the other fields (first problem
     * wins: a malformed field beats a bad symbol) */
    const char *sym;
    size_t symlen;
    if (p < end && *p >= 0xa0 && *p <= 0xbf && (size_t)(end - p) > (size_t)(*p & 0x1f)) {
        symlen = *p & 0x1f;
        sym = (const char *)p + 1;
        p += 1 + symlen;
    } else {
        if (wire_read (&p, end, &o))
            return s_malformed (err, errlen, "bar %zu: truncated", i);
        if (o.type != WIRE_STR)
            return s_malformed (err, errlen, "bar %zu: symbol: expected string, got %s", i,
                                wire_type_name (&o));
        sym = o.via.ptr;
        symlen = o.n;
    }
    /* ts: int64 or uint64 (the encoder's choice for today's ns), else any int */
    if (end - p >= 9 && (*p == 0xd3 || (*p == 0xcf && p[1] < 0x80))) {
        bar->ts = (int64_t)s_load64 (p + 1);
        p += 9;
    } else {
        if (wire_read (&p, end, &o))
            return s_malformed (err, errlen, "bar %zu: truncated", i);
        int rc = wire_obj_int64 (&o, &bar->ts);
        if (rc == -1)
            return s_malformed (err, errlen, "bar %zu: ts: expected integer, got %s", i,
                                wire_type_name (&o));
        if (rc == -2)
            return s_malformed (err, errlen, "bar %zu: ts: integer out of range", i);
    }
    double *const dst[5] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (size_t k = 0; k < 5; k++) {
        int rc = s_read_number (&p, end, dst[k], &o);
        if (rc == -2)
            return s_malformed (err, errlen, "bar %zu: truncated", i);
        if (rc)
            return s_malformed (err, errlen, "bar %zu: %s: expected number, got %s", i,
                                s_price_names[k], wire_type_name (&o));
    }
    *pp = p;
    if (symlen == 0)
        return wire_fail (err, errlen, "bar %zu: empty symbol", i), MDF_DECODE_INVALID;
    if (symlen > MDF_SYMBOL_MAX)
        return wire_fail (err, errlen, "bar %zu: symbol longer than %d bytes (%zu)", i,
                          MDF_SYMBOL_MAX, symlen),
               MDF_DECODE_INVALID;
    /* copy and look for a NUL byte and non-ASCII bytes in one pass (symbols
     * are short; most are ASCII, which needs no UTF-8 check) */
    char nul = 1;
    unsigned char high = 0;
    for (size_t k = 0; k < symlen; k++) {
        bar->symbol[k] = sym[k];
        nul = (char)(nul && sym[k]);
        high |= (unsigned char)sym[k];
    }
    if (!nul)
        return wire_fail (err, errlen, "bar %zu: symbol contains a NUL byte", i),
               MDF_DECODE_INVALID;
    if ((high & 0x80) && !wire_utf8_valid (sym, symlen))
        return wire_fail (err, errlen, "bar %zu: symbol is not valid UTF-8", i), MDF_DECODE_INVALID;
    bar->symbol[symlen] = '\0';
    /* the rules of mdf_bar_validate, which words the error when one fails */
    const bool ok = bar->ts > 0 && isfinite (bar->open) && isfinite (bar->high)
                    && isfinite (bar->low) && isfinite (bar->close) && isfinite (bar->volume)
                    && bar->low <= bar->high && bar->volume >= 0;
    if (!ok && mdf_bar_validate (bar, i, err, errlen))
        return MDF_DECODE_INVALID;
    return MDF_DECODE_OK;
}

static mdf_decode_t
s_decode_bars (const wire_body_t *body, const uint8_t *end, mdf_batch_t *batch, size_t limit,
               char *err, size_t errlen)
{
    const wire_obj_t *o = wire_find (body, "bars");
    if (!o)
        return s_malformed (err, errlen, "key 'bars' missing");
    if (o->type != WIRE_ARRAY)
        return s_malformed (err, errlen, "key 'bars': expected array, got %s", wire_type_name (o));
    size_t n = o->n;
    if (n > limit)
        return s_malformed (err, errlen, "key 'bars': %zu bars, more than the limit of %zu", n,
                            limit);
    if (n == 0)
        return MDF_DECODE_OK;
    const uint8_t *p = (const uint8_t *)o->via.ptr;
    /* Fewer than S_MIN_BAR_BYTES per bar: some bar is bad for sure, so read
     * them into one scratch bar (for the error) and allocate nothing. */
    mdf_bar_t scratch;
    const bool fits = n <= (size_t)(end - p) / S_MIN_BAR_BYTES;
    if (fits) {
        batch->bars = calloc (n, sizeof *batch->bars);
        if (!batch->bars)
            return s_malformed (err, errlen, "out of memory for %zu bars", n);
        batch->nbars = n;
    }
    for (size_t i = 0; i < n; i++) {
        mdf_bar_t *bar = fits ? &batch->bars[i] : &scratch;
        mdf_decode_t rc = s_decode_bar (&p, end, i, bar, err, errlen);
        if (rc != MDF_DECODE_OK)
            return rc;
    }
    if (!fits) /* cannot happen: n valid bars take n * S_MIN_BAR_BYTES bytes */
        return s_malformed (err, errlen, "key 'bars': %zu bars in %zu bytes", n,
                            (size_t)(end - (const uint8_t *)o->via.ptr));
    return MDF_DECODE_OK;
}

enum { K_V, K_TYPE, K_PRODUCER_ID, K_BATCH_SEQ, K_PROVIDER, K_LIVE, K_BARS, K_COUNT };

static mdf_decode_t
s_decode (const wire_body_t *body, const uint8_t *end, mdf_batch_t *batch, size_t limit, char *err,
          size_t errlen)
{
    /* batch_seq first, so the store can answer even a bad batch; but a version
     * mismatch is the more useful error, so it is reported first. */
    char seq_err[MDF_ERROR_MAX];
    int seq_rc = wire_get_uint (body, "batch_seq", &batch->batch_seq, seq_err, sizeof seq_err);
    batch->has_batch_seq = seq_rc == 0;
    if (wire_check_version (body, err, errlen))
        return MDF_DECODE_MALFORMED;
    if (seq_rc)
        return s_malformed (err, errlen, "%s", seq_err);
    if (wire_check_type (body, "bars", err, errlen)
        || wire_get_str (body, "producer_id", batch->producer_id, MDF_ID_MAX, false, err, errlen)
        || wire_get_str (body, "provider", batch->provider, MDF_ID_MAX, false, err, errlen))
        return MDF_DECODE_MALFORMED;
    const wire_obj_t *live = wire_find_opt (body, "live");
    if (live && live->type != WIRE_BOOL)
        return s_malformed (err, errlen, "key 'live': not a boolean");
    batch->live = live && live->via.boolean;
    return s_decode_bars (body, end, batch, limit, err, errlen);
}

mdf_decode_t
mdf_batch_decode (const void *data, size_t size, mdf_batch_t *batch, size_t max_bars, char *err,
                  size_t errlen)
{
    mdf_batch_clear (batch);
    size_t limit = max_bars == 0 || max_bars > MDF_BATCH_MAX_BARS ? MDF_BATCH_MAX_BARS : max_bars;
    wire_key_t keys[K_COUNT] = {
        [K_V] = { .name = "v" },
        [K_TYPE] = { .name = "type" },
        [K_PRODUCER_ID] = { .name = "producer_id" },
        [K_BATCH_SEQ] = { .name = "batch_seq" },
        [K_PROVIDER] = { .name = "provider" },
        [K_LIVE] = { .name = "live" },
        [K_BARS] = { .name = "bars" },
    };
    wire_body_t body;
    mdf_decode_t rc;
    if (wire_body_open (&body, data, size, keys, K_COUNT, err, errlen)) {
        /* the keys the walk passed are set: batch_seq may be among them */
        const wire_obj_t *seq = wire_find (&body, "batch_seq");
        if (seq && seq->type == WIRE_UINT) {
            batch->batch_seq = seq->via.u64;
            batch->has_batch_seq = true;
        }
        rc = MDF_DECODE_MALFORMED;
    } else
        rc = s_decode (&body, (const uint8_t *)data + size, batch, limit, err, errlen);
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
