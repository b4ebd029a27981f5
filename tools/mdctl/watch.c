/*
 * watch: `mdctl watch ENDPOINT... [options]`, a live view of the feedback the
 * stores publish.
 *
 * One SUB per endpoint (feed.c) feeds a view (view.c).  On a terminal (stdout
 * a TTY and TERM neither unset nor "dumb") the view is a dashboard redrawn
 * four times a second, coloured unless NO_COLOR is set or --no-color given;
 * otherwise it prints one plain logfmt line per event, flushed at once, so
 * `mdctl watch ... | grep level=hard` works.  Given --http, the pipeline's
 * /metrics is scraped once a second for its scale and bar rates.
 *
 * The loop never blocks longer than the next redraw, scrape or deadline, and
 * checks the signal flag on every turn: Ctrl-C ends it with exit 0.  With
 * --count N it ends after N events, and exits 1 if --duration ran out first,
 * so scripts can wait for an event with a bound.
 *
 * A store sends a welcome event to each new subscriber and heartbeats every
 * second, so silence means something is wrong.  When no endpoint has sent an
 * event within --timeout (default 5 s; 0: wait forever), or by the end of
 * --duration, watch says why for each endpoint, from what the socket monitor
 * saw (feed_conn): nothing listening, a CurveZMQ handshake refused (no keys
 * given, or a key the store does not admit), or a connection carrying no
 * event; and exits 1.  Endpoints still silent while others talk get the same
 * diagnosis as a warning, and watch goes on.
 */
#include "tools/mdctl/feed.h"
#include "tools/mdctl/mdctl.h"
#include "tools/mdctl/scrape.h"
#include "tools/mdctl/view.h"

#include "common/clock.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define WATCH_SCRAPE_MS 1000
#define WATCH_REDRAW_MS 250
#define WATCH_PLAIN_TICK_MS 100
#define WATCH_DEFAULT_TIMEOUT_S 5.0

typedef struct {
    char **endpoints;
    size_t nendpoints;
    const char *http;
    view_opts_t view;
    double duration_s; /* 0: until Ctrl-C */
    double timeout_s;  /* no event from any endpoint this long: diagnose, exit 1 (0: off) */
    int64_t count;     /* 0: no limit */
    bool plain, no_color;
    const char *curve_secret, *curve_server; /* --curve-secret, --curve-server-key */
} watch_args_t;

static void
s_usage (FILE *out)
{
    fputs (
        "usage: mdctl watch ENDPOINT... [options]\n"
        "\n"
        "Subscribe to the feedback of one or more stores (md-store's [feedback]\n"
        "endpoint, e.g. tcp://127.0.0.1:5556) and show it live: per coordinator a\n"
        "queue bar with the watermarks (L, H), the level, seq/epoch, a STALE marker,\n"
        "the last events; with --http, the pipeline's scale and rates.  When stdout\n"
        "is not a terminal, print one line per event instead:\n"
        "  ts=... coordinator=... level=... queue=... capacity=... seq=... epoch=... reason=...\n"
        "\n"
        "options:\n"
        "  --http HOST:PORT   a pipeline's HTTP address: show its scale and rates\n"
        "  --low N, --high N  watermarks to mark (default 50% and 80% of capacity)\n"
        "  --stale-ms MS      mark a coordinator silent this long as STALE (3000)\n"
        "  --duration S       stop after S seconds (default: until Ctrl-C)\n"
        "  --count N          stop after N events (exit 1 if --duration ends first)\n"
        "  --timeout S        no event from any endpoint within S seconds: say why\n"
        "                     (nothing listening, CurveZMQ keys missing or refused)\n"
        "                     and exit 1 (default 5; 0: wait forever)\n"
        "  --recent N         events listed per coordinator (5)\n"
        "  --plain            plain lines even on a terminal\n"
        "  --no-color         no colours (also when NO_COLOR is set)\n"
        "  --curve-secret FILE       CURVE client keypair (zcert secret file)\n"
        "  --curve-server-key KEY    the store's public key (Z85 or its NAME.key file)\n"
        "  -h, --help         this help\n",
        out);
}

/* Apply one option; 0, or -1 when its value is bad. */
static int
s_parse_opt (int opt, char *arg, watch_args_t *a, int64_t *recent)
{
    switch (opt) {
    case 'p':
        a->http = arg;
        return 0;
    case 'l':
        return mdctl_parse_i64 (arg, 1, INT64_MAX / 100, &a->view.low);
    case 'H':
        return mdctl_parse_i64 (arg, 1, INT64_MAX / 100, &a->view.high);
    case 's':
        return mdctl_parse_i64 (arg, 1, 86400000, &a->view.stale_ms);
    case 'd':
        return mdctl_parse_f64 (arg, 0, 1e9, &a->duration_s);
    case 'T':
        return mdctl_parse_f64 (arg, 0, 1e9, &a->timeout_s);
    case 'c':
        return mdctl_parse_i64 (arg, 1, INT64_MAX, &a->count);
    case 'r':
        return mdctl_parse_i64 (arg, 1, 50, recent);
    case 'P':
        a->plain = true;
        return 0;
    case 'S':
        a->curve_secret = arg;
        return 0;
    case 'K':
        a->curve_server = arg;
        return 0;
    case 'C':
        a->no_color = true;
        return 0;
    default:
        return -1;
    }
}

static int
s_parse (int argc, char **argv, watch_args_t *a)
{
    static const struct option longopts[] = { { "http", required_argument, NULL, 'p' },
                                              { "low", required_argument, NULL, 'l' },
                                              { "high", required_argument, NULL, 'H' },
                                              { "stale-ms", required_argument, NULL, 's' },
                                              { "duration", required_argument, NULL, 'd' },
                                              { "timeout", required_argument, NULL, 'T' },
                                              { "count", required_argument, NULL, 'c' },
                                              { "recent", required_argument, NULL, 'r' },
                                              { "plain", no_argument, NULL, 'P' },
                                              { "no-color", no_argument, NULL, 'C' },
                                              { "curve-secret", required_argument, NULL, 'S' },
                                              { "curve-server-key", required_argument, NULL, 'K' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int64_t recent = 5;
    a->view.stale_ms = 3000;
    a->timeout_s = WATCH_DEFAULT_TIMEOUT_S;
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            s_usage (stdout);
            return -1;
        }
        if (opt == '?' || opt == ':')
            return mdctl_usage_error ("watch", "unknown or incomplete option");
        if (s_parse_opt (opt, optarg, a, &recent) != 0)
            return mdctl_usage_error ("watch", "bad value '%s' for --%s", optarg,
                                      mdctl_opt_name (longopts, opt));
    }
    a->view.recent = (int)recent;
    if (a->view.low && a->view.high && a->view.low >= a->view.high)
        return mdctl_usage_error ("watch", "--low (%lld) must be below --high (%lld)",
                                  (long long)a->view.low, (long long)a->view.high);
    if (optind >= argc)
        return mdctl_usage_error ("watch", "no ENDPOINT given");
    a->endpoints = argv + optind;
    a->nendpoints = (size_t)(argc - optind);
    return 0;
}

/* Dashboard only on a real terminal that understands cursor movement. */
static void
s_pick_mode (watch_args_t *a)
{
    const char *term = getenv ("TERM");
    const char *no_color = getenv ("NO_COLOR");
    bool tty = isatty (STDOUT_FILENO) && term && *term && strcmp (term, "dumb") != 0;
    a->view.dashboard = tty && !a->plain;
    a->view.color = a->view.dashboard && !a->no_color && !(no_color && *no_color);
}

static void
s_scrape (scrape_t *scrape, scrape_rate_t rates[4], view_t *view)
{
    view_pipeline_t p;
    memset (&p, 0, sizeof p);
    int64_t now = mdf_mono_ms ();
    p.ok = scrape_fetch (scrape, p.err, sizeof p.err) == 0;
    p.scale = scrape_value (scrape, "pipeline_rate_scale_factor", SCRAPE_MIN);
    p.ingested = scrape_rate_update (
        &rates[0], scrape_value (scrape, "mdp_bars_ingested_total", SCRAPE_SUM), now);
    p.acked = scrape_rate_update (&rates[1],
                                  scrape_value (scrape, "mdp_bars_acked_total", SCRAPE_SUM), now);
    p.ticks
        = scrape_rate_update (&rates[2], scrape_value (scrape, "mdp_ticks_total", SCRAPE_SUM), now);
    p.live_bars = scrape_rate_update (
        &rates[3], scrape_value (scrape, "mdp_live_bars_total", SCRAPE_SUM), now);
    p.late = scrape_value (scrape, "mdp_ticks_late_total", SCRAPE_SUM);
    p.dropped = scrape_value (scrape, "mdp_ticks_dropped_total", SCRAPE_SUM);
    p.bad = scrape_value (scrape, "mdp_ticks_bad_total", SCRAPE_SUM);
    p.lag = scrape_value (scrape, "mdp_live_lag_seconds", SCRAPE_MAX);
    p.jstate = scrape_value (scrape, "mdp_journal_state", SCRAPE_MAX);
    p.jbytes = scrape_value (scrape, "mdp_journal_bytes", SCRAPE_SUM);
    view_pipeline (view, scrape_target (scrape), &p);
    static double warned = 0; /* the journal state last warned about (one pipeline per watch) */
    if (p.jstate >= 1 && p.jstate != warned) {
        char line[256];
        snprintf (line, sizeof line,
                  p.jstate >= 2 ? "%s: journal disk error: a live source is not read (see its log, "
                                  "/health)"
                                : "%s: journal full (journal.max_bytes): a live source is not read "
                                  "until the store acks",
                  scrape_target (scrape));
        view_warn (view, line);
    }
    if (!isnan (p.jstate))
        warned = p.jstate >= 1 ? p.jstate : 0;
}

static int64_t
s_min4 (int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t m = a < b ? a : b;
    m = m < c ? m : c;
    return m < d ? m : d;
}

/* Why endpoint i sent nothing in waited_s seconds, from what its socket
 * monitor saw, with what to do about it. */
static void
s_diagnosis (const watch_args_t *a, const feed_t *feed, size_t i, double waited_s, char *buf,
             size_t size)
{
    const feed_conn_t *c = feed_conn (feed, i);
    bool keys = a->curve_secret != NULL;
    const char *why;
    char detail[64] = "";
    if (c->handshake_failed == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        snprintf (detail, sizeof detail, " (ZMQ protocol error 0x%x)",
                  (unsigned)c->handshake_fail_val);
    if (c->handshake_failed == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        && c->handshake_fail_val == ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA) {
        why = "the peer is no feedback publisher (its socket type does not match ours): is "
              "this the store's [feedback] endpoint, not its ingest endpoint?";
    } else if (c->handshake_failed == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        snprintf (detail, sizeof detail, " (ZAP status %d)", c->handshake_fail_val);
        why = "the store refused our CurveZMQ key: copy the public key that goes with "
              "--curve-secret (its NAME.key) into the store's [security] authorized_keys_dir";
    } else if (c->handshake_failed && !keys) {
        why = "a connection was made but the handshake failed: the store runs CurveZMQ "
              "([security] curve = true); pass --curve-secret FILE (a keypair whose NAME.key is "
              "in the store's authorized_keys_dir) and --curve-server-key KEY (the store's "
              "public key, e.g. its store.key)";
    } else if (c->handshake_failed) {
        why = "a connection was made but the CurveZMQ handshake failed: is --curve-server-key "
              "the store's public key, does the store run CurveZMQ ([security] curve), and is "
              "this its [feedback] endpoint?";
    } else if (c->connected && c->handshake_ok) {
        why = "connected, but no event came: is this a store's [feedback] endpoint (not its "
              "ingest endpoint)?";
    } else if (c->connected) {
        why = keys ? "connected, but no CurveZMQ handshake completed: is this the store's "
                     "[feedback] endpoint, is --curve-server-key its public key, and does it "
                     "admit the key of --curve-secret?"
                   : "connected, but no ZeroMQ handshake completed: is this the store's "
                     "[feedback] endpoint?  If the store runs CurveZMQ, pass --curve-secret FILE "
                     "and --curve-server-key KEY";
    } else {
        why = keys ? "nothing accepted a connection there: is md-store running, and is this "
                     "its [feedback] endpoint?"
                   : "nothing accepted a connection there: is md-store running, and is this "
                     "its [feedback] endpoint?  (A store with CurveZMQ on also needs "
                     "--curve-secret FILE and --curve-server-key KEY.)";
    }
    snprintf (buf, size, "no feedback event from %s within %g s: %s%s", feed_endpoint (feed, i),
              waited_s, why, detail);
}

/* Diagnose every endpoint that sent nothing, on stderr (after the view is
 * gone).  waited_s: how long watch waited. */
static void
s_report_silent (const watch_args_t *a, const feed_t *feed, double waited_s)
{
    char line[1024];
    for (size_t i = 0; i < feed_size (feed); i++)
        if (feed_conn (feed, i)->events == 0) {
            s_diagnosis (a, feed, i, waited_s, line, sizeof line);
            mdctl_fail ("watch", "%s", line);
        }
}

typedef enum { WATCH_DONE, WATCH_SHORT, WATCH_SILENT } s_end_t;

static s_end_t
s_run (const watch_args_t *a, feed_t *feed, view_t *view, scrape_t *scrape, double *waited_s)
{
    int64_t now = mdf_mono_ms (), start = now;
    int64_t deadline = a->duration_s > 0 ? now + (int64_t)(a->duration_s * 1000.0) : INT64_MAX;
    int64_t diagnose_at = a->timeout_s > 0 ? now + (int64_t)(a->timeout_s * 1000.0) : INT64_MAX;
    int64_t tick_every = a->view.dashboard ? WATCH_REDRAW_MS : WATCH_PLAIN_TICK_MS;
    int64_t next_tick = now, next_scrape = scrape ? now : INT64_MAX, events = 0;
    scrape_rate_t rates[4];
    memset (rates, 0, sizeof rates);
    while (!mdctl_interrupted () && now < deadline && (a->count == 0 || events < a->count)) {
        int64_t wait = s_min4 (next_tick, next_scrape, deadline, diagnose_at) - now;
        mdf_feedback_t ev;
        size_t source = 0;
        char err[512];
        int rc = feed_recv (feed, (int)(wait < 0 ? 0 : wait), &ev, &source, err, sizeof err);
        now = mdf_mono_ms ();
        if (rc == 1) {
            view_event (view, &ev, source, now, stdout);
            events++;
        } else if (rc < 0) {
            view_warn (view, err);
        }
        if (now >= diagnose_at) {
            diagnose_at = INT64_MAX;
            *waited_s = a->timeout_s;
            if (events == 0)
                return WATCH_SILENT;
            char line[1024];
            for (size_t i = 0; i < feed_size (feed); i++)
                if (feed_conn (feed, i)->events == 0) {
                    s_diagnosis (a, feed, i, *waited_s, line, sizeof line);
                    view_warn (view, line);
                }
        }
        if (scrape && now >= next_scrape) {
            s_scrape (scrape, rates, view);
            now = mdf_mono_ms ();
            next_scrape = now + WATCH_SCRAPE_MS;
        }
        if (now >= next_tick) {
            view_tick (view, now, stdout);
            next_tick = now + tick_every;
        }
    }
    *waited_s = now >= deadline ? a->duration_s : (double)(now - start) / 1000.0;
    if (mdctl_interrupted ())
        return WATCH_DONE;
    if (events == 0)
        return WATCH_SILENT;
    if (a->count > 0 && events < a->count) {
        mdctl_fail ("watch", "%lld of %lld events within %g s", (long long)events,
                    (long long)a->count, a->duration_s);
        return WATCH_SHORT;
    }
    return WATCH_DONE;
}

int
mdctl_watch_main (int argc, char **argv)
{
    watch_args_t a;
    memset (&a, 0, sizeof a);
    int rc = s_parse (argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? MDCTL_EXIT_OK : rc;
    s_pick_mode (&a);
    char err[512] = "";
    scrape_t *scrape = NULL;
    if (a.http && !(scrape = scrape_new (a.http, 500, err, sizeof err)))
        return mdctl_usage_error ("watch", "--http: %s", err);
    feed_t *feed = feed_new_curve (a.endpoints, a.nendpoints, a.curve_secret, a.curve_server, err,
                                   sizeof err);
    if (!feed) {
        scrape_destroy (&scrape);
        return mdctl_usage_error ("watch", "%s", err);
    }
    view_t *view = view_new (&a.view, a.endpoints, a.nendpoints);
    if (view) {
        view_pipeline_t none = {
            .ok = false,
            .err = "not scraped yet",
            .scale = NAN,
            .ingested = NAN,
            .acked = NAN,
            .ticks = NAN,
            .live_bars = NAN,
            .late = NAN,
            .dropped = NAN,
            .bad = NAN,
            .lag = NAN,
            .jstate = NAN,
            .jbytes = NAN,
        };
        view_pipeline (view, a.http, &none);
        if (!a.view.dashboard)
            setvbuf (stdout, NULL, _IOLBF, 0);
        double waited_s = 0;
        s_end_t end = s_run (&a, feed, view, scrape, &waited_s);
        view_destroy (&view, stdout);
        if (end == WATCH_SILENT) {
            if (a.count > 0)
                mdctl_fail ("watch", "0 of %lld events within %g s", (long long)a.count, waited_s);
            s_report_silent (&a, feed, waited_s);
        }
        rc = end == WATCH_DONE ? MDCTL_EXIT_OK : MDCTL_EXIT_FAIL;
    } else {
        rc = MDCTL_EXIT_FAIL;
    }
    feed_destroy (&feed);
    scrape_destroy (&scrape);
    return rc;
}
