/*
 * bench_zmq_loop: the transport ceiling the services are compared with.
 *
 * A DEALER (main thread) and a ROUTER (its own thread) on tcp://127.0.0.1
 * move batches of --bars bars as md-pipeline and md-store do: the DEALER keeps
 * --inflight batches unacknowledged, the ROUTER answers each with an ack of
 * wire contract v1.  The batch body is a real encoded v1 batch, so the bytes
 * on the wire are the services'.  Without --codec nothing is decoded or
 * re-encoded (pure ZeroMQ); with --codec the DEALER encodes every batch and the
 * ROUTER decodes and validates it (proto/ only: no queue, no sink).
 *
 *   bench_zmq_loop [--bars 500] [--inflight 8] [--seconds 5] [--codec]
 *
 * Prints one line: key=value pairs, bars_per_sec first.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench/bench_http.h"
#include "proto/batch.h"

typedef struct {
    void *ctx;
    char endpoint[64];
    bool codec;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready; /* 1 bound, -1 failed */
} s_router_t;

static void
s_make_batch (mdf_batch_t *b, size_t bars, uint64_t seq)
{
    static const char *const symbols[] = { "AAPL", "MSFT", "GOOG", "AMZN" };
    snprintf (b->producer_id, sizeof b->producer_id, "bench");
    snprintf (b->provider, sizeof b->provider, "synthetic");
    b->batch_seq = seq;
    b->nbars = bars;
    for (size_t i = 0; i < bars; i++) {
        mdf_bar_t *r = &b->bars[i];
        snprintf (r->symbol, sizeof r->symbol, "%s", symbols[i % 4]);
        r->ts = 1700000000000000000LL + (int64_t)(seq * bars + i) * 1000;
        r->open = 100.0 + (double)(i % 97) * 0.01;
        r->high = r->open + 0.5;
        r->low = r->open - 0.5;
        r->close = r->open + 0.1;
        r->volume = 1000 + (double)(i % 13);
    }
}

static void
s_signal (s_router_t *r, int state)
{
    pthread_mutex_lock (&r->lock);
    r->ready = state;
    pthread_cond_signal (&r->cond);
    pthread_mutex_unlock (&r->lock);
}

/* The ROUTER: answer every batch with an ack until the context terminates. */
static void *
s_router (void *arg)
{
    s_router_t *r = arg;
    void *sock = zmq_socket (r->ctx, ZMQ_ROUTER);
    size_t len = sizeof r->endpoint;
    int linger = 0;
    zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
    if (!sock || zmq_bind (sock, "tcp://127.0.0.1:*") != 0
        || zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, r->endpoint, &len) != 0) {
        s_signal (r, -1);
        return NULL;
    }
    s_signal (r, 1);
    mdf_ack_t ack = { 0 };
    ack.status = MDF_ACK_OK;
    mdf_buf_t out = { 0 };
    mdf_batch_t batch = { 0 };
    mdf_ack_encode (&ack, &out);
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init (&id);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&id, sock, 0) < 0 || zmq_msg_recv (&body, sock, 0) < 0) {
            zmq_msg_close (&id);
            zmq_msg_close (&body);
            break;
        }
        if (r->codec) {
            char err[300];
            if (mdf_batch_decode (zmq_msg_data (&body), zmq_msg_size (&body), &batch, 0, err,
                                  sizeof err)
                == MDF_DECODE_OK) {
                ack.batch_seq = batch.batch_seq;
                ack.count = batch.nbars;
            }
            mdf_ack_encode (&ack, &out);
        }
        zmq_msg_send (&id, sock, ZMQ_SNDMORE);
        zmq_send (sock, out.data, out.size, 0);
        zmq_msg_close (&body);
    }
    mdf_batch_clear (&batch);
    mdf_buf_free (&out);
    zmq_close (sock);
    return NULL;
}

/* Start the ROUTER thread and wait until it is bound; 0 or -1. */
static int
s_router_start (s_router_t *r, pthread_t *thread)
{
    pthread_mutex_init (&r->lock, NULL);
    pthread_cond_init (&r->cond, NULL);
    if (pthread_create (thread, NULL, s_router, r) != 0)
        return -1;
    pthread_mutex_lock (&r->lock);
    while (r->ready == 0)
        pthread_cond_wait (&r->cond, &r->lock);
    pthread_mutex_unlock (&r->lock);
    return r->ready > 0 ? 0 : -1;
}

/* Keep `inflight` batches of `bars` bars in flight for `seconds`; prints the rate. */
static void
s_dealer_loop (void *ctx, const char *endpoint, size_t bars, int inflight, double seconds,
               bool codec)
{
    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect (dealer, endpoint);
    mdf_batch_t batch = { 0 };
    batch.bars = calloc (bars, sizeof *batch.bars);
    mdf_buf_t body = { 0 };
    uint64_t seq = 1;
    s_make_batch (&batch, bars, seq);
    mdf_batch_encode (&batch, &body);
    char ackbuf[512];
    long long batches = 0;
    for (int i = 0; i < inflight; i++)
        zmq_send (dealer, body.data, body.size, 0);
    double t0 = bench_mono_s (), now = t0;
    while (now - t0 < seconds) {
        if (zmq_recv (dealer, ackbuf, sizeof ackbuf, 0) < 0)
            break;
        batches++;
        if (codec) {
            s_make_batch (&batch, bars, ++seq);
            mdf_batch_encode (&batch, &body);
        }
        zmq_send (dealer, body.data, body.size, 0);
        if ((batches & 15) == 0)
            now = bench_mono_s ();
    }
    now = bench_mono_s ();
    printf ("bars_per_sec=%.0f batches_per_sec=%.0f bytes_per_batch=%zu bars=%zu inflight=%d "
            "codec=%d seconds=%.2f\n",
            (double)batches * (double)bars / (now - t0), (double)batches / (now - t0), body.size,
            bars, inflight, codec ? 1 : 0, now - t0);
    /* Take the window's last acks, so no message is in flight at shutdown. */
    int timeout = 2000;
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    for (int i = 0; i < inflight && zmq_recv (dealer, ackbuf, sizeof ackbuf, 0) >= 0; i++)
        ;
    zmq_close (dealer);
    mdf_buf_free (&body);
    free (batch.bars);
}

int
main (int argc, char **argv)
{
    size_t bars = 500;
    int inflight = 8;
    double seconds = 5;
    bool codec = false, bad = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--bars") && i + 1 < argc)
            bars = (size_t)atol (argv[++i]);
        else if (!strcmp (argv[i], "--inflight") && i + 1 < argc)
            inflight = atoi (argv[++i]);
        else if (!strcmp (argv[i], "--seconds") && i + 1 < argc)
            seconds = atof (argv[++i]);
        else if (!strcmp (argv[i], "--codec"))
            codec = true;
        else
            bad = true;
    }
    if (bad || bars < 1 || bars > MDF_BATCH_MAX_BARS || inflight < 1) {
        fprintf (stderr, "usage: bench_zmq_loop [--bars N] [--inflight N] [--seconds S] "
                         "[--codec]\n");
        return 2;
    }
    s_router_t r = { .ctx = zmq_ctx_new (), .codec = codec };
    pthread_t thread;
    if (s_router_start (&r, &thread) != 0) {
        fprintf (stderr, "bench_zmq_loop: cannot bind the ROUTER\n");
        return 1;
    }
    s_dealer_loop (r.ctx, r.endpoint, bars, inflight, seconds, codec);
    zmq_ctx_term (r.ctx); /* ends the ROUTER thread's recv */
    pthread_join (thread, NULL);
    return 0;
}
