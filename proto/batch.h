/*
 * batch: a batch of bars from a pipeline to the store, and the store's ack
 * (wire contract v1, proto/README.md).
 *
 * A batch decodes in two steps of strictness: a malformed body (not msgpack,
 * not a map, wrong types, missing keys, too large) is MDF_DECODE_MALFORMED;
 * a well-formed batch whose bars break a rule (empty or over-64-byte symbol,
 * ts <= 0, non-finite price, low > high, negative volume) is
 * MDF_DECODE_INVALID with an error naming the bar index, and the store answers
 * "rejected" with that error.  When the body was malformed but `batch_seq` could
 * still be read, has_batch_seq is set so the store can still answer: a wrong
 * key, but also trailing bytes, too deep nesting, a truncation, a reserved byte
 * or a non-string key that come after the first `batch_seq` key and its
 * unsigned value.
 * Malformed bars (not an array of 7, symbol not a string, ts not an integer, a
 * price not a number) also give errors "bar N: ...".  Problems are reported in
 * bar order, the first one wins.  The ack codec is in ack.c.
 */
#ifndef MDF_BATCH_H
#define MDF_BATCH_H

#include "proto/proto.h"

typedef struct {
    char symbol[MDF_SYMBOL_MAX + 1];
    int64_t ts; /* ns since the Unix epoch */
    double open, high, low, close, volume;
} mdf_bar_t;

typedef struct {
    char producer_id[MDF_ID_MAX + 1];
    uint64_t batch_seq;
    bool has_batch_seq; /* set by the decoder once batch_seq was read */
    char provider[MDF_ID_MAX + 1];
    bool live;       /* optional key "live": bars of a live feed, queued first by the store */
    mdf_bar_t *bars; /* owned: mdf_batch_clear frees */
    size_t nbars;
} mdf_batch_t;

typedef enum {
    MDF_DECODE_OK = 0,
    MDF_DECODE_INVALID = 1,   /* well-formed, but a bar breaks a rule: reply "rejected" */
    MDF_DECODE_MALFORMED = 2, /* not a v1 bars body */
} mdf_decode_t;

/* Encode a batch (does not validate the bars).  0 or -1. */
int mdf_batch_encode (const mdf_batch_t *batch, mdf_buf_t *out);

/* Decode and validate a body into `batch` (its previous bars are freed, so it
 * must be zeroed or hold an earlier decode).  At most `max_bars` bars are
 * accepted (0, or anything above MDF_BATCH_MAX_BARS, means MDF_BATCH_MAX_BARS).
 * On anything but MDF_DECODE_OK the bars are freed (nbars 0); batch_seq,
 * has_batch_seq, producer_id and provider keep what could be read.  An empty
 * bars array is valid.  Allocates only the bars array (n * sizeof (mdf_bar_t)),
 * and only when the body holds at least 9 bytes per bar. */
mdf_decode_t mdf_batch_decode (const void *data, size_t size, mdf_batch_t *batch, size_t max_bars,
                               char *err, size_t errlen);

/* Check one bar against the rules of proto/README.md (empty or over-64-byte symbol,
 * ts <= 0, a non-finite open/high/low/close -- or volume --, low > high, negative
 * volume).  0, or -1 with err "bar 3: low (10.5) > high (10.2)". */
int mdf_bar_validate (const mdf_bar_t *bar, size_t index, char *err, size_t errlen);

/* Free the bars and zero the batch. */
void mdf_batch_clear (mdf_batch_t *batch);

typedef enum {
    MDF_ACK_OK = 0,
    MDF_ACK_RETRY = 1,
    MDF_ACK_REJECTED = 2,
} mdf_ack_status_t;

/* "ok", "retry", "rejected". */
const char *mdf_ack_status_name (mdf_ack_status_t status);

typedef struct {
    uint64_t batch_seq;
    mdf_ack_status_t status;
    uint64_t count;                /* bars committed (0 unless ok) */
    char error[MDF_ERROR_MAX + 1]; /* set when rejected, "" otherwise (omitted on the wire) */
    mdf_level_t level;             /* the store's level, a hint */
    bool has_level;                /* false if the ack carried no level (decoding) */
} mdf_ack_t;

/* Encode an ack: `error` only when rejected, `level` always (has_level is not
 * read).  0 or -1. */
int mdf_ack_encode (const mdf_ack_t *ack, mdf_buf_t *out);
/* Decode an ack.  v, type "ack", batch_seq, status, count are required; error is
 * required when rejected (ignored otherwise); level is optional (nil = absent).
 * 0, or -1 with err naming the key. */
int mdf_ack_decode (const void *data, size_t size, mdf_ack_t *ack, char *err, size_t errlen);

#endif
