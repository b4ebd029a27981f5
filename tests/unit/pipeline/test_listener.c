/*
 * listener: the feedback listener against a fake store in this process (an
 * XPUB on inproc publishing the events the test chooses), with the step
 * policy (ok 1.0, soft 0.5, hard 0.0, failsafe soft).  Before any event the
 * provider runs at the failsafe scale; each event sets the provider's scale
 * and pressure from its level; a store that goes silent turns stale (the
 * failsafe scale again) and is then forgotten; malformed and duplicate
 * events are counted and change nothing.
 */
#include <check.h>
#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "pipeline/listener.h"
#include "proto/feedback.h"
#include "tests/integration/harness.h"
#include "tests/unit/pipeline/policy_defaults.h"

#define STALE_MS 300
#define FORGET_MS 800

static zsock_t *s_pub;
static mdf_metrics_t *s_reg;
static roster_t *s_roster;
static coordinator_t *s_coord;
static policy_t *s_policy;
static listener_t *s_listener;
static int64_t s_epoch;
static uint64_t s_seq;
static char s_ingest[64], s_feedback[64];
static int s_run; /* endpoints differ from test to test (they may share a process) */

static void
setup (void)
{
    s_run++;
    snprintf (s_ingest, sizeof s_ingest, "inproc://listener-test-ingest-%d", s_run);
    snprintf (s_feedback, sizeof s_feedback, "inproc://listener-test-feedback-%d", s_run);
    s_pub = zsock_new (ZMQ_XPUB);
    zsock_set_linger (s_pub, 0);
    ck_assert_int_ge (zsock_bind (s_pub, "%s", s_feedback), 0);
    s_reg = mdf_metrics_new ();
    mdf_clock_t clk = mdf_clock_system ();
    members_t *m
        = members_new (STALE_MS * 1000000LL, FORGET_MS * 1000000LL, MDF_LEVEL_SOFT, true, &clk);
    s_roster = roster_new (m);
    const char *ingest[] = { s_ingest }, *feedback[] = { s_feedback };
    ck_assert_int_eq (roster_set (s_roster, ingest, feedback, 1), 0);
    s_coord = coordinator_new (NULL);
    coordinator_provider_t p = { "p0", 100, 1000, 1000, 3, 5000 };
    ck_assert_int_eq (coordinator_add (s_coord, &p), 0);
    policy_params_t pp = policy_test_defaults ();
    pp.interval_ms = 100;
    char err[256] = "";
    s_policy = policy_new ("step", &pp, err, sizeof err);
    ck_assert_ptr_nonnull (s_policy);
    size_t driven[] = { 0 };
    listener_config_t cfg = { .roster = s_roster,
                              .driven = driven,
                              .ndriven = 1,
                              .coord = s_coord,
                              .policy = s_policy,
                              .metrics = s_reg };
    s_listener = listener_new (&cfg, err, sizeof err);
    ck_assert_msg (s_listener != NULL, "listener_new: %s", err);
    s_epoch = (int64_t)(mdf_wall_s () * 1000) - 1000;
    s_seq = 0;
}

static void
teardown (void)
{
    listener_destroy (&s_listener);
    policy_destroy (&s_policy);
    coordinator_destroy (&s_coord);
    roster_destroy (&s_roster);
    mdf_metrics_destroy (&s_reg);
    zsock_destroy (&s_pub);
}

/* Wait until the listener's SUB has subscribed (the XPUB hears it). */
static void
s_wait_subscribed (void)
{
    zpoller_t *p = zpoller_new (s_pub, NULL);
    bool feedback = false;
    while (!feedback && zpoller_wait (p, 5000)) {
        zframe_t *f = zframe_recv (s_pub);
        size_t n = strlen (MDF_FEEDBACK_TOPIC_PREFIX);
        feedback = f && zframe_size (f) == n + 1 && zframe_data (f)[0] == 1
                   && memcmp (zframe_data (f) + 1, MDF_FEEDBACK_TOPIC_PREFIX, n) == 0;
        zframe_destroy (&f);
    }
    zpoller_destroy (&p);
    ck_assert_msg (feedback, "the listener never subscribed");
}

static void
s_publish_seq (mdf_level_t level, uint64_t seq)
{
    mdf_feedback_t ev;
    memset (&ev, 0, sizeof ev);
    ev.v = 1;
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "store-x");
    ev.epoch = s_epoch;
    ev.seq = seq;
    ev.level = level;
    ev.queue_size = level == MDF_LEVEL_HARD ? 9000 : level == MDF_LEVEL_SOFT ? 6000 : 100;
    ev.capacity = 10000;
    snprintf (ev.reason, sizeof ev.reason, "watermark");
    snprintf (ev.source, sizeof ev.source, "store");
    ev.ts = mdf_wall_s ();
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_feedback_encode (&ev, &buf), 0);
    char topic[256];
    zstr_sendm (s_pub, mdf_feedback_topic (ev.coordinator_id, topic, sizeof topic));
    zmq_send (zsock_resolve (s_pub), buf.data, buf.size, 0);
    mdf_buf_free (&buf);
}

static void
s_publish (mdf_level_t level)
{
    s_publish_seq (level, ++s_seq);
}

typedef struct {
    double scale;
} s_scale_t;

static bool
s_at_scale (void *arg)
{
    return fabs (coordinator_scale (s_coord, 0) - ((s_scale_t *)arg)->scale) < 1e-9;
}

static void
s_wait_scale (double scale, int timeout_ms)
{
    s_scale_t want = { scale };
    ck_assert_msg (h_wait_until (s_at_scale, &want, timeout_ms) == 0, "scale %g, expected %g",
                   coordinator_scale (s_coord, 0), scale);
}

static double
s_metric (const char *series)
{
    return h_registry_value (s_reg, series);
}

/* ---- tests ---- */

START_TEST (before_any_event_the_provider_runs_at_the_failsafe_scale)
{
    s_wait_scale (0.5, 5000);
    listener_status_t st;
    listener_status (s_listener, &st);
    ck_assert (st.failsafe);
    ck_assert_int_eq (st.candidate, 1);
    ck_assert_int_eq (st.live, 0);
}
END_TEST

START_TEST (each_event_sets_the_scale_of_its_level)
{
    s_wait_subscribed ();
    s_publish (MDF_LEVEL_OK);
    s_wait_scale (1.0, 5000);
    listener_status_t st;
    listener_status (s_listener, &st);
    ck_assert (!st.failsafe);
    ck_assert_int_eq (st.live, 1);
    ck_assert_int_eq (st.level, MDF_LEVEL_OK);
    s_publish (MDF_LEVEL_HARD);
    s_wait_scale (0.0, 5000);
    ck_assert_int_eq (coordinator_pressure (s_coord, 0), MDF_LEVEL_HARD);
    s_publish (MDF_LEVEL_SOFT);
    s_wait_scale (0.5, 5000);
    ck_assert_int_eq (coordinator_pressure (s_coord, 0), MDF_LEVEL_SOFT);
    s_publish (MDF_LEVEL_OK);
    s_wait_scale (1.0, 5000);
    listener_status (s_listener, &st);
    ck_assert_uint_eq (st.events, 4);
    ck_assert_double_eq (s_metric ("mdp_feedback_events_total{level=\"hard\"}"), 1);
    ck_assert_double_eq (s_metric ("pipeline_feedback_queue_depth{source=\"store-x\"}"), 100);
}
END_TEST

typedef struct {
    int stale, candidate;
} s_states_t;

static bool
s_in_states (void *arg)
{
    s_states_t *want = arg;
    listener_status_t st;
    listener_status (s_listener, &st);
    return st.stale == want->stale && st.candidate == want->candidate;
}

START_TEST (a_silent_store_turns_stale_then_is_forgotten)
{
    s_wait_subscribed ();
    s_publish (MDF_LEVEL_OK);
    s_wait_scale (1.0, 5000);
    long long heard = h_now_ms ();
    /* silence: stale after stale_after_ms, counted at the failsafe level */
    s_states_t stale = { 1, 0 };
    ck_assert_int_eq (h_wait_until (s_in_states, &stale, 5000), 0);
    ck_assert_int_ge (h_now_ms () - heard, STALE_MS - 20);
    s_wait_scale (0.5, 5000);
    listener_status_t st;
    listener_status (s_listener, &st);
    ck_assert (st.failsafe);
    ck_assert_double_eq (s_metric ("mdp_feedback_stale_coordinators"), 1);
    /* longer: forgotten, a candidate again (still listed) */
    s_states_t forgotten = { 0, 1 };
    ck_assert_int_eq (h_wait_until (s_in_states, &forgotten, 5000), 0);
    ck_assert_int_ge (h_now_ms () - heard, FORGET_MS - 20);
    listener_status (s_listener, &st);
    ck_assert_int_eq (st.live, 0);
    ck_assert (st.failsafe);
    ck_assert_double_eq (coordinator_scale (s_coord, 0), 0.5);
    /* heard again: live */
    s_publish (MDF_LEVEL_OK);
    s_wait_scale (1.0, 5000);
}
END_TEST

START_TEST (malformed_and_duplicate_events_are_counted_and_change_nothing)
{
    s_wait_subscribed ();
    s_publish (MDF_LEVEL_HARD);
    s_wait_scale (0.0, 5000);
    zstr_sendm (s_pub, "feedback.store-x");
    zstr_send (s_pub, "\xc1 not msgpack");
    ck_assert_int_eq (h_wait_registry_ge (s_reg, "mdp_feedback_malformed_total", 1, 5000), 0);
    s_publish_seq (MDF_LEVEL_OK, s_seq); /* the same seq again: a duplicate */
    ck_assert_int_eq (
        h_wait_registry_ge (s_reg, "mdp_feedback_ignored_total{reason=\"duplicate\"}", 1, 5000), 0);
    ck_assert_double_eq (coordinator_scale (s_coord, 0), 0.0); /* still hard */
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("listener");
    TCase *tc = tcase_create ("listener");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, before_any_event_the_provider_runs_at_the_failsafe_scale);
    tcase_add_test (tc, each_event_sets_the_scale_of_its_level);
    tcase_add_test (tc, a_silent_store_turns_stale_then_is_forgotten);
    tcase_add_test (tc, malformed_and_duplicate_events_are_counted_and_change_nothing);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
