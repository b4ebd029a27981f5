/*
 * publish: `mdctl publish ENDPOINT --level ok|soft|hard [options]`, publish
 * test feedback events as a store would (drills, tests).
 *
 * It binds an XPUB on ENDPOINT, waits until a subscriber's subscription
 * arrives (up to --wait-subscriber-ms), then sends --count events, one every
 * --interval-ms, with seq 1, 2, 3 ... of one epoch.  Waiting on the
 * subscription (XPUB delivers it as a message) rather than on time is what
 * makes a test deterministic: once it has arrived, every event that follows
 * reaches that subscriber.  The socket lingers on close so the last events
 * are flushed before the process exits.
 *
 * Every event goes through proto/ (mdf_feedback_encode): the bytes are the
 * same as md-store's.  One line per event is printed on stdout.
 */
#include "tools/mdctl/mdctl.h"

#include "common/clock.h"
#include "proto/feedback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define PUBLISH_LINGER_MS 2000

typedef struct {
    const char *endpoint;
    mdf_feedback_t ev; /* the template: seq filled per event */
    bool has_queue, has_level;
    int64_t count, interval_ms, wait_ms;
    const char *curve_secret, *curve_server; /* --curve-secret, --curve-server-key */
} publish_args_t;

static void
s_usage (FILE *out)
{
    fputs ("usage: mdctl publish ENDPOINT --level ok|soft|hard [options]\n"
           "\n"
           "Bind an XPUB on ENDPOINT (e.g. tcp://127.0.0.1:5556), wait for a subscriber,\n"
           "and publish feedback events as md-store would (wire contract v1).\n"
           "\n"
           "options:\n"
           "  --level L               ok, soft or hard (required)\n"
           "  --id ID                 coordinator_id (mdctl)\n"
           "  --queue N               queue_size (default: 25%, 65% or 90% of capacity\n"
           "                          for ok, soft, hard)\n"
           "  --capacity N            capacity (10000)\n"
           "  --count N               events to publish (1)\n"
           "  --interval-ms MS        time between events (100)\n"
           "  --epoch E               epoch (default: now in ms)\n"
           "  --reason R              reason (mdctl)\n"
           "  --wait-subscriber-ms MS wait this long for a subscriber first, 0: do not\n"
           "                          wait (5000); publishes anyway when none came\n"
           "  --curve-secret FILE     be a CURVE server with this zcert keypair\n"
           "  --curve-server-key KEY  accepted for symmetry with watch/send (unused)\n"
           "  -h, --help              this help\n",
           out);
}

static int
s_parse_opt (int opt, const char *arg, publish_args_t *a)
{
    mdf_feedback_t *ev = &a->ev;
    switch (opt) {
    case 'l':
        a->has_level = true;
        return mdf_level_parse (arg, &ev->level);
    case 'i':
        if (!*arg || strlen (arg) > MDF_ID_MAX)
            return -1;
        snprintf (ev->coordinator_id, sizeof ev->coordinator_id, "%s", arg);
        return 0;
    case 'q':
        a->has_queue = true;
        return mdctl_parse_i64 (arg, 0, INT64_MAX, &ev->queue_size);
    case 'c':
        return mdctl_parse_i64 (arg, 1, INT64_MAX, &ev->capacity);
    case 'n':
        return mdctl_parse_i64 (arg, 1, 100000000, &a->count);
    case 't':
        return mdctl_parse_i64 (arg, 0, 86400000, &a->interval_ms);
    case 'e':
        return mdctl_parse_i64 (arg, 0, INT64_MAX, &ev->epoch);
    case 'w':
        return mdctl_parse_i64 (arg, 0, 86400000, &a->wait_ms);
    case 'S':
        a->curve_secret = arg;
        return 0;
    case 'K':
        a->curve_server = arg;
        return 0;
    case 'r':
        if (strlen (arg) > MDF_REASON_MAX)
            return -1;
        snprintf (ev->reason, sizeof ev->reason, "%s", arg);
        return 0;
    default:
        return -1;
    }
}

static int
s_parse (int argc, char **argv, publish_args_t *a)
{
    static const struct option longopts[]
        = { { "level", required_argument, NULL, 'l' },
            { "id", required_argument, NULL, 'i' },
            { "queue", required_argument, NULL, 'q' },
            { "capacity", required_argument, NULL, 'c' },
            { "count", required_argument, NULL, 'n' },
            { "interval-ms", required_argument, NULL, 't' },
            { "epoch", required_argument, NULL, 'e' },
            { "reason", required_argument, NULL, 'r' },
            { "wait-subscriber-ms", required_argument, NULL, 'w' },
            { "curve-secret", required_argument, NULL, 'S' },
            { "curve-server-key", required_argument, NULL, 'K' },
            { "help", no_argument, NULL, 'h' },
            { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            s_usage (stdout);
            return -1;
        }
        if (opt == '?' || opt == ':')
            return mdctl_usage_error ("publish", "unknown or incomplete option");
        if (s_parse_opt (opt, optarg, a) != 0)
            return mdctl_usage_error ("publish", "bad value '%s' for --%s", optarg,
                                      mdctl_opt_name (longopts, opt));
    }
    if (!a->has_level)
        return mdctl_usage_error ("publish", "--level ok|soft|hard is required");
    if (optind != argc - 1)
        return mdctl_usage_error ("publish", "expected exactly one ENDPOINT");
    a->endpoint = argv[optind];
    if (!a->has_queue) {
        static const double share[] = { 0.25, 0.65, 0.90 };
        a->ev.queue_size = (int64_t)((double)a->ev.capacity * share[a->ev.level]);
    }
    return 0;
}

/* Wait up to wait_ms for a subscription message; true when one came. */
static bool
s_wait_subscriber (void *xpub, int64_t wait_ms)
{
    int64_t deadline = mdf_mono_ms () + wait_ms;
    while (!mdctl_interrupted ()) {
        int64_t left = deadline - mdf_mono_ms ();
        if (left < 0)
            return false;
        zmq_pollitem_t item = { xpub, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long)left) <= 0)
            continue;
        unsigned char buf[256];
        int n = zmq_recv (xpub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n > 0 && buf[0] == 1)
            return true;
    }
    return false;
}

/* Drop subscription messages that arrived meanwhile, waiting up to ms. */
static void
s_pause (void *xpub, int64_t ms)
{
    int64_t deadline = mdf_mono_ms () + ms;
    int64_t left;
    while (!mdctl_interrupted () && (left = deadline - mdf_mono_ms ()) > 0) {
        zmq_pollitem_t item = { xpub, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long)left) > 0) {
            unsigned char buf[256];
            (void)zmq_recv (xpub, buf, sizeof buf, ZMQ_DONTWAIT);
        }
    }
}

static int
s_send_one (void *xpub, const mdf_feedback_t *ev)
{
    mdf_buf_t body = { NULL, 0 };
    char topic[MDF_ID_MAX + 32];
    if (mdf_feedback_encode (ev, &body) != 0) {
        mdctl_fail ("publish", "cannot encode event");
        return -1;
    }
    mdf_feedback_topic (ev->coordinator_id, topic, sizeof topic);
    int rc = 0;
    if (zmq_send (xpub, topic, strlen (topic), ZMQ_SNDMORE) < 0
        || zmq_send (xpub, body.data, body.size, 0) < 0) {
        mdctl_fail ("publish", "send: %s", zmq_strerror (zmq_errno ()));
        rc = -1;
    }
    mdf_buf_free (&body);
    return rc;
}

static int
s_publish (const publish_args_t *a, void *xpub)
{
    if (a->wait_ms > 0 && !s_wait_subscriber (xpub, a->wait_ms) && !mdctl_interrupted ())
        fprintf (stderr, "mdctl publish: no subscriber within %lld ms; publishing anyway\n",
                 (long long)a->wait_ms);
    mdf_feedback_t ev = a->ev;
    for (int64_t i = 0; i < a->count && !mdctl_interrupted (); i++) {
        if (i > 0)
            s_pause (xpub, a->interval_ms);
        ev.seq = (uint64_t)i + 1;
        ev.ts = mdf_wall_s ();
        if (s_send_one (xpub, &ev) != 0)
            return MDCTL_EXIT_FAIL;
        printf ("published coordinator=%s level=%s queue=%lld capacity=%lld seq=%llu epoch=%lld\n",
                ev.coordinator_id, mdf_level_name (ev.level), (long long)ev.queue_size,
                (long long)ev.capacity, (unsigned long long)ev.seq, (long long)ev.epoch);
        fflush (stdout);
    }
    return MDCTL_EXIT_OK;
}

int
mdctl_publish_main (int argc, char **argv)
{
    publish_args_t a;
    memset (&a, 0, sizeof a);
    a.ev.v = MDF_PROTO_VERSION;
    snprintf (a.ev.coordinator_id, sizeof a.ev.coordinator_id, "mdctl");
    snprintf (a.ev.reason, sizeof a.ev.reason, "mdctl");
    snprintf (a.ev.source, sizeof a.ev.source, "store");
    a.ev.capacity = 10000;
    a.ev.epoch = (int64_t)(mdf_wall_s () * 1000.0);
    a.count = 1;
    a.interval_ms = 100;
    a.wait_ms = 5000;
    int rc = s_parse (argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? MDCTL_EXIT_OK : rc;
    void *ctx = zmq_ctx_new ();
    void *xpub = ctx ? zmq_socket (ctx, ZMQ_XPUB) : NULL;
    if (!xpub) {
        mdctl_fail ("publish", "zmq: %s", zmq_strerror (zmq_errno ()));
        rc = MDCTL_EXIT_FAIL;
    } else if (a.curve_secret && mdctl_curve_apply ("publish", xpub, a.curve_secret, NULL, true)) {
        rc = MDCTL_EXIT_USAGE;
    } else if (zmq_bind (xpub, a.endpoint) != 0) {
        int e = zmq_errno ();
        mdctl_fail ("publish", "cannot bind '%s': %s", a.endpoint, zmq_strerror (e));
        rc = e == EADDRINUSE ? MDCTL_EXIT_FAIL : MDCTL_EXIT_USAGE;
    } else {
        rc = s_publish (&a, xpub);
    }
    if (xpub) {
        int linger = PUBLISH_LINGER_MS;
        zmq_setsockopt (xpub, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close (xpub);
    }
    if (ctx)
        zmq_ctx_term (ctx);
    return rc;
}
