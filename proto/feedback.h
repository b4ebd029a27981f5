/*
 * feedback: the store's backpressure event (wire contract v1, proto/README.md).
 *
 * Two frames on the wire: topic "feedback.<coordinator_id>", then the msgpack
 * body encoded here.
 */
#ifndef MDF_FEEDBACK_H
#define MDF_FEEDBACK_H

#include "proto/proto.h"

#define MDF_FEEDBACK_TOPIC_PREFIX "feedback."

/* A producer (md-pipeline) subscribes to this topic too, besides
 * MDF_FEEDBACK_TOPIC_PREFIX: no event ever matches it, but the store counts
 * these subscriptions as producers about to send (proto/README.md,
 * "Feedback event", key `producers`), so that pipelines starting together
 * share the store from their first batch. */
#define MDF_PRODUCER_TOPIC "producer."

/* A producer also subscribes to "producer.<producer_id>" (its batches'
 * producer_id): the store knows who is there, and the end of that
 * subscription (an unsubscribe, or the producer's socket closed or its
 * connection dropped) is its goodbye: it stops counting at once. */

typedef struct {
    int64_t v; /* 1 (0 encodes as 1) */
    char coordinator_id[MDF_ID_MAX + 1];
    int64_t epoch; /* new per store start */
    uint64_t seq;  /* 1, 2, 3 ... per incarnation */
    mdf_level_t level;
    int64_t queue_size;
    int64_t capacity;
    char reason[MDF_REASON_MAX + 1]; /* "" encodes/decodes as nil */
    char source[MDF_ID_MAX + 1];     /* "store" */
    double ts;                       /* wall seconds when sent */
    /* Optional (additive v1 keys): what a producer needs to pace itself
     * (proto/README.md, "Feedback event").  Encoded only with has_pacing;
     * decoding sets has_pacing when any of them came, each absent one 0. */
    bool has_pacing;
    double drain_rate;     /* rows/s committed over the last second */
    double service_rate;   /* rows/s the sink takes while busy */
    bool has_service_rate; /* false: not known yet (key absent) */
    int64_t producers;     /* producers that sent a batch lately, or subscribers (0: absent) */
    int64_t credit;        /* bars each producer may have unacked here (0: absent, no bound) */
} mdf_feedback_t;

/* Encode `ev` into `out` (replacing its content).  0, or -1 on allocation failure.
 * Writes v as given (0 means MDF_PROTO_VERSION), an empty reason as nil. */
int mdf_feedback_encode (const mdf_feedback_t *ev, mdf_buf_t *out);

/* Decode a body.  0, or -1 with err naming the problem ("key 'level': expected
 * string, got integer", "key 'seq' missing", "key 'level': unknown level 'purple'
 * (ok, soft, hard)", "key 'v': unsupported version 2 ...").  Every key is
 * required; reason may be nil (gives ""); seq must not be negative; ts must be a
 * finite number.  `ev` is zeroed first, and partly filled on failure. */
int mdf_feedback_decode (const void *data, size_t size, mdf_feedback_t *ev, char *err,
                         size_t errlen);

/* Write "feedback.<coordinator_id>" into buf; returns buf. */
const char *mdf_feedback_topic (const char *coordinator_id, char *buf, size_t size);

#endif
