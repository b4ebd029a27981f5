/*
 * The /control/ bearer token (http.control_token) and exact control paths
 * with the real md-pipeline on loopback:
 *   - with MDP_HTTP_CONTROL_TOKEN set, POST /control/pause without the token
 *     or with a wrong one is 401 and the pipeline keeps taking bars; with the
 *     token it pauses (mdp_paused 1, /health "paused":true, the window drains);
 *     resume likewise; refusals are counted (mdp_http_unauthorized_total) and
 *     logged with the client's address, never with a token; /metrics and
 *     /health need no token;
 *   - the token can come from a file (MDP_HTTP_CONTROL_TOKEN_FILE); both keys
 *     at once, or a missing file, stop md-pipeline with exit 2 naming the key
 *     or the file;
 *   - without a token /control/ stays open (the default), and a non-loopback
 *     http.listen without a token is warned about at start-up;
 *   - control paths match exactly: with no token, "/control/pause?x=1",
 *     "/control/pause%00", "/control/pause/", "/control//pause",
 *     "/control/%70ause" and a NUL byte in the target are refused and do not
 *     pause the pipeline; with a token every spelling under /control/ is 401
 *     first, and still no route with the token.
 */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define TOKEN "itest-token-5ac1d0e7"

static int
s_post (const e2e_pipe_t *p, const char *path, const char *token, char **reply)
{
    int status = 0;
    char *body = h_http_auth ("POST", p->http_port, path, "", token, &status, 5000);
    if (reply)
        *reply = body;
    else
        free (body);
    return status;
}

static char *
s_health (const e2e_pipe_t *p)
{
    int status = 0;
    char *body = h_http ("GET", p->http_port, "/health", NULL, &status, 2000);
    E2E_CHECK (body && status == 200, "/health answered %d", status);
    return body;
}

/* Store and pipeline running, bars flowing, the pipeline started with `env`. */
static void
s_start_loop (char **dir, e2e_store_t *store, e2e_pipe_t *pipe, char *const env[])
{
    *dir = e2e_dir ();
    ck_assert_ptr_nonnull (*dir);
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 2000;
    e2e_store_t *stores[] = { store };
    E2E_CHECK (e2e_store_init (store, *dir, "store-a", 0, 200, NULL) == 0, "store config");
    E2E_CHECK (e2e_store_start (store, NULL) == 0, "md-store did not start");
    E2E_CHECK (e2e_pipe_init (pipe, *dir, &o, stores, 1) == 0, "pipeline config");
    E2E_CHECK (e2e_pipe_start (pipe, env) == 0, "md-pipeline did not start");
    double v = h_wait_metric_ge (pipe->http_port, "mdp_bars_acked_total", 100, 10000);
    E2E_CHECK (v >= 100, "no bars acked (%g)", v);
}

START_TEST (pause_needs_the_token)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    char *env[] = { "MDP_HTTP_CONTROL_TOKEN=" TOKEN, NULL };
    s_start_loop (&dir, &store, &pipe, env);
    E2E_CHECK (h_log_contains (&pipe.proc, "control=token"), "start-up line without control=token");

    /* No token, then a wrong one: 401, not paused, bars keep coming. */
    char *reply = NULL;
    int status = s_post (&pipe, "/control/pause", NULL, &reply);
    E2E_CHECK (status == 401 && reply && strstr (reply, "bearer token required"),
               "pause without a token: %d %s", status, reply ? reply : "(none)");
    free (reply);
    status = s_post (&pipe, "/control/pause", "not-" TOKEN, NULL);
    E2E_CHECK (status == 401, "pause with a wrong token: %d", status);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "paused without the token");
    char *health = s_health (&pipe);
    E2E_CHECK (strstr (health, "\"paused\":false"), "health: %s", health);
    free (health);
    double before = h_scrape (pipe.http_port, "mdp_bars_ingested_total");
    double after
        = h_wait_metric_ge (pipe.http_port, "mdp_bars_ingested_total", before + 200, 10000);
    E2E_CHECK (after >= before + 200, "bars stopped after a refused pause (%g -> %g)", before,
               after);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_http_unauthorized_total") == 2,
               "mdp_http_unauthorized_total is not 2");

    /* With the token: paused, and the window drains (acked == ingested). */
    status = s_post (&pipe, "/control/pause", TOKEN, NULL);
    E2E_CHECK (status == 200, "pause with the token: %d", status);
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "not paused with the token");
    health = s_health (&pipe);
    E2E_CHECK (strstr (health, "\"paused\":true"), "health: %s", health);
    free (health);
    double ingested = 0;
    E2E_CHECK (e2e_pipe_wait_drained (&pipe, 10000, &ingested) == 0,
               "not drained after pause (ingested %g)", ingested);

    /* Resume: refused without the token, done with it. */
    E2E_CHECK (s_post (&pipe, "/control/resume", NULL, NULL) == 401, "resume without token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "resumed without the token");
    E2E_CHECK (s_post (&pipe, "/control/resume", TOKEN, NULL) == 200, "resume with the token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "not resumed with the token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_http_unauthorized_total") == 3,
               "mdp_http_unauthorized_total is not 3");

    /* The refusal was logged with the client's address; no token in the log. */
    E2E_CHECK (h_log_contains (&pipe.proc, "request refused")
                   && h_log_contains (&pipe.proc, "remote=127.0.0.1"),
               "refusal not logged");
    E2E_CHECK (!h_log_contains (&pipe.proc, TOKEN), "the token is in the log");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

/* Pipeline alone (its store configured, not started): only HTTP matters. */
static void
s_start_alone (char **dir, e2e_store_t *store, e2e_pipe_t *pipe)
{
    *dir = e2e_dir ();
    ck_assert_ptr_nonnull (*dir);
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 100;
    e2e_store_t *stores[] = { store };
    E2E_CHECK (e2e_store_init (store, *dir, "store-a", 0, 1000, NULL) == 0, "store config");
    E2E_CHECK (e2e_pipe_init (pipe, *dir, &o, stores, 1) == 0, "pipeline config");
}

/* Run md-pipeline on pipe's config with `env` until it exits; its exit code,
 * its output in *out. */
static int
s_run_pipeline (const e2e_pipe_t *pipe, char *const env[], char **out)
{
    char *bin = h_build_path ("pipeline/md-pipeline");
    char *argv[] = { bin, "--config", (char *)pipe->config, NULL };
    int rc = h_run (argv, env, 15000, out);
    free (bin);
    return rc;
}

START_TEST (token_from_a_file_and_config_errors)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_alone (&dir, &store, &pipe);
    char *file = h_write_file (dir, "control-token", TOKEN "\n");
    char *env_file = h_strf ("MDP_HTTP_CONTROL_TOKEN_FILE=%s", file);

    /* Both keys: exit 2 naming the key, before anything listens. */
    char *both[] = { env_file, "MDP_HTTP_CONTROL_TOKEN=" TOKEN, NULL };
    char *out = NULL;
    int rc = s_run_pipeline (&pipe, both, &out);
    E2E_CHECK (rc == 2 && out && strstr (out, "$MDP_HTTP_CONTROL_TOKEN_FILE")
                   && strstr (out, "mutually exclusive") && !strstr (out, TOKEN),
               "both keys: exit %d: %s", rc, out ? out : "");
    free (out);

    /* A file that is not there: exit 2 naming the file. */
    char *missing = h_strf ("MDP_HTTP_CONTROL_TOKEN_FILE=%s/nope", dir);
    char *gone[] = { missing, NULL };
    out = NULL;
    rc = s_run_pipeline (&pipe, gone, &out);
    E2E_CHECK (rc == 2 && out && strstr (out, "/nope") && strstr (out, "cannot read"),
               "missing file: exit %d: %s", rc, out ? out : "");
    free (out);
    free (missing);

    /* The file's first line is the token. */
    char *env[] = { env_file, NULL };
    E2E_CHECK (e2e_pipe_start (&pipe, env) == 0, "md-pipeline did not start");
    E2E_CHECK (s_post (&pipe, "/control/pause", NULL, NULL) == 401, "pause without the token");
    E2E_CHECK (s_post (&pipe, "/control/reload", "wrong", NULL) == 401, "reload, wrong token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "paused without the token");
    E2E_CHECK (s_post (&pipe, "/control/pause", TOKEN, NULL) == 200, "pause with the token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "not paused with the token");
    E2E_CHECK (s_post (&pipe, "/control/reload", TOKEN, NULL) == 200, "reload with the token");
    free (env_file);
    free (file);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (without_a_token_control_stays_open_on_loopback)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_alone (&dir, &store, &pipe);
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");
    E2E_CHECK (h_wait_metric_ge (pipe.http_port, "mdp_bars_ingested_total", 1, 5000) >= 1,
               "no bar taken in");
    E2E_CHECK (s_post (&pipe, "/control/pause", NULL, NULL) == 200, "pause without a token");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "not paused");
    E2E_CHECK (h_log_contains (&pipe.proc, "control=open"), "start-up line without control=open");
    E2E_CHECK (!h_log_contains (&pipe.proc, "is open to anyone"), "warned on loopback");
    /* Its store never ran, so the bars it took are unacked: exit 1. */
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 1, "md-pipeline stopped with unacked bars, not 1");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

/* http.listen on all interfaces without a token is warned about.  So that
 * nothing here ever listens beyond loopback, the test holds the port on
 * 127.0.0.1 first: the pipeline logs the warning, then cannot bind 0.0.0.0
 * on that port and exits 1. */
START_TEST (a_non_loopback_listen_without_a_token_is_warned_about)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_alone (&dir, &store, &pipe);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    E2E_CHECK (fd >= 0 && bind (fd, (struct sockaddr *)&a, sizeof a) == 0 && listen (fd, 1) == 0
                   && getsockname (fd, (struct sockaddr *)&a, &len) == 0,
               "cannot hold a loopback port");
    char *listen_env = h_strf ("MDP_HTTP_LISTEN=0.0.0.0:%d", ntohs (a.sin_port));
    char *env[] = { listen_env, NULL };
    char *out = NULL;
    int rc = s_run_pipeline (&pipe, env, &out);
    close (fd);
    E2E_CHECK (rc == 1 && out && strstr (out, "is open to anyone")
                   && strstr (out, "http.control_token"),
               "exit %d: %s", rc, out ? out : "");
    free (out);
    free (listen_env);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

/* POST `target` (raw bytes, `tlen` long, may hold a NUL) to 127.0.0.1:port
 * over a plain socket (curl would normalise some spellings), with the token
 * when given; the status, -1 without an answer. */
static int
s_post_raw (int port, const char *target, size_t tlen, const char *token)
{
    char auth[128];
    snprintf (auth, sizeof auth, "Bearer %s", token ? token : "");
    return h_raw_request (port, "POST", target, tlen, token ? auth : NULL, 3000);
}

#define S_SPELLING(s)                                                                              \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }

static const struct {
    const char *target;
    size_t len;
} s_spellings[] = {
    S_SPELLING ("/control/pause?x=1"), S_SPELLING ("/control/pause?"),
    S_SPELLING ("/control/pause%00"),  S_SPELLING ("/control/pause/"),
    S_SPELLING ("/control//pause"),    S_SPELLING ("/control/%70ause"),
    S_SPELLING ("/control/pause#x"),   S_SPELLING ("/control/pause\0junk"),
};

#define S_NSPELLINGS (sizeof s_spellings / sizeof s_spellings[0])

START_TEST (control_paths_match_exactly_without_a_token)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    s_start_alone (&dir, &store, &pipe);
    E2E_CHECK (e2e_pipe_start (&pipe, NULL) == 0, "md-pipeline did not start");
    for (size_t i = 0; i < S_NSPELLINGS; i++) {
        int status = s_post_raw (pipe.http_port, s_spellings[i].target, s_spellings[i].len, NULL);
        E2E_CHECK (status == 404 || status == 400, "POST %s answered %d", s_spellings[i].target,
                   status);
        E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "POST %s paused the pipeline",
                   s_spellings[i].target);
    }
    /* the one true spelling still works */
    E2E_CHECK (s_post_raw (pipe.http_port, "/control/pause", 14, NULL) == 200, "exact path");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "not paused by the exact path");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (control_paths_are_401_first_with_a_token)
{
    char *dir;
    e2e_store_t store;
    e2e_pipe_t pipe;
    char *env[] = { "MDP_HTTP_CONTROL_TOKEN=" TOKEN, NULL };
    s_start_alone (&dir, &store, &pipe);
    E2E_CHECK (e2e_pipe_start (&pipe, env) == 0, "md-pipeline did not start");
    for (size_t i = 0; i < S_NSPELLINGS; i++) {
        int status = s_post_raw (pipe.http_port, s_spellings[i].target, s_spellings[i].len, NULL);
        E2E_CHECK (status == 401, "POST %s without the token answered %d", s_spellings[i].target,
                   status);
        status = s_post_raw (pipe.http_port, s_spellings[i].target, s_spellings[i].len, TOKEN);
        E2E_CHECK (status == 404 || status == 400, "POST %s with the token answered %d",
                   s_spellings[i].target, status);
    }
    /* "/%63ontrol/pause" decodes into the prefix: 401 too, never a route */
    E2E_CHECK (s_post_raw (pipe.http_port, "/%63ontrol/pause", 16, NULL) == 401,
               "encoded prefix not protected");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 0, "paused by a near spelling");
    E2E_CHECK (s_post_raw (pipe.http_port, "/control/pause", 14, TOKEN) == 200, "exact path");
    E2E_CHECK (h_scrape (pipe.http_port, "mdp_paused") == 1, "not paused by the exact path");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("control_token");
    TCase *tc = tcase_create ("control_token");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, pause_needs_the_token);
    tcase_add_test (tc, token_from_a_file_and_config_errors);
    tcase_add_test (tc, without_a_token_control_stays_open_on_loopback);
    tcase_add_test (tc, a_non_loopback_listen_without_a_token_is_warned_about);
    tcase_add_test (tc, control_paths_match_exactly_without_a_token);
    tcase_add_test (tc, control_paths_are_401_first_with_a_token);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
