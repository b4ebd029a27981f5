/*
 * mp: build msgpack bodies by hand for the proto tests, including bodies the
 * encoders would never write (missing keys, wrong types, extra keys).
 */
#ifndef MDF_TEST_MP_H
#define MDF_TEST_MP_H

#include <msgpack.h>

#include "proto/proto.h"

typedef enum { MP_INT, MP_UINT, MP_DBL, MP_STR, MP_STRN, MP_NIL, MP_BOOL, MP_RAW } mp_kind_t;

/* One key/value: i for MP_INT, u for MP_UINT, d for MP_DBL, s for MP_STR,
 * s + n for MP_STRN (may hold NUL bytes) and MP_RAW (packed bytes). */
typedef struct {
    const char *key;
    mp_kind_t kind;
    int64_t i;
    uint64_t u;
    double d;
    const char *s;
    size_t n;
} mp_kv_t;

/* A map of kvs without the key `skip`, with `bad` given the value true, then
 * the `extra` pairs (may be NULL); skip/bad may be NULL. */
void mp_map (mdf_buf_t *out, const mp_kv_t *kvs, size_t n, const char *skip, const char *bad,
             const mp_kv_t *extra, size_t nextra);

/* Start / finish packing raw values (e.g. a bars array) into a buffer. */
void mp_begin (msgpack_sbuffer *sb, msgpack_packer *pk);
void mp_end (msgpack_sbuffer *sb, mdf_buf_t *out);
void mp_str (msgpack_packer *pk, const char *s, size_t n);

/* The default kvs of each message, for tests to tweak (static storage). */
size_t mp_feedback_kvs (mp_kv_t *kvs);
size_t mp_ack_kvs (mp_kv_t *kvs);
/* A bars request whose "bars" value is the packed array `bars`. */
size_t mp_batch_kvs (mp_kv_t *kvs, const mdf_buf_t *bars);

#endif
