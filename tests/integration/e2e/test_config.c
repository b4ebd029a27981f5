/*
 * Configuration errors and environment overrides of both binaries, as a user
 * meets them: a bad file makes md-store / md-pipeline exit 2 with one line
 * naming the file, the line and the key; a bad environment value names the
 * variable; a good value in MDS_* / MDP_* overrides the file and shows in the
 * running service's metrics.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define PROVIDER "[[providers]]\nname = \"syn\"\nsymbols = [\"AAA\"]\n"

typedef struct {
    const char *binary;  /* relative to the build root */
    const char *content; /* the config file */
    int line;            /* expected line in the message (0: none) */
    const char *key;     /* expected key in the message */
    const char *env;     /* extra KEY=VALUE or NULL */
} s_case_t;

static const s_case_t s_cases[] = {
    { "store/md-store", "[store]\nid = \"x\"\n[queue]\ncapacity = \"lots\"\n", 4, "queue.capacity",
      NULL },
    { "store/md-store", "[queue]\ncapcity = 5\n", 2, "queue.capcity", NULL },
    { "store/md-store", "[queue]\nhigh_watermark = 8000\nlow_watermark = 9000\n", 3,
      "queue.low_watermark", NULL },
    { "store/md-store", "[sink]\ntype = \"oracle\"\n", 2, "sink.type", NULL },
    { "store/md-store", "[store]\nid = \"x\"\n", 0, "MDS_QUEUE_CAPACITY",
      "MDS_QUEUE_CAPACITY=lots" },
    { "pipeline/md-pipeline", "[pipeline]\nid = \"p\"\n[store]\nmax_inflight = 0\n" PROVIDER, 4,
      "store.max_inflight", NULL },
    { "pipeline/md-pipeline", "[store]\nbatch_max = 5\n" PROVIDER "refill_rate = \"fast\"\n", 6,
      "refill_rate", NULL },
    { "pipeline/md-pipeline", "[store]\nbatchmax = 5\n" PROVIDER, 2, "store.batchmax", NULL },
    { "pipeline/md-pipeline", "[feedback]\nscale_soft = 1.5\n" PROVIDER, 2, "feedback.scale_soft",
      NULL },
    { "pipeline/md-pipeline", PROVIDER, 0, "MDP_STORE_MAX_INFLIGHT",
      "MDP_STORE_MAX_INFLIGHT=many" },
};

START_TEST (a_config_error_exits_2_naming_file_line_and_key)
{
    const s_case_t *c = &s_cases[_i];
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    char *path = h_write_file (dir, "bad.toml", c->content);
    char *bin = h_build_path (c->binary);
    char *argv[] = { bin, (char *)"--config", path, NULL };
    char *env[] = { (char *)c->env, NULL };
    char *out = NULL;
    int rc = h_run (argv, c->env ? env : NULL, 10000, &out);
    char *where = c->line ? h_strf ("%s:%d:", path, c->line) : strdup ("");
    fprintf (stderr, "%s -> exit %d: %s", c->binary, rc, out ? out : "(no output)\n");
    ck_assert_int_eq (rc, 2);
    ck_assert_ptr_nonnull (out);
    ck_assert_msg (strstr (out, where), "message does not name %s", where);
    ck_assert_msg (strstr (out, c->key), "message does not name %s", c->key);
    ck_assert_msg (strchr (out, '\n') == out + strlen (out) - 1, "more than one line");
    free (where);
    free (out);
    free (bin);
    free (path);
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

START_TEST (environment_overrides_the_file_in_running_services)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    e2e_pipe_t pipe;
    e2e_pipe_opts_t o = E2E_PIPE_OPTS_DEFAULT;
    o.refill_rate = 100;
    o.feedback = true;
    e2e_store_t *stores[] = { &store };
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", 0, 1000,
                               "[queue]\ncapacity = 10000\nhigh_watermark = 8000\n")
                   == 0,
               "store config");
    E2E_CHECK (e2e_pipe_init (&pipe, dir, &o, stores, 1) == 0, "pipeline config");
    /* The store id and capacity come from the environment, over the file. */
    char *senv[] = { (char *)"MDS_QUEUE_CAPACITY=12345", (char *)"MDS_STORE_ID=from-env", NULL };
    E2E_CHECK (e2e_store_start (&store, senv) == 0, "md-store did not start");
    double cap
        = h_scrape (store.http_port, "coordinator_queue_capacity{coordinator_id=\"from-env\"}");
    E2E_CHECK (cap == 12345, "coordinator_queue_capacity{coordinator_id=\"from-env\"} is %.0f",
               cap);
    E2E_CHECK (e2e_store_stop (&store, 10000) == 0, "md-store did not exit 0");

    /* No store answers, so the failsafe level (soft) drives the provider; its
     * scale comes from MDP_FEEDBACK_SCALE_SOFT, the failsafe from the file. */
    char *penv[] = { (char *)"MDP_FEEDBACK_SCALE_SOFT=0.75",
                     (char *)"MDP_STORE_DRAIN_TIMEOUT_MS=100", NULL };
    E2E_CHECK (e2e_pipe_start (&pipe, penv) == 0, "md-pipeline did not start");
    double scale = h_scrape (pipe.http_port, "pipeline_rate_scale_factor{provider=\"syn\"}");
    E2E_CHECK (scale == 0.75, "pipeline_rate_scale_factor is %.2f, not MDP_FEEDBACK_SCALE_SOFT",
               scale);
    /* With no store, the bars it took were never acked: it says so, exit 1. */
    E2E_CHECK (h_wait_metric_ge (pipe.http_port, "mdp_bars_ingested_total", 1, 5000) >= 1,
               "no bar taken in");
    E2E_CHECK (e2e_pipe_stop (&pipe, 10000) == 1, "md-pipeline stopped with unacked bars, not 1");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("e2e_config");
    TCase *tc = tcase_create ("config");
    tcase_set_timeout (tc, 30);
    tcase_add_loop_test (tc, a_config_error_exits_2_naming_file_line_and_key, 0,
                         (int)(sizeof s_cases / sizeof s_cases[0]));
    tcase_add_test (tc, environment_overrides_the_file_in_running_services);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
