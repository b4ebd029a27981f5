/*
 * queue: the store's bounded queue of whole batches, counted in bars.
 *
 * The ingest thread pushes; worker threads take.  Size is the number of bars
 * accepted and not yet committed: a batch counts from queue_push until the
 * worker that wrote it calls queue_release, so bars being written still count
 * and memory stays bounded by `capacity` even while the sink is slow.
 *
 * queue_push never blocks: a batch that does not fit (size + bars > capacity)
 * is refused and the caller answers "retry".  Batches are taken in FIFO order
 * and never split.  The backpressure level (level.h) is recomputed under the
 * queue's mutex on every push and release.
 *
 * Items are opaque pointers; the queue owns them between push and take, the
 * taker owns them afterwards.  Thread-safe (mutex + condition variable).
 */
#ifndef STORE_QUEUE_H
#define STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/level.h"

typedef struct _queue_t queue_t;

/* New empty queue.  Requires low < high <= capacity (hysteresis: level.h). */
queue_t *queue_new (int64_t capacity, int64_t low, int64_t high, int64_t hysteresis);

/* Free the queue; items still queued are passed to `free_item` (may be NULL). */
void queue_destroy (queue_t **self_p, void (*free_item) (void *item));

/* Append `item` of `bars` (>= 1) bars, taking ownership.  Returns 0, or -1 when
 * it does not fit now (the caller keeps the item), or when the queue is stopped. */
int queue_push (queue_t *self, void *item, int64_t bars);

/* Wait for batches and take whole ones from the head, up to `max_bars` bars in
 * total (at least one batch even if it alone exceeds max_bars) and at most
 * `max_items`.  Fills items[], returns how many and their bars in *bars_out.
 * Returns 0 when the queue is stopped: after queue_stop(drain=true) only once it
 * is empty; after queue_stop(drain=false) at once.  Taken bars stay counted
 * until queue_release. */
size_t queue_take (queue_t *self, int64_t max_bars, void **items, size_t max_items,
                   int64_t *bars_out);

/* Like queue_take, but returns 0 after `timeout_ms` without batches. */
size_t queue_take_timed (queue_t *self, int64_t max_bars, void **items, size_t max_items,
                         int64_t *bars_out, int timeout_ms);

/* Bars taken earlier are committed: subtract them.  Returns true when the level
 * changed. */
bool queue_release (queue_t *self, int64_t bars);

/* Snapshot accessors (take the mutex). */
mdf_level_t queue_level (queue_t *self);
int64_t queue_size (queue_t *self);    /* bars queued or being written */
int64_t queue_waiting (queue_t *self); /* bars queued, not yet taken */
size_t queue_batches (queue_t *self);  /* batches queued, not yet taken */
int64_t queue_capacity (const queue_t *self);

/* Refuse further pushes and wake takers.  drain = true: takers keep getting
 * batches until the queue is empty; false: takers return 0 at once. */
void queue_stop (queue_t *self, bool drain);

#endif
