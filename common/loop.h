/*
 * loop: one event loop for a service thread.
 *
 * A thread that waits on plain fds (a pipe from a child process, an eventfd),
 * ZeroMQ sockets and timers registers a callback for each on an mdf_loop_t and
 * calls mdf_loop_run, instead of hand-rolling poll(2) around ZMQ_FD.  The loop
 * sleeps in poll(2) over the registered fds, the sockets' ZMQ_FDs and its own
 * eventfd (for mdf_loop_stop), at most MDF_LOOP_BEAT_MS at a time, and turns:
 *
 *     read the clock -> call fd and socket callbacks -> call due timers
 *
 *     static int
 *     s_on_feed (mdf_loop_t *loop, void *sock, void *arg)
 *     {
 *         feed_t *self = arg;
 *         zmsg_t *msg = zmsg_recv (sock);   // readable: does not block
 *         ...
 *         mdf_loop_timer_reset (loop, self->idle_timer, 5000);   // not idle
 *         return 0;
 *     }
 *
 *     static int
 *     s_setup (mdf_loop_t *loop, void *arg, char *err, size_t errlen)
 *     {
 *         feed_t *self = arg;
 *         self->sub = zsock_new_sub (self->endpoint, "");
 *         if (!self->sub) {
 *             snprintf (err, errlen, "cannot connect %s", self->endpoint);
 *             return -1;
 *         }
 *         // s_on_idle: every 5 s without a message
 *         self->idle_timer = mdf_loop_timer (loop, 5000, true, s_on_idle, self);
 *         if (mdf_loop_add_socket (loop, self->sub, s_on_feed, self) < 0
 *             || self->idle_timer < 0) {
 *             snprintf (err, errlen, "out of memory");
 *             zsock_destroy (&self->sub);
 *             return -1;
 *         }
 *         return 0;
 *     }
 *
 *     mdf_loop_thread_t *t = mdf_loop_thread_start ("mdp-feed", s_setup, s_teardown,
 *                                                   self, err, sizeof err);
 *     ...
 *     mdf_loop_thread_stop (&t);   // stop, join, teardown has run
 *
 * Rules
 *   - A ZeroMQ socket's ZMQ_FD is edge-triggered: it says "look again", not
 *     "readable".  The loop reads ZMQ_EVENTS before it sleeps and after every
 *     callback, and calls the socket's callback again while ZMQ_POLLIN is set,
 *     so a callback may read one message or many and never has to drain the
 *     socket.  It does so at most MDF_LOOP_SOCK_BURST times per socket and
 *     turn, so one busy socket cannot starve the others or the timers; what is
 *     left is taken at the next turn, without sleeping.
 *   - A plain fd is level-triggered (poll(2)): its callback runs at every turn
 *     while the fd is ready, with the revents (POLLERR, POLLHUP and POLLNVAL
 *     too: on those, remove the fd or it will be reported again).
 *   - Callbacks return 0 to go on or -1 to end mdf_loop_run, which then
 *     returns -1.  mdf_loop_stop ends it with 0.  Either way the loop stays
 *     stopped: mdf_loop_stopping is true and a later mdf_loop_run returns at
 *     once.  A stop that comes before mdf_loop_run is not lost.
 *   - Ids come from one counter shared by fds, sockets and timers and are not
 *     reused while registered, so a stale id cannot name another entry.
 *     Removing or cancelling inside any callback is safe, also the entry being
 *     called: a removed entry is never called again.  An entry added inside a
 *     callback is first polled at the next turn.
 *   - Timers fire in the order of their deadlines (ties: in the order they
 *     were armed), never early, and at most once per turn each.  A one-shot
 *     timer is gone once it fired, unless its own callback re-armed it with
 *     mdf_loop_timer_reset.  A repeating timer that fell behind skips the
 *     missed periods instead of firing in a burst.
 *   - The loop owns no fd and no socket: remove a socket before closing it,
 *     and close what you registered yourself.
 *   - No allocation in a turn: the arrays grow when entries are added.
 *
 * Thread-safety: a loop belongs to the thread that runs it (like its ZeroMQ
 * sockets).  Only mdf_loop_stop, mdf_loop_stopping and mdf_loop_beat_ms_ago
 * may be called from other threads (mdf_loop_stop also from a signal handler:
 * it is an atomic store and one write(2) to an eventfd).
 */
#ifndef MDF_LOOP_H
#define MDF_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest sleep of an idle loop; mdf_loop_beat_ms_ago stays about this small. */
#define MDF_LOOP_BEAT_MS 100

/* The most calls of one socket's callback in one turn. */
#define MDF_LOOP_SOCK_BURST 64

typedef struct _mdf_loop_t mdf_loop_t;

/* Callbacks return 0 to go on, -1 to stop the loop (mdf_loop_run then returns -1). */
typedef int (mdf_loop_fd_fn) (mdf_loop_t *loop, int fd, short revents, void *arg);
typedef int (mdf_loop_sock_fn) (mdf_loop_t *loop, void *zsock_or_socket, void *arg);
typedef int (mdf_loop_timer_fn) (mdf_loop_t *loop, int timer_id, void *arg);

/* A new loop; NULL when out of memory or without an eventfd. */
mdf_loop_t *mdf_loop_new (void);

/* Free the loop (not while it runs).  Registered fds and sockets are left open. */
void mdf_loop_destroy (mdf_loop_t **self_p);

/* Call `fn` when `fd` is ready for `events` (POLLIN and/or POLLOUT).  Returns
 * an id >= 0, or -1 (fd < 0, no events, no fn, out of memory). */
int mdf_loop_add_fd (mdf_loop_t *self, int fd, short events, mdf_loop_fd_fn *fn, void *arg);

/* Change the events an fd entry waits for (e.g. POLLOUT only while there is
 * something to write).  0, or -1 for an unknown id or a socket. */
int mdf_loop_fd_events (mdf_loop_t *self, int id, short events);

/* Call `fn` while the ZeroMQ socket `sock` (a zsock_t * or a raw libzmq
 * socket; fn gets `sock` as given) has a message to read; see the rules
 * above.  Returns an id >= 0, or -1 (no ZMQ_FD, out of memory). */
int mdf_loop_add_socket (mdf_loop_t *self, void *sock, mdf_loop_sock_fn *fn, void *arg);

/* Forget an fd or socket entry.  Unknown ids are ignored.  Safe inside a callback. */
void mdf_loop_remove (mdf_loop_t *self, int id);

/* Call `fn` after `after_ms` (>= 0) milliseconds, and every `after_ms` after
 * that when `repeat` (a repeating timer needs after_ms > 0).  Returns an id
 * >= 0, or -1. */
int mdf_loop_timer (mdf_loop_t *self, int64_t after_ms, bool repeat, mdf_loop_timer_fn *fn,
                    void *arg);

/* Disarm and forget a timer.  Unknown ids are ignored.  Safe inside a callback. */
void mdf_loop_timer_cancel (mdf_loop_t *self, int timer_id);

/* Re-arm a timer to fire `after_ms` (>= 0) from now (an idle timeout pushed
 * back at each event); a repeating timer then goes on at its own period.  0,
 * or -1 for an unknown id (a one-shot timer that fired and was not re-armed). */
int mdf_loop_timer_reset (mdf_loop_t *self, int timer_id, int64_t after_ms);

/* Run on the calling thread until mdf_loop_stop (returns 0) or a callback
 * returns -1 (returns -1).  Also -1 when poll(2) fails or when called from
 * inside a callback. */
int mdf_loop_run (mdf_loop_t *self);

/* Any thread, and async-signal-safe: the loop returns at its next turn. */
void mdf_loop_stop (mdf_loop_t *self);

/* True once the loop was stopped (mdf_loop_stop or a callback's -1).  Any thread. */
bool mdf_loop_stopping (const mdf_loop_t *self);

/* Milliseconds since the loop last turned (any thread).  A running loop turns
 * at least every MDF_LOOP_BEAT_MS, so a value well above that means a
 * callback is stuck (or the loop does not run). */
int64_t mdf_loop_beat_ms_ago (const mdf_loop_t *self);

/* CLOCK_MONOTONIC in ns as read once at this turn: callbacks use it instead
 * of reading the clock.  The loop's thread. */
int64_t mdf_loop_now_ns (const mdf_loop_t *self);

/* ---- a loop on its own thread -------------------------------------------- */

/* Runs on the new thread before the loop: register fds, sockets and timers
 * (create ZeroMQ sockets here: a socket belongs to one thread).  0, or -1
 * with `err` filled; on -1 it undoes what it did itself, and teardown does
 * not run. */
typedef int (mdf_loop_setup_fn) (mdf_loop_t *loop, void *arg, char *err, size_t errlen);

/* Runs on the thread after the loop ended (stop, or a callback's -1). */
typedef void (mdf_loop_teardown_fn) (mdf_loop_t *loop, void *arg);

typedef struct _mdf_loop_thread_t mdf_loop_thread_t;

/* Start a thread named `name` (cut to 15 bytes) that runs `setup`, then the
 * loop, then `teardown` (may be NULL).  Returns once setup is done: the
 * thread, or NULL with setup's error text in `err` (or why the thread could
 * not start); the failed thread has been joined. */
mdf_loop_thread_t *mdf_loop_thread_start (const char *name, mdf_loop_setup_fn *setup,
                                          mdf_loop_teardown_fn *teardown, void *arg, char *err,
                                          size_t errlen);

/* The thread's loop: for mdf_loop_stop, mdf_loop_stopping, mdf_loop_beat_ms_ago. */
mdf_loop_t *mdf_loop_thread_loop (mdf_loop_thread_t *t);

/* Stop the loop, join the thread (teardown has then run) and free; *t_p
 * becomes NULL.  The one stop convention: stop, then join. */
void mdf_loop_thread_stop (mdf_loop_thread_t **t_p);

#endif
