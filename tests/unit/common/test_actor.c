/*
 * test_actor: mdf_actor_new returns a running actor only when the actor said
 * it started.  A failure comes back as NULL with the actor's own text (e.g.
 * the address it could not bind), and so does an actor that ends without a
 * word or signals on its own; what the actor set up before reporting is
 * visible to the starter; a failed actor's thread is gone when
 * mdf_actor_new returns.
 */
#include "common/actor.h"

#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

/* An actor that binds a REP socket to `arg` (an inproc endpoint), reports,
 * and answers "ping" with "pong" until $TERM. */
static void
s_echo (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    const char *endpoint = arg;
    zsock_t *rep = zsock_new_rep (endpoint);
    if (!rep) {
        mdf_actor_fail (start, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        return;
    }
    mdf_actor_ready (start);
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != rep)
            break; /* $TERM or interrupted */
        char *req = zstr_recv (rep);
        zstr_send (rep, req && streq (req, "ping") ? "pong" : "?");
        zstr_free (&req);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&rep);
}

START_TEST (a_started_actor_runs_until_destroyed)
{
    char err[MDF_ACTOR_ERR_MAX] = "untouched";
    zactor_t *actor = mdf_actor_new (s_echo, "inproc://test-actor-echo", err, sizeof err);
    ck_assert_ptr_nonnull (actor);
    zsock_t *req = zsock_new_req (">inproc://test-actor-echo");
    ck_assert_ptr_nonnull (req);
    zstr_send (req, "ping");
    char *reply = zstr_recv (req);
    ck_assert_str_eq (reply, "pong");
    zstr_free (&reply);
    zsock_destroy (&req);
    zactor_destroy (&actor);
    ck_assert_ptr_null (actor);
}
END_TEST

START_TEST (a_failed_start_gives_null_and_the_actors_error)
{
    zsock_t *taken = zsock_new_rep ("inproc://test-actor-taken");
    ck_assert_ptr_nonnull (taken);
    char err[MDF_ACTOR_ERR_MAX] = "";
    zactor_t *actor = mdf_actor_new (s_echo, "inproc://test-actor-taken", err, sizeof err);
    ck_assert_ptr_null (actor);
    ck_assert_msg (strstr (err, "cannot bind inproc://test-actor-taken") != NULL, "err: %s", err);
    ck_assert_msg (strstr (err, "Address already in use") != NULL, "err: %s", err);
    zsock_destroy (&taken);
}
END_TEST

static void
s_silent (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    (void)pipe, (void)start, (void)arg; /* returns without a report */
}

START_TEST (an_actor_ending_without_a_report_is_a_failure)
{
    char err[MDF_ACTOR_ERR_MAX] = "";
    zactor_t *actor = mdf_actor_new (s_silent, NULL, err, sizeof err);
    ck_assert_ptr_null (actor);
    ck_assert_str_eq (err, "actor ended without reporting its start");
}
END_TEST

/* The old way: signal 0 by hand, whatever happened.  Not a report. */
static void
s_raw_signal (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    (void)start;
    atomic_int *ran = arg;
    zsock_signal (pipe, 0);
    atomic_store (ran, 1);
    while (true) {
        char *cmd = zstr_recv (pipe);
        bool term = !cmd || streq (cmd, "$TERM");
        zstr_free (&cmd);
        if (term)
            return;
    }
}

START_TEST (a_bare_signal_is_not_a_successful_start)
{
    atomic_int ran = 0;
    char err[MDF_ACTOR_ERR_MAX] = "";
    zactor_t *actor = mdf_actor_new (s_raw_signal, &ran, err, sizeof err);
    ck_assert_ptr_null (actor);
    ck_assert_str_eq (err, "actor ended without reporting its start");
    ck_assert_int_eq (atomic_load (&ran), 1); /* it ran, and was stopped */
}
END_TEST

/* Reports twice: the second report must change nothing. */
static void
s_twice (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    (void)arg;
    mdf_actor_fail (start, "first: %d", 1);
    mdf_actor_ready (start);
    mdf_actor_fail (start, "second");
    char *cmd = zstr_recv (pipe); /* wait for $TERM */
    zstr_free (&cmd);
}

START_TEST (only_the_first_report_counts)
{
    char err[MDF_ACTOR_ERR_MAX] = "";
    zactor_t *actor = mdf_actor_new (s_twice, NULL, err, sizeof err);
    ck_assert_ptr_null (actor);
    ck_assert_str_eq (err, "first: 1");
}
END_TEST

/* What the actor writes before its report is there for the starter. */
typedef struct {
    int value;
    char text[32];
} s_setup_t;

static void
s_writer (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    s_setup_t *setup = arg;
    setup->value = 42;
    strcpy (setup->text, "ready");
    mdf_actor_ready (start);
    char *cmd = zstr_recv (pipe);
    zstr_free (&cmd);
}

START_TEST (setup_before_the_report_is_visible_to_the_starter)
{
    s_setup_t setup = { 0, "" };
    zactor_t *actor = mdf_actor_new (s_writer, &setup, NULL, 0);
    ck_assert_ptr_nonnull (actor);
    ck_assert_int_eq (setup.value, 42);
    ck_assert_str_eq (setup.text, "ready");
    zactor_destroy (&actor);
}
END_TEST

START_TEST (a_long_error_is_cut_and_a_small_buffer_is_respected)
{
    char endpoint[128] = "inproc://";
    memset (endpoint + 9, 'x', 100);
    endpoint[109] = '\0';
    zsock_t *taken = zsock_new_rep (endpoint);
    ck_assert_ptr_nonnull (taken);
    char err[16];
    memset (err, '#', sizeof err);
    zactor_t *actor = mdf_actor_new (s_echo, endpoint, err, sizeof err);
    ck_assert_ptr_null (actor);
    ck_assert_uint_eq (strlen (err), sizeof err - 1);
    ck_assert_int_eq (strncmp (err, "cannot bind inp", sizeof err - 1), 0);
    zsock_destroy (&taken);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("actor");
    TCase *tc = tcase_create ("actor");
    tcase_add_test (tc, a_started_actor_runs_until_destroyed);
    tcase_add_test (tc, a_failed_start_gives_null_and_the_actors_error);
    tcase_add_test (tc, an_actor_ending_without_a_report_is_a_failure);
    tcase_add_test (tc, a_bare_signal_is_not_a_successful_start);
    tcase_add_test (tc, only_the_first_report_counts);
    tcase_add_test (tc, setup_before_the_report_is_visible_to_the_starter);
    tcase_add_test (tc, a_long_error_is_cut_and_a_small_buffer_is_respected);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
