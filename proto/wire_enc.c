/*
 * wire_enc: the msgpack encoder private to proto/ (wire.h, "Encoding").
 *
 * A message is a map written through msgpack-c's packer into one growing
 * buffer (wire_enc_t); a caller that knows the size reserves it up front so
 * the buffer is never copied, and a batch writes its bar bytes directly
 * (wire_enc_room / wire_enc_wrote).  Any failure sticks in `rc` and
 * wire_enc_finish then frees the buffer and returns -1.  The decoding side
 * (the walk, the getters) is wire.c.
 */
#include "proto/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int s_enc_grow (wire_enc_t *enc, size_t n);

/* The packer's write callback: append to enc's buffer, growing it when a
 * message outgrows what was reserved. */
static int
s_enc_write (void *data, const char *buf, size_t len)
{
    wire_enc_t *enc = data;
    if (enc->alloc - enc->size < len && s_enc_grow (enc, len))
        return -1;
    memcpy (enc->data + enc->size, buf, len);
    enc->size += len;
    return 0;
}

void
wire_enc_begin (wire_enc_t *enc, size_t nkeys, size_t reserve)
{
    enc->size = 0;
    enc->alloc = 0;
    /* a buffer of the right size from the start is never copied */
    enc->data = reserve > 0 ? malloc (reserve) : NULL;
    if (enc->data)
        enc->alloc = reserve;
    msgpack_packer_init (&enc->pk, enc, s_enc_write);
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

/* Make room for n more bytes.  0 or -1. */
static int
s_enc_grow (wire_enc_t *enc, size_t n)
{
    if (enc->alloc - enc->size >= n)
        return 0;
    size_t nsize = enc->alloc > 0 ? enc->alloc : 256;
    while (nsize - enc->size < n) {
        if (nsize > SIZE_MAX / 2)
            return -1;
        nsize *= 2;
    }
    char *grown = realloc (enc->data, nsize);
    if (!grown)
        return -1;
    enc->data = grown;
    enc->alloc = nsize;
    return 0;
}

uint8_t *
wire_enc_room (wire_enc_t *enc, size_t n)
{
    if (enc->rc || s_enc_grow (enc, n)) {
        enc->rc = -1;
        return NULL;
    }
    return (uint8_t *)enc->data + enc->size;
}

void
wire_enc_wrote (wire_enc_t *enc, size_t n)
{
    enc->size += n;
}

int
wire_enc_finish (wire_enc_t *enc, mdf_buf_t *out)
{
    if (enc->rc) {
        free (enc->data);
        enc->data = NULL;
        return -1;
    }
    mdf_buf_free (out);
    out->size = enc->size;
    out->data = enc->data;
    enc->data = NULL;
    return 0;
}
