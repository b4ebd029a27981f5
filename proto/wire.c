/*
 * wire: msgpack helpers private to proto/ (see wire.h for the design).
 *
 * Invariant of s_scan: `pending` counts the objects still to read; each needs
 * at least one byte, so pending <= size - pos at every step, which bounds
 * what msgpack-c may allocate afterwards.
 */
#include "proto/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
wire_fail (char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, errlen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

/* ---- the pre-scan ---- */

enum { S_NONE, S_LEN, S_ITEMS, S_PAIRS };

/* Decode one header byte: fixed payload length, or the size of a length field
 * and what it counts.  -1 for the reserved byte 0xc1. */
static int
s_header (uint8_t b, uint64_t *len, uint64_t *items, size_t *nb, int *kind, size_t *extra)
{
    *len = 0;
    *items = 0;
    *nb = 0;
    *kind = S_NONE;
    *extra = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f) {
        *items = 2u * (b & 0x0fu);
        return 0;
    }
    if (b <= 0x9f) {
        *items = b & 0x0fu;
        return 0;
    }
    if (b <= 0xbf) {
        *len = b & 0x1fu;
        return 0;
    }
    switch (b) {
    case 0xc4:
    case 0xd9:
        *nb = 1;
        *kind = S_LEN;
        return 0;
    case 0xc5:
    case 0xda:
        *nb = 2;
        *kind = S_LEN;
        return 0;
    case 0xc6:
    case 0xdb:
        *nb = 4;
        *kind = S_LEN;
        return 0;
    case 0xc7:
        *nb = 1;
        *kind = S_LEN;
        *extra = 1;
        return 0;
    case 0xc8:
        *nb = 2;
        *kind = S_LEN;
        *extra = 1;
        return 0;
    case 0xc9:
        *nb = 4;
        *kind = S_LEN;
        *extra = 1;
        return 0;
    case 0xca:
    case 0xce:
    case 0xd2:
        *len = 4;
        return 0;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        *len = 8;
        return 0;
    case 0xcc:
    case 0xd0:
        *len = 1;
        return 0;
    case 0xcd:
    case 0xd1:
        *len = 2;
        return 0;
    case 0xd4:
        *len = 2;
        return 0;
    case 0xd5:
        *len = 3;
        return 0;
    case 0xd6:
        *len = 5;
        return 0;
    case 0xd7:
        *len = 9;
        return 0;
    case 0xd8:
        *len = 17;
        return 0;
    case 0xdc:
        *nb = 2;
        *kind = S_ITEMS;
        return 0;
    case 0xdd:
        *nb = 4;
        *kind = S_ITEMS;
        return 0;
    case 0xde:
        *nb = 2;
        *kind = S_PAIRS;
        return 0;
    case 0xdf:
        *nb = 4;
        *kind = S_PAIRS;
        return 0;
    default:
        return -1; /* 0xc1 */
    }
}

static int
s_scan (const uint8_t *p, size_t size, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t pending = 1;
    if (size == 0)
        return wire_fail (err, errlen, "empty body");
    while (pending > 0) {
        if (pos >= size)
            return wire_fail (err, errlen, "truncated body (%zu bytes)", size);
        pending--;
        uint64_t len, items;
        size_t nb, extra;
        int kind;
        const size_t start = pos;
        uint8_t b = p[pos];
        if (s_header (b, &len, &items, &nb, &kind, &extra))
            return wire_fail (err, errlen, "not msgpack: byte 0x%02x at offset %zu", b, pos);
        pos++;
        if (nb > 0) {
            if (size - pos < nb)
                return wire_fail (err, errlen, "truncated body (%zu bytes)", size);
            uint64_t n = 0;
            for (size_t i = 0; i < nb; i++)
                n = (n << 8) | p[pos + i];
            pos += nb;
            if (kind == S_LEN)
                len = n + extra;
            else if (kind == S_ITEMS)
                items = n;
            else
                items = 2 * n;
        }
        if (len > size - pos)
            return wire_fail (err, errlen, "truncated body (%zu bytes)", size);
        pos += (size_t)len;
        pending += items;
        if (pending > size - pos)
            return wire_fail (err, errlen,
                              "truncated body (%zu bytes): a container at offset %zu "
                              "declares more elements than bytes left",
                              size, start);
    }
    if (pos != size)
        return wire_fail (err, errlen, "%zu trailing bytes after the body", size - pos);
    return 0;
}

/* ---- the body ---- */

int
wire_body_open (wire_body_t *body, const void *data, size_t size, char *err, size_t errlen)
{
    if (!data && size > 0)
        return wire_fail (err, errlen, "no body");
    if (s_scan (data, size, err, errlen))
        return -1;
    msgpack_unpacked_init (&body->unpacked);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&body->unpacked, data, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != size) {
        msgpack_unpacked_destroy (&body->unpacked);
        return wire_fail (err, errlen, "not msgpack (%s)",
                          rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory"
                                                           : "nested too deep or corrupt");
    }
    const msgpack_object *root = &body->unpacked.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        int r = wire_fail (err, errlen, "body is not a map (got %s)", wire_type_name (root));
        msgpack_unpacked_destroy (&body->unpacked);
        return r;
    }
    body->map = &root->via.map;
    for (uint32_t i = 0; i < body->map->size; i++) {
        const msgpack_object *k = &body->map->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            int r
                = wire_fail (err, errlen, "body map has a non-string key (%s)", wire_type_name (k));
            msgpack_unpacked_destroy (&body->unpacked);
            return r;
        }
    }
    return 0;
}

void
wire_body_close (wire_body_t *body)
{
    msgpack_unpacked_destroy (&body->unpacked);
    body->map = NULL;
}

const msgpack_object *
wire_find (const wire_body_t *body, const char *key)
{
    size_t klen = strlen (key);
    for (uint32_t i = 0; i < body->map->size; i++) {
        const msgpack_object_kv *kv = &body->map->ptr[i];
        if (kv->key.via.str.size == klen && memcmp (kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    }
    return NULL;
}

const msgpack_object *
wire_find_opt (const wire_body_t *body, const char *key)
{
    const msgpack_object *o = wire_find (body, key);
    return o && o->type == MSGPACK_OBJECT_NIL ? NULL : o;
}

const char *
wire_type_name (const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    default:
        return "extension";
    }
}

int
wire_obj_int64 (const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    if (o->via.u64 > (uint64_t)INT64_MAX)
        return -2;
    *out = (int64_t)o->via.u64;
    return 0;
}

int
wire_obj_double (const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return 0;
    default:
        return -1;
    }
}

/* ---- typed getters ---- */

static const msgpack_object *
s_required (const wire_body_t *body, const char *key, char *err, size_t errlen)
{
    const msgpack_object *o = wire_find (body, key);
    if (!o)
        wire_fail (err, errlen, "key '%s' missing", key);
    return o;
}

int
wire_get_int (const wire_body_t *body, const char *key, int64_t *out, char *err, size_t errlen)
{
    const msgpack_object *o = s_required (body, key, err, errlen);
    if (!o)
        return -1;
    int rc = wire_obj_int64 (o, out);
    if (rc == -1)
        return wire_fail (err, errlen, "key '%s': expected integer, got %s", key,
                          wire_type_name (o));
    if (rc == -2)
        return wire_fail (err, errlen, "key '%s': integer out of range", key);
    return 0;
}

int
wire_get_uint (const wire_body_t *body, const char *key, uint64_t *out, char *err, size_t errlen)
{
    const msgpack_object *o = s_required (body, key, err, errlen);
    if (!o)
        return -1;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return wire_fail (err, errlen, "key '%s': must not be negative (%lld)", key,
                          (long long)o->via.i64);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wire_fail (err, errlen, "key '%s': expected integer, got %s", key,
                          wire_type_name (o));
    *out = o->via.u64;
    return 0;
}

int
wire_get_double (const wire_body_t *body, const char *key, double *out, char *err, size_t errlen)
{
    const msgpack_object *o = s_required (body, key, err, errlen);
    if (!o)
        return -1;
    if (wire_obj_double (o, out))
        return wire_fail (err, errlen, "key '%s': expected number, got %s", key,
                          wire_type_name (o));
    return 0;
}

int
wire_obj_str (const msgpack_object *o, const char *key, char *out, size_t max, bool nil_ok,
              char *err, size_t errlen)
{
    if (nil_ok && o->type == MSGPACK_OBJECT_NIL) {
        out[0] = '\0';
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return wire_fail (err, errlen, "key '%s': expected string%s, got %s", key,
                          nil_ok ? " or nil" : "", wire_type_name (o));
    size_t n = o->via.str.size;
    if (n > max)
        return wire_fail (err, errlen, "key '%s': string too long (%zu > %zu bytes)", key, n, max);
    if (n > 0 && memchr (o->via.str.ptr, '\0', n))
        return wire_fail (err, errlen, "key '%s': string contains a NUL byte", key);
    if (n > 0)
        memcpy (out, o->via.str.ptr, n);
    out[n] = '\0';
    return 0;
}

int
wire_get_str (const wire_body_t *body, const char *key, char *out, size_t max, bool nil_ok,
              char *err, size_t errlen)
{
    const msgpack_object *o = s_required (body, key, err, errlen);
    return o ? wire_obj_str (o, key, out, max, nil_ok, err, errlen) : -1;
}

int
wire_obj_level (const msgpack_object *o, const char *key, mdf_level_t *out, char *err,
                size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return wire_fail (err, errlen, "key '%s': expected string, got %s", key,
                          wire_type_name (o));
    char text[16];
    size_t n = o->via.str.size;
    if (n < sizeof text && (n == 0 || !memchr (o->via.str.ptr, '\0', n))) {
        if (n > 0)
            memcpy (text, o->via.str.ptr, n);
        text[n] = '\0';
        if (mdf_level_parse (text, out) == 0)
            return 0;
    }
    char q[160];
    return wire_fail (err, errlen, "key '%s': unknown level '%s' (ok, soft, hard)", key,
                      wire_quote (o->via.str.ptr, n, q, sizeof q));
}

int
wire_get_level (const wire_body_t *body, const char *key, mdf_level_t *out, char *err,
                size_t errlen)
{
    const msgpack_object *o = s_required (body, key, err, errlen);
    return o ? wire_obj_level (o, key, out, err, errlen) : -1;
}

int
wire_check_version (const wire_body_t *body, char *err, size_t errlen)
{
    int64_t v;
    if (wire_get_int (body, "v", &v, err, errlen))
        return -1;
    if (v != MDF_PROTO_VERSION)
        return wire_fail (err, errlen, "key 'v': unsupported version %lld (this decoder speaks %d)",
                          (long long)v, MDF_PROTO_VERSION);
    return 0;
}

int
wire_check_type (const wire_body_t *body, const char *expected, char *err, size_t errlen)
{
    const msgpack_object *o = s_required (body, "type", err, errlen);
    if (!o)
        return -1;
    if (o->type != MSGPACK_OBJECT_STR)
        return wire_fail (err, errlen, "key 'type': expected string, got %s", wire_type_name (o));
    size_t n = strlen (expected);
    if (o->via.str.size == n && memcmp (o->via.str.ptr, expected, n) == 0)
        return 0;
    char q[160];
    return wire_fail (err, errlen, "key 'type': expected \"%s\", got \"%s\"", expected,
                      wire_quote (o->via.str.ptr, o->via.str.size, q, sizeof q));
}

/* ---- messages ---- */

const char *
wire_fmt_double (double d, char *buf, size_t size)
{
    snprintf (buf, size, "%.15g", d);
    if (isfinite (d) && strtod (buf, NULL) != d)
        snprintf (buf, size, "%.17g", d);
    return buf;
}

const char *
wire_quote (const char *p, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    const size_t shown = n > 32 ? 32 : n;
    for (size_t i = 0; i < shown && o + 5 < size; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf (buf + o, size - o, "\\x%02x", c);
    }
    if (shown < n && o + 4 < size) {
        memcpy (buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* ---- encoding ---- */

void
wire_enc_begin (wire_enc_t *enc, size_t nkeys)
{
    msgpack_sbuffer_init (&enc->sbuf);
    msgpack_packer_init (&enc->pk, &enc->sbuf, msgpack_sbuffer_write);
    enc->rc = msgpack_pack_map (&enc->pk, nkeys) ? -1 : 0;
}

void
wire_enc_strn (wire_enc_t *enc, const char *s, size_t maxlen)
{
    size_t n = strnlen (s, maxlen);
    if (msgpack_pack_str (&enc->pk, n) || msgpack_pack_str_body (&enc->pk, s, n))
        enc->rc = -1;
}

void
wire_enc_key (wire_enc_t *enc, const char *key)
{
    wire_enc_strn (enc, key, strlen (key));
}

void
wire_enc_str_kv (wire_enc_t *enc, const char *key, const char *s, size_t maxlen)
{
    wire_enc_key (enc, key);
    wire_enc_strn (enc, s, maxlen);
}

void
wire_enc_int_kv (wire_enc_t *enc, const char *key, int64_t v)
{
    wire_enc_key (enc, key);
    if (msgpack_pack_int64 (&enc->pk, v))
        enc->rc = -1;
}

void
wire_enc_uint_kv (wire_enc_t *enc, const char *key, uint64_t v)
{
    wire_enc_key (enc, key);
    if (msgpack_pack_uint64 (&enc->pk, v))
        enc->rc = -1;
}

void
wire_enc_double_kv (wire_enc_t *enc, const char *key, double v)
{
    wire_enc_key (enc, key);
    if (msgpack_pack_double (&enc->pk, v))
        enc->rc = -1;
}

int
wire_enc_finish (wire_enc_t *enc, mdf_buf_t *out)
{
    if (enc->rc) {
        msgpack_sbuffer_destroy (&enc->sbuf);
        return -1;
    }
    mdf_buf_free (out);
    out->size = enc->sbuf.size;
    out->data = msgpack_sbuffer_release (&enc->sbuf);
    return 0;
}
