/*
 * batcher: open batches, sealed-batch window, wake-up eventfd.  See batcher.h.
 *
 * Invariants (under `lock`): window == length of the sealed list (every
 * sealed, unreleased batch, oldest first) <= max_inflight; the ready list is
 * the sealed batches not yet taken, in seal order; pending == window + the
 * number of open batches with n > 0, and the gauge shows it.
 */
#include "pipeline/batcher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/cond.h"

typedef struct {
    mdf_bar_t *bars;
    size_t n;
    int64_t first_ns;
} s_open_t;

struct _batcher_t {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t nproviders, batch_max, max_inflight;
    int64_t linger_ns;
    s_open_t *open;
    batch_t *sealed_head, *sealed_tail; /* all unreleased, oldest first */
    batch_t *ready_head, *ready_tail;   /* not yet taken */
    size_t window;
    size_t pending; /* window + non-empty open batches */
    mdf_gauge_t *pending_gauge;
    uint64_t next_seq;
    bool closed, flush;
    int efd;
    mdf_counter_t **ingested;
};

batcher_t *
batcher_new (size_t nproviders, size_t batch_max, size_t max_inflight, int64_t linger_ns,
             uint64_t first_seq, mdf_counter_t *const *ingested, mdf_gauge_t *pending_gauge)
{
    batcher_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->nproviders = nproviders;
    self->batch_max = batch_max ? batch_max : 1;
    self->max_inflight = max_inflight ? max_inflight : 1;
    self->linger_ns = linger_ns;
    self->next_seq = first_seq;
    self->pending_gauge = pending_gauge;
    self->open = calloc (nproviders ? nproviders : 1, sizeof *self->open);
    self->ingested = calloc (nproviders ? nproviders : 1, sizeof *self->ingested);
    self->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!self->open || !self->ingested || self->efd < 0) {
        if (self->efd >= 0)
            close (self->efd);
        free (self->open);
        free (self->ingested);
        free (self);
        return NULL;
    }
    for (size_t i = 0; ingested && i < nproviders; i++)
        self->ingested[i] = ingested[i];
    pthread_mutex_init (&self->lock, NULL);
    mdf_cond_init_monotonic (&self->cond);
    return self;
}

void
batcher_destroy (batcher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    batcher_t *self = *self_p;
    for (batch_t *b = self->sealed_head, *next; b; b = next) {
        next = b->next;
        free (b->bars);
        free (b);
    }
    for (size_t i = 0; i < self->nproviders; i++)
        free (self->open[i].bars);
    free (self->open);
    free (self->ingested);
    close (self->efd);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static void
s_set_pending (batcher_t *self, size_t pending)
{
    self->pending = pending;
    if (self->pending_gauge)
        mdf_gauge_set (self->pending_gauge, (double)pending);
}

static void
s_wake (batcher_t *self)
{
    uint64_t one = 1;
    ssize_t rc = write (self->efd, &one, sizeof one);
    (void)rc;
}

/* Seal provider idx's open batch (never an empty one).  Lock held; the
 * window has room. */
static void
s_seal_locked (batcher_t *self, size_t idx)
{
    s_open_t *o = &self->open[idx];
    if (o->n == 0)
        return;
    batch_t *b = calloc (1, sizeof *b);
    if (!b)
        return; /* stays open; sealed on a later attempt */
    b->seq = self->next_seq++;
    b->prov = idx;
    b->bars = o->bars;
    b->n = o->n;
    b->sealed_ns = mdf_mono_ns ();
    o->bars = NULL;
    o->n = 0;
    b->prev = self->sealed_tail;
    if (self->sealed_tail)
        self->sealed_tail->next = b;
    else
        self->sealed_head = b;
    self->sealed_tail = b;
    if (self->ready_tail)
        self->ready_tail->ready_next = b;
    else
        self->ready_head = b;
    self->ready_tail = b;
    self->window++;
    pthread_cond_broadcast (&self->cond); /* a provider may wait on this batch */
    s_wake (self);
}

int
batcher_push (batcher_t *self, size_t idx, const mdf_bar_t *bars, size_t n)
{
    if (idx >= self->nproviders)
        return -1;
    pthread_mutex_lock (&self->lock);
    s_open_t *o = &self->open[idx];
    size_t i = 0;
    while (i < n && !self->closed) {
        if (o->n == self->batch_max) {
            /* Wait for room, unless the sender seals it (linger) meanwhile. */
            while (self->window >= self->max_inflight && !self->closed && o->n == self->batch_max)
                pthread_cond_wait (&self->cond, &self->lock);
            if (!self->closed && o->n == self->batch_max)
                s_seal_locked (self, idx);
            continue;
        }
        if (!o->bars && !(o->bars = malloc (self->batch_max * sizeof *o->bars)))
            break;
        size_t room = self->batch_max - o->n, k = n - i < room ? n - i : room;
        memcpy (o->bars + o->n, bars + i, k * sizeof *bars);
        if (o->n == 0) {
            o->first_ns = mdf_mono_ns ();
            s_set_pending (self, self->pending + 1);
            s_wake (self);
        }
        o->n += k;
        i += k;
        if (self->ingested[idx])
            mdf_counter_add (self->ingested[idx], k);
    }
    if (o->n == self->batch_max && self->window < self->max_inflight && !self->closed)
        s_seal_locked (self, idx);
    pthread_mutex_unlock (&self->lock);
    return i == n ? 0 : -1;
}

void
batcher_close (batcher_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->closed = true;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

size_t
batcher_take (batcher_t *self, batch_t **out, size_t max)
{
    int64_t now = mdf_mono_ns ();
    size_t n = 0;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->nproviders && self->window < self->max_inflight; i++) {
        s_open_t *o = &self->open[i];
        if (o->n > 0 && (self->flush || now - o->first_ns >= self->linger_ns))
            s_seal_locked (self, i);
    }
    while (self->ready_head && n < max) {
        batch_t *b = self->ready_head;
        self->ready_head = b->ready_next;
        b->ready_next = NULL;
        out[n++] = b;
    }
    if (!self->ready_head)
        self->ready_tail = NULL;
    pthread_mutex_unlock (&self->lock);
    return n;
}

void
batcher_release (batcher_t *self, batch_t *b)
{
    pthread_mutex_lock (&self->lock);
    if (b->prev)
        b->prev->next = b->next;
    else
        self->sealed_head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        self->sealed_tail = b->prev;
    self->window--;
    s_set_pending (self, self->pending - 1);
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    free (b->bars);
    free (b);
}

int64_t
batcher_next_linger (batcher_t *self)
{
    int64_t next = INT64_MAX;
    pthread_mutex_lock (&self->lock);
    if (self->window < self->max_inflight)
        for (size_t i = 0; i < self->nproviders; i++)
            if (self->open[i].n > 0) {
                int64_t d = self->flush ? 0 : self->open[i].first_ns + self->linger_ns;
                next = d < next ? d : next;
            }
    pthread_mutex_unlock (&self->lock);
    return next;
}

static bool
s_empty_locked (batcher_t *self)
{
    if (self->window > 0)
        return false;
    for (size_t i = 0; i < self->nproviders; i++)
        if (self->open[i].n > 0)
            return false;
    return true;
}

int
batcher_drain (batcher_t *self, int64_t timeout_ms)
{
    int64_t end = mdf_mono_ns () + timeout_ms * 1000000;
    pthread_mutex_lock (&self->lock);
    self->flush = true;
    s_wake (self);
    while (!s_empty_locked (self)) {
        int64_t left = end - mdf_mono_ns ();
        if (left <= 0)
            break;
        mdf_cond_wait_ns (&self->cond, &self->lock, left);
    }
    int rc = s_empty_locked (self) ? 0 : -1;
    pthread_mutex_unlock (&self->lock);
    return rc;
}

size_t
batcher_window (batcher_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t w = self->window;
    pthread_mutex_unlock (&self->lock);
    return w;
}

size_t
batcher_pending (batcher_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t p = self->pending;
    pthread_mutex_unlock (&self->lock);
    return p;
}

size_t
batcher_pending_bars (batcher_t *self)
{
    size_t bars = 0;
    pthread_mutex_lock (&self->lock);
    for (batch_t *b = self->sealed_head; b; b = b->next)
        bars += b->n;
    for (size_t i = 0; i < self->nproviders; i++)
        bars += self->open[i].n;
    pthread_mutex_unlock (&self->lock);
    return bars;
}

int64_t
batcher_oldest_ns (batcher_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t age = self->sealed_head ? mdf_mono_ns () - self->sealed_head->sealed_ns : 0;
    pthread_mutex_unlock (&self->lock);
    return age;
}

int
batcher_fd (const batcher_t *self)
{
    return self->efd;
}

void
batcher_clear_wake (batcher_t *self)
{
    uint64_t v;
    ssize_t rc = read (self->efd, &v, sizeof v);
    (void)rc;
}
