/*
 * discover: store discovery by DNS.  "localhost" resolves to the loopback
 * stores on the configured ports (127.0.0.1, and [::1] when the host has
 * it), sorted and without duplicates; a name that does not resolve gives no
 * store; and the discovery thread puts what it finds into the roster and
 * counts its lookups.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "pipeline/discover.h"
#include "tests/integration/harness.h"

START_TEST (localhost_gives_the_loopback_stores_on_the_ports)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    int n = discover_lookup ("localhost", 5555, 5556, ingest, feedback, 8, err, sizeof err);
    ck_assert_msg (n >= 1, "localhost did not resolve: %d %s", n, err);
    ck_assert_int_le (n, 2);
    ck_assert_str_eq (ingest[0], "tcp://127.0.0.1:5555");
    ck_assert_str_eq (feedback[0], "tcp://127.0.0.1:5556");
    if (n == 2) { /* the host has ::1 for localhost too */
        ck_assert_str_eq (ingest[1], "tcp://[::1]:5555");
        ck_assert_str_eq (feedback[1], "tcp://[::1]:5556");
    }
    /* at most max */
    ck_assert_int_eq (discover_lookup ("localhost", 1, 2, ingest, feedback, 1, err, sizeof err), 1);
}
END_TEST

START_TEST (an_address_gives_itself)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    ck_assert_int_eq (
        discover_lookup ("127.0.0.1", 7000, 7001, ingest, feedback, 8, err, sizeof err), 1);
    ck_assert_str_eq (ingest[0], "tcp://127.0.0.1:7000");
    ck_assert_str_eq (feedback[0], "tcp://127.0.0.1:7001");
    ck_assert_int_eq (discover_lookup ("::1", 7000, 7001, ingest, feedback, 8, err, sizeof err), 1);
    ck_assert_str_eq (ingest[0], "tcp://[::1]:7000");
}
END_TEST

START_TEST (a_name_that_does_not_resolve_gives_no_store)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    /* .invalid never resolves (RFC 6761): no store, whether the resolver
     * says so (0) or cannot be asked here (-1) */
    int n = discover_lookup ("no-such-store.invalid", 5555, 5556, ingest, feedback, 8, err,
                             sizeof err);
    ck_assert_int_le (n, 0);
}
END_TEST

typedef struct {
    roster_t *roster;
    const char *ingest;
} s_find_t;

static bool
s_found (void *arg)
{
    s_find_t *f = arg;
    members_t *m = roster_lock (f->roster);
    bool found = members_find (m, f->ingest) >= 0;
    roster_unlock (f->roster, false);
    return found;
}

START_TEST (the_thread_puts_the_stores_into_the_roster)
{
    mdf_clock_t clk = mdf_clock_system ();
    members_t *m = members_new (1000000000LL, 5000000000LL, MDF_LEVEL_SOFT, true, &clk);
    roster_t *roster = roster_new (m);
    mdf_metrics_t *reg = mdf_metrics_new ();
    discover_t *d = discover_new ("localhost", 6555, 6556, 50, roster, reg);
    ck_assert_ptr_nonnull (d);
    s_find_t f = { roster, "tcp://127.0.0.1:6555" };
    ck_assert_int_eq (h_wait_until (s_found, &f, 5000), 0);
    members_t *mm = roster_lock (roster);
    ck_assert_str_eq (members_get (mm, members_find (mm, f.ingest))->feedback,
                      "tcp://127.0.0.1:6556");
    roster_unlock (roster, false);
    discover_destroy (&d);
    ck_assert_ptr_null (d);
    char *text = mdf_metrics_render (reg);
    ck_assert_double_ge (h_metric (text, "mdp_discovery_lookups_total{result=\"ok\"}"), 1);
    ck_assert_double_ge (h_metric (text, "mdp_discovery_stores"), 1);
    free (text);
    mdf_metrics_destroy (&reg);
    roster_destroy (&roster);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("discover");
    TCase *tc = tcase_create ("discover");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, localhost_gives_the_loopback_stores_on_the_ports);
    tcase_add_test (tc, an_address_gives_itself);
    tcase_add_test (tc, a_name_that_does_not_resolve_gives_no_store);
    tcase_add_test (tc, the_thread_puts_the_stores_into_the_roster);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
