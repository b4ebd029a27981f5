/*
 * scale_relay: a feedback relay between one md-store and its pipelines that
 * can inject forged events, to check the pipelines' sanity rules
 * (proto/README.md, "How a pipeline reads the events") on a real topology.
 *
 *   scale_relay --upstream tcp://127.0.0.1:5556 --bind tcp://10.216.0.11:5557
 *
 * An XSUB connected to the store's XPUB and an XPUB bound for the pipelines,
 * forwarding events down and (un)subscriptions up; the XPUB is VERBOSER, so
 * every pipeline's subscription reaches the store, which answers each with a
 * welcome event and counts its subscribers right.  The relay decodes every
 * event it forwards and keeps the last one.
 *
 * SIGUSR1 publishes, in this order, four forged events built from the last
 * real one (so with its pacing keys too), each claiming level hard with a
 * full queue:
 *   1. epoch = 2^62 (same coordinator_id): implausible, to be ignored;
 *   2. seq = 2^64-1 (same coordinator_id and epoch): a jump beyond the seq
 *      window, applied as a resync and superseded by the store's next event;
 *   3. another coordinator_id ("rogue-<id>") with an older epoch: not the
 *      store's current incarnation, to be ignored (foreign);
 *   4. the same other coordinator_id with a newer epoch (now in ms): taken
 *      as a replacement of the store until it has been silent for
 *      stale_after_ms while the real store still talks.
 * and prints one line per event on stdout ("injected ..."), then "done".
 * SIGTERM or SIGINT stops it (exit 0).  Needs the store to have published at
 * least once before SIGUSR1 (otherwise it prints "nothing to forge").
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/feedback.h"

static double
s_wall_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Forward one multipart message from `from` to `to`; the last frame is
 * copied into last/last_size (an event's body) when `keep`. */
static int
s_forward (void *from, void *to, char *last, size_t *last_size, size_t cap)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, from, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&msg);
            return errno == EAGAIN ? 0 : -1;
        }
        int more = zmq_msg_more (&msg);
        if (!more && last && zmq_msg_size (&msg) <= cap) {
            memcpy (last, zmq_msg_data (&msg), zmq_msg_size (&msg));
            *last_size = zmq_msg_size (&msg);
        }
        if (zmq_msg_send (&msg, to, more ? ZMQ_SNDMORE : 0) < 0)
            zmq_msg_close (&msg);
        if (!more)
            return 1;
    }
}

static int
s_publish (void *xpub, const mdf_feedback_t *ev, const char *what)
{
    char topic[MDF_ID_MAX + 32];
    mdf_feedback_topic (ev->coordinator_id, topic, sizeof topic);
    mdf_buf_t body = { 0 };
    if (mdf_feedback_encode (ev, &body) != 0)
        return -1;
    int rc = zmq_send (xpub, topic, strlen (topic), ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send (xpub, body.data, body.size, 0);
    mdf_buf_free (&body);
    printf ("injected %s coordinator_id=%s epoch=%lld seq=%llu level=%s ts=%.3f\n", what,
            ev->coordinator_id, (long long)ev->epoch, (unsigned long long)ev->seq,
            mdf_level_name (ev->level), ev->ts);
    fflush (stdout);
    return rc < 0 ? -1 : 0;
}

static void
s_inject (void *xpub, const char *last, size_t last_size)
{
    mdf_feedback_t real;
    char err[256];
    if (last_size == 0 || mdf_feedback_decode (last, last_size, &real, err, sizeof err) != 0) {
        printf ("nothing to forge (%s)\n", last_size ? err : "no event seen yet");
        fflush (stdout);
        return;
    }
    mdf_feedback_t ev = real;
    ev.level = MDF_LEVEL_HARD;
    ev.queue_size = ev.capacity;
    snprintf (ev.reason, sizeof ev.reason, "watermark");

    ev.ts = s_wall_s ();
    ev.epoch = (int64_t)1 << 62;
    ev.seq = 1;
    s_publish (xpub, &ev, "implausible_epoch");

    ev.ts = s_wall_s ();
    ev.epoch = real.epoch;
    ev.seq = UINT64_MAX;
    s_publish (xpub, &ev, "max_seq");

    ev.ts = s_wall_s ();
    snprintf (ev.coordinator_id, sizeof ev.coordinator_id, "rogue-%.100s", real.coordinator_id);
    ev.epoch = real.epoch - 1;
    ev.seq = 1;
    s_publish (xpub, &ev, "foreign_older_epoch");

    ev.ts = s_wall_s ();
    ev.epoch = (int64_t)(ev.ts * 1000.0);
    if (ev.epoch <= real.epoch)
        ev.epoch = real.epoch + 1;
    ev.seq = 1;
    s_publish (xpub, &ev, "foreign_newer_epoch");
    printf ("done\n");
    fflush (stdout);
}

int
main (int argc, char **argv)
{
    const char *up = NULL, *bind = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--upstream"))
            up = argv[i + 1];
        else if (!strcmp (argv[i], "--bind"))
            bind = argv[i + 1];
    }
    if (!up || !bind || argc != 5) {
        fprintf (stderr, "usage: scale_relay --upstream ENDPOINT --bind ENDPOINT\n");
        return 2;
    }
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGUSR1);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigprocmask (SIG_BLOCK, &mask, NULL); /* before any thread starts */
    int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    void *ctx = zmq_ctx_new ();
    void *xsub = zmq_socket (ctx, ZMQ_XSUB);
    void *xpub = zmq_socket (ctx, ZMQ_XPUB);
    int on = 1, zero = 0;
    zmq_setsockopt (xpub, ZMQ_XPUB_VERBOSER, &on, sizeof on);
    zmq_setsockopt (xpub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (xsub, ZMQ_LINGER, &zero, sizeof zero);
    if (sfd < 0 || zmq_bind (xpub, bind) != 0 || zmq_connect (xsub, up) != 0) {
        fprintf (stderr, "scale_relay: cannot set up (%s)\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    printf ("relaying %s -> %s\n", up, bind);
    fflush (stdout);
    static char last[65536];
    size_t last_size = 0;
    for (;;) {
        zmq_pollitem_t items[] = {
            { xsub, 0, ZMQ_POLLIN, 0 },
            { xpub, 0, ZMQ_POLLIN, 0 },
            { NULL, sfd, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll (items, 3, -1) < 0 && zmq_errno () != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            while (s_forward (xsub, xpub, last, &last_size, sizeof last) > 0)
                ;
        if (items[1].revents & ZMQ_POLLIN)
            while (s_forward (xpub, xsub, NULL, NULL, 0) > 0)
                ;
        if (items[2].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            if (read (sfd, &si, sizeof si) != (ssize_t)sizeof si)
                continue;
            if (si.ssi_signo == SIGUSR1)
                s_inject (xpub, last, last_size);
            else
                break;
        }
    }
    zmq_close (xsub);
    zmq_close (xpub);
    zmq_ctx_term (ctx);
    close (sfd);
    return 0;
}
