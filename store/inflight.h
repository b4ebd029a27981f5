/*
 * inflight: the batches md-store has accepted and not yet answered, keyed by
 * (producer, batch_seq), so that a resend of one of them is recognised.
 *
 * A pipeline resends a batch whose ack is late (its ack_timeout_ms), keeping
 * the batch_seq; while the sink is slow or down the first copy is still
 * queued or being written.  Queueing the copy again would count its bars twice
 * (queue depth, backpressure level, capacity: "retry" for others) and write
 * them twice.  So the ingest thread registers each queued batch here, and a
 * later batch with the same key and the same content is a duplicate: it is
 * dropped, and the identity to answer is replaced by the newest one (a
 * reconnected DEALER has a new ROUTER identity; the old one is gone), so
 * exactly one "ok" goes out at the commit, to the sender that asked last.
 *
 * The producer is the batch's `producer_id` (proto/README.md: batch_seq is unique
 * per producer); an empty producer_id falls back to the ROUTER identity.  On a
 * key match the content (provider and every bar, bit for bit) is compared with
 * the registered batch itself, which stays alive in the queue until it is
 * answered: a batch that reuses a key with other bars is not a resend and must
 * not be dropped, since the ok would then cover bars never written
 * (INFLIGHT_CONFLICT: the caller queues it without registering it).  A batch
 * whose key is not registered costs one hash of its key, nothing per bar.
 *
 * A chained hash table, doubled when it holds more entries than buckets:
 * O(1) per batch.  Entries are removed when their batch is answered
 * (inflight_finish), so the table never holds more than the queue.  Not
 * thread-safe: the ingest thread alone uses it.
 */
#ifndef STORE_INFLIGHT_H
#define STORE_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"

typedef struct _inflight_t inflight_t;

/* What inflight_find says about a received batch. */
typedef enum {
    INFLIGHT_ABSENT = 0,    /* no batch with this key is registered */
    INFLIGHT_DUPLICATE = 1, /* a resend of a registered batch; identity updated */
    INFLIGHT_CONFLICT = 2,  /* the key is registered with other content */
} inflight_found_t;

/* Who sent a batch, as the ROUTER saw it. */
typedef struct {
    const uint8_t *identity;
    size_t identity_len; /* at most INFLIGHT_IDENTITY_MAX */
} inflight_sender_t;

#define INFLIGHT_IDENTITY_MAX 256

/* New empty set; NULL when out of memory. */
inflight_t *inflight_new (void);

/* Free the set and every entry; *self_p = NULL. */
void inflight_destroy (inflight_t **self_p);

/* Look `batch` up.  On INFLIGHT_DUPLICATE the registered entry now answers
 * `from` (the newest sender).  Nothing is added. */
inflight_found_t inflight_find (inflight_t *self, const mdf_batch_t *batch,
                                const inflight_sender_t *from);

/* Register `batch` (just queued, key not registered) to be answered to
 * `from`.  The set keeps the pointer: `batch` must stay alive and unchanged
 * until inflight_finish.  0, or -1 when out of memory (the batch is then
 * simply not recognised when resent). */
int inflight_add (inflight_t *self, const mdf_batch_t *batch, const inflight_sender_t *from);

/* The batch registered by inflight_add is answered: remove it and copy the
 * identity to answer (the newest sender) into identity[INFLIGHT_IDENTITY_MAX]
 * and *identity_len.  `from` is the identity the batch itself arrived with,
 * needed only to rebuild the key when its producer_id is empty.  0, or -1 when
 * the key is not registered. */
int inflight_finish (inflight_t *self, const mdf_batch_t *batch, const inflight_sender_t *from,
                     uint8_t *identity, size_t *identity_len);

/* Entries registered now. */
size_t inflight_count (const inflight_t *self);

#endif
