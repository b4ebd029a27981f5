/*
 * test_watch_diag: `mdctl watch` says why it hears nothing.
 *
 * A store greets every new subscriber with an event and heartbeats, so a
 * watch that hears nothing for --timeout seconds (default 5) must not sit
 * there printing nothing (and exit 0): it names the endpoint, says what it
 * saw (nothing listening; a CurveZMQ handshake refused because no keys were
 * given; a key the store does not admit) with the options or the store
 * setting to fix it, and exits 1.  The store is a real md-store with
 * CurveZMQ on (keys from `mdctl keygen`, one client key admitted); a watch
 * with the admitted key must get its events and exit 0.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define WATCH_MS 30000

typedef struct {
    char *dir, *keys, *allowed;
    e2e_store_t store;
    char endpoint[64];
} s_fx_t;

static void
s_keygen (const char *name, const char *outdir)
{
    char *mdctl = h_build_path ("tools/mdctl");
    char *argv[] = { mdctl, "keygen", (char *)name, "--dir", (char *)outdir, NULL };
    char *out = NULL;
    int rc = h_run (argv, NULL, 10000, &out);
    E2E_CHECK (rc == 0, "mdctl keygen %s failed: %s", name, out ? out : "");
    free (out);
    free (mdctl);
}

/* A CurveZMQ store admitting the key "admitted" (not "stranger"). */
static void
s_start_curve_store (s_fx_t *fx)
{
    fx->dir = e2e_dir ();
    ck_assert_ptr_nonnull (fx->dir);
    fx->keys = h_strf ("%s/keys", fx->dir);
    fx->allowed = h_strf ("%s/allowed", fx->dir);
    char *cmd = h_strf ("mkdir -p %s %s", fx->keys, fx->allowed);
    ck_assert_int_eq (system (cmd), 0);
    free (cmd);
    s_keygen ("store", fx->keys);
    s_keygen ("admitted", fx->keys);
    s_keygen ("stranger", fx->keys);
    cmd = h_strf ("cp %s/admitted.key %s/", fx->keys, fx->allowed);
    ck_assert_int_eq (system (cmd), 0);
    free (cmd);
    char *extra = h_strf ("[security]\ncurve = true\nsecret_key_file = \"%s/store.key_secret\"\n"
                          "authorized_keys_dir = \"%s\"\n",
                          fx->keys, fx->allowed);
    E2E_CHECK (e2e_store_init (&fx->store, fx->dir, "store-w", 0, 200, extra) == 0, "store config");
    free (extra);
    E2E_CHECK (e2e_store_start (&fx->store, NULL) == 0, "md-store did not start");
    e2e_endpoint (fx->store.feedback_port, fx->endpoint, sizeof fx->endpoint);
}

static void
s_stop (s_fx_t *fx)
{
    E2E_CHECK (e2e_store_stop (&fx->store, 20000) == 0, "md-store did not exit 0");
    free (fx->keys);
    free (fx->allowed);
    ck_assert_msg (e2e_cleanup (&fx->dir) == 0, "sanitizer report in a service's log");
}

/* mdctl watch ENDPOINT [--curve-secret KEYS/client.key_secret --curve-server-key
 * KEYS/store.key] extra...; returns the exit code, *out the output. */
static int
s_watch (const char *endpoint, const s_fx_t *fx, const char *client, char *const extra[],
         char **out)
{
    char *bin = h_build_path ("tools/mdctl");
    char *secret = client ? h_strf ("%s/%s.key_secret", fx->keys, client) : NULL;
    char *server = client ? h_strf ("%s/store.key", fx->keys) : NULL;
    char *argv[16] = { bin, "watch", (char *)endpoint };
    int n = 3;
    if (client) {
        argv[n++] = "--curve-secret";
        argv[n++] = secret;
        argv[n++] = "--curve-server-key";
        argv[n++] = server;
    }
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int rc = h_run (argv, NULL, WATCH_MS, out);
    free (secret);
    free (server);
    free (bin);
    return rc;
}

static void
s_expect (const char *out, const char *const want[])
{
    for (int i = 0; want[i]; i++)
        ck_assert_msg (out && strstr (out, want[i]), "output lacks '%s':\n%s", want[i],
                       out ? out : "(none)");
}

START_TEST (no_store_names_the_endpoint_after_the_default_5_s_and_exits_1)
{
    char endpoint[64];
    e2e_endpoint (h_free_port (), endpoint, sizeof endpoint);
    char *out = NULL;
    long long t0 = h_now_ms ();
    int rc = s_watch (endpoint, NULL, NULL, NULL, &out);
    long long took = h_now_ms () - t0;
    ck_assert_msg (rc == 1, "exit %d (want 1):\n%s", rc, out ? out : "");
    const char *want[] = { endpoint,         "within 5 s",         "nothing accepted a connection",
                           "--curve-secret", "--curve-server-key", NULL };
    s_expect (out, want);
    ck_assert_msg (took >= 4500, "gave up after %lld ms, before the 5 s default", took);
    free (out);
}
END_TEST

START_TEST (curve_store_without_keys_says_to_pass_them_and_exits_1)
{
    s_fx_t fx;
    s_start_curve_store (&fx);
    char *out = NULL;
    char *extra[] = { "--timeout", "2", NULL };
    int rc = s_watch (fx.endpoint, &fx, NULL, extra, &out);
    E2E_CHECK (rc == 1, "exit %d (want 1):\n%s", rc, out ? out : "");
    const char *want[]
        = { fx.endpoint, "within 2 s", "CurveZMQ", "--curve-secret", "--curve-server-key", NULL };
    s_expect (out, want);
    ck_assert_ptr_null (strstr (out, "level=")); /* no event got through */
    free (out);
    s_stop (&fx);
}
END_TEST

START_TEST (curve_store_refusing_the_key_says_so_and_exits_1)
{
    s_fx_t fx;
    s_start_curve_store (&fx);
    char *out = NULL;
    char *extra[] = { "--timeout", "2", NULL };
    int rc = s_watch (fx.endpoint, &fx, "stranger", extra, &out);
    E2E_CHECK (rc == 1, "exit %d (want 1):\n%s", rc, out ? out : "");
    const char *want[] = { fx.endpoint, "refused our CurveZMQ key", "authorized_keys_dir", NULL };
    s_expect (out, want);
    ck_assert_ptr_null (strstr (out, "level="));
    double refused = h_scrape (fx.store.http_port, "mds_auth_failures_total");
    E2E_CHECK (refused >= 1, "the store counted %.0f refusals", refused);
    free (out);
    s_stop (&fx);
}
END_TEST

START_TEST (admitted_key_gets_events_and_exits_0)
{
    s_fx_t fx;
    s_start_curve_store (&fx);
    char *out = NULL;
    char *extra[] = { "--timeout", "2", "--count", "1", "--duration", "20", NULL };
    int rc = s_watch (fx.endpoint, &fx, "admitted", extra, &out);
    E2E_CHECK (rc == 0, "exit %d (want 0):\n%s", rc, out ? out : "");
    const char *want[] = { "coordinator=store-w level=ok", NULL };
    s_expect (out, want);
    ck_assert_ptr_null (strstr (out, "no feedback event"));
    free (out);
    s_stop (&fx);
}
END_TEST

START_TEST (silence_for_the_whole_duration_fails_even_without_a_timeout)
{
    char endpoint[64];
    e2e_endpoint (h_free_port (), endpoint, sizeof endpoint);
    char *out = NULL;
    char *extra[] = { "--timeout", "0", "--duration", "1", NULL };
    int rc = s_watch (endpoint, NULL, NULL, extra, &out);
    ck_assert_msg (rc == 1, "exit %d (want 1):\n%s", rc, out ? out : "");
    const char *want[] = { endpoint, "within 1 s", NULL };
    s_expect (out, want);
    free (out);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("mdctl_watch_diag");
    TCase *tc = tcase_create ("diagnosis");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, no_store_names_the_endpoint_after_the_default_5_s_and_exits_1);
    tcase_add_test (tc, curve_store_without_keys_says_to_pass_them_and_exits_1);
    tcase_add_test (tc, curve_store_refusing_the_key_says_so_and_exits_1);
    tcase_add_test (tc, admitted_key_gets_events_and_exits_0);
    tcase_add_test (tc, silence_for_the_whole_duration_fails_even_without_a_timeout);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
