/*
 * HTTP request limits (README.md, "HTTP endpoints"), against md-pipeline's server
 * (common/http.c): a POST /control/pause with a body above 64 KiB gets 413 and
 * does not pause the pipeline; eight slow clients holding half-sent requests
 * open do not stop /health from answering.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/e2e/e2e_fixture.h"

static int
s_dial (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd >= 0 && connect (fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close (fd);
        fd = -1;
    }
    return fd;
}

static void
s_start (char **dir, e2e_store_t *store, e2e_pipe_t *pipe)
{
    *dir = e2e_dir ();
    ck_assert_ptr_nonnull (*dir);
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 100;
    e2e_store_t *stores[] = { store };
    /* the store is configured (ports) but not started: only HTTP matters */
    E2E_CHECK (e2e_store_init (store, *dir, "store-a", 0, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (pipe, *dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_pipe_start (pipe, NULL) == 0, "md-pipeline did not start");
}

START_TEST (oversized_body_gets_413_and_does_nothing)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start (&dir, &store, &pipe);
    size_t n = 100 * 1024;
    char *body = malloc (n + 1);
    memset (body, 'x', n);
    body[n] = '\0';
    int status = 0;
    char *reply = h_http ("POST", pipe.http_port, "/control/pause", body, &status, 5000);
    free (reply);
    free (body);
    E2E_CHECK (status == 413, "oversized POST answered %d", status);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "the oversized request paused");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (slow_partial_requests_do_not_block_health)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start (&dir, &store, &pipe);
    int fds[8];
    const char *part = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (int i = 0; i < 8; i++) {
        fds[i] = s_dial (pipe.http_port);
        E2E_CHECK (fds[i] >= 0, "cannot connect");
        E2E_CHECK (write (fds[i], part, strlen (part)) == (ssize_t)strlen (part), "write");
    }
    for (int round = 0; round < 20; round++) {
        long long t0 = h_now_ms ();
        int status = 0;
        char *reply = h_http ("GET", pipe.http_port, "/health", NULL, &status, 2000);
        free (reply);
        E2E_CHECK (status == 200 || status == 503,
                   "/health not answered (%d) while slow "
                   "clients hold requests open",
                   status);
        E2E_CHECK (h_now_ms () - t0 < 1000, "/health took %lld ms", h_now_ms () - t0);
        /* trickle one more byte on each slow request */
        for (int i = 0; i < 8; i++)
            E2E_CHECK (write (fds[i], "a", 1) == 1, "slow client write");
    }
    for (int i = 0; i < 8; i++)
        close (fds[i]);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_limits");
    TCase *tc = tcase_create ("limits");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, oversized_body_gets_413_and_does_nothing);
    tcase_add_test (tc, slow_partial_requests_do_not_block_health);
    suite_add_tcase (s, tc);
    SRunner *sr = srunner_create (s);
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
