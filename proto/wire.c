/*
 * wire: the msgpack decoding helpers private to proto/ (see wire.h for the
 * design): the walk, the body's keys, typed getters and messages; the encoder
 * is wire_enc.c.
 *
 * The walk (s_skip) keeps `pending`, the objects still to read in the whole
 * body; each needs at least one byte, so pending <= bytes left at every step
 * or the body is refused.  That bound is what makes a hostile header harmless:
 * nothing here allocates, and a decoder that sizes an allocation by a count the
 * walk accepted is bounded by the body's size (batch.c).
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

/* ---- reading one value ---- */

static inline uint64_t
s_be (const uint8_t *p, size_t nb)
{
    uint64_t n = 0;
    for (size_t i = 0; i < nb; i++)
        n = (n << 8) | p[i];
    return n;
}

/* What a header byte announces.  H_FIXED: n payload bytes follow (nb 0).
 * H_LEN: an nb-byte length follows, then that many payload bytes plus
 * `extra` (the ext type byte).  H_ITEMS / H_PAIRS: an array / map of n
 * elements / pairs, or of an nb-byte count when nb > 0. */
enum { H_FIXED, H_LEN, H_ITEMS, H_PAIRS };
typedef struct {
    uint8_t kind, nb, extra;
    uint32_t n;
} s_head_t;

/* The size of a plain scalar (nil, boolean, fixint, fixstr, float64, [u]int64)
 * from its first byte, header included; 0 for anything else. */
#define S_SC(b)                                                                                    \
    ((b) <= 0x7f || (b) >= 0xe0 || (b) == 0xc0 || (b) == 0xc2 || (b) == 0xc3 ? 1                   \
     : (b) >= 0xa0 && (b) <= 0xbf                                            ? 1 + ((b)&0x1f)      \
     : (b) == 0xcb || (b) == 0xcf || (b) == 0xd3                             ? 9                   \
                                                                             : 0)
#define S_SC4(b) S_SC (b), S_SC ((b) + 1), S_SC ((b) + 2), S_SC ((b) + 3)
#define S_SC16(b) S_SC4 (b), S_SC4 ((b) + 4), S_SC4 ((b) + 8), S_SC4 ((b) + 12)
static const uint8_t s_scalar_size[256]
    = { S_SC16 (0x00), S_SC16 (0x10), S_SC16 (0x20), S_SC16 (0x30), S_SC16 (0x40), S_SC16 (0x50),
        S_SC16 (0x60), S_SC16 (0x70), S_SC16 (0x80), S_SC16 (0x90), S_SC16 (0xa0), S_SC16 (0xb0),
        S_SC16 (0xc0), S_SC16 (0xd0), S_SC16 (0xe0), S_SC16 (0xf0) };

/* Past the n plain scalars at p, or NULL if something else or a truncation
 * comes first. */
static inline const uint8_t *
s_scalars (const uint8_t *p, const uint8_t *end, uint64_t n)
{
    for (; n > 0; n--) {
        if (p >= end)
            return NULL;
        const size_t size = s_scalar_size[*p];
        if (size == 0 || size > (size_t)(end - p))
            return NULL;
        p += size;
    }
    return p;
}

/* -1 for the reserved byte 0xc1. */
static inline int
s_head (uint8_t b, s_head_t *h)
{
    h->kind = H_FIXED;
    h->nb = 0;
    h->extra = 0;
    h->n = 0;
    if (b <= 0x7f || b >= 0xe0)
        return 0;
    if (b <= 0x8f) {
        h->kind = H_PAIRS;
        h->n = b & 0x0fu;
        return 0;
    }
    if (b <= 0x9f) {
        h->kind = H_ITEMS;
        h->n = b & 0x0fu;
        return 0;
    }
    if (b <= 0xbf) {
        h->n = b & 0x1fu;
        return 0;
    }
    switch (b) {
    case 0xc0: /* nil, false, true */
    case 0xc2:
    case 0xc3:
        return 0;
    case 0xc4: /* bin, str 8/16/32 */
    case 0xd9:
        h->kind = H_LEN;
        h->nb = 1;
        return 0;
    case 0xc5:
    case 0xda:
        h->kind = H_LEN;
        h->nb = 2;
        return 0;
    case 0xc6:
    case 0xdb:
        h->kind = H_LEN;
        h->nb = 4;
        return 0;
    case 0xc7: /* ext 8/16/32: the type byte follows the length */
    case 0xc8:
    case 0xc9:
        h->kind = H_LEN;
        h->nb = (uint8_t)(b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4);
        h->extra = 1;
        return 0;
    case 0xca: /* float 32, uint 32, int 32 */
    case 0xce:
    case 0xd2:
        h->n = 4;
        return 0;
    case 0xcb: /* float 64, uint 64, int 64 */
    case 0xcf:
    case 0xd3:
        h->n = 8;
        return 0;
    case 0xcc:
    case 0xd0:
        h->n = 1;
        return 0;
    case 0xcd:
    case 0xd1:
        h->n = 2;
        return 0;
    case 0xd4: /* fixext 1, 2, 4, 8, 16 (with the type byte) */
        h->n = 2;
        return 0;
    case 0xd5:
        h->n = 3;
        return 0;
    case 0xd6:
        h->n = 5;
        return 0;
    case 0xd7:
        h->n = 9;
        return 0;
    case 0xd8:
        h->n = 17;
        return 0;
    case 0xdc:
        h->kind = H_ITEMS;
        h->nb = 2;
        return 0;
    case 0xdd:
        h->kind = H_ITEMS;
        h->nb = 4;
        return 0;
    case 0xde:
        h->kind = H_PAIRS;
        h->nb = 2;
        return 0;
    case 0xdf:
        h->kind = H_PAIRS;
        h->nb = 4;
        return 0;
    default:
        return -1; /* 0xc1 */
    }
}

/* An nb-byte two's complement value, sign-extended (as msgpack-c loads it). */
static inline int64_t
s_signed (uint64_t u, size_t nb)
{
    switch (nb) {
    case 1:
        return (int8_t)u;
    case 2:
        return (int16_t)u;
    case 4:
        return (int32_t)u;
    default:
        return (int64_t)u;
    }
}

int
wire_read (const uint8_t **pp, const uint8_t *end, wire_obj_t *o)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return -1;
    const uint8_t b = *p++;
    s_head_t h;
    if (s_head (b, &h))
        return -1;
    uint64_t n = h.n;
    if (h.nb > 0) {
        if ((size_t)(end - p) < h.nb)
            return -1;
        n = s_be (p, h.nb);
        p += h.nb;
    }
    if (h.kind == H_ITEMS || h.kind == H_PAIRS) {
        o->type = h.kind == H_ITEMS ? WIRE_ARRAY : WIRE_MAP;
        o->n = (uint32_t)n;
        o->via.ptr = (const char *)p;
        *pp = p;
        return 0;
    }
    const uint64_t len = h.kind == H_LEN ? n + h.extra : n;
    if (len > (uint64_t)(end - p))
        return -1;
    if (b <= 0x7f) {
        o->type = WIRE_UINT;
        o->via.u64 = b;
    } else if (b >= 0xe0) {
        o->type = WIRE_NEG;
        o->via.i64 = (int8_t)b;
    } else if (b >= 0xa0 && b <= 0xbf) {
        o->type = WIRE_STR;
        o->n = (uint32_t)len;
        o->via.ptr = (const char *)p;
    } else
        switch (b) {
        case 0xc0:
            o->type = WIRE_NIL;
            break;
        case 0xc2:
        case 0xc3:
            o->type = WIRE_BOOL;
            o->via.boolean = b == 0xc3;
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
        case 0xd9:
        case 0xda:
        case 0xdb:
            o->type = b >= 0xd9 ? WIRE_STR : WIRE_BIN;
            o->n = (uint32_t)len;
            o->via.ptr = (const char *)p;
            break;
        case 0xca: {
            uint32_t u = (uint32_t)s_be (p, 4);
            float f;
            memcpy (&f, &u, sizeof f);
            o->type = WIRE_FLOAT32;
            o->via.f64 = f;
            break;
        }
        case 0xcb: {
            uint64_t u = s_be (p, 8);
            o->type = WIRE_FLOAT64;
            memcpy (&o->via.f64, &u, sizeof u);
            break;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            o->type = WIRE_UINT;
            o->via.u64 = s_be (p, (size_t)len);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            int64_t i = s_signed (s_be (p, (size_t)len), (size_t)len);
            o->type = i >= 0 ? WIRE_UINT : WIRE_NEG;
            if (i >= 0)
                o->via.u64 = (uint64_t)i;
            else
                o->via.i64 = i;
            break;
        }
        default: /* ext: the type byte, then the data */
            o->type = WIRE_EXT;
            o->n = (uint32_t)(len - 1);
            o->via.ptr = (const char *)p + 1;
            break;
        }
    *pp = p + len;
    return 0;
}

/* ---- the walk ---- */

typedef struct {
    const uint8_t *base, *end;
    char *err;
    size_t errlen;
    bool deep;      /* a container nested deeper than WIRE_MAX_DEPTH was seen */
    size_t deep_at; /* the first one's offset */
} s_walk_t;

static int
s_truncated (s_walk_t *w)
{
    return wire_fail (w->err, w->errlen, "truncated body (%zu bytes)", (size_t)(w->end - w->base));
}

/* Walk the one complete object at *pp and move *pp past it.  `depth`
 * non-empty containers are open around it (msgpack-c's count, which it refuses
 * to take past WIRE_MAX_DEPTH) and `outer` objects are due after it in them.
 * A structural problem is -1 with the error; nesting too deep is only noted
 * in w (the rest of the body is still checked: a truncation or trailing bytes
 * is the error reported then). */
static int
s_skip (s_walk_t *w, const uint8_t **pp, unsigned depth, uint64_t outer)
{
    const uint8_t *p = *pp;
    const uint8_t *const end = w->end;
    uint64_t left[WIRE_MAX_DEPTH]; /* elements still due in each open container */
    unsigned top = depth;
    bool deep = false; /* past the limit: count `pending` only */
    uint64_t pending = 1;
    while (pending > 0) {
        if (p >= end)
            return s_truncated (w);
        pending--;
        const uint8_t *start = p;
        const uint8_t b = *p++;
        uint64_t items = 0;
        bool container = false;
        /* fast paths first: what bars are made of */
        const size_t scalar = s_scalar_size[b];
        if (scalar > 0) {
            if (scalar > (size_t)(end - start))
                return s_truncated (w);
            p = start + scalar;
        } else if (b >= 0x90 && b <= 0x9f) { /* fixarray */
            container = true;
            items = b & 0x0fu;
            const uint8_t *q = s_scalars (p, end, items);
            /* An array of plain scalars (a bar) in one go.  Each element takes
             * a byte at least, so bytes left minus objects due only shrinks
             * along the array: the check after its last element is the one
             * that could fail first.  Anything else: the loop below. */
            if (q && !deep && top < WIRE_MAX_DEPTH && outer + pending <= (uint64_t)(end - q)) {
                p = q;
                container = false;
                items = 0;
            }
        } else {
            s_head_t h;
            if (s_head (b, &h))
                return wire_fail (w->err, w->errlen, "not msgpack: byte 0x%02x at offset %zu", b,
                                  (size_t)(start - w->base));
            uint64_t n = h.n;
            if (h.nb > 0) {
                if ((size_t)(end - p) < h.nb)
                    return s_truncated (w);
                n = s_be (p, h.nb);
                p += h.nb;
            }
            container = h.kind == H_ITEMS || h.kind == H_PAIRS;
            if (container)
                items = h.kind == H_PAIRS ? 2 * n : n;
            else {
                const uint64_t len = h.kind == H_LEN ? n + h.extra : n;
                if (len > (uint64_t)(end - p))
                    return s_truncated (w);
                p += len;
            }
        }
        pending += items;
        if (outer + pending > (uint64_t)(end - p))
            return wire_fail (w->err, w->errlen,
                              "truncated body (%zu bytes): a container at offset %zu "
                              "declares more elements than bytes left",
                              (size_t)(end - w->base), (size_t)(start - w->base));
        if (deep)
            continue;
        if (container) {
            if (top >= WIRE_MAX_DEPTH) {
                deep = true;
                if (!w->deep) {
                    w->deep = true;
                    w->deep_at = (size_t)(start - w->base);
                }
                continue;
            }
            if (items > 0) {
                left[top++] = items;
                continue;
            }
        }
        /* the object is complete, and so is each container it completes */
        while (top > depth && --left[top - 1] == 0)
            top--;
    }
    *pp = p;
    return 0;
}

static bool
s_is_map (uint8_t b)
{
    return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

static int
s_deep (s_walk_t *w)
{
    return wire_fail (w->err, w->errlen, "containers nested more than %d deep (offset %zu)",
                      WIRE_MAX_DEPTH, w->deep_at);
}

/* ---- the body ---- */

/* Walk the `items` keys and values of the top-level map at *pp, noting the
 * first occurrence of each wanted key.  Strict: s_skip's bound counts every
 * object still due in the map.  Lenient (after a strict walk failed, to find
 * the keys that are still readable): each value on its own, so the walk gets
 * as far as the bytes are whole.  0, or -1 at the first value that is not. */
static int
s_pairs (s_walk_t *w, const uint8_t **pp, uint64_t items, wire_key_t *keys, size_t nkeys,
         bool strict, const char **nonstr)
{
    for (uint64_t i = 0; i < items; i += 2) {
        const uint8_t *kp = *pp;
        if (s_skip (w, pp, 1, strict ? items - i - 1 : 0))
            return -1;
        wire_obj_t k;
        wire_read (&kp, w->end, &k); /* cannot fail: s_skip read it */
        wire_key_t *want = NULL;
        if (k.type != WIRE_STR) {
            if (!*nonstr)
                *nonstr = wire_type_name (&k);
        } else
            for (size_t j = 0; j < nkeys; j++) {
                if (strlen (keys[j].name) == k.n && memcmp (keys[j].name, k.via.ptr, k.n) == 0) {
                    want = keys[j].found ? NULL : &keys[j]; /* the first occurrence wins */
                    break;
                }
            }
        if (want) {
            const uint8_t *vp = *pp;
            want->found = wire_read (&vp, w->end, &want->val) == 0;
        }
        if (s_skip (w, pp, 1, strict ? items - i - 2 : 0))
            return -1;
    }
    return 0;
}

/* The strict walk of a body whose first byte is a map header. */
static int
s_map_body (s_walk_t *w, wire_key_t *keys, size_t nkeys)
{
    const uint8_t *p = w->base;
    const size_t size = (size_t)(w->end - w->base);
    wire_obj_t root;
    if (wire_read (&p, w->end, &root))
        return s_truncated (w);
    const uint64_t items = 2 * (uint64_t)root.n;
    if (items > (uint64_t)(w->end - p))
        return wire_fail (w->err, w->errlen,
                          "truncated body (%zu bytes): a container at offset 0 "
                          "declares more elements than bytes left",
                          size);
    const char *nonstr = NULL; /* the type of the first non-string key */
    if (s_pairs (w, &p, items, keys, nkeys, true, &nonstr))
        return -1;
    if (p != w->end)
        return wire_fail (w->err, w->errlen, "%zu trailing bytes after the body",
                          (size_t)(w->end - p));
    if (w->deep)
        return s_deep (w);
    if (nonstr)
        return wire_fail (w->err, w->errlen, "body map has a non-string key (%s)", nonstr);
    return 0;
}

int
wire_body_open (wire_body_t *body, const void *data, size_t size, wire_key_t *keys, size_t nkeys,
                char *err, size_t errlen)
{
    body->keys = keys;
    body->nkeys = nkeys;
    for (size_t i = 0; i < nkeys; i++)
        keys[i].found = false;
    if (!data && size > 0)
        return wire_fail (err, errlen, "no body");
    if (size == 0)
        return wire_fail (err, errlen, "empty body");
    s_walk_t w
        = { .base = data, .end = (const uint8_t *)data + size, .err = err, .errlen = errlen };
    const uint8_t *p = data;
    if (!s_is_map (*p)) {
        if (s_skip (&w, &p, 0, 0))
            return -1;
        if (p != w.end)
            return wire_fail (err, errlen, "%zu trailing bytes after the body",
                              (size_t)(w.end - p));
        if (w.deep)
            return s_deep (&w);
        wire_obj_t root;
        p = data;
        if (wire_read (&p, w.end, &root))
            return s_truncated (&w); /* cannot happen: s_skip read it */
        return wire_fail (err, errlen, "body is not a map (got %s)", wire_type_name (&root));
    }
    if (s_map_body (&w, keys, nkeys) == 0)
        return 0;
    /* Refused.  Walk it again, leniently and without a word, for the keys
     * whose pairs are whole before the place it breaks. */
    s_walk_t again = { .base = w.base, .end = w.end };
    wire_obj_t root;
    const char *nonstr = NULL;
    for (size_t i = 0; i < nkeys; i++)
        keys[i].found = false;
    if (wire_read (&p, again.end, &root) == 0)
        s_pairs (&again, &p, 2 * (uint64_t)root.n, keys, nkeys, false, &nonstr);
    return -1;
}

const wire_obj_t *
wire_find (const wire_body_t *body, const char *key)
{
    /* only keys given to wire_body_open can be found */
    for (size_t i = 0; i < body->nkeys; i++)
        if (strcmp (body->keys[i].name, key) == 0)
            return body->keys[i].found ? &body->keys[i].val : NULL;
    return NULL;
}

const wire_obj_t *
wire_find_opt (const wire_body_t *body, const char *key)
{
    const wire_obj_t *o = wire_find (body, key);
    return o && o->type == WIRE_NIL ? NULL : o;
}

const char *
wire_type_name (const wire_obj_t *o)
{
    switch (o->type) {
    case WIRE_NIL:
        return "nil";
    case WIRE_BOOL:
        return "boolean";
    case WIRE_UINT:
    case WIRE_NEG:
        return "integer";
    case WIRE_FLOAT32:
    case WIRE_FLOAT64:
        return "float";
    case WIRE_STR:
        return "string";
    case WIRE_BIN:
        return "binary";
    case WIRE_ARRAY:
        return "array";
    case WIRE_MAP:
        return "map";
    default:
        return "extension";
    }
}

int
wire_obj_int64 (const wire_obj_t *o, int64_t *out)
{
    if (o->type == WIRE_NEG) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type != WIRE_UINT)
        return -1;
    if (o->via.u64 > (uint64_t)INT64_MAX)
        return -2;
    *out = (int64_t)o->via.u64;
    return 0;
}

int
wire_obj_double (const wire_obj_t *o, double *out)
{
    switch (o->type) {
    case WIRE_FLOAT32:
    case WIRE_FLOAT64:
        *out = o->via.f64;
        return 0;
    case WIRE_UINT:
        *out = (double)o->via.u64;
        return 0;
    case WIRE_NEG:
        *out = (double)o->via.i64;
        return 0;
    default:
        return -1;
    }
}

/* ---- typed getters ---- */

static const wire_obj_t *
s_required (const wire_body_t *body, const char *key, char *err, size_t errlen)
{
    const wire_obj_t *o = wire_find (body, key);
    if (!o)
        wire_fail (err, errlen, "key '%s' missing", key);
    return o;
}

int
wire_get_int (const wire_body_t *body, const char *key, int64_t *out, char *err, size_t errlen)
{
    const wire_obj_t *o = s_required (body, key, err, errlen);
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
    const wire_obj_t *o = s_required (body, key, err, errlen);
    if (!o)
        return -1;
    if (o->type == WIRE_NEG)
        return wire_fail (err, errlen, "key '%s': must not be negative (%lld)", key,
                          (long long)o->via.i64);
    if (o->type != WIRE_UINT)
        return wire_fail (err, errlen, "key '%s': expected integer, got %s", key,
                          wire_type_name (o));
    *out = o->via.u64;
    return 0;
}

int
wire_get_double (const wire_body_t *body, const char *key, double *out, char *err, size_t errlen)
{
    const wire_obj_t *o = s_required (body, key, err, errlen);
    if (!o)
        return -1;
    if (wire_obj_double (o, out))
        return wire_fail (err, errlen, "key '%s': expected number, got %s", key,
                          wire_type_name (o));
    return 0;
}

bool
wire_utf8_valid (const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t len;
        unsigned min, cp;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, min = 0x80, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, min = 0x800, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, min = 0x10000, cp = c & 0x07;
        else
            return false; /* a continuation byte first, 0xc0/0xc1, 0xf5.. */
        if ((size_t)(end - p) < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false; /* overlong, beyond Unicode, a surrogate */
        p += len;
    }
    return true;
}

int
wire_obj_str (const wire_obj_t *o, const char *key, char *out, size_t max, bool nil_ok, char *err,
              size_t errlen)
{
    if (nil_ok && o->type == WIRE_NIL) {
        out[0] = '\0';
        return 0;
    }
    if (o->type != WIRE_STR)
        return wire_fail (err, errlen, "key '%s': expected string%s, got %s", key,
                          nil_ok ? " or nil" : "", wire_type_name (o));
    size_t n = o->n;
    if (n > max)
        return wire_fail (err, errlen, "key '%s': string too long (%zu > %zu bytes)", key, n, max);
    if (n > 0 && memchr (o->via.ptr, '\0', n))
        return wire_fail (err, errlen, "key '%s': string contains a NUL byte", key);
    if (!wire_utf8_valid (o->via.ptr, n))
        return wire_fail (err, errlen, "key '%s': string is not valid UTF-8", key);
    if (n > 0)
        memcpy (out, o->via.ptr, n);
    out[n] = '\0';
    return 0;
}

int
wire_get_str (const wire_body_t *body, const char *key, char *out, size_t max, bool nil_ok,
              char *err, size_t errlen)
{
    const wire_obj_t *o = s_required (body, key, err, errlen);
    return o ? wire_obj_str (o, key, out, max, nil_ok, err, errlen) : -1;
}

int
wire_obj_level (const wire_obj_t *o, const char *key, mdf_level_t *out, char *err, size_t errlen)
{
    if (o->type != WIRE_STR)
        return wire_fail (err, errlen, "key '%s': expected string, got %s", key,
                          wire_type_name (o));
    char text[16];
    size_t n = o->n;
    if (n < sizeof text && (n == 0 || !memchr (o->via.ptr, '\0', n))) {
        if (n > 0)
            memcpy (text, o->via.ptr, n);
        text[n] = '\0';
        if (mdf_level_parse (text, out) == 0)
            return 0;
    }
    char q[160];
    return wire_fail (err, errlen, "key '%s': unknown level '%s' (ok, soft, hard)", key,
                      wire_quote (o->via.ptr, n, q, sizeof q));
}

int
wire_get_level (const wire_body_t *body, const char *key, mdf_level_t *out, char *err,
                size_t errlen)
{
    const wire_obj_t *o = s_required (body, key, err, errlen);
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
    const wire_obj_t *o = s_required (body, "type", err, errlen);
    if (!o)
        return -1;
    if (o->type != WIRE_STR)
        return wire_fail (err, errlen, "key 'type': expected string, got %s", wire_type_name (o));
    size_t n = strlen (expected);
    if (o->n == n && memcmp (o->via.ptr, expected, n) == 0)
        return 0;
    char q[160];
    return wire_fail (err, errlen, "key 'type': expected \"%s\", got \"%s\"", expected,
                      wire_quote (o->via.ptr, o->n, q, sizeof q));
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
