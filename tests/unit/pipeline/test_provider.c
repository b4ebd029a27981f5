/*
 * provider: one provider thread between its source and a real sender (with
 * no store to send to, so what it hands on stays counted there).  A CSV that
 * ends is read whole, its bad rows skipped and counted, and the provider is
 * "done"; a source that fails is counted, cools down and, after
 * breaker_threshold failures, shows "breaker_open"; a shutdown stops it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "pipeline/provider.h"
#include "tests/integration/harness.h"

static mdf_metrics_t *s_reg;
static roster_t *s_roster;
static coordinator_t *s_coord;
static sender_t *s_sender;
static char *s_dir;

static void
setup (void)
{
    s_reg = mdf_metrics_new ();
    mdf_clock_t clk = mdf_clock_system ();
    s_roster = roster_new (members_new (1000000000LL, 5000000000LL, MDF_LEVEL_SOFT, false, &clk));
    s_coord = coordinator_new (NULL);
    const char *names[] = { "p0" };
    sender_config_t sc = { .producer_id = "unit",
                           .roster = s_roster,
                           .providers = names,
                           .nproviders = 1,
                           .batch_max = 1000,
                           .linger_ms = 5,
                           .max_inflight = 8,
                           .ack_timeout_ms = 10000,
                           .retry_backoff_ms = 50,
                           .retry_backoff_max_ms = 400,
                           .metrics = s_reg };
    char err[256] = "";
    s_sender = sender_new (&sc, err, sizeof err);
    ck_assert_msg (s_sender != NULL, "sender_new: %s", err);
    s_dir = h_tmpdir ();
}

static void
teardown (void)
{
    coordinator_shutdown (s_coord);
    sender_close_input (s_sender);
    sender_destroy (&s_sender);
    coordinator_destroy (&s_coord);
    roster_destroy (&s_roster);
    mdf_metrics_destroy (&s_reg);
    h_rmtree (s_dir);
    free (s_dir);
}

/* Settings of provider "p0" reading `path` once (strings borrowed). */
static provider_settings_t
s_csv (const char *path)
{
    provider_settings_t ps;
    memset (&ps, 0, sizeof ps);
    ps.name = (char *)"p0";
    ps.type = (char *)"csv";
    ps.path = (char *)path;
    ps.capacity = 1000;
    ps.refill_rate = 100000;
    ps.cooldown_ms = 10;
    ps.breaker_threshold = 3;
    ps.breaker_timeout_ms = 60000;
    return ps;
}

static provider_t *
s_provider (const provider_settings_t *ps)
{
    coordinator_provider_t cp = { ps->name,        (double)ps->capacity,  ps->refill_rate,
                                  ps->cooldown_ms, ps->breaker_threshold, ps->breaker_timeout_ms };
    ck_assert_int_eq (coordinator_add (s_coord, &cp), 0);
    char err[256] = "";
    provider_t *p = provider_new (ps, 0, s_coord, s_sender, s_reg, NULL, err, sizeof err);
    ck_assert_msg (p != NULL, "provider_new: %s", err);
    return p;
}

typedef struct {
    provider_t *p;
    const char *state;
} s_state_t;

static bool
s_in_state (void *arg)
{
    s_state_t *w = arg;
    return strcmp (provider_state (w->p), w->state) == 0;
}

static void
s_wait_state (provider_t *p, const char *state)
{
    s_state_t w = { p, state };
    ck_assert_msg (h_wait_until (s_in_state, &w, 5000) == 0, "provider %s, expected %s",
                   provider_state (p), state);
}

START_TEST (a_csv_that_ends_is_read_whole_and_the_provider_is_done)
{
    char *path = h_write_file (s_dir, "bars.csv",
                               "symbol,ts,open,high,low,close,volume\n"
                               "AAA,2026-11-20T14:30:00Z,10,11,9,10.5,100\n"
                               "AAA,2026-11-20T14:31:00Z,10,11,9,10.5,100\n"
                               "BBB,not a time,10,11,9,10.5,100\n"
                               "BBB,2026-11-20T14:31:00Z,10,11,9,10.5,100\n");
    provider_settings_t ps = s_csv (path);
    provider_t *p = s_provider (&ps);
    s_wait_state (p, "done");
    ck_assert_double_eq (h_registry_value (s_reg, "mdp_bars_ingested_total{provider=\"p0\"}"), 3);
    ck_assert_double_eq (h_registry_value (s_reg, "mdp_csv_bad_rows_total{provider=\"p0\"}"), 1);
    ck_assert_double_eq (h_registry_value (s_reg, "mdp_provider_state{provider=\"p0\"}"), 3);
    ck_assert_uint_eq (sender_unacked_bars (s_sender), 3); /* handed on, waiting for a store */
    provider_destroy (&p);
    ck_assert_ptr_null (p);
    free (path);
}
END_TEST

START_TEST (a_failing_source_cools_down_then_opens_its_breaker)
{
    char *path = h_strf ("%s/missing.csv", s_dir);
    provider_settings_t ps = s_csv (path);
    provider_t *p = s_provider (&ps);
    s_wait_state (p, "breaker_open");
    ck_assert_double_ge (h_registry_value (s_reg, "mdp_provider_errors_total{provider=\"p0\"}"), 3);
    ck_assert_double_eq (h_registry_value (s_reg, "mdp_provider_state{provider=\"p0\"}"), 2);
    ck_assert_uint_eq (coordinator_breaker_opens (s_coord, 0), 1);
    ck_assert_uint_eq (sender_unacked_bars (s_sender), 0);
    coordinator_shutdown (s_coord);
    provider_join (p);
    provider_destroy (&p);
    free (path);
}
END_TEST

START_TEST (a_shutdown_stops_a_provider_that_never_ends)
{
    provider_settings_t ps;
    memset (&ps, 0, sizeof ps);
    ps.name = (char *)"p0";
    ps.type = (char *)"synthetic";
    const char *symbols[] = { "AAA", "BBB" };
    ps.symbols = (mdf_strlist_t){ (char **)symbols, 2 };
    ps.seed = 7;
    ps.start_price = 100;
    ps.capacity = 50;
    ps.refill_rate = 1000;
    ps.cooldown_ms = 10;
    ps.breaker_threshold = 3;
    ps.breaker_timeout_ms = 1000;
    provider_t *p = s_provider (&ps);
    ck_assert_int_eq (
        h_wait_registry_ge (s_reg, "mdp_bars_ingested_total{provider=\"p0\"}", 100, 5000), 0);
    ck_assert_str_eq (provider_state (p), "running");
    coordinator_shutdown (s_coord);
    provider_join (p);
    ck_assert_str_eq (provider_state (p), "stopped");
    provider_destroy (&p);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("provider");
    TCase *tc = tcase_create ("provider");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, a_csv_that_ends_is_read_whole_and_the_provider_is_done);
    tcase_add_test (tc, a_failing_source_cools_down_then_opens_its_breaker);
    tcase_add_test (tc, a_shutdown_stops_a_provider_that_never_ends);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
