/*
 * store_fixture: see store_fixture.h.
 */
#include "store_fixture.h"

#include <check.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

char *
mds_endpoint (int port)
{
    return h_strf ("tcp://127.0.0.1:%d", port);
}

void
mds_prepare (mds_t *m, int heartbeat_ms, const char *extra)
{
    memset (m, 0, sizeof *m);
    m->dir = h_tmpdir ();
    h_own_dir (m->dir);
    m->ingest_port = h_free_port ();
    m->feedback_port = h_free_port ();
    m->http_port = h_free_port ();
    snprintf (m->db, sizeof m->db, "%s/data/bars.db", m->dir);
    bool has_sink = extra && strstr (extra, "[sink]");
    char *sink = has_sink ? h_strf ("%s", "") : h_strf ("[sink]\npath = \"%s\"\n", m->db);
    char *text = h_strf ("[ingest]\nendpoint = \"tcp://127.0.0.1:%d\"\n"
                         "[feedback]\nendpoint = \"tcp://127.0.0.1:%d\"\nheartbeat_ms = %d\n"
                         "[http]\nlisten = \"127.0.0.1:%d\"\n%s%s\n",
                         m->ingest_port, m->feedback_port, heartbeat_ms, m->http_port, sink,
                         extra ? extra : "");
    m->config = h_write_file (m->dir, "store.toml", text);
    free (text);
    free (sink);
}

int
mds_relaunch (mds_t *m)
{
    char *bin = h_build_path ("store/md-store");
    char *log = h_strf ("%s/md-store.log", m->dir);
    char *argv[] = { bin, "--config", m->config, NULL };
    int rc = h_spawn (&m->proc, argv, NULL, log);
    free (bin);
    free (log);
    if (rc != 0)
        return -1;
    m->running = true;
    return 0;
}

/* One attempt: spawn with the prepared config, wait for HTTP. */
static int
s_launch (mds_t *m, const char *extra, char *const env[])
{
    char *bin = h_build_path ("store/md-store");
    char *log = h_strf ("%s/md-store.log", m->dir);
    char *argv[] = { bin, "--config", m->config, NULL };
    /* a [sink] section without a path would write into the working directory */
    char *envs[64];
    size_t n = 0;
    for (; env && env[n] && n < 62; n++)
        envs[n] = env[n];
    char *path_env = h_strf ("MDS_SINK_PATH=%s", m->db);
    if (!(extra && strstr (extra, "path =")))
        envs[n++] = path_env;
    envs[n] = NULL;
    int rc = h_spawn (&m->proc, argv, envs, log);
    free (path_env);
    free (bin);
    free (log);
    if (rc != 0)
        return -1;
    m->running = true;
    if (h_wait_service (&m->proc, m->http_port, 10000) == 0)
        return 0;
    m->running = m->proc.pid > 0;
    return -1;
}

int
mds_start (mds_t *m, int heartbeat_ms, const char *extra, char *const env[])
{
    /* free ports can be taken by a parallel test between probe and bind:
     * start again on fresh ports if md-store could not come up */
    for (int attempt = 0; attempt < 3; attempt++) {
        mds_prepare (m, heartbeat_ms, extra);
        if (s_launch (m, extra, env) == 0)
            return 0;
        bool port_taken = h_log_contains (&m->proc, "in use");
        mds_cleanup (m, true);
        if (!port_taken)
            break;
    }
    return -1;
}

int
mds_stop (mds_t *m, int timeout_ms)
{
    if (!m->running)
        return -1;
    h_signal (&m->proc, SIGTERM);
    int rc = h_wait (&m->proc, timeout_ms);
    if (rc >= 0)
        m->running = false;
    return rc;
}

int
mds_cleanup (mds_t *m, bool dump_log)
{
    if (m->running)
        h_stop (&m->proc, 5000);
    m->running = false;
    int rc = 0;
    /* by its log, which outlives the process (h_stop above reaped it) */
    if (m->proc.log_path[0] && h_log_sanitizer (&m->proc)) {
        fprintf (stderr, "md-store reported a sanitizer error:\n");
        dump_log = true;
        rc = -1;
    }
    if (dump_log && m->proc.log_path[0])
        h_dump_log (&m->proc);
    if (m->dir)
        h_rmtree (m->dir);
    free (m->dir);
    free (m->config);
    m->dir = m->config = NULL;
    return rc;
}

char *
mds_wait_status (int port, const char *path, int status, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        int got = 0;
        char *body = h_http ("GET", port, path, NULL, &got, 1000);
        if (got == status || h_now_ms () >= deadline) {
            ck_assert_msg (got == status, "%s: %d, not %d: %s", path, got, status,
                           body ? body : "");
            return body;
        }
        free (body);
        usleep (50000);
    }
}

zsock_t *
mds_dealer (const mds_t *m)
{
    char *ep = h_strf (">tcp://127.0.0.1:%d", m->ingest_port);
    zsock_t *s = zsock_new_dealer (ep);
    free (ep);
    return s;
}

zsock_t *
mds_sub (const mds_t *m)
{
    char *ep = h_strf (">tcp://127.0.0.1:%d", m->feedback_port);
    zsock_t *s = zsock_new_sub (ep, "feedback.");
    free (ep);
    return s;
}

void
mds_make_batch (mdf_batch_t *b, const char *producer, uint64_t seq, const char *provider, size_t n,
                int64_t ts0)
{
    memset (b, 0, sizeof *b);
    snprintf (b->producer_id, sizeof b->producer_id, "%s", producer);
    snprintf (b->provider, sizeof b->provider, "%s", provider);
    b->batch_seq = seq;
    b->bars = calloc (n ? n : 1, sizeof *b->bars);
    b->nbars = n;
    for (size_t i = 0; i < n; i++) {
        mdf_bar_t *bar = &b->bars[i];
        snprintf (bar->symbol, sizeof bar->symbol, "S%zu", i % 3);
        bar->ts = ts0 + (int64_t)i * 1000; /* 1 us apart: distinct in PostgreSQL too */
        bar->open = 10;
        bar->high = 11;
        bar->low = 9;
        bar->close = 10.5;
        bar->volume = 100;
    }
}

int
mds_send_batch (zsock_t *dealer, const mdf_batch_t *b)
{
    mdf_buf_t buf = { 0 };
    if (mdf_batch_encode (b, &buf) != 0)
        return -1;
    zframe_t *f = zframe_new (buf.data, buf.size);
    mdf_buf_free (&buf);
    return zframe_send (&f, dealer, 0);
}

int
mds_send (zsock_t *dealer, uint64_t seq, size_t n, int64_t ts0)
{
    mdf_batch_t b;
    mds_make_batch (&b, "test-producer", seq, "test", n, ts0 * 1000000);
    int rc = mds_send_batch (dealer, &b);
    mdf_batch_clear (&b);
    return rc;
}

static zframe_t *
s_recv_frame (zsock_t *s, int timeout_ms)
{
    zpoller_t *p = zpoller_new (s, NULL);
    void *ready = zpoller_wait (p, timeout_ms);
    zpoller_destroy (&p);
    return ready ? zframe_recv (s) : NULL;
}

int
mds_recv_ack (zsock_t *dealer, mdf_ack_t *ack, int timeout_ms)
{
    zframe_t *f = s_recv_frame (dealer, timeout_ms);
    if (!f)
        return -1;
    char err[256];
    int rc = mdf_ack_decode (zframe_data (f), zframe_size (f), ack, err, sizeof err);
    zframe_destroy (&f);
    return rc;
}

int
mds_recv_event (zsock_t *sub, mdf_feedback_t *ev, int timeout_ms)
{
    zframe_t *topic = s_recv_frame (sub, timeout_ms);
    if (!topic)
        return -1;
    bool ok = zframe_size (topic) > 9 && !memcmp (zframe_data (topic), "feedback.", 9)
              && zframe_more (topic);
    zframe_destroy (&topic);
    zframe_t *body = ok ? zframe_recv (sub) : NULL;
    if (!body)
        return -1;
    char err[256];
    int rc = mdf_feedback_decode (zframe_data (body), zframe_size (body), ev, err, sizeof err);
    zframe_destroy (&body);
    return rc;
}

int
mds_wait_event (zsock_t *sub, const char *reason, int level, mdf_feedback_t *ev, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        long long left = deadline - h_now_ms ();
        if (left <= 0 || mds_recv_event (sub, ev, (int)left) != 0)
            return -1;
        if (!strcmp (ev->reason, reason) && (level < 0 || (int)ev->level == level))
            return 0;
    }
}

mds_t mds_cur;

void
mds_test_setup (void)
{
    memset (&mds_cur, 0, sizeof mds_cur);
}

void
mds_test_teardown (void)
{
    ck_assert_msg (mds_cleanup (&mds_cur, false) == 0, "sanitizer report in md-store's log");
}

void
mds_start_failing_sink (char **tmp_p, char **blocker_p, char **db_p)
{
    *tmp_p = h_tmpdir ();
    ck_assert_ptr_nonnull (*tmp_p);
    h_own_dir (*tmp_p);
    *blocker_p = h_strf ("%s/blocked", *tmp_p);
    free (h_write_file (*tmp_p, "blocked", "not a directory"));
    *db_p = h_strf ("%s/bars.db", *blocker_p);
    char *extra = h_strf ("[workers]\nretry_initial_ms = 10\nretry_max_ms = 50\n"
                          "breaker_failures = 2\nbreaker_cooldown_ms = 50\n"
                          "[sink]\npath = \"%s\"\n",
                          *db_p);
    MDS_START (0, extra, NULL);
    free (extra);
}
