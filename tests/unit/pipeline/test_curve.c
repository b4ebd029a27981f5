/*
 * curve: the pipeline's CurveZMQ client keys.  Keys load from zcert files
 * (or the store's key as Z85 text); a missing, empty or wrong file is an
 * error naming the key; a socket given the keys talks (over TCP on
 * loopback) to the store holding the matching secret, and to no other.
 */
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/curve.h"
#include "tests/integration/harness.h"

static char *s_dir;
static zcert_t *s_client, *s_server;
static char *s_client_secret, *s_client_public, *s_server_public;
static mdf_cfg_t *s_cfg; /* where errors point: no file here, so "default" */

static void
setup (void)
{
    s_dir = h_tmpdir ();
    s_client = zcert_new ();
    s_server = zcert_new ();
    s_client_public = h_strf ("%s/client.key", s_dir);
    s_client_secret = h_strf ("%s/client.key_secret", s_dir);
    s_server_public = h_strf ("%s/store.key", s_dir);
    ck_assert_int_eq (zcert_save (s_client, s_client_public), 0); /* and _secret */
    ck_assert_int_eq (zcert_save_public (s_server, s_server_public), 0);
    s_cfg = mdf_cfg_new (NULL, 0, "MDP");
}

static void
teardown (void)
{
    mdf_cfg_destroy (&s_cfg);
    zcert_destroy (&s_client);
    zcert_destroy (&s_server);
    h_rmtree (s_dir);
    free (s_dir), free (s_client_secret), free (s_client_public), free (s_server_public);
}

START_TEST (keys_load_from_zcert_files_or_z85_text)
{
    mdp_curve_t c;
    char err[512] = "";
    ck_assert_int_eq (
        mdp_curve_load (&c, s_cfg, true, s_client_secret, "", s_server_public, err, sizeof err), 0);
    ck_assert (c.on);
    ck_assert_str_eq (c.public_txt, zcert_public_txt (s_client));
    ck_assert_str_eq (c.secret_txt, zcert_secret_txt (s_client));
    ck_assert_str_eq (c.server_txt, zcert_public_txt (s_server));
    ck_assert_int_eq (mdp_curve_load (&c, s_cfg, true, s_client_secret, zcert_public_txt (s_server),
                                      "", err, sizeof err),
                      0);
    ck_assert_str_eq (c.server_txt, zcert_public_txt (s_server));
    ck_assert_int_eq (mdp_curve_load (&c, s_cfg, false, "", "", "", err, sizeof err), 0);
    ck_assert (!c.on); /* plain TCP */
}
END_TEST

static void
s_fails (const char *secret, const char *server_txt, const char *server_file, const char *expect)
{
    mdp_curve_t c;
    char err[512] = "";
    ck_assert_int_eq (
        mdp_curve_load (&c, s_cfg, true, secret, server_txt, server_file, err, sizeof err), -1);
    ck_assert_msg (strstr (err, expect), "'%s' does not say '%s'", err, expect);
}

START_TEST (a_missing_or_wrong_key_is_an_error_naming_it)
{
    s_fails ("", "", s_server_public, "security.secret_key_file is empty");
    s_fails ("/no/such/file", "", s_server_public, "security.secret_key_file: cannot read");
    /* a public file with no secret beside it */
    s_fails (s_server_public, "", s_server_public, "is not a zcert secret file");
    s_fails (s_client_secret, "not-z85", "", "security.server_public_key: not a 40-character");
    s_fails (s_client_secret, "", "", "neither security.server_public_key");
    char *junk = h_write_file (s_dir, "junk", "hello\n");
    s_fails (s_client_secret, "", junk, "is not a zcert file");
    free (junk);
}
END_TEST

/* A CURVE server PULL with `cert`'s keys on a free loopback port (CURVE
 * works over TCP, not inproc). */
static zsock_t *
s_server_pull (zcert_t *cert, char *endpoint, size_t size)
{
    zsock_t *pull = zsock_new (ZMQ_PULL);
    zcert_apply (cert, pull);
    zsock_set_curve_server (pull, 1);
    zsock_set_rcvtimeo (pull, 500);
    int port = zsock_bind (pull, "tcp://127.0.0.1:*");
    ck_assert_int_gt (port, 0);
    snprintf (endpoint, size, "tcp://127.0.0.1:%d", port);
    return pull;
}

START_TEST (a_socket_with_the_keys_talks_to_the_matching_store_only)
{
    mdp_curve_t c;
    char err[512] = "";
    ck_assert_int_eq (
        mdp_curve_load (&c, s_cfg, true, s_client_secret, "", s_server_public, err, sizeof err), 0);
    char endpoint[64];
    zsock_t *store = s_server_pull (s_server, endpoint, sizeof endpoint);
    zsock_t *push = zsock_new (ZMQ_PUSH);
    zsock_set_linger (push, 0);
    mdp_curve_apply (&c, push);
    ck_assert_int_ge (zsock_connect (push, "%s", endpoint), 0);
    zstr_send (push, "bars");
    zsock_set_rcvtimeo (store, 5000);
    char *got = zstr_recv (store);
    ck_assert_ptr_nonnull (got);
    ck_assert_str_eq (got, "bars");
    zstr_free (&got);
    zsock_destroy (&push);
    /* a rogue store without the secret never completes the handshake */
    zcert_t *rogue_cert = zcert_new ();
    zsock_t *rogue = s_server_pull (rogue_cert, endpoint, sizeof endpoint);
    push = zsock_new (ZMQ_PUSH);
    zsock_set_linger (push, 0);
    zsock_set_sndtimeo (push, 0);
    mdp_curve_apply (&c, push);
    ck_assert_int_ge (zsock_connect (push, "%s", endpoint), 0);
    zstr_send (push, "bars");
    ck_assert_ptr_null (zstr_recv (rogue));
    zsock_destroy (&push);
    zsock_destroy (&rogue);
    zcert_destroy (&rogue_cert);
    zsock_destroy (&store);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("curve");
    TCase *tc = tcase_create ("curve");
    tcase_set_timeout (tc, 30);
    tcase_add_checked_fixture (tc, setup, teardown);
    tcase_add_test (tc, keys_load_from_zcert_files_or_z85_text);
    tcase_add_test (tc, a_missing_or_wrong_key_is_an_error_naming_it);
    tcase_add_test (tc, a_socket_with_the_keys_talks_to_the_matching_store_only);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
