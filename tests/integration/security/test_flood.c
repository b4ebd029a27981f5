/*
 * Ingest flood (docs/ARCHITECTURE.md, "Bounded memory"): four producers send at full speed
 * for 5 s, without waiting for acks: 64 KiB messages that are not batches
 * (dropped, counted as malformed) and 4 MiB messages above
 * `ingest.max_message_bytes` (1 MiB here; libzmq drops the connection before
 * buffering them).  Meanwhile the test reads the store's VmRSS from
 * /proc/PID/status and GETs /health every 50 ms: every request must be
 * answered and RSS must stay within 256 MiB of its value before the flood
 * (640 MiB under ASan).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tests/integration/e2e/e2e_fixture.h"

#define C_PRODUCERS 4
#define C_FLOOD_MS 5000
/* RSS growth allowed; ASan keeps freed memory in a 256 MiB quarantine. */
#if defined(__SANITIZE_ADDRESS__)
#define C_RSS_GROWTH_KB (640L * 1024)
#else
#define C_RSS_GROWTH_KB (256L * 1024)
#endif

typedef struct {
    void *ctx;
    int port;
    long long until_ms;
    atomic_llong sent;
} flood_t;

static void *
s_producer (void *arg)
{
    flood_t *f = arg;
    size_t small = 64 * 1024, big = 4 * 1024 * 1024;
    char *buf = calloc (1, big);
    char ep[64];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", f->port);
    while (buf && h_now_ms () < f->until_ms) {
        void *d = zmq_socket (f->ctx, ZMQ_DEALER);
        int linger = 0, hwm = 100;
        zmq_setsockopt (d, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt (d, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_connect (d, ep);
        for (int i = 0; i < 2000 && h_now_ms () < f->until_ms; i++) {
            size_t n = i % 50 == 49 ? big : small;
            if (zmq_send (d, buf, n, ZMQ_DONTWAIT) >= 0)
                atomic_fetch_add (&f->sent, 1);
            else
                zmq_poll (NULL, 0, 1);
        }
        zmq_close (d); /* a new connection: the big ones make the store drop it */
    }
    free (buf);
    return NULL;
}

static long
s_rss_kb (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen (path, "r");
    long kb = -1;
    while (f && fgets (line, sizeof line, f))
        if (sscanf (line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose (f);
    return kb;
}

START_TEST (flood_keeps_rss_bounded_and_health_answering)
{
    char *dir = e2e_dir ();
    ck_assert_ptr_nonnull (dir);
    e2e_store_t store;
    E2E_CHECK (e2e_store_init (&store, dir, "store-a", 0, 1000, NULL) == 0, "store config");
    char *env[] = { "MDS_INGEST_MAX_MESSAGE_BYTES=1048576", NULL };
    E2E_CHECK (e2e_store_start (&store, env) == 0, "md-store did not start");
    long base = s_rss_kb (store.proc.pid);
    E2E_CHECK (base > 0, "cannot read VmRSS");

    flood_t f = { zmq_ctx_new (), store.ingest_port, h_now_ms () + C_FLOOD_MS, 0 };
    pthread_t th[C_PRODUCERS];
    for (int i = 0; i < C_PRODUCERS; i++)
        pthread_create (&th[i], NULL, s_producer, &f);
    long max_rss = base;
    int answered = 0, asked = 0;
    while (h_now_ms () < f.until_ms) {
        int status = 0;
        char *body = h_http ("GET", store.http_port, "/health", NULL, &status, 2000);
        asked++;
        answered += body && (status == 200 || status == 503);
        free (body);
        long rss = s_rss_kb (store.proc.pid);
        max_rss = rss > max_rss ? rss : max_rss;
        zmq_poll (NULL, 0, 50);
    }
    for (int i = 0; i < C_PRODUCERS; i++)
        pthread_join (th[i], NULL);
    zmq_ctx_term (f.ctx);
    double malformed = h_scrape (store.http_port, "mds_ingest_malformed_total{reason=\"decode\"}");
    fprintf (stderr,
             "flood: %lld messages sent, %.0f malformed counted, RSS %ld -> max %ld kB, "
             "/health %d/%d answered\n",
             (long long)atomic_load (&f.sent), malformed, base, max_rss, answered, asked);
    E2E_CHECK (answered == asked && asked > 10, "/health answered %d of %d", answered, asked);
    E2E_CHECK (max_rss - base < C_RSS_GROWTH_KB, "RSS grew by %ld kB", max_rss - base);
    E2E_CHECK (e2e_store_stop (&store, 20000) == 0, "md-store did not exit 0 after the flood");
    ck_assert_msg (e2e_cleanup (&dir) == 0, "sanitizer report in a service's log");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("flood");
    TCase *tc = tcase_create ("ingest");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, flood_keeps_rss_bounded_and_health_answering);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
