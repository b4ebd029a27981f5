/*
 * wire: private msgpack helpers shared by feedback.c and batch.c.  Not part of
 * the public API: nothing outside proto/ includes this header, so nothing
 * outside proto/ sees msgpack.
 *
 * Decoding happens in two steps:
 *
 *  1. wire_body_open scans the raw bytes with a tiny allocation-free walker
 *     before msgpack-c sees them.  It proves the input is exactly one msgpack
 *     object (no truncation, no trailing bytes, no reserved byte 0xc1) and that
 *     every array/map header declares no more elements than there are bytes left
 *     (each element takes at least one byte).  That bound matters: msgpack-c
 *     allocates `n * sizeof(msgpack_object)` as soon as it reads an array header,
 *     so a 5-byte body `dd ff ff ff ff` would otherwise ask for ~100 GB.  After
 *     the scan, msgpack-c's total allocation is at most ~24 bytes per input byte.
 *  2. msgpack_unpack_next builds the object tree, which must be a map.  The
 *     typed getters below look keys up (first occurrence wins, non-string keys
 *     are rejected by wire_body_open), check types and bounds, and write error
 *     messages that name the key: "key 'seq' missing",
 *     "key 'level': expected string, got integer".
 *
 * Encoding writes a map with a fixed key order through msgpack_sbuffer, so the
 * same struct always gives the same bytes.
 */
#ifndef MDF_WIRE_H
#define MDF_WIRE_H

#include <msgpack.h>
#include <stdarg.h>

#include "proto/proto.h"

/* ---- decoding ---- */

typedef struct {
    msgpack_unpacked unpacked;
    const msgpack_object_map *map; /* the body's top-level map */
} wire_body_t;

/* Scan, unpack and check that data is one msgpack map with string keys.
 * 0, or -1 with err (nothing to close then). */
int wire_body_open (wire_body_t *body, const void *data, size_t size, char *err, size_t errlen);
void wire_body_close (wire_body_t *body);

/* The value of `key`, or NULL if absent.  With wire_find_opt a nil value counts
 * as absent too. */
const msgpack_object *wire_find (const wire_body_t *body, const char *key);
const msgpack_object *wire_find_opt (const wire_body_t *body, const char *key);

/* Required keys; each returns 0, or -1 with err naming the key. */
int wire_get_int (const wire_body_t *body, const char *key, int64_t *out, char *err, size_t errlen);
int wire_get_uint (const wire_body_t *body, const char *key, uint64_t *out, char *err,
                   size_t errlen);
int wire_get_double (const wire_body_t *body, const char *key, double *out, char *err,
                     size_t errlen);
/* Copy a string of at most `max` bytes (no NUL bytes inside) into out[max + 1].
 * With nil_ok, nil gives "". */
int wire_get_str (const wire_body_t *body, const char *key, char *out, size_t max, bool nil_ok,
                  char *err, size_t errlen);
/* Same, for a value already found. */
int wire_obj_str (const msgpack_object *o, const char *key, char *out, size_t max, bool nil_ok,
                  char *err, size_t errlen);
/* A level string ("ok", "soft", "hard"). */
int wire_obj_level (const msgpack_object *o, const char *key, mdf_level_t *out, char *err,
                    size_t errlen);
int wire_get_level (const wire_body_t *body, const char *key, mdf_level_t *out, char *err,
                    size_t errlen);
/* `v` must be MDF_PROTO_VERSION. */
int wire_check_version (const wire_body_t *body, char *err, size_t errlen);
/* `type` must be the string `expected`. */
int wire_check_type (const wire_body_t *body, const char *expected, char *err, size_t errlen);

/* Value conversions: 0, or -1 wrong type, -2 out of range. */
int wire_obj_int64 (const msgpack_object *o, int64_t *out);
int wire_obj_double (const msgpack_object *o, double *out);
/* "integer", "string", "map" ... for error messages. */
const char *wire_type_name (const msgpack_object *o);

/* ---- messages ---- */

/* printf into err (if any) and return -1. */
int wire_fail (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Shortest text that reads back as d ("10.5", "nan"); buf of 32 bytes. */
const char *wire_fmt_double (double d, char *buf, size_t size);
/* A printable, bounded copy of untrusted bytes for an error message. */
const char *wire_quote (const char *p, size_t n, char *buf, size_t size);

/* ---- encoding ---- */

typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    int rc; /* sticky: -1 once any write failed */
} wire_enc_t;

/* Start a map of `nkeys` pairs. */
void wire_enc_begin (wire_enc_t *enc, size_t nkeys);
void wire_enc_key (wire_enc_t *enc, const char *key);
void wire_enc_strn (wire_enc_t *enc, const char *s, size_t maxlen);
void wire_enc_str_kv (wire_enc_t *enc, const char *key, const char *s, size_t maxlen);
void wire_enc_int_kv (wire_enc_t *enc, const char *key, int64_t v);
void wire_enc_uint_kv (wire_enc_t *enc, const char *key, uint64_t v);
void wire_enc_double_kv (wire_enc_t *enc, const char *key, double v);
/* Move the bytes into out (freeing what out held).  0 or -1. */
int wire_enc_finish (wire_enc_t *enc, mdf_buf_t *out);

#endif
