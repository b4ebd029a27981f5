/*
 * md-store with the PostgreSQL sink, end to end: a throwaway server
 * (pg_server), md-store writing to it, acks only once rows are visible,
 * resends stored once.  Skips (exit 77) when no server can be started.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pg_server.h"
#include "store_fixture.h"

static pg_server_t s_pg;

START_TEST (postgres_sink_end_to_end)
{
    mds_t m;
    char *extra = h_strf ("[workers]\ncount = 2\n[sink]\ntype = \"postgres\"\n"
                          "conninfo = \"%s\"\n",
                          s_pg.conninfo);
    ck_assert_int_eq (mds_start (&m, 0, extra, NULL), 0);
    free (extra);
    zsock_t *d = mds_dealer (&m);
    mdf_ack_t ack;
    for (uint64_t seq = 1; seq <= 20; seq++)
        ck_assert_int_eq (mds_send (d, seq, 500, (int64_t)seq * 1000), 0);
    int ok = 0;
    while (ok < 20 && mds_recv_ack (d, &ack, 10000) == 0) {
        ck_assert_int_eq (ack.status, MDF_ACK_OK);
        ok++;
    }
    ck_assert_int_eq (ok, 20);
    ck_assert_int_eq (pg_server_rows (&s_pg), 20 * 500);
    /* resend one: still stored once */
    ck_assert_int_eq (mds_send (d, 7, 500, 7 * 1000), 0);
    ck_assert_int_eq (mds_recv_ack (d, &ack, 10000), 0);
    ck_assert_int_eq (ack.status, MDF_ACK_OK);
    ck_assert_int_eq (pg_server_rows (&s_pg), 20 * 500);
    ck_assert_int_eq ((int)h_scrape (m.http_port, "mds_bars_written_total"), 21 * 500);
    zsock_destroy (&d);
    ck_assert_int_eq (mds_stop (&m, 10000), 0);
    ck_assert_int_eq (mds_cleanup (&m, false), 0);
}
END_TEST

int
main (void)
{
    char why[512];
    if (pg_server_start (&s_pg, why, sizeof why) != 0) {
        printf ("SKIP: cannot start a PostgreSQL server: %s\n", why);
        pg_server_stop (&s_pg);
        return 77;
    }
    Suite *s = suite_create ("md-store postgres");
    TCase *tc = tcase_create ("postgres");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, postgres_sink_end_to_end);
    suite_add_tcase (s, tc);
    int rc = h_run_suite_reaped (s);
    pg_server_stop (&s_pg);
    return rc;
}
