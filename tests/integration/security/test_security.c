/*
 * CurveZMQ between md-store and md-pipeline (docs/ARCHITECTURE.md, "CurveZMQ and ZAP"):
 *   - authorised pipeline: bars flow end to end (rows == bars ingested), no
 *     handshake refused;
 *   - a pipeline whose key is not in authorized_keys_dir: refused on both
 *     sockets (mds_auth_failures_total{reason="key"} counts them), no bar
 *     written, the store sees no subscriber;
 *   - clients with no key at all (plain ZeroMQ DEALER and SUB): refused on
 *     ingest and on feedback and counted under reason="mechanism" (or
 *     "incomplete" when the client hangs up first);
 *   - a pipeline given the wrong server key: no bar delivered, no event read;
 *   - a rogue XPUB (mdctl publish without the store's key) publishing HARD
 *     never changes the scale of a pipeline that verifies the store's key.
 * Keys come from `mdctl keygen`; the pipeline's [security] keys are set through
 * MDP_SECURITY_* environment overrides.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "tests/integration/e2e/e2e_fixture.h"

typedef struct {
    char *dir, *keys, *allowed;
} keys_t;

static void
s_keygen (const keys_t *k, const char *name, const char *outdir)
{
    char *mdctl = h_build_path ("tools/mdctl");
    char *argv[] = { mdctl, "keygen", (char *)name, "--dir", (char *)outdir, NULL };
    char *out = NULL;
    int rc = h_run (argv, NULL, 10000, &out);
    (void)k;
    E2E_CHECK (rc == 0, "mdctl keygen %s failed: %s", name, out ? out : "");
    free (out);
    free (mdctl);
}

/* store + pipe (authorised) + other (not authorised) keypairs; only pipe's
 * public cert goes into the authorised directory. */
static void
s_keys (keys_t *k)
{
    k->dir = e2e_dir ();
    ck_assert_ptr_nonnull (k->dir);
    k->keys = h_strf ("%s/keys", k->dir);
    k->allowed = h_strf ("%s/allowed", k->dir);
    char *cmd = h_strf ("mkdir -p %s %s", k->keys, k->allowed);
    ck_assert_int_eq (system (cmd), 0);
    free (cmd);
    s_keygen (k, "store", k->keys);
    s_keygen (k, "pipe", k->keys);
    s_keygen (k, "other", k->keys);
    s_keygen (k, "impostor", k->keys);
    cmd = h_strf ("cp %s/pipe.key %s/", k->keys, k->allowed);
    ck_assert_int_eq (system (cmd), 0);
    free (cmd);
}

/* Write the config of a CURVE store "store-a" in k->dir (the store's keypair,
 * the authorized keys), heartbeat every heartbeat_ms; not started. */
static void
s_store_init (e2e_store_t *store, const keys_t *k, int heartbeat_ms)
{
    char *extra = h_strf ("[security]\ncurve = true\nsecret_key_file = \"%s/store.key_secret\"\n"
                          "authorized_keys_dir = \"%s\"\n",
                          k->keys, k->allowed);
    E2E_CHECK (e2e_store_init (store, k->dir, "store-a", 0, heartbeat_ms, extra) == 0,
               "store config");
    free (extra);
}

static int
s_start_pipe (e2e_pipe_t *p, const keys_t *k, const char *client, const char *server,
              const char *ingest_override, const char *feedback_override)
{
    char *env[6] = { h_strf ("MDP_SECURITY_CURVE=true"),
                     h_strf ("MDP_SECURITY_SECRET_KEY_FILE=%s/%s.key_secret", k->keys, client),
                     h_strf ("MDP_SECURITY_SERVER_PUBLIC_KEY_FILE=%s/%s.key", k->keys, server),
                     feedback_override ? h_strf ("MDP_STORE_FEEDBACK=%s", feedback_override) : NULL,
                     NULL,
                     NULL };
    if (ingest_override)
        env[feedback_override ? 4 : 3] = h_strf ("MDP_STORE_INGEST=%s", ingest_override);
    int rc = e2e_pipe_start (p, env);
    for (int i = 0; i < 5; i++)
        free (env[i]);
    return rc;
}

static void
s_free (keys_t *k)
{
    free (k->keys);
    free (k->allowed);
    ck_assert_msg (e2e_cleanup (&k->dir) == 0, "sanitizer report in a service's log");
}

START_TEST (authorised_pipeline_delivers_bars_end_to_end)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2000;
    e2e_store_t *stores[] = { &store };
    s_store_init (&store, &k, 200);
    E2E_CHECK (e2e_pipe_init (&pipe, k.dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (s_start_pipe (&pipe, &k, "pipe", "store", NULL, NULL) == 0,
               "md-pipeline did not start");
    double acked = h_wait_metric_ge (pipe.http_port, "mdp_bars_acked_total", 500, 15000);
    E2E_CHECK (acked >= 500, "only %.0f bars acked over CURVE", acked);
    double ok
        = h_wait_metric_ge (pipe.http_port, "mdp_feedback_events_total{level=\"ok\"}", 1, 10000);
    E2E_CHECK (ok >= 1, "no feedback event received over CURVE");
    double ingested = 0;
    E2E_CHECK (e2e_pipe_drain (&pipe, 20000, &ingested) == 0, "pipeline did not drain");
    double refused = h_scrape (store.http_port, "mds_auth_failures_total");
    E2E_CHECK (refused == 0, "authorised client refused %.0f times", refused);
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 0, "md-pipeline did not exit 0");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0");
    long rows = h_db_rows (store.db);
    E2E_CHECK (rows == (long)ingested && rows > 0, "rows %ld != ingested %.0f", rows, ingested);
    s_free (&k);
}
END_TEST

START_TEST (unauthorised_client_is_refused_on_both_sockets_and_counted)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2000;
    e2e_store_t *stores[] = { &store };
    s_store_init (&store, &k, 200);
    E2E_CHECK (e2e_pipe_init (&pipe, k.dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (s_start_pipe (&pipe, &k, "other", "store", NULL, NULL) == 0,
               "md-pipeline did not start");
    /* one DEALER and one SUB handshake at least, each refused by ZAP */
    double refused
        = h_wait_metric_ge (store.http_port, "mds_auth_failures_total{reason=\"key\"}", 2, 10000);
    E2E_CHECK (refused >= 2, "refusals counted: %.0f", refused);
    E2E_CHECK (h_log_contains (&store.proc, "CURVE client refused"), "refusal not logged");
    E2E_CHECK (h_scrape (store.http_port, "mds_feedback_subscribers") == 0,
               "the unauthorised SUB became a subscriber");
    E2E_CHECK (h_scrape (store.http_port, "mds_bars_written_total") == 0,
               "bars written from an unauthorised client");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_bars_acked_total") == 0, "bars acked");
    s_free (&k);
}
END_TEST

START_TEST (wrong_server_key_gives_no_connection)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2000;
    e2e_store_t *stores[] = { &store };
    s_store_init (&store, &k, 100);
    E2E_CHECK (e2e_pipe_init (&pipe, k.dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    E2E_CHECK (s_start_pipe (&pipe, &k, "pipe", "impostor", NULL, NULL) == 0,
               "md-pipeline did not start");
    /* the pipeline goes failsafe: it never received a heartbeat (sent every 100 ms) */
    double fs = h_wait_metric_ge (pipe.http_port, "mdp_feedback_failsafe", 1, 10000);
    E2E_CHECK (fs >= 1, "pipeline not in failsafe (%.0f)", fs);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_feedback_events_total{level=\"ok\"}") == 0,
               "an event was received with the wrong server key");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_bars_acked_total") == 0, "bars acked");
    E2E_CHECK (h_scrape (store.http_port, "mds_bars_written_total") == 0, "bars written");
    s_free (&k);
}
END_TEST

START_TEST (forged_event_from_rogue_xpub_never_changes_the_scale)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2000;
    e2e_store_t *stores[] = { &store };
    s_store_init (&store, &k, 100);
    E2E_CHECK (e2e_pipe_init (&pipe, k.dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    /* the rogue is a second store of the pipeline's lists (nothing listens
     * at its ingest port) */
    int rogue = h_free_port (), rogue_ingest = h_free_port ();
    char *fb = h_strf ("tcp://127.0.0.1:%d,tcp://127.0.0.1:%d", store.feedback_port, rogue);
    char *in = h_strf ("tcp://127.0.0.1:%d,tcp://127.0.0.1:%d", store.ingest_port, rogue_ingest);
    E2E_CHECK (s_start_pipe (&pipe, &k, "pipe", "store", in, fb) == 0, "md-pipeline did not start");
    free (fb);
    free (in);
    double ok
        = h_wait_metric_ge (pipe.http_port, "mdp_feedback_events_total{level=\"ok\"}", 1, 10000);
    E2E_CHECK (ok >= 1, "no event from the real store");
    /* the rogue binds without the store's key and publishes HARD for 2 s */
    char *mdctl = h_build_path ("tools/mdctl");
    char *ep = h_strf ("tcp://127.0.0.1:%d", rogue);
    char *argv[] = { mdctl,   "publish", ep,   "--level",       "hard", "--id",
                     "rogue", "--count", "20", "--interval-ms", "100",  "--wait-subscriber-ms",
                     "1000",  NULL };
    char *out = NULL;
    int rc = h_run (argv, NULL, 15000, &out);
    free (out);
    free (ep);
    free (mdctl);
    E2E_CHECK (rc == 0, "mdctl publish failed (%d)", rc);
    double hard = h_scrape (pipe.http_port, "mdp_feedback_events_total{level=\"hard\"}");
    E2E_CHECK (hard == 0 || isnan (hard), "a forged HARD event was received (%.0f)", hard);
    /* the rogue never completes a handshake, so it never becomes a member:
     * the real store alone drives the scale (what the scale is then depends
     * on the store's sink, slower under a sanitizer) */
    double members = h_scrape (pipe.http_port, "mdp_stores{state=\"live\"}")
                     + h_scrape (pipe.http_port, "mdp_stores{state=\"stale\"}");
    double candidates = h_scrape (pipe.http_port, "mdp_stores{state=\"candidate\"}");
    E2E_CHECK (members == 1 && candidates == 1,
               "%.0f members and %.0f candidates: the rogue became a member", members, candidates);
    s_free (&k);
}
END_TEST

/* mdctl send with a key the store does not know: it cannot connect, says so,
 * gives up after --max-attempts and exits 1 (it used to block forever). */
START_TEST (unauthorised_mdctl_send_gives_up_and_fails)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    s_store_init (&store, &k, 200);
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");
    char *csv = h_strf ("%s/bars.csv", k.dir);
    FILE *f = fopen (csv, "w");
    ck_assert_ptr_nonnull (f);
    fprintf (f, "symbol,ts,open,high,low,close,volume\nAAA,1700000000,1,2,0.5,1.5,10\n");
    fclose (f);
    char *mdctl = h_build_path ("tools/mdctl");
    char *ep = h_strf ("tcp://127.0.0.1:%d", store.ingest_port);
    char *secret = h_strf ("%s/other.key_secret", k.keys);
    char *server = h_strf ("%s/store.key", k.keys);
    char *argv[] = { mdctl,
                     "send",
                     ep,
                     csv,
                     "--curve-secret",
                     secret,
                     "--curve-server-key",
                     server,
                     "--timeout-ms",
                     "200",
                     "--max-attempts",
                     "3",
                     NULL };
    char *out = NULL;
    int rc = h_run (argv, NULL, 15000, &out);
    E2E_CHECK (rc == 1, "mdctl send exited %d (-1: still running after 15 s): %s", rc,
               out ? out : "");
    E2E_CHECK (out && strstr (out, "no connection"), "no hint about the connection: %s",
               out ? out : "");
    E2E_CHECK (h_scrape (store.http_port, "mds_auth_failures_total{reason=\"key\"}") >= 1,
               "refusal not counted");
    E2E_CHECK (h_scrape (store.http_port, "mds_bars_written_total") == 0, "bars written");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0");
    free (out);
    free (server);
    free (secret);
    free (ep);
    free (mdctl);
    free (csv);
    s_free (&k);
}
END_TEST

/* Refusals of keyless clients: reason "mechanism" when the store saw the
 * client's greeting, "incomplete" when the client saw ours first and hung up. */
static double
s_keyless (int port)
{
    return h_scrape (port, "mds_auth_failures_total{reason=\"mechanism\"}")
           + h_scrape (port, "mds_auth_failures_total{reason=\"incomplete\"}");
}

static double
s_wait_keyless (int port, double min, int timeout_ms)
{
    long long end = h_now_ms () + timeout_ms;
    double v = s_keyless (port);
    while (!(v >= min) && h_now_ms () < end) {
        usleep (20 * 1000);
        v = s_keyless (port);
    }
    return v;
}

/* No key at all (the NULL mechanism) never reaches the ZAP handler: libzmq
 * drops the connection at the mechanism mismatch.  Still a refusal to count,
 * on both sockets.  The keyless clients are plain libzmq sockets that stay up
 * (and keep reconnecting) until the store has counted them. */
START_TEST (client_without_a_key_is_refused_and_counted)
{
    keys_t k;
    s_keys (&k);
    e2e_store_t store;
    s_store_init (&store, &k, 200);
    E2E_CHECK (e2e_store_start (&store, NULL) == 0, "md-store did not start");

    void *ctx = zmq_ctx_new ();
    ck_assert_ptr_nonnull (ctx);
    int zero = 0;

    /* ingest: a DEALER sending a frame that must never arrive */
    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (dealer, ZMQ_LINGER, &zero, sizeof zero);
    char *ep = h_strf ("tcp://127.0.0.1:%d", store.ingest_port);
    E2E_CHECK (zmq_connect (dealer, ep) == 0, "connect %s", ep);
    zmq_send (dealer, "not a batch", 11, ZMQ_DONTWAIT);
    double refused = s_wait_keyless (store.http_port, 1, 15000);
    E2E_CHECK (refused >= 1, "keyless client on ingest not counted (%.0f)", refused);
    zmq_close (dealer);

    /* feedback: a SUB that must never become a subscriber */
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    zmq_setsockopt (sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0);
    char *fb = h_strf ("tcp://127.0.0.1:%d", store.feedback_port);
    E2E_CHECK (zmq_connect (sub, fb) == 0, "connect %s", fb);
    double more = s_wait_keyless (store.http_port, refused + 1, 15000);
    E2E_CHECK (more >= refused + 1, "keyless client on feedback not counted (%.0f)", more);
    char buf[64];
    E2E_CHECK (zmq_recv (sub, buf, sizeof buf, ZMQ_DONTWAIT) < 0, "a keyless SUB read an event");
    zmq_close (sub);
    zmq_ctx_term (ctx);

    E2E_CHECK (h_scrape (store.http_port, "mds_auth_failures_total{reason=\"key\"}") == 0,
               "counted as an unknown key");
    E2E_CHECK (h_scrape (store.http_port, "mds_feedback_subscribers") == 0,
               "the keyless SUB became a subscriber");
    E2E_CHECK (h_scrape (store.http_port, "mds_ingest_malformed_total{reason=\"frames\"}") == 0
                   && h_scrape (store.http_port, "mds_ingest_malformed_total{reason=\"decode\"}")
                          == 0,
               "the keyless client's frame reached the store");
    E2E_CHECK (h_log_contains (&store.proc, "reason=mechanism")
                   || h_log_contains (&store.proc, "reason=incomplete"),
               "refusal not logged");
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0");
    free (fb);
    free (ep);
    s_free (&k);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("security");
    TCase *tc = tcase_create ("curve");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, authorised_pipeline_delivers_bars_end_to_end);
    tcase_add_test (tc, unauthorised_client_is_refused_on_both_sockets_and_counted);
    tcase_add_test (tc, wrong_server_key_gives_no_connection);
    tcase_add_test (tc, forged_event_from_rogue_xpub_never_changes_the_scale);
    tcase_add_test (tc, unauthorised_mdctl_send_gives_up_and_fails);
    tcase_add_test (tc, client_without_a_key_is_refused_and_counted);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
