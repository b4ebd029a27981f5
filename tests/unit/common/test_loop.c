/*
 * test_loop: what a thread built on mdf_loop_t sees.  A readable pipe calls
 * back with its data; a ZeroMQ socket's messages all arrive, also those queued
 * before the loop started and those that came while a callback ran (ZMQ_FD
 * gives no further edge for them), and a socket that never runs dry does not
 * starve the timers; timers fire in deadline order, repeat, are pushed back by
 * mdf_loop_timer_reset and can be cancelled; entries removed or cancelled
 * inside a callback are not called again; a callback's -1 ends the run with
 * -1 and mdf_loop_stop (from another thread, before the run, or inside a
 * callback) with 0; an idle loop keeps its beat fresh without spinning and a
 * stuck callback lets it age; a loop thread reports its setup's failure and
 * runs setup, loop and teardown on one named thread.
 *
 * Timing: the machine is shared, so tests assert order, counts and eventual
 * delivery; durations only as generous bounds (seconds) or lower bounds
 * (timers never fire early).  A watchdog timer ends a run that would
 * otherwise hang, with -1, so a missing delivery fails instead of timing out.
 */
#include "common/loop.h"

#include "common/clock.h"

#include <check.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness.h"

#define WATCHDOG_MS 5000

static pthread_t s_main; /* the test's own thread */

static int
s_watchdog (mdf_loop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    *(bool *)arg = true;
    return -1;
}

/* A loop with a watchdog that sets *fired and ends the run with -1. */
static mdf_loop_t *
s_loop (bool *fired)
{
    mdf_loop_t *loop = mdf_loop_new ();
    ck_assert_ptr_nonnull (loop);
    *fired = false;
    ck_assert_int_ge (mdf_loop_timer (loop, WATCHDOG_MS, false, s_watchdog, fired), 0);
    return loop;
}

static int
s_stop (mdf_loop_t *loop, int id, void *arg)
{
    (void)id, (void)arg;
    mdf_loop_stop (loop);
    return 0;
}

/* ---- plain fds ------------------------------------------------------------------ */

typedef struct {
    char data[64];
    short revents;
    int calls;
} fd_seen_t;

static int
s_read_pipe (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    fd_seen_t *seen = arg;
    seen->calls++;
    seen->revents = revents;
    ssize_t n = read (fd, seen->data, sizeof seen->data - 1);
    seen->data[n > 0 ? n : 0] = '\0';
    mdf_loop_stop (loop);
    return 0;
}

START_TEST (a_readable_pipe_calls_back_with_its_data)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int p[2];
    ck_assert_int_eq (pipe (p), 0);
    fd_seen_t seen = { "", 0, 0 };
    ck_assert_int_ge (mdf_loop_add_fd (loop, p[0], POLLIN, s_read_pipe, &seen), 0);
    ck_assert_int_eq (write (p[1], "hello", 5), 5);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (seen.calls, 1);
    ck_assert (seen.revents & POLLIN);
    ck_assert_str_eq (seen.data, "hello");
    ck_assert (mdf_loop_stopping (loop));
    mdf_loop_destroy (&loop);
    ck_assert_ptr_null (loop);
    close (p[0]);
    close (p[1]);
}
END_TEST

static int
s_writable (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)fd;
    *(short *)arg = revents;
    mdf_loop_stop (loop);
    return 0;
}

START_TEST (a_writable_fd_reports_pollout_and_a_silent_one_nothing)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int p[2];
    ck_assert_int_eq (pipe (p), 0);
    short never = 0, out = 0;
    /* added first: nothing is ever written, so it must never be called */
    ck_assert_int_ge (mdf_loop_add_fd (loop, p[0], POLLIN, s_writable, &never), 0);
    ck_assert_int_ge (mdf_loop_add_fd (loop, p[1], POLLOUT, s_writable, &out), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert (out & POLLOUT);
    ck_assert_int_eq (never, 0);
    mdf_loop_destroy (&loop);
    close (p[0]);
    close (p[1]);
}
END_TEST

typedef struct {
    int id;
    int calls;
} out_once_t;

/* Writable: count, then wait only for POLLIN, which a pipe's write end never is. */
static int
s_out_once (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)fd;
    out_once_t *o = arg;
    ck_assert (revents & POLLOUT);
    o->calls++;
    ck_assert_int_eq (mdf_loop_fd_events (loop, o->id, POLLIN), 0);
    return 0;
}

START_TEST (changing_an_fds_events_stops_its_callbacks)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int p[2];
    ck_assert_int_eq (pipe (p), 0);
    out_once_t o = { -1, 0 };
    o.id = mdf_loop_add_fd (loop, p[1], POLLOUT, s_out_once, &o);
    ck_assert_int_ge (o.id, 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 200, false, s_stop, NULL), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (o.calls, 1); /* level-triggered: without the change, every turn */
    mdf_loop_destroy (&loop);
    close (p[0]);
    close (p[1]);
}
END_TEST

static int
s_run_again (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    *(int *)arg = mdf_loop_run (loop);
    mdf_loop_stop (loop);
    return 0;
}

START_TEST (running_a_loop_from_its_own_callback_is_refused)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int nested = 99;
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_run_again, &nested), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (nested, -1);
    mdf_loop_destroy (&loop);
}
END_TEST

/* ---- ZeroMQ sockets ------------------------------------------------------------- */

/* One message as an int, without waiting; -1 when there is none. */
static int
s_recv_int (void *sock)
{
    int v = -1;
    if (zmq_recv (zsock_resolve (sock), &v, sizeof v, ZMQ_DONTWAIT) != (int)sizeof v)
        return -1;
    return v;
}

static void
s_send_int (void *sock, int v)
{
    ck_assert_int_eq (zmq_send (zsock_resolve (sock), &v, sizeof v, 0), (int)sizeof v);
}

typedef struct {
    zsock_t *peer; /* the other end, for callbacks that send more */
    int want;      /* stop after this many messages */
    int got[64];   /* what arrived, in order */
    int ngot;
    int calls;
    int send_extra; /* at the first call, send this many more on peer before reading */
} sock_seen_t;

/* Reads exactly one message per call, so every further message needs a further call. */
static int
s_read_one (mdf_loop_t *loop, void *sock, void *arg)
{
    sock_seen_t *seen = arg;
    if (seen->calls++ == 0)
        for (int i = 0; i < seen->send_extra; i++)
            s_send_int (seen->peer, 100 + i);
    int v = s_recv_int (sock);
    ck_assert_int_ge (v, 0); /* called only when readable */
    if (seen->ngot < 64)
        seen->got[seen->ngot++] = v;
    if (seen->ngot == seen->want)
        mdf_loop_stop (loop);
    return 0;
}

START_TEST (messages_queued_before_the_run_are_all_delivered)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    zsock_t *rx = zsock_new_pair ("@inproc://loop-queued");
    zsock_t *tx = zsock_new_pair (">inproc://loop-queued");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    for (int i = 0; i < 10; i++)
        s_send_int (tx, i);
    sock_seen_t seen = { .peer = tx, .want = 10 };
    ck_assert_int_ge (mdf_loop_add_socket (loop, rx, s_read_one, &seen), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert_msg (!dog, "only %d of 10 messages arrived", seen.ngot);
    ck_assert_int_eq (seen.ngot, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq (seen.got[i], i);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);
}
END_TEST

/* The first callback makes 5 more messages arrive and then reads one: that
 * read takes the socket's pending commands, so ZMQ_FD never signals the 5. */
START_TEST (messages_arriving_during_a_callback_are_delivered)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    zsock_t *rx = zsock_new_pair ("@inproc://loop-during");
    zsock_t *tx = zsock_new_pair (">inproc://loop-during");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    sock_seen_t seen = { .peer = tx, .want = 6, .send_extra = 5 };
    ck_assert_int_ge (mdf_loop_add_socket (loop, rx, s_read_one, &seen), 0);
    s_send_int (tx, 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert_msg (!dog, "only %d of 6 messages arrived", seen.ngot);
    int want[] = { 0, 100, 101, 102, 103, 104 };
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq (seen.got[i], want[i]);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);
}
END_TEST

/* A raw libzmq socket (not a zsock_t) works the same way. */
START_TEST (a_raw_libzmq_socket_is_served_too)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    zsock_t *rx = zsock_new_pair ("@inproc://loop-raw");
    zsock_t *tx = zsock_new_pair (">inproc://loop-raw");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    for (int i = 0; i < 3; i++)
        s_send_int (tx, i);
    sock_seen_t seen = { .peer = tx, .want = 3 };
    ck_assert_int_ge (mdf_loop_add_socket (loop, zsock_resolve (rx), s_read_one, &seen), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (seen.ngot, 3);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);
}
END_TEST

typedef struct {
    zsock_t *peer;
    long calls;
    int timer_fired;
} busy_t;

/* Never runs dry: each message read sends another. */
static int
s_echo_back (mdf_loop_t *loop, void *sock, void *arg)
{
    (void)loop;
    busy_t *b = arg;
    b->calls++;
    int v = s_recv_int (sock);
    ck_assert_int_ge (v, 0);
    s_send_int (b->peer, v + 1);
    return 0;
}

static int
s_busy_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    ((busy_t *)arg)->timer_fired++;
    return -1;
}

START_TEST (a_socket_that_never_runs_dry_does_not_starve_timers)
{
    mdf_loop_t *loop = mdf_loop_new ();
    ck_assert_ptr_nonnull (loop);
    zsock_t *rx = zsock_new_pair ("@inproc://loop-busy");
    zsock_t *tx = zsock_new_pair (">inproc://loop-busy");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    busy_t b = { .peer = tx };
    s_send_int (tx, 0);
    ck_assert_int_ge (mdf_loop_add_socket (loop, rx, s_echo_back, &b), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 20, false, s_busy_timer, &b), 0);
    ck_assert_int_eq (mdf_loop_run (loop), -1); /* the timer's -1: it got its turn */
    ck_assert_int_eq (b.timer_fired, 1);
    ck_assert_int_gt (b.calls, 0);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);
}
END_TEST

/* ---- timers ------------------------------------------------------------------- */

typedef struct {
    int order[32];
    int n;
    int64_t at_ms[32]; /* mdf_loop_now_ns of each firing, in ms */
} fired_t;

typedef struct {
    fired_t *log;
    int tag;
    int stop_after; /* stop the loop when the log has this many */
} tagged_t;

static int
s_log_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    tagged_t *t = arg;
    if (t->log->n < 32) {
        t->log->at_ms[t->log->n] = mdf_loop_now_ns (loop) / 1000000;
        t->log->order[t->log->n++] = t->tag;
    }
    if (t->stop_after && t->log->n >= t->stop_after)
        mdf_loop_stop (loop);
    return 0;
}

/* Logs, then holds the loop for 120 ms so that every later timer is due at once. */
static int
s_log_and_hold (mdf_loop_t *loop, int id, void *arg)
{
    s_log_timer (loop, id, arg);
    h_sleep_ms (120);
    return 0;
}

START_TEST (one_shot_timers_fire_in_deadline_order)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    fired_t log = { .n = 0 };
    tagged_t hold = { &log, 0, 6 }, t60 = { &log, 60, 6 }, t20 = { &log, 20, 6 };
    tagged_t t40 = { &log, 40, 6 }, a0 = { &log, 1, 6 }, b0 = { &log, 2, 6 };
    int64_t start_ms = mdf_mono_ns () / 1000000;
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_log_and_hold, &hold), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 60, false, s_log_timer, &t60), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 20, false, s_log_timer, &t20), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_log_timer, &a0), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 40, false, s_log_timer, &t40), 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_log_timer, &b0), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (log.n, 6);
    /* 20, 40 and 60 were all due when the loop looked again after the hold */
    int want[] = { 0, 1, 2, 20, 40, 60 };
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq (log.order[i], want[i]);
    ck_assert_int_ge (log.at_ms[5] - start_ms, 60 - 1); /* never early (ms rounding) */
    mdf_loop_destroy (&loop);
}
END_TEST

typedef struct {
    int count;
    int cancel_at;
} repeat_t;

static int
s_repeat (mdf_loop_t *loop, int id, void *arg)
{
    repeat_t *r = arg;
    if (++r->count == r->cancel_at)
        mdf_loop_timer_cancel (loop, id);
    return 0;
}

static int
s_count (mdf_loop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    (*(int *)arg)++;
    return 0;
}

START_TEST (a_repeating_timer_fires_until_cancelled_and_a_one_shot_once)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    repeat_t r = { 0, 5 };
    int once = 0;
    ck_assert_int_ge (mdf_loop_timer (loop, 10, true, s_repeat, &r), 0);
    int one = mdf_loop_timer (loop, 5, false, s_count, &once);
    ck_assert_int_ge (one, 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 300, false, s_stop, NULL), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (r.count, 5);
    ck_assert_int_eq (once, 1);
    ck_assert_int_eq (mdf_loop_timer_reset (loop, one, 10), -1); /* gone once fired */
    mdf_loop_destroy (&loop);
}
END_TEST

START_TEST (a_repeating_timer_needs_a_period)
{
    mdf_loop_t *loop = mdf_loop_new ();
    ck_assert_ptr_nonnull (loop);
    int n = 0;
    ck_assert_int_eq (mdf_loop_timer (loop, 0, true, s_count, &n), -1);
    ck_assert_int_eq (mdf_loop_timer (loop, -1, false, s_count, &n), -1);
    mdf_loop_destroy (&loop);
}
END_TEST

typedef struct {
    int idle_timer;
    int activity;     /* activity ticks so far */
    int activity_max; /* push the idle timer back this many times */
    int activity_at_idle;
    int64_t idle_at_ms;
} idle_t;

static int
s_activity (mdf_loop_t *loop, int id, void *arg)
{
    idle_t *s = arg;
    if (++s->activity <= s->activity_max)
        ck_assert_int_eq (mdf_loop_timer_reset (loop, s->idle_timer, 200), 0);
    else
        mdf_loop_timer_cancel (loop, id);
    return 0;
}

static int
s_idle (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    idle_t *s = arg;
    s->activity_at_idle = s->activity;
    s->idle_at_ms = mdf_loop_now_ns (loop) / 1000000;
    mdf_loop_stop (loop);
    return 0;
}

/* _i == 0: a one-shot idle timer; 1: a repeating one (the header's example). */
START_TEST (timer_reset_pushes_a_deadline_back)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    idle_t s = { .activity_max = 6, .activity_at_idle = -1 };
    int64_t start_ms = mdf_mono_ns () / 1000000;
    s.idle_timer = mdf_loop_timer (loop, 200, _i == 1, s_idle, &s);
    ck_assert_int_ge (s.idle_timer, 0);
    ck_assert_int_ge (mdf_loop_timer (loop, 50, true, s_activity, &s), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    /* without the resets it would fire at 200 ms, after 3 or 4 activity ticks */
    ck_assert_int_ge (s.activity_at_idle, 6);
    ck_assert_int_ge (s.idle_at_ms - start_ms, 6 * 50 + 200 - 1);
    mdf_loop_destroy (&loop);
}
END_TEST

static int
s_rearm_self (mdf_loop_t *loop, int id, void *arg)
{
    int *n = arg;
    if (++*n < 3)
        ck_assert_int_eq (mdf_loop_timer_reset (loop, id, 0), 0);
    else
        mdf_loop_stop (loop);
    return 0;
}

START_TEST (a_one_shot_timer_can_rearm_itself)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int n = 0;
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_rearm_self, &n), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (n, 3);
    mdf_loop_destroy (&loop);
}
END_TEST

/* ---- removal and cancellation inside callbacks ------------------------------------- */

typedef struct {
    int other_id; /* what this callback removes or cancels (may be itself) */
    int calls;
    bool drain; /* an fd callback reads its byte (else the fd stays readable) */
} remover_t;

static int
s_remove_fd (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)revents;
    remover_t *r = arg;
    r->calls++;
    char c;
    if (r->drain)
        ck_assert_int_eq (read (fd, &c, 1), 1);
    mdf_loop_remove (loop, r->other_id);
    return 0;
}

static int
s_counting_fd (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)fd, (void)revents;
    (*(int *)arg)++;
    return 0;
}

static int
s_remove_sock (mdf_loop_t *loop, void *sock, void *arg)
{
    remover_t *r = arg;
    r->calls++;
    ck_assert_int_ge (s_recv_int (sock), 0);
    mdf_loop_remove (loop, r->other_id);
    return 0;
}

static int
s_cancel_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)id;
    remover_t *r = arg;
    r->calls++;
    mdf_loop_timer_cancel (loop, r->other_id);
    return 0;
}

START_TEST (entries_removed_inside_a_callback_are_not_called_again)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int p1[2], p2[2];
    ck_assert_int_eq (pipe (p1), 0);
    ck_assert_int_eq (pipe (p2), 0);
    ck_assert_int_eq (write (p1[1], "x", 1), 1); /* both stay readable: nobody reads */
    ck_assert_int_eq (write (p2[1], "x", 1), 1);

    /* an fd removing itself (it stays readable), and an fd removing another
     * one that the same poll found ready */
    remover_t self_fd = { -1, 0, false }, other_fd = { -1, 0, true };
    self_fd.other_id = mdf_loop_add_fd (loop, p1[0], POLLIN, s_remove_fd, &self_fd);
    ck_assert_int_ge (self_fd.other_id, 0);
    int victim_calls = 0;
    ck_assert_int_ge (mdf_loop_add_fd (loop, p2[0], POLLIN, s_remove_fd, &other_fd), 0);
    other_fd.other_id = mdf_loop_add_fd (loop, p2[0], POLLIN, s_counting_fd, &victim_calls);
    ck_assert_int_ge (other_fd.other_id, 0);

    /* a socket removing itself with messages still queued */
    zsock_t *rx = zsock_new_pair ("@inproc://loop-remove");
    zsock_t *tx = zsock_new_pair (">inproc://loop-remove");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    for (int i = 0; i < 5; i++)
        s_send_int (tx, i);
    remover_t self_sock = { -1, 0, false };
    self_sock.other_id = mdf_loop_add_socket (loop, rx, s_remove_sock, &self_sock);
    ck_assert_int_ge (self_sock.other_id, 0);

    /* a timer cancelling another due in the same turn, and one cancelling itself */
    remover_t canceller = { -1, 0, false }, self_timer = { -1, 0, false };
    int cancelled_calls = 0;
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_cancel_timer, &canceller), 0);
    canceller.other_id = mdf_loop_timer (loop, 0, false, s_count, &cancelled_calls);
    ck_assert_int_ge (canceller.other_id, 0);
    self_timer.other_id = mdf_loop_timer (loop, 10, true, s_cancel_timer, &self_timer);
    ck_assert_int_ge (self_timer.other_id, 0);

    ck_assert_int_ge (mdf_loop_timer (loop, 300, false, s_stop, NULL), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (self_fd.calls, 1);
    ck_assert_int_eq (other_fd.calls, 1);
    ck_assert_int_eq (victim_calls, 0);
    ck_assert_int_eq (self_sock.calls, 1);
    ck_assert_int_eq (canceller.calls, 1);
    ck_assert_int_eq (cancelled_calls, 0);
    ck_assert_int_eq (self_timer.calls, 1);
    /* removed ids stay unknown */
    ck_assert_int_eq (mdf_loop_timer_reset (loop, canceller.other_id, 10), -1);
    ck_assert_int_eq (mdf_loop_fd_events (loop, self_fd.other_id, POLLIN), -1);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);
    close (p1[0]), close (p1[1]), close (p2[0]), close (p2[1]);
}
END_TEST

/* ---- ending a run --------------------------------------------------------------- */

static int
s_fail_fd (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)fd, (void)revents;
    (*(int *)arg)++;
    return -1;
}

static int
s_fail_sock (mdf_loop_t *loop, void *sock, void *arg)
{
    (void)loop, (void)sock;
    (*(int *)arg)++;
    return -1;
}

static int
s_fail_timer (mdf_loop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    (*(int *)arg)++;
    return -1;
}

START_TEST (a_callbacks_minus_one_ends_the_run_with_minus_one)
{
    /* from an fd: the loop ends at once, the next fd ready in the same turn is not called */
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int p[2];
    ck_assert_int_eq (pipe (p), 0);
    ck_assert_int_eq (write (p[1], "x", 1), 1);
    int fd_calls = 0, after = 0;
    ck_assert_int_ge (mdf_loop_add_fd (loop, p[0], POLLIN, s_fail_fd, &fd_calls), 0);
    ck_assert_int_ge (mdf_loop_add_fd (loop, p[0], POLLIN, s_counting_fd, &after), 0);
    ck_assert_int_eq (mdf_loop_run (loop), -1);
    ck_assert (!dog);
    ck_assert_int_eq (fd_calls, 1);
    ck_assert_int_eq (after, 0);
    ck_assert (mdf_loop_stopping (loop));
    mdf_loop_destroy (&loop);
    close (p[0]);
    close (p[1]);

    /* from a socket */
    loop = s_loop (&dog);
    zsock_t *rx = zsock_new_pair ("@inproc://loop-fail");
    zsock_t *tx = zsock_new_pair (">inproc://loop-fail");
    ck_assert_ptr_nonnull (rx);
    ck_assert_ptr_nonnull (tx);
    s_send_int (tx, 1);
    s_send_int (tx, 2);
    int sock_calls = 0;
    ck_assert_int_ge (mdf_loop_add_socket (loop, rx, s_fail_sock, &sock_calls), 0);
    ck_assert_int_eq (mdf_loop_run (loop), -1);
    ck_assert (!dog);
    ck_assert_int_eq (sock_calls, 1);
    mdf_loop_destroy (&loop);
    zsock_destroy (&tx);
    zsock_destroy (&rx);

    /* from a timer */
    loop = s_loop (&dog);
    int timer_calls = 0;
    ck_assert_int_ge (mdf_loop_timer (loop, 10, true, s_fail_timer, &timer_calls), 0);
    ck_assert_int_eq (mdf_loop_run (loop), -1);
    ck_assert (!dog);
    ck_assert_int_eq (timer_calls, 1);
    mdf_loop_destroy (&loop);
}
END_TEST

static void *
s_stop_later (void *arg)
{
    h_sleep_ms (200);
    mdf_loop_stop (arg);
    return NULL;
}

START_TEST (a_stop_from_another_thread_ends_the_run_promptly)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    /* nothing else registered: only the stop can wake it before the watchdog */
    pthread_t th;
    long long t0 = h_now_ms ();
    ck_assert_int_eq (pthread_create (&th, NULL, s_stop_later, loop), 0);
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    long long took = h_now_ms () - t0;
    pthread_join (th, NULL);
    ck_assert (!dog);
    ck_assert_int_ge (took, 200 - 1);
    ck_assert_int_lt (took, WATCHDOG_MS);
    ck_assert (mdf_loop_stopping (loop));
    mdf_loop_destroy (&loop);
}
END_TEST

START_TEST (a_stop_before_the_run_is_not_lost)
{
    bool dog;
    mdf_loop_t *loop = s_loop (&dog);
    int n = 0;
    ck_assert_int_ge (mdf_loop_timer (loop, 0, false, s_count, &n), 0);
    ck_assert (!mdf_loop_stopping (loop));
    mdf_loop_stop (loop);
    ck_assert (mdf_loop_stopping (loop));
    ck_assert_int_eq (mdf_loop_run (loop), 0);
    ck_assert (!dog);
    ck_assert_int_eq (n, 0); /* returned without a turn */
    mdf_loop_destroy (&loop);
}
END_TEST

/* ---- a loop on its own thread: setup, beat, teardown ------------------------------ */

typedef struct {
    int p[2];            /* the test writes p[1]; the loop reads p[0] */
    atomic_int in_block; /* the fd callback is blocked */
    atomic_int release;  /* let it go */
    atomic_int torn_down;
    atomic_int on_loop_thread; /* setup and teardown ran on the same, other thread */
    pthread_t setup_thread;
    char name[32];
    bool fail;
    zsock_t *pull;
    atomic_int pulled;
} th_t;

static int
s_block (mdf_loop_t *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)revents;
    th_t *t = arg;
    char c;
    ck_assert_int_eq (read (fd, &c, 1), 1);
    atomic_store (&t->in_block, 1);
    long long deadline = h_now_ms () + 10000;
    while (!atomic_load (&t->release) && h_now_ms () < deadline)
        h_sleep_ms (5);
    atomic_store (&t->in_block, 0);
    return 0;
}

static int
s_pull (mdf_loop_t *loop, void *sock, void *arg)
{
    (void)loop;
    th_t *t = arg;
    if (s_recv_int (sock) >= 0)
        atomic_fetch_add (&t->pulled, 1);
    return 0;
}

static int
s_th_setup (mdf_loop_t *loop, void *arg, char *err, size_t errlen)
{
    th_t *t = arg;
    t->setup_thread = pthread_self ();
    pthread_getname_np (pthread_self (), t->name, sizeof t->name);
    if (t->fail) {
        snprintf (err, errlen, "cannot open the feed: %s", "boom");
        return -1;
    }
    t->pull = zsock_new_pull ("@inproc://loop-thread");
    if (!t->pull) {
        snprintf (err, errlen, "cannot bind inproc://loop-thread");
        return -1;
    }
    if (mdf_loop_add_fd (loop, t->p[0], POLLIN, s_block, t) < 0
        || mdf_loop_add_socket (loop, t->pull, s_pull, t) < 0) {
        snprintf (err, errlen, "cannot register");
        zsock_destroy (&t->pull);
        return -1;
    }
    return 0;
}

static void
s_th_teardown (mdf_loop_t *loop, void *arg)
{
    (void)loop;
    th_t *t = arg;
    atomic_store (&t->on_loop_thread, pthread_equal (t->setup_thread, pthread_self ())
                                          && !pthread_equal (t->setup_thread, s_main));
    zsock_destroy (&t->pull);
    atomic_store (&t->torn_down, 1);
}

static th_t *
s_th_new (bool fail)
{
    th_t *t = calloc (1, sizeof *t);
    ck_assert_ptr_nonnull (t);
    ck_assert_int_eq (pipe (t->p), 0);
    t->fail = fail;
    return t;
}

static void
s_th_free (th_t *t)
{
    close (t->p[0]);
    close (t->p[1]);
    free (t);
}

START_TEST (a_failing_setup_gives_null_and_its_error)
{
    th_t *t = s_th_new (true);
    char err[128] = "untouched";
    mdf_loop_thread_t *th
        = mdf_loop_thread_start ("loop-fail", s_th_setup, s_th_teardown, t, err, sizeof err);
    ck_assert_ptr_null (th);
    ck_assert_str_eq (err, "cannot open the feed: boom");
    ck_assert_int_eq (atomic_load (&t->torn_down), 0); /* setup failed: no teardown */
    ck_assert (!pthread_equal (t->setup_thread, pthread_self ()));
    s_th_free (t);
}
END_TEST

static bool
s_pulled_3 (void *arg)
{
    return atomic_load (&((th_t *)arg)->pulled) >= 3;
}

START_TEST (a_loop_thread_runs_setup_loop_and_teardown_on_one_named_thread)
{
    th_t *t = s_th_new (false);
    char err[128] = "";
    mdf_loop_thread_t *th = mdf_loop_thread_start ("a-very-long-thread-name", s_th_setup,
                                                   s_th_teardown, t, err, sizeof err);
    ck_assert_msg (th != NULL, "err: %s", err);
    ck_assert_str_eq (t->name, "a-very-long-thr"); /* cut to 15 bytes */
    ck_assert (!pthread_equal (t->setup_thread, pthread_self ()));
    zsock_t *push = zsock_new_push (">inproc://loop-thread");
    ck_assert_ptr_nonnull (push);
    for (int i = 0; i < 3; i++)
        s_send_int (push, i);
    ck_assert_int_eq (h_wait_until (s_pulled_3, t, 5000), 0);
    ck_assert (!mdf_loop_stopping (mdf_loop_thread_loop (th)));
    mdf_loop_thread_stop (&th);
    ck_assert_ptr_null (th);
    ck_assert_int_eq (atomic_load (&t->torn_down), 1);
    ck_assert_int_eq (atomic_load (&t->on_loop_thread), 1);
    zsock_destroy (&push);
    s_th_free (t);
}
END_TEST

typedef struct {
    mdf_loop_t *loop;
    int64_t limit_ms;
} beat_wait_t;

static bool
s_beat_above (void *arg)
{
    beat_wait_t *w = arg;
    return mdf_loop_beat_ms_ago (w->loop) > w->limit_ms;
}

static bool
s_beat_below (void *arg)
{
    beat_wait_t *w = arg;
    return mdf_loop_beat_ms_ago (w->loop) < w->limit_ms;
}

START_TEST (the_beat_stays_fresh_when_idle_and_ages_while_a_callback_blocks)
{
    th_t *t = s_th_new (false);
    char err[128] = "";
    mdf_loop_thread_t *th
        = mdf_loop_thread_start ("loop-beat", s_th_setup, s_th_teardown, t, err, sizeof err);
    ck_assert_msg (th != NULL, "err: %s", err);
    mdf_loop_t *loop = mdf_loop_thread_loop (th);

    /* idle for 1.5 s: a loop that slept without turning would be 1500 ms old */
    int64_t worst = 0;
    for (int i = 0; i < 30; i++) {
        h_sleep_ms (50);
        int64_t age = mdf_loop_beat_ms_ago (loop);
        worst = age > worst ? age : worst;
    }
    ck_assert_msg (worst < 1000, "idle loop's beat was %lld ms old", (long long)worst);

    /* a callback that blocks: the beat ages past 300 ms, and recovers after */
    ck_assert_int_eq (write (t->p[1], "b", 1), 1);
    ck_assert (h_wait_flag (&t->in_block, 5000));
    beat_wait_t w = { loop, 300 };
    ck_assert_int_eq (h_wait_until (s_beat_above, &w, 5000), 0);
    atomic_store (&t->release, 1);
    ck_assert_int_eq (h_wait_until (s_beat_below, &w, 5000), 0);
    mdf_loop_thread_stop (&th);
    s_th_free (t);
}
END_TEST

/* Idle for a second, a loop's thread uses little CPU (a spinning one ~1 s). */
static int
s_note_thread (mdf_loop_t *loop, void *arg, char *err, size_t errlen)
{
    (void)loop, (void)err, (void)errlen;
    pthread_getcpuclockid (pthread_self (), (clockid_t *)arg);
    return 0;
}

START_TEST (an_idle_loop_does_not_spin)
{
    clockid_t cpu;
    char err[128] = "";
    mdf_loop_thread_t *th
        = mdf_loop_thread_start ("loop-idle", s_note_thread, NULL, &cpu, err, sizeof err);
    ck_assert_msg (th != NULL, "err: %s", err);
    struct timespec a, b;
    ck_assert_int_eq (clock_gettime (cpu, &a), 0);
    h_sleep_ms (1000);
    ck_assert_int_eq (clock_gettime (cpu, &b), 0);
    long long used_ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
    ck_assert_msg (used_ms < 300, "idle loop used %lld ms of CPU in 1 s", used_ms);
    mdf_loop_thread_stop (&th);
}
END_TEST

int
main (void)
{
    s_main = pthread_self ();
    Suite *s = suite_create ("loop");
    TCase *tc = tcase_create ("loop");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, a_readable_pipe_calls_back_with_its_data);
    tcase_add_test (tc, a_writable_fd_reports_pollout_and_a_silent_one_nothing);
    tcase_add_test (tc, changing_an_fds_events_stops_its_callbacks);
    tcase_add_test (tc, running_a_loop_from_its_own_callback_is_refused);
    tcase_add_test (tc, messages_queued_before_the_run_are_all_delivered);
    tcase_add_test (tc, messages_arriving_during_a_callback_are_delivered);
    tcase_add_test (tc, a_raw_libzmq_socket_is_served_too);
    tcase_add_test (tc, a_socket_that_never_runs_dry_does_not_starve_timers);
    tcase_add_test (tc, one_shot_timers_fire_in_deadline_order);
    tcase_add_test (tc, a_repeating_timer_fires_until_cancelled_and_a_one_shot_once);
    tcase_add_test (tc, a_repeating_timer_needs_a_period);
    tcase_add_loop_test (tc, timer_reset_pushes_a_deadline_back, 0, 2);
    tcase_add_test (tc, a_one_shot_timer_can_rearm_itself);
    tcase_add_test (tc, entries_removed_inside_a_callback_are_not_called_again);
    tcase_add_test (tc, a_callbacks_minus_one_ends_the_run_with_minus_one);
    tcase_add_test (tc, a_stop_from_another_thread_ends_the_run_promptly);
    tcase_add_test (tc, a_stop_before_the_run_is_not_lost);
    tcase_add_test (tc, a_failing_setup_gives_null_and_its_error);
    tcase_add_test (tc, a_loop_thread_runs_setup_loop_and_teardown_on_one_named_thread);
    tcase_add_test (tc, the_beat_stays_fresh_when_idle_and_ages_while_a_callback_blocks);
    tcase_add_test (tc, an_idle_loop_does_not_spin);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
