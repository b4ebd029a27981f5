/*
 * test_hostport: the [http] listen address and mdctl's HOST:PORT are read
 * one way: names, IPv4 and bracketed IPv6 with a port split, everything else
 * refused; and the pipeline warns about an open /control/ exactly when the
 * address is not loopback.
 */
#include "common/hostport.h"

#include <check.h>
#include <stdlib.h>

#include "tests/integration/harness.h"

START_TEST (names_ipv4_and_bracketed_ipv6_split)
{
    char host[64];
    int port = -1;
    ck_assert_int_eq (mdf_hostport_split ("127.0.0.1:9101", host, sizeof host, &port), 0);
    ck_assert_str_eq (host, "127.0.0.1");
    ck_assert_int_eq (port, 9101);
    ck_assert_int_eq (mdf_hostport_split ("[::1]:0", host, sizeof host, &port), 0);
    ck_assert_str_eq (host, "::1");
    ck_assert_int_eq (port, 0);
    ck_assert_int_eq (mdf_hostport_split ("store-0.store:65535", host, sizeof host, &port), 0);
    ck_assert_str_eq (host, "store-0.store");
    ck_assert_int_eq (port, 65535);
}
END_TEST

START_TEST (anything_else_is_refused)
{
    static const char *bad[] = {
        "127.0.0.1", "127.0.0.1:", ":9101",     "host:99999", "host:123456", "host:-1", "host:9x",
        "::1:9101",  "[::1]",      "[::1]9101", "[]:80",      "http://h:1",  "a b:80",  "",
    };
    char host[64];
    int port;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg (mdf_hostport_split (bad[i], host, sizeof host, &port) == -1, "'%s' accepted",
                       bad[i]);
    ck_assert_int_eq (mdf_hostport_split (NULL, host, sizeof host, &port), -1);
    /* a host longer than the buffer */
    ck_assert_int_eq (mdf_hostport_split ("abcdefgh:1", host, 8, &port), -1);
    ck_assert_int_eq (mdf_hostport_split ("abcdefg:1", host, 8, &port), 0);
}
END_TEST

START_TEST (loopback_is_127_8_and_v6_one_and_localhost)
{
    ck_assert (mdf_hostport_is_loopback ("127.0.0.1:9101"));
    ck_assert (mdf_hostport_is_loopback ("127.1.2.3:1"));
    ck_assert (mdf_hostport_is_loopback ("[::1]:9101"));
    ck_assert (mdf_hostport_is_loopback ("localhost:9101"));
    ck_assert (mdf_hostport_is_loopback ("LocalHost:9101"));
    ck_assert (!mdf_hostport_is_loopback ("0.0.0.0:9101"));
    ck_assert (!mdf_hostport_is_loopback ("[::]:9101"));
    ck_assert (!mdf_hostport_is_loopback ("10.0.0.1:9101"));
    ck_assert (!mdf_hostport_is_loopback ("128.0.0.1:9101"));
    ck_assert (!mdf_hostport_is_loopback ("pipeline.example:9101"));
    ck_assert (!mdf_hostport_is_loopback ("localhost.example:9101"));
    ck_assert (!mdf_hostport_is_loopback ("garbage"));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("hostport");
    TCase *tc = tcase_create ("hostport");
    tcase_add_test (tc, names_ipv4_and_bracketed_ipv6_split);
    tcase_add_test (tc, anything_else_is_refused);
    tcase_add_test (tc, loopback_is_127_8_and_v6_one_and_localhost);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
