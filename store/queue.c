/*
 * queue: a FIFO of whole batches counted in bars; see queue.h.
 *
 * Invariants (under `lock`):
 *   size == bars of queued nodes + bars taken and not yet released
 *   waiting == bars of queued nodes;  0 <= size <= capacity
 *   level == the state machine fed with `size` after every change of it;
 *   `signalled` is set from the write to `efd` that followed the first answer
 *   appended to an empty list until queue_answers_take clears it; the reader
 *   reads efd before taking the list, so an answer is never left behind with
 *   efd unreadable (at worst a wake-up finds the list empty).
 */
#include "store/queue.h"

#include "common/cond.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct node_t {
    struct node_t *next;
    void *item;
    int64_t bars;
} node_t;

struct _queue_t {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    node_t *head, *tail;
    node_t *urgent; /* the last urgent node at the head's run of them, or NULL */
    size_t batches;
    int64_t capacity, size, waiting;
    level_t level;
    bool stopped, drain;
    queue_answer_t *answers, *answers_tail;
    bool signalled;
    int efd;
};

queue_t *
queue_new (int64_t capacity, int64_t low, int64_t high, int64_t hysteresis)
{
    queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->efd < 0) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    mdf_cond_init_monotonic (&self->ready); /* s_take's deadline is monotonic */
    self->capacity = capacity;
    level_init (&self->level, low, high, hysteresis);
    return self;
}

void
queue_destroy (queue_t **self_p, void (*free_item) (void *item))
{
    queue_t *self = *self_p;
    if (!self)
        return;
    node_t *n = self->head;
    while (n) {
        node_t *next = n->next;
        if (free_item)
            free_item (n->item);
        free (n);
        n = next;
    }
    close (self->efd);
    pthread_cond_destroy (&self->ready);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static int
s_push (queue_t *self, void *item, int64_t bars, bool wake, bool urgent)
{
    node_t *n = malloc (sizeof *n);
    if (!n)
        return -1;
    n->next = NULL;
    n->item = item;
    n->bars = bars;
    pthread_mutex_lock (&self->lock);
    if (self->stopped || bars < 1 || self->size + bars > self->capacity) {
        pthread_mutex_unlock (&self->lock);
        free (n);
        return -1;
    }
    if (urgent) { /* after the urgent ones already waiting, before the rest */
        node_t **at = self->urgent ? &self->urgent->next : &self->head;
        n->next = *at;
        *at = n;
        if (!n->next)
            self->tail = n;
        self->urgent = n;
    } else {
        if (self->tail)
            self->tail->next = n;
        else
            self->head = n;
        self->tail = n;
    }
    self->batches++;
    self->size += bars;
    self->waiting += bars;
    level_update (&self->level, self->size);
    if (wake)
        pthread_cond_signal (&self->ready);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

int
queue_push (queue_t *self, void *item, int64_t bars)
{
    return s_push (self, item, bars, true, false);
}

int
queue_push_quiet (queue_t *self, void *item, int64_t bars, bool urgent)
{
    return s_push (self, item, bars, false, urgent);
}

void
queue_wake (queue_t *self)
{
    pthread_mutex_lock (&self->lock);
    if (self->head)
        pthread_cond_signal (&self->ready); /* s_pop passes it on while batches remain */
    pthread_mutex_unlock (&self->lock);
}

/* Pop whole batches from the head; lock held, queue not empty. */
static size_t
s_pop (queue_t *self, int64_t max_bars, void **items, size_t max_items, int64_t *bars_out)
{
    size_t n = 0;
    int64_t bars = 0;
    while (self->head && n < max_items && (n == 0 || bars + self->head->bars <= max_bars)) {
        node_t *node = self->head;
        self->head = node->next;
        if (!self->head)
            self->tail = NULL;
        if (node == self->urgent)
            self->urgent = NULL;
        items[n++] = node->item;
        bars += node->bars;
        free (node);
    }
    self->batches -= n;
    self->waiting -= bars;
    *bars_out = bars;
    if (self->head)
        pthread_cond_signal (&self->ready); /* another worker may take the rest */
    return n;
}

static size_t
s_take (queue_t *self, int64_t max_bars, void **items, size_t max_items, int64_t *bars_out,
        int timeout_ms)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    size_t n = 0;
    *bars_out = 0;
    pthread_mutex_lock (&self->lock);
    for (;;) {
        if (self->stopped && (!self->drain || !self->head))
            break;
        if (self->head) {
            n = s_pop (self, max_bars, items, max_items, bars_out);
            break;
        }
        if (timeout_ms < 0)
            pthread_cond_wait (&self->ready, &self->lock);
        else if (pthread_cond_timedwait (&self->ready, &self->lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock (&self->lock);
    return n;
}

size_t
queue_take (queue_t *self, int64_t max_bars, void **items, size_t max_items, int64_t *bars_out)
{
    return s_take (self, max_bars, items, max_items, bars_out, -1);
}

size_t
queue_take_timed (queue_t *self, int64_t max_bars, void **items, size_t max_items,
                  int64_t *bars_out, int timeout_ms)
{
    return s_take (self, max_bars, items, max_items, bars_out, timeout_ms < 0 ? 0 : timeout_ms);
}

bool
queue_release (queue_t *self, int64_t bars)
{
    pthread_mutex_lock (&self->lock);
    self->size -= bars;
    if (self->size < 0)
        self->size = 0;
    bool changed = level_update (&self->level, self->size);
    pthread_mutex_unlock (&self->lock);
    return changed;
}

bool
queue_finish (queue_t *self, int64_t bars, queue_answer_t *answer)
{
    answer->next = NULL;
    pthread_mutex_lock (&self->lock);
    self->size -= bars;
    if (self->size < 0)
        self->size = 0;
    bool changed = level_update (&self->level, self->size);
    if (self->answers_tail)
        self->answers_tail->next = answer;
    else
        self->answers = answer;
    self->answers_tail = answer;
    if (!self->signalled) {
        self->signalled = true;
        uint64_t one = 1;
        ssize_t rc = write (self->efd, &one, sizeof one);
        (void)rc; /* one write per take at most: the counter cannot overflow */
    }
    pthread_mutex_unlock (&self->lock);
    return changed;
}

queue_answer_t *
queue_answers_take (queue_t *self)
{
    uint64_t v;
    ssize_t rc = read (self->efd, &v, sizeof v); /* before the list: see the invariants */
    (void)rc;
    pthread_mutex_lock (&self->lock);
    queue_answer_t *list = self->answers;
    self->answers = self->answers_tail = NULL;
    self->signalled = false;
    pthread_mutex_unlock (&self->lock);
    return list;
}

int
queue_answers_fd (const queue_t *self)
{
    return self->efd;
}

void
queue_snapshot (queue_t *self, queue_snapshot_t *out)
{
    pthread_mutex_lock (&self->lock);
    out->size = self->size;
    out->batches = self->batches;
    out->level = self->level.level;
    pthread_mutex_unlock (&self->lock);
}

mdf_level_t
queue_level (queue_t *self)
{
    pthread_mutex_lock (&self->lock);
    mdf_level_t level = self->level.level;
    pthread_mutex_unlock (&self->lock);
    return level;
}

int64_t
queue_size (queue_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t size = self->size;
    pthread_mutex_unlock (&self->lock);
    return size;
}

int64_t
queue_waiting (queue_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t waiting = self->waiting;
    pthread_mutex_unlock (&self->lock);
    return waiting;
}

size_t
queue_batches (queue_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t batches = self->batches;
    pthread_mutex_unlock (&self->lock);
    return batches;
}

int64_t
queue_capacity (const queue_t *self)
{
    return self->capacity;
}

void
queue_stop (queue_t *self, bool drain)
{
    pthread_mutex_lock (&self->lock);
    self->stopped = true;
    self->drain = drain;
    pthread_cond_broadcast (&self->ready);
    pthread_mutex_unlock (&self->lock);
}
