/*
 * test_sockset: a sockset keeps one connected socket per slot as the set of
 * peers changes: a new endpoint connects (the peer gets what is sent), the
 * same endpoint again keeps the socket, another endpoint replaces it (the old
 * peer gets nothing more), NULL closes it; setup runs before connect and can
 * refuse; the poll list names each open slot, so a message is known by where
 * it came from.  Peers are inproc sockets in the same process.
 */
#include "common/sockset.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness.h"

static int setups;

static int
s_setup_push (zsock_t *sock, void *arg)
{
    (void)arg;
    setups++;
    zsock_set_linger (sock, 0);
    zsock_set_sndtimeo (sock, 1000);
    return 0;
}

static int
s_refuse (zsock_t *sock, void *arg)
{
    (void)sock, (void)arg;
    return -1;
}

/* One message on `pull` within 1 s, or NULL. */
static char *
s_recv (zsock_t *pull, int timeout_ms)
{
    zsock_set_rcvtimeo (pull, timeout_ms);
    return zstr_recv (pull);
}

static void
s_send (mdf_sockset_t *set, size_t slot, const char *text)
{
    zsock_t *sock = mdf_sockset_get (set, slot);
    ck_assert_ptr_nonnull (sock);
    ck_assert_int_eq (zstr_send (sock, text), 0);
}

START_TEST (a_slot_connects_to_its_endpoint_and_closes_on_null)
{
    zsock_t *peer = zsock_new_pull ("inproc://sockset-a");
    ck_assert_ptr_nonnull (peer);
    setups = 0;
    mdf_sockset_t *set = mdf_sockset_new (ZMQ_PUSH, s_setup_push, NULL);
    char err[256];
    ck_assert_int_eq (mdf_sockset_set (set, 3, "inproc://sockset-a", err, sizeof err), 0);
    ck_assert_int_eq (setups, 1);
    ck_assert_uint_eq (mdf_sockset_size (set), 1);
    ck_assert_str_eq (mdf_sockset_endpoint (set, 3), "inproc://sockset-a");
    ck_assert_ptr_null (mdf_sockset_get (set, 2));
    s_send (set, 3, "hello");
    char *got = s_recv (peer, 1000);
    ck_assert_str_eq (got, "hello");
    zstr_free (&got);
    ck_assert_int_eq (mdf_sockset_set (set, 3, NULL, NULL, 0), 0);
    ck_assert_uint_eq (mdf_sockset_size (set), 0);
    ck_assert_ptr_null (mdf_sockset_get (set, 3));
    ck_assert_str_eq (mdf_sockset_endpoint (set, 3), "");
    mdf_sockset_destroy (&set);
    ck_assert_ptr_null (set);
    zsock_destroy (&peer);
}
END_TEST

START_TEST (the_same_endpoint_keeps_the_socket_another_replaces_it)
{
    zsock_t *a = zsock_new_pull ("inproc://sockset-old");
    zsock_t *b = zsock_new_pull ("inproc://sockset-new");
    setups = 0;
    mdf_sockset_t *set = mdf_sockset_new (ZMQ_PUSH, s_setup_push, NULL);
    ck_assert_int_eq (mdf_sockset_set (set, 0, "inproc://sockset-old", NULL, 0), 0);
    zsock_t *first = mdf_sockset_get (set, 0);
    ck_assert_int_eq (mdf_sockset_set (set, 0, "inproc://sockset-old", NULL, 0), 0);
    ck_assert_ptr_eq (mdf_sockset_get (set, 0), first); /* nothing reconnected */
    ck_assert_int_eq (setups, 1);
    /* the peer at slot 0 moved: the slot follows it */
    ck_assert_int_eq (mdf_sockset_set (set, 0, "inproc://sockset-new", NULL, 0), 0);
    ck_assert_int_eq (setups, 2);
    ck_assert_uint_eq (mdf_sockset_size (set), 1);
    s_send (set, 0, "to the new one");
    char *got = s_recv (b, 1000);
    ck_assert_str_eq (got, "to the new one");
    zstr_free (&got);
    ck_assert_ptr_null (s_recv (a, 100)); /* the old peer gets nothing */
    mdf_sockset_destroy (&set);
    zsock_destroy (&a);
    zsock_destroy (&b);
}
END_TEST

START_TEST (a_refused_or_bad_slot_is_closed_with_a_reason)
{
    mdf_sockset_t *set = mdf_sockset_new (ZMQ_PUSH, s_refuse, NULL);
    char err[256] = "";
    ck_assert_int_eq (mdf_sockset_set (set, 1, "inproc://sockset-x", err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "inproc://sockset-x"));
    ck_assert_ptr_null (mdf_sockset_get (set, 1));
    ck_assert_int_eq (mdf_sockset_set (set, MDF_SOCKSET_MAX, "inproc://x", err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "out of range"));
    mdf_sockset_destroy (&set);
    set = mdf_sockset_new (ZMQ_PUSH, NULL, NULL);
    ck_assert_int_eq (mdf_sockset_set (set, 1, "nonsense://here", err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "nonsense://here"));
    ck_assert_uint_eq (mdf_sockset_size (set), 0);
    char longest[300];
    memset (longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    ck_assert_int_eq (mdf_sockset_set (set, 1, longest, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "too long"));
    mdf_sockset_destroy (&set);
}
END_TEST

static int
s_setup_sub (zsock_t *sock, void *arg)
{
    zsock_set_subscribe (sock, arg);
    return 0;
}

START_TEST (poll_items_say_which_peer_sent)
{
    zsock_t *pub1 = zsock_new_pub ("inproc://sockset-pub1");
    zsock_t *pub2 = zsock_new_pub ("inproc://sockset-pub2");
    mdf_sockset_t *set = mdf_sockset_new (ZMQ_SUB, s_setup_sub, (void *)"feedback.");
    ck_assert_int_eq (mdf_sockset_set (set, 5, "inproc://sockset-pub1", NULL, 0), 0);
    ck_assert_int_eq (mdf_sockset_set (set, 9, "inproc://sockset-pub2", NULL, 0), 0);
    zmq_pollitem_t items[MDF_SOCKSET_MAX];
    int slots[MDF_SOCKSET_MAX];
    ck_assert_uint_eq (mdf_sockset_poll (set, items, slots, MDF_SOCKSET_MAX), 2);
    ck_assert_int_eq (slots[0], 5);
    ck_assert_int_eq (slots[1], 9);
    ck_assert_uint_eq (mdf_sockset_poll (set, items, slots, 1), 1); /* at most max */
    /* the subscription set up before connect filters what arrives; keep
     * publishing until the subscription has reached pub2 */
    bool got = false;
    for (int i = 0; i < 200 && !got; i++) {
        zstr_send (pub2, "other.topic");
        zstr_send (pub2, "feedback.b");
        size_t n = mdf_sockset_poll (set, items, slots, MDF_SOCKSET_MAX);
        if (zmq_poll (items, (int)n, 10) <= 0)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (!(items[k].revents & ZMQ_POLLIN))
                continue;
            ck_assert_int_eq (slots[k], 9);
            char *text = zstr_recv (mdf_sockset_get (set, (size_t)slots[k]));
            ck_assert_str_eq (text, "feedback.b");
            zstr_free (&text);
            got = true;
        }
    }
    ck_assert (got);
    mdf_sockset_destroy (&set);
    zsock_destroy (&pub1);
    zsock_destroy (&pub2);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sockset");
    TCase *tc = tcase_create ("sockset");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, a_slot_connects_to_its_endpoint_and_closes_on_null);
    tcase_add_test (tc, the_same_endpoint_keeps_the_socket_another_replaces_it);
    tcase_add_test (tc, a_refused_or_bad_slot_is_closed_with_a_reason);
    tcase_add_test (tc, poll_items_say_which_peer_sent);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
