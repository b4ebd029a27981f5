/*
 * proto: wire contract v1 of mdflow (see proto/README.md).
 *
 * This folder is the only place in mdflow that touches msgpack.  Services see
 * plain C structs: mdf_feedback_t (store -> pipelines, on XPUB/SUB),
 * mdf_batch_t (pipeline -> store, DEALER -> ROUTER) and mdf_ack_t (the reply).
 *
 * Decoders are strict and bounded: a body that is not a map, a missing required
 * key, a value of the wrong type, an oversized string or array, or trailing
 * bytes gives -1 and an error message naming the key (or bar index); never a
 * crash or an out-of-bounds read.  Unknown keys are ignored; integers are
 * accepted where a float is expected.  Decoders read the msgpack bytes in place
 * (wire.c) after one walk has checked that the body is one complete object,
 * nested at most 32 deep, whose containers declare no more elements than there
 * are bytes; they allocate nothing but a batch's bars array, and that only once
 * the bytes could hold that many bars, so whatever a body claims costs at most
 * sizeof (mdf_bar_t) per 9 bytes of body.
 *
 * Encoders write keys in a fixed order (the order of the tables in
 * proto/README.md), so a message always encodes to the same bytes.
 * Error buffers: err may be NULL (errlen 0); MDF_ERROR_MAX + 1 bytes are enough
 * for every message.  Private helpers live in proto/wire.h.
 */
#ifndef MDF_PROTO_H
#define MDF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDF_PROTO_VERSION 1

/* Limits the decoders enforce. */
#define MDF_ID_MAX 128    /* producer_id, coordinator_id, provider: bytes */
#define MDF_SYMBOL_MAX 64 /* symbol bytes (over 64 is rejected) */
#define MDF_REASON_MAX 64
#define MDF_ERROR_MAX 256
#define MDF_BATCH_MAX_BARS 100000 /* a batch with more bars is malformed */

typedef enum {
    MDF_LEVEL_OK = 0,
    MDF_LEVEL_SOFT = 1,
    MDF_LEVEL_HARD = 2,
} mdf_level_t;

/* "ok", "soft", "hard". */
const char *mdf_level_name (mdf_level_t level);
/* Parse a level name (exact, lower case); 0 or -1. */
int mdf_level_parse (const char *text, mdf_level_t *out);

/* An encoded message: malloc'd bytes owned by the holder.  Encoders replace
 * (free) what the buffer held, so pass a zeroed buffer ({0}) or one holding an
 * earlier encoding, never an uninitialised one; on failure it is untouched. */
typedef struct {
    char *data;
    size_t size;
} mdf_buf_t;

/* Free buf->data and zero the struct. */
void mdf_buf_free (mdf_buf_t *buf);

#endif
