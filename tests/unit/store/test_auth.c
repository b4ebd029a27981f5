/*
 * test_auth: the store's CurveZMQ setup (store/auth) with real sockets on
 * 127.0.0.1 in czmq's context:
 *   - when the ZAP endpoint is already bound in the process, the handler
 *     cannot start and store_auth_new refuses (no CURVE socket without a
 *     handler: libzmq would admit any client);
 *   - with the handler gone, a prepared socket still refuses every client
 *     (ZAP enforced), even one whose key is authorised;
 *   - an authorised client gets through; an unknown key, a client with no key
 *     at all and a client with the wrong server key are refused and counted in
 *     mds_auth_failures_total under reason key, mechanism (or incomplete when
 *     the keyless client hangs up first), handshake;
 *   - signals the store handles (SIGHUP on reload) do not stop the handler:
 *     after a burst of them an unknown key is still refused.
 */
#include "store/auth.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "tests/integration/harness.h"

static char s_dir[64];
static char s_secret[128], s_allowed[128];
static zcert_t *s_store, *s_client;

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/mdf-test-auth-XXXXXX");
    ck_assert_ptr_nonnull (mkdtemp (s_dir));
    snprintf (s_allowed, sizeof s_allowed, "%s/allowed", s_dir);
    ck_assert_int_eq (zsys_dir_create ("%s", s_allowed), 0);
    char path[160];
    s_store = zcert_new ();
    s_client = zcert_new ();
    snprintf (path, sizeof path, "%s/store.key", s_dir);
    ck_assert_int_eq (zcert_save (s_store, path), 0);
    snprintf (s_secret, sizeof s_secret, "%s/store.key_secret", s_dir);
    snprintf (path, sizeof path, "%s/client.key", s_allowed);
    ck_assert_int_eq (zcert_save_public (s_client, path), 0);
}

static void
s_teardown (void)
{
    zcert_destroy (&s_store);
    zcert_destroy (&s_client);
    char cmd[120];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    ck_assert_int_eq (system (cmd), 0);
}

static double
s_failures (mdf_metrics_t *reg, const char *reason)
{
    mdf_counter_t *c
        = mdf_metrics_counter (reg, "mds_auth_failures_total", "", "reason", reason, NULL);
    return c ? (double)mdf_counter_value (c) : -1;
}

/* Wait up to `ms` for the counter to reach `min`. */
static double
s_wait_failures (mdf_metrics_t *reg, const char *reason, double min, int ms)
{
    int64_t end = zclock_mono () + ms;
    double v = s_failures (reg, reason);
    while (v < min && zclock_mono () < end) {
        zclock_sleep (10);
        v = s_failures (reg, reason);
    }
    return v;
}

/* A DEALER to the router: `client` NULL for no CURVE at all. */
static zsock_t *
s_dealer (int port, zcert_t *client, const char *server_key)
{
    zsock_t *d = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (d);
    zsock_set_linger (d, 0);
    if (client) {
        zcert_apply (client, d);
        zsock_set_curve_serverkey (d, server_key);
    }
    ck_assert_int_eq (zsock_connect (d, "tcp://127.0.0.1:%d", port), 0);
    zstr_send (d, "hello");
    return d;
}

/* The payload of the next message on the router within `ms`, or NULL. */
static char *
s_received (zsock_t *router, int ms)
{
    zsock_set_rcvtimeo (router, ms);
    zmsg_t *msg = zmsg_recv (router);
    if (!msg)
        return NULL;
    char *text = zframe_strdup (zmsg_last (msg));
    zmsg_destroy (&msg);
    return text;
}

/* libzmq frees an inproc endpoint asynchronously after its socket closes, so
 * with CK_FORK=no the previous test's ZAP socket may hold the endpoint for a
 * moment: retry while it is in use. */
static store_auth_t *
s_auth_new (mdf_metrics_t *reg)
{
    char err[300] = "";
    int64_t end = zclock_mono () + 2000;
    store_auth_t *auth;
    while (!(auth = store_auth_new (s_secret, s_allowed, reg, err, sizeof err))
           && strstr (err, "Address already in use") && zclock_mono () < end)
        zclock_sleep (10);
    ck_assert_msg (auth != NULL, "%s", err);
    return auth;
}

/* A router prepared by `auth` and bound to a free loopback port. */
static zsock_t *
s_router (store_auth_t *auth, int *port)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (router);
    zsock_set_linger (router, 0);
    char err[300] = "";
    ck_assert_msg (store_auth_apply (auth, router, "ingest", err, sizeof err) == 0, "%s", err);
    *port = zsock_bind (router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (*port, 0);
    return router;
}

START_TEST (no_curve_when_the_zap_endpoint_is_taken)
{
    zsock_t *squatter = NULL;
    int64_t end = zclock_mono () + 2000;
    while (!(squatter = zsock_new_rep ("inproc://zeromq.zap.01")) && zclock_mono () < end)
        zclock_sleep (10); /* see s_auth_new */
    ck_assert_ptr_nonnull (squatter);
    mdf_metrics_t *reg = mdf_metrics_new ();
    char err[300] = "";
    store_auth_t *auth = store_auth_new (s_secret, s_allowed, reg, err, sizeof err);
    ck_assert_msg (auth == NULL, "started CURVE without a ZAP handler of its own");
    ck_assert_msg (strstr (err, "ZAP handler") && strstr (err, "inproc://zeromq.zap.01"),
                   "unclear error: %s", err);
    zsock_destroy (&squatter);
    mdf_metrics_destroy (&reg);
}
END_TEST

START_TEST (without_a_handler_nobody_gets_in)
{
    mdf_metrics_t *reg = mdf_metrics_new ();
    store_auth_t *auth = s_auth_new (reg);
    int port = 0;
    zsock_t *router = s_router (auth, &port);
    /* The handler goes away while the socket stays (as if its thread died). */
    store_auth_release (router);
    store_auth_destroy (&auth);
    zsock_t *d = s_dealer (port, s_client, zcert_public_txt (s_store));
    char *got = s_received (router, 1000);
    ck_assert_msg (got == NULL, "a client got in with no ZAP handler running (\"%s\")", got);
    zsock_destroy (&d);
    zsock_destroy (&router);
    mdf_metrics_destroy (&reg);
}
END_TEST

START_TEST (refusals_are_counted_by_reason)
{
    mdf_metrics_t *reg = mdf_metrics_new ();
    store_auth_t *auth = s_auth_new (reg);
    int port = 0;
    zsock_t *router = s_router (auth, &port);

    /* authorised: the message arrives, nothing counted */
    zsock_t *good = s_dealer (port, s_client, zcert_public_txt (s_store));
    char *got = s_received (router, 5000);
    ck_assert_msg (got && streq (got, "hello"), "the authorised client did not get through");
    zstr_free (&got);
    ck_assert_uint_eq (store_auth_failures (auth), 0);

    /* no key at all (NULL mechanism): "mechanism", or "incomplete" when the
     * client saw the mismatch first and hung up */
    zsock_t *plain = s_dealer (port, NULL, NULL);
    int64_t end = zclock_mono () + 5000;
    while (s_failures (reg, "mechanism") + s_failures (reg, "incomplete") < 1
           && zclock_mono () < end)
        zclock_sleep (10);
    ck_assert_double_ge (s_failures (reg, "mechanism") + s_failures (reg, "incomplete"), 1);
    ck_assert_double_eq (s_failures (reg, "key"), 0);

    /* a key not in the directory */
    zcert_t *stranger = zcert_new ();
    zsock_t *unknown = s_dealer (port, stranger, zcert_public_txt (s_store));
    ck_assert_double_ge (s_wait_failures (reg, "key", 1, 5000), 1);

    /* the authorised key, but the wrong server key */
    zcert_t *impostor = zcert_new ();
    zsock_t *lost = s_dealer (port, s_client, zcert_public_txt (impostor));
    ck_assert_double_ge (s_wait_failures (reg, "handshake", 1, 5000), 1);

    got = s_received (router, 300);
    ck_assert_msg (got == NULL, "a refused client's message arrived: %s", got);
    ck_assert_uint_ge (store_auth_failures (auth), 3);
    zsock_destroy (&good);
    zsock_destroy (&plain);
    zsock_destroy (&unknown);
    zsock_destroy (&lost);
    zcert_destroy (&stranger);
    zcert_destroy (&impostor);
    store_auth_release (router);
    zsock_destroy (&router);
    store_auth_destroy (&auth);
    mdf_metrics_destroy (&reg);
}
END_TEST

static void
s_on_signal (int sig)
{
    (void)sig;
}

START_TEST (signals_do_not_stop_the_handler)
{
    mdf_metrics_t *reg = mdf_metrics_new ();
    store_auth_t *auth = s_auth_new (reg);
    int port = 0;
    zsock_t *router = s_router (auth, &port);
    /* The store catches SIGHUP without SA_RESTART.  With this thread blocking
     * it, a process-directed SIGHUP goes to a thread that does not: the
     * handler's own thread, unless it blocks them too. */
    struct sigaction sa, old;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGHUP, &sa, &old);
    sigset_t hup, prev;
    sigemptyset (&hup);
    sigaddset (&hup, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &hup, &prev);
    for (int i = 0; i < 20; i++) {
        kill (getpid (), SIGHUP);
        zclock_sleep (5);
    }
    zcert_t *stranger = zcert_new ();
    zsock_t *unknown = s_dealer (port, stranger, zcert_public_txt (s_store));
    char *got = s_received (router, 1000);
    ck_assert_msg (got == NULL, "an unknown key got in after SIGHUP (\"%s\")", got);
    ck_assert_double_ge (s_wait_failures (reg, "key", 1, 5000), 1);
    zsock_t *good = s_dealer (port, s_client, zcert_public_txt (s_store));
    got = s_received (router, 5000);
    ck_assert_msg (got && streq (got, "hello"), "the authorised client did not get through");
    zstr_free (&got);
    zsock_destroy (&unknown);
    zsock_destroy (&good);
    zcert_destroy (&stranger);
    store_auth_release (router);
    zsock_destroy (&router);
    store_auth_destroy (&auth);
    mdf_metrics_destroy (&reg);
    /* a SIGHUP still pending here runs the no-op handler */
    pthread_sigmask (SIG_SETMASK, &prev, NULL);
    sigaction (SIGHUP, &old, NULL);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("store_auth");
    TCase *tc = tcase_create ("auth");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, refusals_are_counted_by_reason);
    tcase_add_test (tc, without_a_handler_nobody_gets_in);
    tcase_add_test (tc, signals_do_not_stop_the_handler);
    tcase_add_test (tc, no_curve_when_the_zap_endpoint_is_taken);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
