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
 * and never split, except that an urgent batch (queue_push_quiet's `urgent`:
 * a live feed's bars) goes ahead of every batch that is not, after the
 * urgent ones already waiting.  The backpressure level (level.h) is recomputed under the
 * queue's mutex on every push and release.
 *
 * Items are opaque pointers; the queue owns them between push and take, the
 * taker owns them afterwards.
 *
 * The way back: a worker that has written what it took hands it back with
 * queue_finish, which releases the bars and appends an answer (anything that
 * embeds a queue_answer_t) to a list the ingest thread empties with
 * queue_answers_take, in the order they were finished.  The first answer
 * after the list was emptied makes queue_answers_fd (an eventfd) readable,
 * so the ingest thread can poll it beside its sockets; answers finished
 * while it is readable cost no system call, and one wake-up takes them all.
 *
 * Thread-safe (one mutex, a condition variable for takers).
 */
#ifndef STORE_QUEUE_H
#define STORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/level.h"

typedef struct _queue_t queue_t;

/* New empty queue.  Requires low < high <= capacity (hysteresis: level.h).
 * NULL when out of memory or eventfds. */
queue_t *queue_new (int64_t capacity, int64_t low, int64_t high, int64_t hysteresis);

/* Free the queue; items still queued are passed to `free_item` (may be NULL).
 * Answers not taken are not freed: take them first. */
void queue_destroy (queue_t **self_p, void (*free_item) (void *item));

/* Append `item` of `bars` (>= 1) bars, taking ownership, and wake a taker.
 * Returns 0, or -1 when it does not fit now (the caller keeps the item), or
 * when the queue is stopped. */
int queue_push (queue_t *self, void *item, int64_t bars);

/* queue_push without waking a taker: a thread that pushes several batches in
 * a row wakes the takers once, with queue_wake, when it is done (or has
 * pushed a take's worth), so a taker finds them all in one take instead of
 * being woken, and going back to sleep, once per batch. */
int queue_push_quiet (queue_t *self, void *item, int64_t bars, bool urgent);
void queue_wake (queue_t *self);

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

/* A link in the list of answers; embed it in the answer. */
typedef struct _queue_answer_t {
    struct _queue_answer_t *next;
} queue_answer_t;

/* queue_release (bars) and append `answer` to the answers, under one lock.
 * Returns true when the level changed. */
bool queue_finish (queue_t *self, int64_t bars, queue_answer_t *answer);

/* Every answer finished so far, oldest first (linked by `next`), or NULL;
 * clears queue_answers_fd.  Only one thread may take answers. */
queue_answer_t *queue_answers_take (queue_t *self);

/* Readable when answers are waiting (poll it, then queue_answers_take). */
int queue_answers_fd (const queue_t *self);

/* Size, batches and level under one lock. */
typedef struct {
    int64_t size;
    size_t batches;
    mdf_level_t level;
} queue_snapshot_t;
void queue_snapshot (queue_t *self, queue_snapshot_t *out);

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
