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

#define WATCH_SCRAPE_MS 1000
#define WATCH_REDRAW_MS 250
#define WATCH_PLAIN_TICK_MS 100

typedef struct {
    char **endpoints;
    size_t nendpoints;
    const char *http;
    view_opts_t view;
    double duration_s; /* 0: until Ctrl-C */
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
s_scrape (scrape_t *scrape, scrape_rate_t rates[2], view_t *view)
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
    view_pipeline (view, scrape_target (scrape), &p);
}

static int64_t
s_min3 (int64_t a, int64_t b, int64_t c)
{
    int64_t m = a < b ? a : b;
    return m < c ? m : c;
}

static int
s_run (const watch_args_t *a, feed_t *feed, view_t *view, scrape_t *scrape)
{
    int64_t now = mdf_mono_ms ();
    int64_t deadline = a->duration_s > 0 ? now + (int64_t)(a->duration_s * 1000.0) : INT64_MAX;
    int64_t tick_every = a->view.dashboard ? WATCH_REDRAW_MS : WATCH_PLAIN_TICK_MS;
    int64_t next_tick = now, next_scrape = scrape ? now : INT64_MAX, events = 0;
    scrape_rate_t rates[2];
    memset (rates, 0, sizeof rates);
    while (!mdctl_interrupted () && now < deadline && (a->count == 0 || events < a->count)) {
        int64_t wait = s_min3 (next_tick, next_scrape, deadline) - now;
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
    if (a->count > 0 && events < a->count && !mdctl_interrupted ()) {
        mdctl_fail ("watch", "%lld of %lld events within %g s", (long long)events,
                    (long long)a->count, a->duration_s);
        return MDCTL_EXIT_FAIL;
    }
    return MDCTL_EXIT_OK;
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
            .ok = false, .err = "not scraped yet", .scale = NAN, .ingested = NAN, .acked = NAN
        };
        view_pipeline (view, a.http, &none);
        if (!a.view.dashboard)
            setvbuf (stdout, NULL, _IOLBF, 0);
        rc = s_run (&a, feed, view, scrape);
    } else {
        rc = MDCTL_EXIT_FAIL;
    }
    view_destroy (&view, stdout);
    feed_destroy (&feed);
    scrape_destroy (&scrape);
    return rc;
}
