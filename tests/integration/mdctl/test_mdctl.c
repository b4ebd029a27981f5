/*
 * test_mdctl: the operator tool, run as a user runs it (a spawned process).
 *
 * Each test plays the other side of the wire itself: a SUB that decodes what
 * `mdctl publish` sends, a stand-in store ROUTER that acks, retries, loses or
 * rejects batches of `mdctl send`, a tiny /metrics server for `mdctl record`.
 * Nothing sleeps: publish waits for its subscriber, watch stops after --count
 * events, and every wait has a deadline.  Sockets are made inside each test
 * (Check forks them).
 */
#include "tests/integration/harness.h"

#include "proto/batch.h"
#include "proto/feedback.h"

#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define RUN_MS 20000

static char *
s_mdctl (void)
{
    return h_build_path ("tools/mdctl");
}

static char *
s_slurp (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = calloc (1, (size_t)n + 1);
    if (buf && fread (buf, 1, (size_t)n, f) != (size_t)n) {
        free (buf);
        buf = NULL;
    }
    fclose (f);
    return buf;
}

/* ---- CLI basics ----------------------------------------------------------- */

START_TEST (help_version_and_usage_errors_use_exit_codes_0_and_2)
{
    char *bin = s_mdctl ();
    char *out = NULL;
    char *help[] = { bin, "--help", NULL };
    ck_assert_int_eq (h_run (help, NULL, RUN_MS, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "publish"));
    free (out);
    char *sub_help[] = { bin, "send", "--help", NULL };
    ck_assert_int_eq (h_run (sub_help, NULL, RUN_MS, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "FILE.csv"));
    free (out);
    char *version[] = { bin, "--version", NULL };
    ck_assert_int_eq (h_run (version, NULL, RUN_MS, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "mdctl "));
    free (out);
    char *unknown[] = { bin, "frobnicate", NULL };
    ck_assert_int_eq (h_run (unknown, NULL, RUN_MS, &out), 2);
    free (out);
    char *no_level[] = { bin, "publish", "tcp://127.0.0.1:1", NULL };
    ck_assert_int_eq (h_run (no_level, NULL, RUN_MS, &out), 2);
    ck_assert_ptr_nonnull (strstr (out, "--level"));
    free (out);
    char *bad_level[] = { bin, "publish", "tcp://127.0.0.1:1", "--level", "purple", NULL };
    ck_assert_int_eq (h_run (bad_level, NULL, RUN_MS, &out), 2);
    free (out);
    free (bin);
}
END_TEST

/* ---- publish ---------------------------------------------------------------- */

START_TEST (publish_sends_events_a_subscriber_decodes_with_proto)
{
    int port = h_free_port ();
    char *bin = s_mdctl ();
    char *ep = h_strf ("tcp://127.0.0.1:%d", port);
    char *argv[] = { bin,
                     "publish",
                     ep,
                     "--level",
                     "soft",
                     "--id",
                     "drill-store",
                     "--queue",
                     "7000",
                     "--capacity",
                     "10000",
                     "--count",
                     "3",
                     "--interval-ms",
                     "10",
                     "--epoch",
                     "42",
                     "--wait-subscriber-ms",
                     "15000",
                     NULL };
    h_proc_t proc;
    ck_assert_int_eq (h_spawn (&proc, argv, NULL, NULL), 0);

    void *ctx = zmq_ctx_new ();
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    int timeout = 15000, linger = 0;
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "feedback.", 9);
    ck_assert_int_eq (zmq_connect (sub, ep), 0);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        char topic[256] = "";
        char body[4096];
        int tn = zmq_recv (sub, topic, sizeof topic - 1, 0);
        ck_assert_int_gt (tn, 0);
        topic[tn] = '\0';
        ck_assert_str_eq (topic, "feedback.drill-store");
        int bn = zmq_recv (sub, body, sizeof body, 0);
        ck_assert_int_gt (bn, 0);
        mdf_feedback_t ev;
        char err[256] = "";
        ck_assert_msg (mdf_feedback_decode (body, (size_t)bn, &ev, err, sizeof err) == 0, "%s",
                       err);
        ck_assert_int_eq (ev.v, 1);
        ck_assert_str_eq (ev.coordinator_id, "drill-store");
        ck_assert_int_eq (ev.level, MDF_LEVEL_SOFT);
        ck_assert_uint_eq (ev.seq, seq);
        ck_assert_int_eq (ev.epoch, 42);
        ck_assert_int_eq (ev.queue_size, 7000);
        ck_assert_int_eq (ev.capacity, 10000);
        ck_assert_str_eq (ev.source, "store");
        ck_assert (ev.ts > 1.5e9);
    }
    ck_assert_int_eq (h_wait (&proc, RUN_MS), 0);
    zmq_close (sub);
    zmq_ctx_term (ctx);
    free (ep);
    free (bin);
}
END_TEST

/* ---- watch ------------------------------------------------------------------ */

START_TEST (watch_prints_one_plain_line_per_event_when_not_a_tty)
{
    int port = h_free_port ();
    char *dir = h_tmpdir ();
    char *log = h_strf ("%s/watch.log", dir);
    char *bin = s_mdctl ();
    char *ep = h_strf ("tcp://127.0.0.1:%d", port);
    char *watch[]
        = { bin, "watch", ep, "--count", "3", "--duration", "20", "--timeout", "20", NULL };
    h_proc_t w;
    ck_assert_int_eq (h_spawn (&w, watch, NULL, log), 0);
    char *publish[] = { bin,       "publish",
                        ep,        "--level",
                        "hard",    "--id",
                        "store-w", "--count",
                        "3",       "--interval-ms",
                        "10",      "--epoch",
                        "7",       "--wait-subscriber-ms",
                        "15000",   NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (publish, NULL, RUN_MS, &out), 0);
    free (out);
    int rc = h_wait (&w, RUN_MS);
    if (rc != 0)
        h_dump_log (&w);
    ck_assert_int_eq (rc, 0);
    char *text = s_slurp (log);
    ck_assert_ptr_nonnull (text);
    for (int seq = 1; seq <= 3; seq++) {
        char *want = h_strf ("coordinator=store-w level=hard queue=9000 capacity=10000 seq=%d "
                             "epoch=7 reason=mdctl\n",
                             seq);
        ck_assert_msg (strstr (text, want), "missing '%s' in:\n%s", want, text);
        free (want);
    }
    ck_assert_msg (strncmp (text, "ts=20", 5) == 0, "line does not start with ts=: %s", text);
    ck_assert_ptr_null (strstr (text, "\033[")); /* no escape codes in a file */
    free (text);
    h_rmtree (dir);
    free (dir);
    free (log);
    free (ep);
    free (bin);
}
END_TEST

START_TEST (watch_exits_1_when_count_is_not_reached_in_time)
{
    char *bin = s_mdctl ();
    char *ep = h_strf ("tcp://127.0.0.1:%d", h_free_port ());
    char *argv[] = { bin, "watch", ep, "--count", "1", "--duration", "0.3", NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (argv, NULL, RUN_MS, &out), 1);
    ck_assert_ptr_nonnull (strstr (out, "0 of 1 events"));
    free (out);
    free (ep);
    free (bin);
}
END_TEST

/* ---- send against a stand-in store ---------------------------------------- */

typedef enum { ACT_OK, ACT_RETRY, ACT_DROP } s_action_t;

typedef struct {
    void *ctx, *router;
    char endpoint[128];
    int receipts[64];             /* per batch_seq */
    s_action_t first_receipt[64]; /* what to do the first time a batch arrives */
    mdf_bar_t bars[64];           /* bars of batches acked ok, in order of acks */
    size_t nbars;
} s_store_t;

static void
s_store_open (s_store_t *s)
{
    memset (s, 0, sizeof *s);
    s->ctx = zmq_ctx_new ();
    s->router = zmq_socket (s->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt (s->router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq (zmq_bind (s->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof s->endpoint;
    zmq_getsockopt (s->router, ZMQ_LAST_ENDPOINT, s->endpoint, &len);
}

static void
s_store_close (s_store_t *s)
{
    zmq_close (s->router);
    zmq_ctx_term (s->ctx);
}

static void
s_store_reply (s_store_t *s, zmq_msg_t *id, const mdf_ack_t *ack)
{
    mdf_buf_t out = { NULL, 0 };
    ck_assert_int_eq (mdf_ack_encode (ack, &out), 0);
    zmq_send (s->router, zmq_msg_data (id), zmq_msg_size (id), ZMQ_SNDMORE);
    zmq_send (s->router, out.data, out.size, 0);
    mdf_buf_free (&out);
}

/* Answer one request as a store would (rejecting invalid bars with the
 * decoder's error), except that the first receipt of a batch may be answered
 * "retry" or dropped as configured. */
static void
s_store_handle (s_store_t *s)
{
    zmq_msg_t id, body;
    zmq_msg_init (&id);
    zmq_msg_init (&body);
    if (zmq_msg_recv (&id, s->router, ZMQ_DONTWAIT) < 0
        || zmq_msg_recv (&body, s->router, ZMQ_DONTWAIT) < 0)
        goto done;
    mdf_batch_t batch;
    memset (&batch, 0, sizeof batch);
    char err[MDF_ERROR_MAX + 1] = "";
    mdf_decode_t rc
        = mdf_batch_decode (zmq_msg_data (&body), zmq_msg_size (&body), &batch, 0, err, sizeof err);
    ck_assert_msg (rc != MDF_DECODE_MALFORMED, "malformed batch: %s", err);
    ck_assert (batch.batch_seq > 0 && batch.batch_seq < 64);
    mdf_ack_t ack = { .batch_seq = batch.batch_seq, .level = MDF_LEVEL_OK };
    int receipt = ++s->receipts[batch.batch_seq];
    s_action_t act = receipt == 1 ? s->first_receipt[batch.batch_seq] : ACT_OK;
    if (rc == MDF_DECODE_INVALID) {
        ack.status = MDF_ACK_REJECTED;
        snprintf (ack.error, sizeof ack.error, "%s", err);
        s_store_reply (s, &id, &ack);
    } else if (act == ACT_RETRY) {
        ack.status = MDF_ACK_RETRY;
        s_store_reply (s, &id, &ack);
    } else if (act == ACT_OK) {
        ack.status = MDF_ACK_OK;
        ack.count = batch.nbars;
        for (size_t i = 0; i < batch.nbars && s->nbars < 64; i++)
            s->bars[s->nbars++] = batch.bars[i];
        s_store_reply (s, &id, &ack);
    }
    mdf_batch_clear (&batch);
done:
    zmq_msg_close (&id);
    zmq_msg_close (&body);
}

/* Serve the ROUTER until the mdctl process exits; returns its exit code. */
static int
s_store_serve (s_store_t *s, h_proc_t *proc)
{
    long long deadline = h_now_ms () + RUN_MS;
    while (h_now_ms () < deadline) {
        zmq_pollitem_t item = { s->router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 20) > 0)
            s_store_handle (s);
        int rc = h_wait (proc, 0);
        if (rc >= 0)
            return rc;
    }
    return h_stop (proc, 2000);
}

static const char *s_good_csv = "symbol,ts,open,high,low,close,volume\n"
                                "AAPL,1700000000000000000,10,11,9,10.5,100\n"
                                "AAPL,1700000001,10,11,9,10.5,200\n"
                                "\n"
                                "MSFT,2023-11-14T22:13:22.5Z,20,21,19,20.5,300\n"
                                "\"MSFT\",1700000003.25,20,21,19,20.5,400\n"
                                "IBM,2023-11-14T23:13:24+01:00,30,31,29,30.5,500\n";

static int
s_send (s_store_t *s, const char *csv_text, char *extra_opt, char *extra_val, char **out)
{
    char *dir = h_tmpdir ();
    char *csv = h_write_file (dir, "bars.csv", csv_text);
    char *log = h_strf ("%s/send.log", dir);
    char *bin = s_mdctl ();
    char *argv[] = { bin,          "send", s->endpoint, csv,       "--batch", "2",
                     "--provider", "test", extra_opt,   extra_val, NULL };
    h_proc_t proc;
    ck_assert_int_eq (h_spawn (&proc, argv, NULL, log), 0);
    int rc = s_store_serve (s, &proc);
    *out = s_slurp (log);
    h_rmtree (dir);
    free (dir);
    free (csv);
    free (log);
    free (bin);
    return rc;
}

START_TEST (send_exits_0_when_every_batch_is_acked_ok)
{
    s_store_t s;
    s_store_open (&s);
    char *out = NULL;
    ck_assert_int_eq (s_send (&s, s_good_csv, NULL, NULL, &out), 0);
    ck_assert_msg (strstr (out, "batches=3 ok=3 rejected=0 retried=0 failed=0 bars=5 committed=5"),
                   "%s", out);
    ck_assert_uint_eq (s.nbars, 5);
    /* ns, seconds, RFC 3339 with fraction, fractional seconds, RFC 3339 with offset */
    int64_t want[5] = { 1700000000000000000LL, 1700000001000000000LL, 1700000002500000000LL,
                        1700000003250000000LL, 1700000004000000000LL };
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq (s.bars[i].ts, want[i]);
    ck_assert_str_eq (s.bars[3].symbol, "MSFT");
    ck_assert (s.bars[4].volume == 500.0 && s.bars[4].low == 29.0);
    free (out);
    s_store_close (&s);
}
END_TEST

START_TEST (send_resends_on_retry_and_on_a_lost_ack)
{
    s_store_t s;
    s_store_open (&s);
    s.first_receipt[1] = ACT_RETRY;
    s.first_receipt[2] = ACT_DROP;
    char *out = NULL;
    ck_assert_int_eq (s_send (&s, s_good_csv, "--timeout-ms", "200", &out), 0);
    ck_assert_msg (strstr (out, "ok=3 rejected=0 retried=2 failed=0 bars=5 committed=5"), "%s",
                   out);
    ck_assert_int_eq (s.receipts[1], 2);
    ck_assert_int_eq (s.receipts[2], 2);
    ck_assert_int_eq (s.receipts[3], 1);
    free (out);
    s_store_close (&s);
}
END_TEST

START_TEST (send_exits_1_and_prints_the_stores_error_when_a_batch_is_rejected)
{
    s_store_t s;
    s_store_open (&s);
    const char *csv = "symbol,ts,open,high,low,close,volume\n"
                      "AAPL,1700000000,10,11,9,10.5,100\n"
                      "AAPL,1700000001,10,11,9,10.5,100\n"
                      "AAPL,1700000002,10,11,9,10.5,100\n"
                      "AAPL,1700000003,10,9,12,10.5,100\n" /* low > high: bar 1 of batch 2 */
                      "AAPL,1700000004,10,11,9,10.5,100\n";
    char *out = NULL;
    ck_assert_int_eq (s_send (&s, csv, NULL, NULL, &out), 1);
    ck_assert_msg (strstr (out, "ok=2 rejected=1"), "%s", out);
    ck_assert_msg (strstr (out, "committed=3"), "%s", out);
    ck_assert_msg (strstr (out, "batch 2 (lines 4-5) rejected"), "%s", out);
    ck_assert_msg (strstr (out, "bar 1"), "%s", out);
    ck_assert_msg (strstr (out, "(line 5)"), "%s", out);
    free (out);
    s_store_close (&s);
}
END_TEST

START_TEST (send_exits_2_naming_file_and_line_of_a_bad_row)
{
    char *dir = h_tmpdir ();
    char *csv = h_write_file (dir, "bad.csv",
                              "symbol,ts,open,high,low,close,volume\n"
                              "AAPL,1700000000,10,11,9,10.5,100\n"
                              "\n"
                              "AAPL,1700000001,ten,11,9,10.5,100\n");
    char *bin = s_mdctl ();
    /* nothing listens there: the file is rejected before anything is sent */
    char *argv[] = { bin, "send", "tcp://127.0.0.1:1", csv, NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (argv, NULL, RUN_MS, &out), 2);
    char *want = h_strf ("%s:4: open 'ten' is not a number", csv);
    ck_assert_msg (strstr (out, want), "want '%s' in: %s", want, out);
    free (want);
    free (out);
    char *ts_csv = h_write_file (dir, "ts.csv",
                                 "symbol,ts,open,high,low,close,volume\n"
                                 "AAPL,1700000000000,10,11,9,10.5,100\n");
    argv[3] = ts_csv;
    ck_assert_int_eq (h_run (argv, NULL, RUN_MS, &out), 2);
    ck_assert_msg (strstr (out, "ts.csv:2: ts '1700000000000' is neither"), "%s", out);
    free (out);
    free (ts_csv);
    h_rmtree (dir);
    free (dir);
    free (csv);
    free (bin);
}
END_TEST

/* ---- record + plot ---------------------------------------------------------- */

/* A /metrics endpoint of a pretend pipeline: scale 0.5, counters that grow by
 * 1000 bars per scrape. */
typedef struct {
    int fd, port;
    atomic_int stop;
    pthread_t thread;
} s_metrics_t;

static void *
s_metrics_main (void *arg)
{
    s_metrics_t *m = arg;
    long scrapes = 0;
    while (!atomic_load (&m->stop)) {
        struct pollfd p = { m->fd, POLLIN, 0 };
        if (poll (&p, 1, 50) <= 0)
            continue;
        int c = accept (m->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[4096];
        (void)!read (c, req, sizeof req);
        scrapes++;
        char body[512], head[128];
        int bn = snprintf (body, sizeof body,
                           "# TYPE pipeline_rate_scale_factor gauge\n"
                           "pipeline_rate_scale_factor{provider=\"a\"} 0.5\n"
                           "mdp_bars_ingested_total{provider=\"a\"} %ld\n"
                           "mdp_bars_acked_total{provider=\"a\"} %ld\n",
                           scrapes * 1000, scrapes * 900);
        int hn = snprintf (head, sizeof head,
                           "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: %d\r\nConnection: close\r\n\r\n",
                           bn);
        (void)!write (c, head, (size_t)hn);
        (void)!write (c, body, (size_t)bn);
        close (c);
    }
    return NULL;
}

static void
s_metrics_start (s_metrics_t *m)
{
    memset (m, 0, sizeof *m);
    m->fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    ck_assert_int_eq (bind (m->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq (listen (m->fd, 16), 0);
    getsockname (m->fd, (struct sockaddr *)&addr, &len);
    m->port = ntohs (addr.sin_port);
    pthread_create (&m->thread, NULL, s_metrics_main, m);
}

static void
s_metrics_stop (s_metrics_t *m)
{
    atomic_store (&m->stop, 1);
    pthread_join (m->thread, NULL);
    close (m->fd);
}

START_TEST (record_writes_the_columns_and_plot_draws_a_png)
{
    s_metrics_t metrics;
    s_metrics_start (&metrics);
    char *dir = h_tmpdir ();
    char *csv = h_strf ("%s/run.csv", dir);
    char *png = h_strf ("%s/run.png", dir);
    char *bin = s_mdctl ();
    char *ep = h_strf ("tcp://127.0.0.1:%d", h_free_port ());
    char *http = h_strf ("127.0.0.1:%d", metrics.port);
    char *record[] = { bin,     "record", "--feedback", ep,    "--pipeline-http", http,
                       "--out", csv,      "--duration", "1.5", "--interval-ms",   "100",
                       NULL };
    h_proc_t rec;
    ck_assert_int_eq (h_spawn (&rec, record, NULL, NULL), 0);
    char *publish[] = { bin,     "publish", ep,  "--level",       "soft", "--id",
                        "rec",   "--count", "5", "--interval-ms", "20",   "--wait-subscriber-ms",
                        "15000", NULL };
    char *out = NULL;
    ck_assert_int_eq (h_run (publish, NULL, RUN_MS, &out), 0);
    free (out);
    ck_assert_int_eq (h_wait (&rec, RUN_MS), 0);
    s_metrics_stop (&metrics);

    char *text = s_slurp (csv);
    ck_assert_ptr_nonnull (text);
    ck_assert_msg (strncmp (text,
                            "t,queue_size,capacity,level,level_code,pipeline_scale,"
                            "ingested_rate,acked_rate\n",
                            strlen ("t,queue_size,capacity,level,level_code,pipeline_scale,"
                                    "ingested_rate,acked_rate\n"))
                       == 0,
                   "%s", text);
    ck_assert_msg (strstr (text, ",6500,10000,soft,1,0.500,"), "no soft sample in:\n%s", text);
    int rows = 0;
    for (const char *p = text; (p = strchr (p, '\n')); p++)
        rows++;
    ck_assert_int_ge (rows - 1, 8); /* ~15 samples in 1.5 s at 100 ms */
    free (text);

    char *plot[] = { bin, "plot", csv, "--out", png, NULL };
    int rc = h_run (plot, NULL, RUN_MS, &out);
    ck_assert_msg (rc == 0, "plot exit %d: %s", rc, out);
    free (out);
    struct stat st;
    ck_assert_int_eq (stat (png, &st), 0);
    ck_assert_int_gt (st.st_size, 10000);
    char *image = s_slurp (png);
    ck_assert_int_eq (memcmp (image, "\x89PNG\r\n\x1a\n", 8), 0);
    free (image);

    char *no_gnuplot_env[] = { "PATH=/nonexistent", NULL };
    ck_assert_int_eq (h_run (plot, no_gnuplot_env, RUN_MS, &out), 1);
    ck_assert_ptr_nonnull (strstr (out, "gnuplot-nox"));
    free (out);

    h_rmtree (dir);
    free (dir);
    free (csv);
    free (png);
    free (ep);
    free (http);
    free (bin);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("mdctl");
    TCase *tc = tcase_create ("cli");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, help_version_and_usage_errors_use_exit_codes_0_and_2);
    tcase_add_test (tc, publish_sends_events_a_subscriber_decodes_with_proto);
    tcase_add_test (tc, watch_prints_one_plain_line_per_event_when_not_a_tty);
    tcase_add_test (tc, watch_exits_1_when_count_is_not_reached_in_time);
    tcase_add_test (tc, send_exits_0_when_every_batch_is_acked_ok);
    tcase_add_test (tc, send_resends_on_retry_and_on_a_lost_ack);
    tcase_add_test (tc, send_exits_1_and_prints_the_stores_error_when_a_batch_is_rejected);
    tcase_add_test (tc, send_exits_2_naming_file_and_line_of_a_bad_row);
    tcase_add_test (tc, record_writes_the_columns_and_plot_draws_a_png);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return h_run_suite (s_suite ());
}
