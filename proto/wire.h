/*
 * wire: private msgpack helpers shared by feedback.c, batch.c and ack.c.  Not
 * part of the public API: nothing outside proto/ includes this header, so
 * nothing outside proto/ sees msgpack.
 *
 * Decoding reads the msgpack bytes in place, with no allocation at all:
 *
 *  1. wire_body_open walks the whole body once and proves it is exactly one
 *     msgpack object: no truncation, no trailing bytes, no reserved byte 0xc1,
 *     no array/map header declaring more elements than there are bytes left
 *     (each element takes at least one byte), containers nested at most
 *     WIRE_MAX_DEPTH deep (the top-level map counts as 1), a top-level map with
 *     string keys.  On the way it notes, for each key the caller asked for,
 *     where the value of its first occurrence starts (wire_key_t), so no key is
 *     looked up twice and nothing is copied.
 *  2. The typed getters below check the type and bounds of those values and
 *     write error messages that name the key: "key 'seq' missing",
 *     "key 'level': expected string, got integer".  Arrays (the bars) are read
 *     element by element with wire_read over the bytes the walk validated.
 *
 * When the walk refuses a map, wire_body_open walks it again leniently (each
 * value on its own, nesting unlimited) and sets the keys whose pairs are whole
 * before the place the body breaks, so a caller can still read e.g. batch_seq
 * from a body with trailing bytes, a truncation or too deep a value, and
 * answer it.
 *
 * Values keep msgpack-c's object model (an integer >= 0 is "positive" whatever
 * its encoding, a float32 widens to double) and its nesting limit
 * (MSGPACK_EMBED_STACK_SIZE, 32), so a body means here what it means to
 * msgpack_unpack_next.
 *
 * Encoding writes a map with a fixed key order through msgpack-c's packer into
 * one buffer, so the same struct always gives the same bytes; batch.c writes
 * the bars' bytes itself (wire_enc_room), the very bytes the packer would.
 */
#ifndef MDF_WIRE_H
#define MDF_WIRE_H

#include <msgpack.h>
#include <stdarg.h>

#include "proto/proto.h"

/* ---- decoding ---- */

/* Containers may nest this deep (msgpack-c's unpacker refuses deeper). */
#define WIRE_MAX_DEPTH 32

typedef enum {
    WIRE_NIL,
    WIRE_BOOL,
    WIRE_UINT, /* any integer >= 0: via.u64 */
    WIRE_NEG,  /* any integer < 0: via.i64 */
    WIRE_FLOAT32,
    WIRE_FLOAT64, /* both: via.f64 */
    WIRE_STR,
    WIRE_BIN,
    WIRE_EXT, /* the three: n bytes at via.ptr (ext: the type byte excluded) */
    WIRE_ARRAY,
    WIRE_MAP, /* n elements (pairs for a map) starting at via.ptr */
} wire_type_t;

typedef struct {
    wire_type_t type;
    uint32_t n;
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
        bool boolean;
        const char *ptr;
    } via;
} wire_obj_t;

/* Read the value starting at *p (before end): its header and, unless it is an
 * array or map, its payload; *p moves past what was read (for a container,
 * to its first element).  0, or -1 if it is truncated or the reserved byte
 * 0xc1.  Bounds-checked: safe on any bytes. */
int wire_read (const uint8_t **p, const uint8_t *end, wire_obj_t *o);

/* A key the caller wants from the top-level map: set `name`, zero the rest. */
typedef struct {
    const char *name;
    bool found;     /* set by wire_body_open: the key is present ... */
    wire_obj_t val; /* ... and this is the value of its first occurrence */
} wire_key_t;

typedef struct {
    wire_key_t *keys;
    size_t nkeys;
} wire_body_t;

/* Walk and check that data is one msgpack map with string keys, filling
 * `keys`.  0, or -1 with err (and the keys readable before the problem set).
 * Nothing to close: the values point into data. */
int wire_body_open (wire_body_t *body, const void *data, size_t size, wire_key_t *keys,
                    size_t nkeys, char *err, size_t errlen);

/* The value of `key` (one of the keys given to wire_body_open), or NULL if
 * absent.  With wire_find_opt a nil value counts as absent too. */
const wire_obj_t *wire_find (const wire_body_t *body, const char *key);
const wire_obj_t *wire_find_opt (const wire_body_t *body, const char *key);

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
int wire_obj_str (const wire_obj_t *o, const char *key, char *out, size_t max, bool nil_ok,
                  char *err, size_t errlen);
/* A level string ("ok", "soft", "hard"). */
int wire_obj_level (const wire_obj_t *o, const char *key, mdf_level_t *out, char *err,
                    size_t errlen);
int wire_get_level (const wire_body_t *body, const char *key, mdf_level_t *out, char *err,
                    size_t errlen);
/* `v` must be MDF_PROTO_VERSION. */
int wire_check_version (const wire_body_t *body, char *err, size_t errlen);
/* `type` must be the string `expected`. */
int wire_check_type (const wire_body_t *body, const char *expected, char *err, size_t errlen);

/* Value conversions: 0, or -1 wrong type, -2 out of range. */
int wire_obj_int64 (const wire_obj_t *o, int64_t *out);
int wire_obj_double (const wire_obj_t *o, double *out);
/* "integer", "string", "map" ... for error messages. */
const char *wire_type_name (const wire_obj_t *o);

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
    char *data; /* malloc'd, handed over by wire_enc_finish */
    size_t size, alloc;
    msgpack_packer pk; /* writes into data */
    int rc;            /* sticky: -1 once any write failed */
} wire_enc_t;

/* Start a map of `nkeys` pairs in a buffer of `reserve` bytes (0: let it
 * grow; a message that outgrows it grows as usual). */
void wire_enc_begin (wire_enc_t *enc, size_t nkeys, size_t reserve);
void wire_enc_key (wire_enc_t *enc, const char *key);
void wire_enc_strn (wire_enc_t *enc, const char *s, size_t maxlen);
void wire_enc_str_kv (wire_enc_t *enc, const char *key, const char *s, size_t maxlen);
void wire_enc_int_kv (wire_enc_t *enc, const char *key, int64_t v);
void wire_enc_uint_kv (wire_enc_t *enc, const char *key, uint64_t v);
void wire_enc_double_kv (wire_enc_t *enc, const char *key, double v);
/* Room for n more bytes written directly (bytes that msgpack-c's packer
 * would write the same), then how many were: a pointer, or NULL (rc set). */
uint8_t *wire_enc_room (wire_enc_t *enc, size_t n);
void wire_enc_wrote (wire_enc_t *enc, size_t n);
/* Move the bytes into out (freeing what out held).  0 or -1. */
int wire_enc_finish (wire_enc_t *enc, mdf_buf_t *out);

#endif
