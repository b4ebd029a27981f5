/*
 * loop: poll(2) over fds, ZMQ_FDs and an eventfd, plus timers.  See loop.h.
 *
 * `entries` holds the fd and socket entries in the order they were added;
 * `pfds[0]` is the stop eventfd and `pfds[1 + i]` is entries[i].  Removing an
 * entry marks it dead and the set dirty; dead entries are dropped and `pfds`
 * rebuilt at the start of the next turn, never during dispatch, so indexes
 * stay valid while callbacks run (an entry added meanwhile lands past
 * `npolled` and waits for the next turn).  Callbacks may add entries and so
 * move the arrays: entries and timers are found again by index after every
 * callback, never kept as pointers across one.
 *
 * `timers` is a small array scanned linearly (sets are a handful); a free slot
 * is reused.  A timer remembers the turn it was armed or fired in and is not
 * fired again in that turn, so a callback that re-arms with 0 cannot keep a
 * turn going forever.
 */
#include "common/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <czmq.h>

#include "common/clock.h"

#define S_NS_PER_MS 1000000LL
/* Longest delay kept, in ms (about 100 years): keeps now + delay in range. */
#define S_MAX_DELAY_MS (100LL * 365 * 24 * 3600 * 1000)

typedef struct {
    int id;
    int fd;
    short events;
    bool dead;
    bool ready;   /* a socket whose ZMQ_EVENTS had ZMQ_POLLIN at the last look */
    void *sock;   /* as given to mdf_loop_add_socket; NULL for a plain fd */
    void *handle; /* zsock_resolve (sock) */
    mdf_loop_fd_fn *fd_fn;
    mdf_loop_sock_fn *sock_fn;
    void *arg;
} s_entry_t;

enum { S_FREE = 0, S_ARMED, S_FIRING };

typedef struct {
    int id;
    int state;
    bool repeat;
    int64_t due_ns;
    int64_t period_ns;
    uint64_t seq;  /* arm order, breaks ties between equal deadlines */
    uint64_t turn; /* armed or fired in this turn: not fired again in it */
    mdf_loop_timer_fn *fn;
    void *arg;
} s_timer_t;

struct _mdf_loop_t {
    s_entry_t *entries;
    size_t nentries;
    size_t cap;          /* entries has cap slots, pfds cap + 1 */
    struct pollfd *pfds; /* [0] the eventfd, [1 + i] entries[i] */
    size_t npolled;      /* entries in pfds at this turn */
    bool dirty;          /* entries changed since pfds was built */
    s_timer_t *timers;
    size_t ntimers; /* slots in use or free below this */
    size_t timers_cap;
    int next_id;
    bool ids_wrapped;
    uint64_t seq;
    uint64_t turn;
    int efd;
    bool running;
    int64_t now_ns;
    atomic_bool stopping;
    mdf_beat_t beat;
};

/* ---- ids -------------------------------------------------------------------- */

static bool
s_id_used (const mdf_loop_t *self, int id)
{
    for (size_t i = 0; i < self->nentries; i++)
        if (self->entries[i].id == id && !self->entries[i].dead)
            return true;
    for (size_t i = 0; i < self->ntimers; i++)
        if (self->timers[i].id == id && self->timers[i].state != S_FREE)
            return true;
    return false;
}

/* A fresh id: a counter, and past INT_MAX the next one not in use. */
static int
s_new_id (mdf_loop_t *self)
{
    while (true) {
        int id = self->next_id;
        if (self->next_id == INT_MAX) {
            self->next_id = 0;
            self->ids_wrapped = true;
        } else
            self->next_id++;
        if (!self->ids_wrapped || !s_id_used (self, id))
            return id;
    }
}

/* ---- fds and sockets ------------------------------------------------------- */

mdf_loop_t *
mdf_loop_new (void)
{
    mdf_loop_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    self->pfds = calloc (1, sizeof *self->pfds);
    if (self->efd < 0 || !self->pfds) {
        if (self->efd >= 0)
            close (self->efd);
        free (self->pfds);
        free (self);
        return NULL;
    }
    self->pfds[0] = (struct pollfd){ self->efd, POLLIN, 0 };
    atomic_init (&self->stopping, false);
    self->now_ns = mdf_mono_ns ();
    atomic_init (&self->beat.ns, (long long)self->now_ns);
    return self;
}

void
mdf_loop_destroy (mdf_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_loop_t *self = *self_p;
    close (self->efd);
    free (self->entries);
    free (self->pfds);
    free (self->timers);
    free (self);
    *self_p = NULL;
}

/* Room for one more entry (and its pollfd).  0 or -1. */
static int
s_grow_entries (mdf_loop_t *self)
{
    if (self->nentries < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 8;
    struct pollfd *pfds = realloc (self->pfds, (cap + 1) * sizeof *pfds);
    if (!pfds)
        return -1;
    self->pfds = pfds;
    s_entry_t *entries = realloc (self->entries, cap * sizeof *entries);
    if (!entries)
        return -1; /* pfds is only bigger than needed */
    self->entries = entries;
    self->cap = cap;
    return 0;
}

static int
s_add (mdf_loop_t *self, s_entry_t entry)
{
    if (s_grow_entries (self) < 0)
        return -1;
    entry.id = s_new_id (self);
    self->entries[self->nentries++] = entry;
    self->dirty = true;
    return entry.id;
}

int
mdf_loop_add_fd (mdf_loop_t *self, int fd, short events, mdf_loop_fd_fn *fn, void *arg)
{
    if (!self || fd < 0 || !events || !fn)
        return -1;
    return s_add (self, (s_entry_t){ .fd = fd, .events = events, .fd_fn = fn, .arg = arg });
}

int
mdf_loop_add_socket (mdf_loop_t *self, void *sock, mdf_loop_sock_fn *fn, void *arg)
{
    if (!self || !sock || !fn)
        return -1;
    void *handle = zsock_resolve (sock);
    int fd = -1;
    size_t len = sizeof fd;
    if (!handle || zmq_getsockopt (handle, ZMQ_FD, &fd, &len) != 0 || fd < 0)
        return -1;
    /* ready: look at ZMQ_EVENTS at the first turn whatever the fd says */
    return s_add (self, (s_entry_t){ .fd = fd,
                                     .events = POLLIN,
                                     .ready = true,
                                     .sock = sock,
                                     .handle = handle,
                                     .sock_fn = fn,
                                     .arg = arg });
}

static s_entry_t *
s_entry (mdf_loop_t *self, int id)
{
    for (size_t i = 0; i < self->nentries; i++)
        if (self->entries[i].id == id && !self->entries[i].dead)
            return &self->entries[i];
    return NULL;
}

int
mdf_loop_fd_events (mdf_loop_t *self, int id, short events)
{
    s_entry_t *e = self && id >= 0 ? s_entry (self, id) : NULL;
    if (!e || e->handle || !events)
        return -1;
    e->events = events;
    self->dirty = true;
    return 0;
}

void
mdf_loop_remove (mdf_loop_t *self, int id)
{
    s_entry_t *e = self && id >= 0 ? s_entry (self, id) : NULL;
    if (!e)
        return;
    e->dead = true;
    self->dirty = true;
}

/* Drop dead entries and rebuild pfds (between turns only). */
static void
s_rebuild (mdf_loop_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nentries; i++)
        if (!self->entries[i].dead)
            self->entries[n++] = self->entries[i];
    self->nentries = n;
    for (size_t i = 0; i < n; i++)
        self->pfds[1 + i] = (struct pollfd){ self->entries[i].fd, self->entries[i].events, 0 };
    self->dirty = false;
}

/* Whether a socket has a message to read; reading ZMQ_EVENTS also takes the
 * socket's pending commands, which is what clears (or re-arms) its ZMQ_FD. */
static bool
s_readable (void *handle)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt (handle, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

/* Call socket entry i's callback while it is readable, at most
 * MDF_LOOP_SOCK_BURST times.  0, or -1 from the callback. */
static int
s_dispatch_socket (mdf_loop_t *self, size_t i)
{
    for (int k = 0; k < MDF_LOOP_SOCK_BURST; k++) {
        s_entry_t *e = &self->entries[i];
        if (e->dead || atomic_load_explicit (&self->stopping, memory_order_relaxed))
            return 0;
        if (!(e->ready = s_readable (e->handle)))
            return 0;
        if (e->sock_fn (self, e->sock, e->arg) < 0)
            return -1;
    }
    self->entries[i].ready = true; /* more, maybe: look again before sleeping */
    return 0;
}

/* ---- timers ------------------------------------------------------------------ */

static int64_t
s_delay_ns (int64_t after_ms)
{
    return (after_ms > S_MAX_DELAY_MS ? S_MAX_DELAY_MS : after_ms) * S_NS_PER_MS;
}

int
mdf_loop_timer (mdf_loop_t *self, int64_t after_ms, bool repeat, mdf_loop_timer_fn *fn, void *arg)
{
    if (!self || !fn || after_ms < 0 || (repeat && after_ms == 0))
        return -1;
    size_t slot = 0;
    while (slot < self->ntimers && self->timers[slot].state != S_FREE)
        slot++;
    if (slot == self->timers_cap) {
        size_t cap = self->timers_cap ? self->timers_cap * 2 : 8;
        s_timer_t *timers = realloc (self->timers, cap * sizeof *timers);
        if (!timers)
            return -1;
        self->timers = timers;
        self->timers_cap = cap;
    }
    if (slot == self->ntimers)
        self->ntimers++;
    int64_t delay = s_delay_ns (after_ms);
    self->timers[slot] = (s_timer_t){ .id = s_new_id (self),
                                      .state = S_ARMED,
                                      .repeat = repeat,
                                      .due_ns = mdf_mono_ns () + delay,
                                      .period_ns = delay,
                                      .seq = ++self->seq,
                                      .turn = self->turn,
                                      .fn = fn,
                                      .arg = arg };
    return self->timers[slot].id;
}

static s_timer_t *
s_timer (mdf_loop_t *self, int id)
{
    for (size_t i = 0; i < self->ntimers; i++)
        if (self->timers[i].id == id && self->timers[i].state != S_FREE)
            return &self->timers[i];
    return NULL;
}

void
mdf_loop_timer_cancel (mdf_loop_t *self, int timer_id)
{
    s_timer_t *t = self && timer_id >= 0 ? s_timer (self, timer_id) : NULL;
    if (t)
        t->state = S_FREE;
}

int
mdf_loop_timer_reset (mdf_loop_t *self, int timer_id, int64_t after_ms)
{
    s_timer_t *t = self && timer_id >= 0 ? s_timer (self, timer_id) : NULL;
    if (!t || after_ms < 0)
        return -1;
    t->state = S_ARMED; /* also a one-shot timer re-arming itself while it fires */
    t->due_ns = mdf_mono_ns () + s_delay_ns (after_ms);
    t->seq = ++self->seq;
    t->turn = self->turn;
    return 0;
}

/* The due timer to fire next (earliest deadline, then arm order), or -1. */
static ssize_t
s_next_due (mdf_loop_t *self)
{
    ssize_t best = -1;
    for (size_t i = 0; i < self->ntimers; i++) {
        s_timer_t *t = &self->timers[i];
        if (t->state != S_ARMED || t->turn == self->turn || t->due_ns > self->now_ns)
            continue;
        if (best < 0 || t->due_ns < self->timers[best].due_ns
            || (t->due_ns == self->timers[best].due_ns && t->seq < self->timers[best].seq))
            best = (ssize_t)i;
    }
    return best;
}

/* Fire the timers due at this turn's now, in order.  0, or -1 from a callback. */
static int
s_dispatch_timers (mdf_loop_t *self)
{
    while (!atomic_load_explicit (&self->stopping, memory_order_relaxed)) {
        ssize_t i = s_next_due (self);
        if (i < 0)
            return 0;
        s_timer_t *t = &self->timers[i];
        t->turn = self->turn;
        if (t->repeat) {
            t->due_ns += t->period_ns;
            if (t->due_ns <= self->now_ns) /* fell behind: skip, no burst */
                t->due_ns = self->now_ns + t->period_ns;
            t->seq = ++self->seq;
        } else
            t->state = S_FIRING;
        int id = t->id;
        int rc = t->fn (self, id, t->arg);
        t = &self->timers[i]; /* the callback may have moved the array */
        if (t->id == id && t->state == S_FIRING)
            t->state = S_FREE;
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the loop ---------------------------------------------------------------- */

/* poll(2)'s timeout at `now`: 0 when a socket is readable or a timer due,
 * else until the next deadline, at most MDF_LOOP_BEAT_MS. */
static int
s_timeout (mdf_loop_t *self, int64_t now)
{
    bool ready = false;
    for (size_t i = 0; i < self->nentries; i++) {
        s_entry_t *e = &self->entries[i];
        if (e->handle && !e->dead && (e->ready = s_readable (e->handle)))
            ready = true;
    }
    if (ready)
        return 0;
    int64_t next = now + MDF_LOOP_BEAT_MS * S_NS_PER_MS;
    for (size_t i = 0; i < self->ntimers; i++)
        if (self->timers[i].state == S_ARMED && self->timers[i].due_ns < next)
            next = self->timers[i].due_ns;
    return next <= now ? 0 : (int)((next - now + S_NS_PER_MS - 1) / S_NS_PER_MS);
}

/* One turn: sleep, then call what is ready.  0, or -1 (a callback's, or poll failed). */
static int
s_turn (mdf_loop_t *self)
{
    self->turn++;
    if (self->dirty)
        s_rebuild (self);
    self->npolled = self->nentries;
    int64_t now = mdf_mono_ns ();
    mdf_beat (&self->beat, now);
    int timeout = s_timeout (self, now);
    if (poll (self->pfds, (nfds_t)(1 + self->npolled), timeout) < 0) {
        if (errno != EINTR)
            return -1;
        for (size_t i = 0; i <= self->npolled; i++)
            self->pfds[i].revents = 0;
    }
    self->now_ns = mdf_mono_ns ();
    mdf_beat (&self->beat, self->now_ns);
    for (size_t i = 0; i < self->npolled; i++) {
        if (atomic_load_explicit (&self->stopping, memory_order_relaxed))
            return 0;
        s_entry_t *e = &self->entries[i];
        short revents = self->pfds[1 + i].revents;
        if (e->dead)
            continue;
        if (e->handle) {
            if ((revents || e->ready) && s_dispatch_socket (self, i) < 0)
                return -1;
        } else if (revents && e->fd_fn (self, e->fd, revents, e->arg) < 0)
            return -1;
    }
    return s_dispatch_timers (self);
}

int
mdf_loop_run (mdf_loop_t *self)
{
    if (!self || self->running)
        return -1;
    self->running = true;
    int rc = 0;
    while (!atomic_load_explicit (&self->stopping, memory_order_acquire))
        if (s_turn (self) < 0) {
            rc = -1;
            atomic_store_explicit (&self->stopping, true, memory_order_release);
        }
    self->running = false;
    return rc;
}

void
mdf_loop_stop (mdf_loop_t *self)
{
    if (!self)
        return;
    atomic_store_explicit (&self->stopping, true, memory_order_release);
    uint64_t one = 1;
    ssize_t n = write (self->efd, &one, sizeof one); /* wakes poll; EAGAIN: already awake */
    (void)n;
}

bool
mdf_loop_stopping (const mdf_loop_t *self)
{
    return self && atomic_load_explicit (&((mdf_loop_t *)self)->stopping, memory_order_acquire);
}

int64_t
mdf_loop_beat_ms_ago (const mdf_loop_t *self)
{
    return self ? mdf_beat_age_ms (&((mdf_loop_t *)self)->beat) : -1;
}

int64_t
mdf_loop_now_ns (const mdf_loop_t *self)
{
    return self ? self->now_ns : 0;
}

/* ---- a loop on its own thread --------------------------------------------------- */

#define S_ERR_MAX 256

struct _mdf_loop_thread_t {
    pthread_t thread;
    mdf_loop_t *loop;
    mdf_loop_setup_fn *setup;
    mdf_loop_teardown_fn *teardown;
    void *arg;
    char name[16];
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int status; /* 0 setting up, 1 running, -1 setup failed */
    char err[S_ERR_MAX];
};

static void *
s_thread_main (void *p)
{
    mdf_loop_thread_t *t = p;
    pthread_setname_np (pthread_self (), t->name); /* top -H, perf */
    char err[S_ERR_MAX] = "";
    int rc = t->setup ? t->setup (t->loop, t->arg, err, sizeof err) : 0;
    pthread_mutex_lock (&t->mutex);
    if (rc < 0)
        snprintf (t->err, sizeof t->err, "%s", *err ? err : "loop setup failed");
    t->status = rc < 0 ? -1 : 1;
    pthread_cond_signal (&t->cond);
    pthread_mutex_unlock (&t->mutex);
    if (rc < 0)
        return NULL;
    mdf_loop_run (t->loop);
    if (t->teardown)
        t->teardown (t->loop, t->arg);
    return NULL;
}

static void
s_thread_free (mdf_loop_thread_t *t)
{
    mdf_loop_destroy (&t->loop);
    pthread_cond_destroy (&t->cond);
    pthread_mutex_destroy (&t->mutex);
    free (t);
}

mdf_loop_thread_t *
mdf_loop_thread_start (const char *name, mdf_loop_setup_fn *setup, mdf_loop_teardown_fn *teardown,
                       void *arg, char *err, size_t errlen)
{
    mdf_loop_thread_t *t = calloc (1, sizeof *t);
    mdf_loop_t *loop = t ? mdf_loop_new () : NULL;
    if (!loop) {
        free (t);
        if (err && errlen)
            snprintf (err, errlen, "cannot create loop: out of memory or no eventfd");
        return NULL;
    }
    t->loop = loop;
    t->setup = setup;
    t->teardown = teardown;
    t->arg = arg;
    snprintf (t->name, sizeof t->name, "%s", name ? name : "mdf-loop");
    pthread_mutex_init (&t->mutex, NULL);
    pthread_cond_init (&t->cond, NULL);
    int rc = pthread_create (&t->thread, NULL, s_thread_main, t);
    if (rc != 0) {
        if (err && errlen)
            snprintf (err, errlen, "cannot start thread %s: %s", t->name, strerror (rc));
        s_thread_free (t);
        return NULL;
    }
    pthread_mutex_lock (&t->mutex);
    while (t->status == 0)
        pthread_cond_wait (&t->cond, &t->mutex);
    pthread_mutex_unlock (&t->mutex);
    if (t->status < 0) {
        if (err && errlen)
            snprintf (err, errlen, "%s", t->err);
        pthread_join (t->thread, NULL);
        s_thread_free (t);
        return NULL;
    }
    return t;
}

mdf_loop_t *
mdf_loop_thread_loop (mdf_loop_thread_t *t)
{
    return t ? t->loop : NULL;
}

void
mdf_loop_thread_stop (mdf_loop_thread_t **t_p)
{
    if (!t_p || !*t_p)
        return;
    mdf_loop_thread_t *t = *t_p;
    mdf_loop_stop (t->loop);
    pthread_join (t->thread, NULL);
    s_thread_free (t);
    *t_p = NULL;
}
