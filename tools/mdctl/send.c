/*
 * send: `mdctl send ENDPOINT FILE.csv [options]`, send a file of bars to a
 * store's ingest ROUTER and wait for every ack.
 *
 * The whole file is read and checked first (mdf_csv_load, the format and
 * options of proto/csv.h that the pipeline's csv provider reads too), so a
 * bad row stops the command (exit 2, naming file and line) before anything is
 * sent.  The bars, sorted by ts (a file newest first is sent oldest first),
 * are then cut into batches of --batch bars, numbered batch_seq 1, 2, ...,
 * and sent on a DEALER with at most --inflight unacked batches.  A batch ends
 * only on an "ok" ack (its count is added to the committed bars) or a
 * "rejected" one (the store's error is printed, mapped back to the file's
 * line); a "retry" ack resends it after a growing backoff, a missing ack
 * resends it after --timeout-ms; after --max-attempts sends it is given up.
 * Sends never block: while no store is connected (down, or CURVE refused) a
 * send is an attempt without an ack, so the run still ends.
 * Resending is safe because the store upserts (proto/README.md); an ack for a batch
 * that already ended (a late duplicate) is ignored.
 *
 * Exit 0 when every batch was ok, 1 when one was rejected or given up (or the
 * run was interrupted), 2 on bad usage or a bad file.
 */
#include "tools/mdctl/mdctl.h"

#include "common/clock.h"
#include "proto/batch.h"
#include "proto/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define SEND_BACKOFF_MIN_MS 50
#define SEND_BACKOFF_MAX_MS 2000

typedef enum { BATCH_UNSENT, BATCH_INFLIGHT, BATCH_BACKOFF, BATCH_DONE } batch_state_t;

typedef struct {
    size_t first, n; /* bars[first .. first + n) */
    batch_state_t state;
    int attempts;
    int64_t due_ms; /* INFLIGHT: ack deadline; BACKOFF: when to resend */
} send_batch_t;

typedef struct {
    const char *endpoint, *path;
    char provider[MDF_ID_MAX + 1], producer[MDF_ID_MAX + 1];
    int64_t batch, timeout_ms, inflight, max_attempts;
    const char *curve_secret, *curve_server;              /* --curve-secret, --curve-server-key */
    const char *symbol, *columns, *ts_format, *ts_offset; /* the file's spelling */
    mdf_csv_opts_t csv;                                   /* ... parsed */
} send_args_t;

typedef struct {
    const send_args_t *args;
    const mdf_csv_bars_t *bars;
    void *dealer;
    send_batch_t *batches;
    size_t nbatches, next_unsent, open; /* open: INFLIGHT + BACKOFF */
    unsigned long ok, rejected, retried, failed;
    unsigned long unsent; /* sends refused: no connected store (down, or CURVE refused) */
    uint64_t committed;
} send_run_t;

static void
s_usage (FILE *out)
{
    fputs ("usage: mdctl send ENDPOINT FILE.csv [options]\n"
           "\n"
           "Send the bars of FILE.csv to a store's ingest endpoint (md-store's [ingest]\n"
           "endpoint, e.g. tcp://127.0.0.1:5555) and wait for every ack.  The file has a\n"
           "header symbol,ts,open,high,low,close,volume (any case, any order); ts is\n"
           "epoch ns, epoch seconds, RFC 3339 (2024-01-02T15:04:05Z) or a date alone\n"
           "(2024-01-02: 00:00 UTC).  A gzip file (FILE.csv.gz) is read directly; rows\n"
           "may come in any time order (they are sent oldest first).\n"
           "\n"
           "file options:\n"
           "  --symbol SYM        the symbol of every row (a file without a symbol column)\n"
           "  --columns MAP       the file's names for mdflow's columns: ts=date,volume=Vol\n"
           "  --ts-format FMT     strptime format of ts, read as UTC (%d-%b-%y, %Y%m%d)\n"
           "  --ts-offset HH:MM   added to every ts (16:00: a daily bar at the close)\n"
           "\n"
           "options:\n"
           "  --provider NAME     provider the bars are stored under (mdctl)\n"
           "  --producer ID       producer_id (mdctl-<pid>)\n"
           "  --batch N           bars per batch (500)\n"
           "  --timeout-ms MS     resend a batch not acked within MS (2000)\n"
           "  --inflight N        unacked batches at most (4)\n"
           "  --max-attempts N    give a batch up after N sends (10)\n"
           "  --curve-secret FILE       CURVE client keypair (zcert secret file)\n"
           "  --curve-server-key KEY    the store's public key (Z85 or its NAME.key file)\n"
           "  -h, --help          this help\n"
           "\n"
           "exit: 0 all batches ok, 1 a batch rejected or not acked, 2 bad usage or file\n",
           out);
}

static int
s_set_id (char *dst, size_t size, const char *arg)
{
    if (!*arg || strlen (arg) >= size)
        return -1;
    snprintf (dst, size, "%s", arg);
    return 0;
}

static int
s_parse (int argc, char **argv, send_args_t *a)
{
    static const struct option longopts[] = { { "provider", required_argument, NULL, 'p' },
                                              { "producer", required_argument, NULL, 'P' },
                                              { "batch", required_argument, NULL, 'b' },
                                              { "timeout-ms", required_argument, NULL, 't' },
                                              { "inflight", required_argument, NULL, 'i' },
                                              { "max-attempts", required_argument, NULL, 'm' },
                                              { "curve-secret", required_argument, NULL, 'S' },
                                              { "curve-server-key", required_argument, NULL, 'K' },
                                              { "symbol", required_argument, NULL, 'y' },
                                              { "columns", required_argument, NULL, 'c' },
                                              { "ts-format", required_argument, NULL, 'f' },
                                              { "ts-offset", required_argument, NULL, 'o' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'p':
            bad = s_set_id (a->provider, sizeof a->provider, optarg);
            break;
        case 'P':
            bad = s_set_id (a->producer, sizeof a->producer, optarg);
            break;
        case 'b':
            bad = mdctl_parse_i64 (optarg, 1, MDF_BATCH_MAX_BARS, &a->batch);
            break;
        case 't':
            bad = mdctl_parse_i64 (optarg, 1, 3600000, &a->timeout_ms);
            break;
        case 'i':
            bad = mdctl_parse_i64 (optarg, 1, 1000, &a->inflight);
            break;
        case 'm':
            bad = mdctl_parse_i64 (optarg, 1, 1000000, &a->max_attempts);
            break;
        case 'S':
            a->curve_secret = optarg;
            break;
        case 'K':
            a->curve_server = optarg;
            break;
        case 'y':
            a->symbol = optarg;
            break;
        case 'c':
            a->columns = optarg;
            break;
        case 'f':
            a->ts_format = optarg;
            break;
        case 'o':
            a->ts_offset = optarg;
            break;
        case 'h':
            s_usage (stdout);
            return -1;
        default:
            return mdctl_usage_error ("send", "unknown or incomplete option");
        }
        if (bad)
            return mdctl_usage_error ("send", "bad value '%s' for --%s", optarg,
                                      mdctl_opt_name (longopts, opt));
    }
    if (argc - optind != 2)
        return mdctl_usage_error ("send", "expected ENDPOINT and FILE.csv");
    const char *bad = NULL;
    char why[300];
    if (mdf_csv_opts_parse (&a->csv, a->symbol, a->columns, a->ts_format, a->ts_offset, &bad, why,
                            sizeof why)
        != 0) {
        char opt[32];
        snprintf (opt, sizeof opt, "%s", bad);
        for (char *p = opt; *p; p++)
            *p = *p == '_' ? '-' : *p;
        return mdctl_usage_error ("send", "--%s: %s", opt, why);
    }
    a->endpoint = argv[optind];
    a->path = argv[optind + 1];
    return 0;
}

static int
s_transmit (send_run_t *r, size_t i, int64_t now)
{
    send_batch_t *b = &r->batches[i];
    mdf_batch_t wire;
    memset (&wire, 0, sizeof wire);
    snprintf (wire.producer_id, sizeof wire.producer_id, "%s", r->args->producer);
    snprintf (wire.provider, sizeof wire.provider, "%s", r->args->provider);
    wire.batch_seq = (uint64_t)i + 1;
    wire.bars = r->bars->bars + b->first; /* borrowed: never cleared here */
    wire.nbars = b->n;
    mdf_buf_t body = { NULL, 0 };
    if (mdf_batch_encode (&wire, &body) != 0) {
        mdctl_fail ("send", "cannot encode batch %zu", i + 1);
        return -1;
    }
    /* Never block: a DEALER with no completed connection (store down, or a
     * CURVE handshake refused) would wait forever.  Such a send counts as an
     * attempt whose ack never comes, so --max-attempts still ends the run. */
    int rc = 0;
    if (zmq_send (r->dealer, body.data, body.size, ZMQ_DONTWAIT) < 0) {
        if (zmq_errno () == EAGAIN) {
            if (r->unsent++ == 0)
                mdctl_fail ("send",
                            "no connection to %s yet (store down, or its CURVE "
                            "handshake refused this client?); will retry",
                            r->args->endpoint);
        } else {
            mdctl_fail ("send", "send: %s", zmq_strerror (zmq_errno ()));
            rc = -1;
        }
    }
    mdf_buf_free (&body);
    if (b->attempts++ > 0)
        r->retried++;
    b->state = BATCH_INFLIGHT;
    b->due_ms = now + r->args->timeout_ms;
    return rc;
}

static void
s_finish (send_run_t *r, send_batch_t *b)
{
    b->state = BATCH_DONE;
    r->open--;
}

static void
s_report_rejected (const send_run_t *r, size_t i, const char *error)
{
    const send_batch_t *b = &r->batches[i];
    size_t idx = 0;
    char where[64] = "";
    if (sscanf (error, "bar %zu", &idx) == 1 && idx < b->n)
        snprintf (where, sizeof where, " (line %zu)", r->bars->lines[b->first + idx]);
    mdctl_fail ("send", "%s: batch %zu (lines %zu-%zu) rejected by the store: %s%s", r->args->path,
                i + 1, r->bars->lines[b->first], r->bars->lines[b->first + b->n - 1],
                error[0] ? error : "(no error given)", where);
}

static void
s_on_ack (send_run_t *r, const void *data, size_t size, int64_t now)
{
    mdf_ack_t ack;
    char err[256];
    if (mdf_ack_decode (data, size, &ack, err, sizeof err) != 0) {
        mdctl_fail ("send", "ignoring a bad ack: %s", err);
        return;
    }
    if (ack.batch_seq == 0 || ack.batch_seq > r->nbatches)
        return;
    size_t i = (size_t)ack.batch_seq - 1;
    send_batch_t *b = &r->batches[i];
    if (b->state != BATCH_INFLIGHT)
        return; /* a late duplicate of an ack already handled */
    if (ack.status == MDF_ACK_OK) {
        r->ok++;
        r->committed += ack.count;
        s_finish (r, b);
    } else if (ack.status == MDF_ACK_REJECTED) {
        r->rejected++;
        s_report_rejected (r, i, ack.error);
        s_finish (r, b);
    } else {
        int64_t backoff = SEND_BACKOFF_MIN_MS << (b->attempts < 6 ? b->attempts - 1 : 5);
        b->state = BATCH_BACKOFF;
        b->due_ms = now + (backoff < SEND_BACKOFF_MAX_MS ? backoff : SEND_BACKOFF_MAX_MS);
    }
}

/* Resend what is due, give up what used its attempts, send new batches while
 * the window has room.  Returns the earliest due time, or INT64_MAX. */
static int64_t
s_pump (send_run_t *r, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < r->next_unsent; i++) {
        send_batch_t *b = &r->batches[i];
        if ((b->state == BATCH_INFLIGHT || b->state == BATCH_BACKOFF) && b->due_ms <= now) {
            if (b->attempts >= r->args->max_attempts) {
                mdctl_fail ("send", "batch %zu: no ok after %d attempts; giving up", i + 1,
                            b->attempts);
                r->failed++;
                s_finish (r, b);
                continue;
            }
            s_transmit (r, i, now);
        }
        if ((b->state == BATCH_INFLIGHT || b->state == BATCH_BACKOFF) && b->due_ms < next)
            next = b->due_ms;
    }
    while (r->open < (size_t)r->args->inflight && r->next_unsent < r->nbatches) {
        size_t i = r->next_unsent++;
        r->open++;
        s_transmit (r, i, now);
        if (r->batches[i].due_ms < next)
            next = r->batches[i].due_ms;
    }
    return next;
}

static void
s_loop (send_run_t *r)
{
    while (!mdctl_interrupted () && (r->open > 0 || r->next_unsent < r->nbatches)) {
        int64_t now = mdf_mono_ms ();
        int64_t next = s_pump (r, now);
        if (r->open == 0 && r->next_unsent == r->nbatches)
            break;
        int64_t wait = next == INT64_MAX ? 1000 : next - now;
        zmq_pollitem_t item = { r->dealer, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long)(wait < 0 ? 0 : wait)) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        while (zmq_msg_recv (&msg, r->dealer, ZMQ_DONTWAIT) >= 0)
            s_on_ack (r, zmq_msg_data (&msg), zmq_msg_size (&msg), mdf_mono_ms ());
        zmq_msg_close (&msg);
    }
}

static int
s_run (send_run_t *r)
{
    size_t n = r->bars->n, per = (size_t)r->args->batch;
    r->nbatches = (n + per - 1) / per;
    r->batches = calloc (r->nbatches ? r->nbatches : 1, sizeof *r->batches);
    if (!r->batches)
        return MDCTL_EXIT_FAIL;
    for (size_t i = 0; i < r->nbatches; i++) {
        r->batches[i].first = i * per;
        r->batches[i].n = i * per + per <= n ? per : n - i * per;
    }
    s_loop (r);
    bool interrupted = r->open > 0 || r->next_unsent < r->nbatches;
    printf ("sent %s to %s: batches=%zu ok=%lu rejected=%lu retried=%lu failed=%lu bars=%zu "
            "committed=%llu%s\n",
            r->args->path, r->args->endpoint, r->nbatches, r->ok, r->rejected, r->retried,
            r->failed, n, (unsigned long long)r->committed, interrupted ? " (interrupted)" : "");
    free (r->batches);
    return r->rejected || r->failed || interrupted ? MDCTL_EXIT_FAIL : MDCTL_EXIT_OK;
}

int
mdctl_send_main (int argc, char **argv)
{
    send_args_t a = { .batch = 500, .timeout_ms = 2000, .inflight = 4, .max_attempts = 10 };
    snprintf (a.provider, sizeof a.provider, "mdctl");
    snprintf (a.producer, sizeof a.producer, "mdctl-%ld", (long)getpid ());
    int rc = s_parse (argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? MDCTL_EXIT_OK : rc;
    mdf_csv_bars_t bars;
    memset (&bars, 0, sizeof bars);
    char err[1024];
    if (mdf_csv_load (a.path, &a.csv, NULL, NULL, &bars, err, sizeof err) != 0) {
        fprintf (stderr, "mdctl send: %s\n", err);
        return MDCTL_EXIT_USAGE;
    }
    void *ctx = zmq_ctx_new ();
    void *dealer = ctx ? zmq_socket (ctx, ZMQ_DEALER) : NULL;
    int linger = 0;
    if (dealer && mdctl_curve_apply ("send", dealer, a.curve_secret, a.curve_server, false)) {
        rc = MDCTL_EXIT_USAGE;
    } else if (!dealer || zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger) != 0
               || zmq_connect (dealer, a.endpoint) != 0) {
        mdctl_fail ("send", "cannot connect to '%s': %s", a.endpoint, zmq_strerror (zmq_errno ()));
        rc = MDCTL_EXIT_USAGE;
    } else {
        send_run_t run = { .args = &a, .bars = &bars, .dealer = dealer };
        rc = s_run (&run);
    }
    if (dealer)
        zmq_close (dealer);
    if (ctx)
        zmq_ctx_term (ctx);
    mdf_csv_bars_clear (&bars);
    return rc;
}
