/*
 * batcher: open batches, sealed-batch window, wake-up eventfd.  See batcher.h.
 *
 * Invariants (under `lock`): window == length of the sealed list (every
 * sealed, unreleased batch, oldest first) <= max_inflight; the ready list is
 * the sealed batches not yet taken, in seal order; pending == window + the
 * number of open batches with n > 0, and the gauge shows it; an open batch
 * with `writing` set is never sealed (its provider writes past n); `woken`
 * is true from a write to efd until batcher_clear_wake reads it; the pool
 * holds at most pool_max bar arrays of batch_max bars.
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
    bool writing;   /* reserved and not yet committed */
    bool live;      /* a live (tick) provider: sealed and taken first */
    uint64_t total; /* bars committed so far (the next bar's position) */
} s_open_t;

struct _batcher_t {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t nproviders, batch_max, max_inflight;
    size_t fill; /* an open batch is full at this many bars (<= batch_max) */
    int64_t linger_ns;
    s_open_t *open;
    batch_t *sealed_head, *sealed_tail; /* all unreleased, oldest first */
    batch_t *ready_head, *ready_tail;   /* history not yet taken */
    batch_t *live_head, *live_tail;     /* live not yet taken (taken first) */
    size_t nlive;                       /* live providers */
    size_t window;
    size_t pending; /* window + non-empty open batches */
    mdf_gauge_t *pending_gauge;
    uint64_t next_seq;
    bool closed, flush;
    int efd;
    bool woken;          /* efd written, not yet cleared */
    int64_t sleep_until; /* the sender wakes by then on its own */
    mdf_bar_t **pool;    /* spare bar arrays */
    size_t npool, pool_max;
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
    self->fill = self->batch_max;
    self->max_inflight = max_inflight ? max_inflight : 1;
    self->linger_ns = linger_ns;
    self->next_seq = first_seq;
    self->pending_gauge = pending_gauge;
    self->open = calloc (nproviders ? nproviders : 1, sizeof *self->open);
    self->ingested = calloc (nproviders ? nproviders : 1, sizeof *self->ingested);
    /* one spare array per provider, and a few for the batches the sender
     * encodes in one go */
    self->pool_max = nproviders + 4;
    self->pool = calloc (self->pool_max, sizeof *self->pool);
    self->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!self->open || !self->ingested || !self->pool || self->efd < 0) {
        if (self->efd >= 0)
            close (self->efd);
        free (self->open);
        free (self->ingested);
        free (self->pool);
        free (self);
        return NULL;
    }
    self->sleep_until = INT64_MAX;
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
    for (size_t i = 0; i < self->npool; i++)
        free (self->pool[i]);
    free (self->pool);
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

/* Lock held. */
static void
s_wake (batcher_t *self)
{
    if (self->woken)
        return; /* the sender has not looked yet: it will see this too */
    self->woken = true;
    uint64_t one = 1;
    ssize_t rc = write (self->efd, &one, sizeof one);
    (void)rc;
}

static void s_seal_locked (batcher_t *self, size_t idx);

/* The window provider idx may fill: all of it for a live provider; one slot
 * less for history while a live provider exists (and the window has two),
 * so a live bar never waits behind a window full of history.  Lock held. */
static size_t
s_limit_locked (const batcher_t *self, size_t idx)
{
    if (self->open[idx].live || self->nlive == 0 || self->max_inflight < 2)
        return self->max_inflight;
    return self->max_inflight - 1;
}

/* Seal the open batches that are due (full, or lingered out: `lingered`),
 * live providers first, as far as each one's window allows.  Lock held. */
static void
s_seal_due_locked (batcher_t *self, int64_t now, bool lingered)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < self->nproviders; i++) {
            s_open_t *o = &self->open[i];
            if (o->live != (pass == 0) || o->n == 0 || o->writing
                || self->window >= s_limit_locked (self, i))
                continue;
            if (o->n >= self->fill
                || (lingered && (self->flush || now - o->first_ns >= self->linger_ns)))
                s_seal_locked (self, i);
        }
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
    b->live = o->live;
    b->first_ns = o->first_ns;
    b->first = o->total - o->n;
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
    batch_t **head = o->live ? &self->live_head : &self->ready_head;
    batch_t **tail = o->live ? &self->live_tail : &self->ready_tail;
    if (*tail)
        (*tail)->ready_next = b;
    else
        *head = b;
    *tail = b;
    self->window++;
    pthread_cond_broadcast (&self->cond); /* a provider may wait on this batch */
    s_wake (self);
}

/* Provider idx may write: its open batch has room (sealing a full one when
 * the window allows, waiting when it does not) and an array.  Lock held;
 * false once closed or out of memory. */
static bool
s_room_locked (batcher_t *self, s_open_t *o, size_t idx)
{
    while (!self->closed && o->n >= self->fill) {
        /* Wait for room, unless the sender seals it (linger) meanwhile. */
        while (self->window >= s_limit_locked (self, idx) && !self->closed && o->n >= self->fill)
            pthread_cond_wait (&self->cond, &self->lock);
        if (!self->closed && o->n >= self->fill)
            s_seal_locked (self, idx);
    }
    if (self->closed)
        return false;
    if (!o->bars)
        o->bars = self->npool > 0 ? self->pool[--self->npool]
                                  : malloc (self->batch_max * sizeof *o->bars);
    return o->bars != NULL;
}

size_t
batcher_reserve (batcher_t *self, size_t idx, size_t want, mdf_bar_t **bars)
{
    if (idx >= self->nproviders || want == 0)
        return 0;
    pthread_mutex_lock (&self->lock);
    s_open_t *o = &self->open[idx];
    size_t room = 0;
    if (s_room_locked (self, o, idx)) {
        room = self->fill - o->n < want ? self->fill - o->n : want;
        *bars = o->bars + o->n;
        o->writing = true;
    }
    pthread_mutex_unlock (&self->lock);
    return room;
}

/* n bars written at o->bars + o->n join the open batch.  Lock held. */
static void
s_commit_locked (batcher_t *self, s_open_t *o, size_t idx, size_t n)
{
    int64_t now = mdf_mono_ns ();
    bool first = n > 0 && o->n == 0;
    if (first) {
        o->first_ns = now;
        s_set_pending (self, self->pending + 1);
    }
    o->n += n;
    o->total += n;
    if (n > 0 && self->ingested[idx])
        mdf_counter_add (self->ingested[idx], n);
    int64_t due = self->flush ? now : o->first_ns + self->linger_ns;
    if (o->n >= self->fill && self->window < s_limit_locked (self, idx))
        s_seal_locked (self, idx);
    else if (o->n > 0 && due < self->sleep_until)
        s_wake (self); /* the sender would oversleep its linger (or skipped it while written) */
}

int
batcher_commit (batcher_t *self, size_t idx, size_t n)
{
    if (idx >= self->nproviders)
        return -1;
    pthread_mutex_lock (&self->lock);
    s_open_t *o = &self->open[idx];
    o->writing = false;
    if (self->closed) {
        pthread_mutex_unlock (&self->lock);
        return -1;
    }
    s_commit_locked (self, o, idx, n);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

int
batcher_try_push (batcher_t *self, size_t idx, const mdf_bar_t *bars, size_t n, size_t *taken)
{
    *taken = 0;
    if (idx >= self->nproviders)
        return -1;
    pthread_mutex_lock (&self->lock);
    s_open_t *o = &self->open[idx];
    while (!self->closed && *taken < n) {
        if (o->n >= self->fill) {
            if (self->window >= s_limit_locked (self, idx))
                break; /* no room without waiting */
            s_seal_locked (self, idx);
            if (o->n >= self->fill)
                break; /* out of memory: later */
        }
        if (!o->bars)
            o->bars = self->npool > 0 ? self->pool[--self->npool]
                                      : malloc (self->batch_max * sizeof *o->bars);
        if (!o->bars)
            break;
        size_t room = self->fill - o->n < n - *taken ? self->fill - o->n : n - *taken;
        memcpy (o->bars + o->n, bars + *taken, room * sizeof *bars);
        s_commit_locked (self, o, idx, room);
        *taken += room;
    }
    int rc = self->closed ? -1 : 0;
    pthread_mutex_unlock (&self->lock);
    return rc;
}

int
batcher_push (batcher_t *self, size_t idx, const mdf_bar_t *bars, size_t n)
{
    for (size_t i = 0; i < n;) {
        mdf_bar_t *dst;
        size_t room = batcher_reserve (self, idx, n - i, &dst);
        if (room == 0)
            return -1;
        memcpy (dst, bars + i, room * sizeof *bars);
        if (batcher_commit (self, idx, room) < 0)
            return -1;
        i += room;
    }
    return 0;
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
    s_seal_due_locked (self, now, true);
    while (self->live_head && n < max) {
        batch_t *b = self->live_head;
        self->live_head = b->ready_next;
        b->ready_next = NULL;
        out[n++] = b;
    }
    if (!self->live_head)
        self->live_tail = NULL;
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
batcher_recycle (batcher_t *self, batch_t *b)
{
    if (!b->bars)
        return;
    pthread_mutex_lock (&self->lock);
    if (self->npool < self->pool_max) {
        self->pool[self->npool++] = b->bars;
        b->bars = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    free (b->bars); /* the pool was full */
    b->bars = NULL;
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
    /* A full open batch waiting for this room is sealed here, by the taker,
     * which takes it next: its provider's wake-up is then off the batch's
     * path (it goes on filling a fresh open batch). */
    s_seal_due_locked (self, 0, false);
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    free (b->bars);
    free (b);
}

uint64_t
batcher_settled (batcher_t *self, size_t idx)
{
    if (idx >= self->nproviders)
        return 0;
    pthread_mutex_lock (&self->lock);
    const s_open_t *o = &self->open[idx];
    uint64_t settled = o->total - o->n;
    for (const batch_t *b = self->sealed_head; b; b = b->next)
        if (b->prov == idx && b->first < settled)
            settled = b->first;
    pthread_mutex_unlock (&self->lock);
    return settled;
}

/* Lock held. */
static int64_t
s_next_linger_locked (batcher_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->nproviders; i++)
        if (self->open[i].n > 0 && !self->open[i].writing
            && self->window < s_limit_locked (self, i)) {
            int64_t d = self->flush ? 0 : self->open[i].first_ns + self->linger_ns;
            next = d < next ? d : next;
        }
    return next;
}

int64_t
batcher_next_linger (batcher_t *self)
{
    pthread_mutex_lock (&self->lock);
    int64_t next = s_next_linger_locked (self);
    pthread_mutex_unlock (&self->lock);
    return next;
}

int64_t
batcher_sleep_until (batcher_t *self, int64_t until_ns)
{
    pthread_mutex_lock (&self->lock);
    int64_t linger = s_next_linger_locked (self);
    self->sleep_until = linger < until_ns ? linger : until_ns;
    int64_t next = self->sleep_until;
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

void
batcher_set_live (batcher_t *self, size_t idx, bool live)
{
    if (idx >= self->nproviders)
        return;
    pthread_mutex_lock (&self->lock);
    if (self->open[idx].live != live) {
        self->open[idx].live = live;
        self->nlive = live ? self->nlive + 1 : self->nlive - 1;
    }
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

void
batcher_set_window (batcher_t *self, size_t max_inflight)
{
    pthread_mutex_lock (&self->lock);
    self->max_inflight = max_inflight ? max_inflight : 1;
    pthread_cond_broadcast (&self->cond); /* providers waiting for room */
    s_wake (self);                        /* lingering batches may seal now */
    pthread_mutex_unlock (&self->lock);
}

void
batcher_set_fill (batcher_t *self, size_t bars)
{
    pthread_mutex_lock (&self->lock);
    size_t fill = bars == 0 || bars > self->batch_max ? self->batch_max : bars;
    if (fill != self->fill) {
        self->fill = fill;
        pthread_cond_broadcast (&self->cond); /* a provider may write again */
        s_wake (self);                        /* open batches may be full now */
    }
    pthread_mutex_unlock (&self->lock);
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
    pthread_mutex_lock (&self->lock);
    self->woken = false;
    ssize_t rc = read (self->efd, &v, sizeof v);
    pthread_mutex_unlock (&self->lock);
    (void)rc;
}
