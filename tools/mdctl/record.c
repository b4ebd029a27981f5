/*
 * record: `mdctl record --feedback ENDPOINT --out run.csv [options]`, sample
 * a running loop over time into a CSV file that `mdctl plot` draws.
 *
 * Every --interval-ms one row is written (and flushed, so an interrupted run
 * keeps what it saw):
 *
 *   t,queue_size,capacity,level,level_code[,pipeline_scale,ingested_rate,acked_rate][,store_write_rate]
 *
 * t is seconds since the start (monotonic clock); queue_size, capacity and
 * level (with level_code 0 ok, 1 soft, 2 hard) come from the last feedback
 * event received, empty until the first one.  The pipeline columns exist when
 * --pipeline-http is given (pipeline_rate_scale_factor, the rates of
 * mdp_bars_ingested_total and mdp_bars_acked_total in bars/s), the store one
 * when --store-http is given (rate of mds_bars_written_total).  A value that
 * cannot be read (service down, first sample of a rate) is left empty: plots
 * show a gap rather than a false zero.
 */
#include "tools/mdctl/feed.h"
#include "tools/mdctl/mdctl.h"
#include "tools/mdctl/scrape.h"

#include "common/clock.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *feedback;
    const char *pipeline_http, *store_http, *out;
    double duration_s;
    int64_t interval_ms;
} record_args_t;

typedef struct {
    FILE *out;
    feed_t *feed;
    scrape_t *pipeline, *store;
    scrape_rate_t ingested, acked, written;
    mdf_feedback_t last;
    bool has_event;
    unsigned long rows;
} record_run_t;

static void
s_usage (FILE *out)
{
    fputs ("usage: mdctl record --feedback ENDPOINT --out run.csv [options]\n"
           "\n"
           "Sample a store's feedback (and, when given, the pipeline's and the store's\n"
           "metrics) into a CSV file, one row per interval:\n"
           "  t,queue_size,capacity,level,level_code[,pipeline_scale,ingested_rate,\n"
           "  acked_rate][,store_write_rate]\n"
           "Draw it with `mdctl plot run.csv --out run.png`.\n"
           "\n"
           "options:\n"
           "  --feedback ENDPOINT      the store's feedback endpoint (required)\n"
           "  --out FILE               the CSV to write (required)\n"
           "  --pipeline-http HOST:PORT  scrape the pipeline's scale and rates\n"
           "  --store-http HOST:PORT     scrape the store's write rate\n"
           "  --duration S             stop after S seconds (default: until Ctrl-C)\n"
           "  --interval-ms MS         time between samples (500)\n"
           "  -h, --help               this help\n",
           out);
}

static int
s_parse (int argc, char **argv, record_args_t *a)
{
    static const struct option longopts[] = { { "feedback", required_argument, NULL, 'f' },
                                              { "out", required_argument, NULL, 'o' },
                                              { "pipeline-http", required_argument, NULL, 'p' },
                                              { "store-http", required_argument, NULL, 's' },
                                              { "duration", required_argument, NULL, 'd' },
                                              { "interval-ms", required_argument, NULL, 'i' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'f':
            a->feedback = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'p':
            a->pipeline_http = optarg;
            break;
        case 's':
            a->store_http = optarg;
            break;
        case 'd':
            bad = mdctl_parse_f64 (optarg, 0, 1e9, &a->duration_s);
            break;
        case 'i':
            bad = mdctl_parse_i64 (optarg, 10, 3600000, &a->interval_ms);
            break;
        case 'h':
            s_usage (stdout);
            return -1;
        default:
            return mdctl_usage_error ("record", "unknown or incomplete option");
        }
        if (bad)
            return mdctl_usage_error ("record", "bad value '%s' for --%s", optarg,
                                      mdctl_opt_name (longopts, opt));
    }
    if (optind != argc)
        return mdctl_usage_error ("record", "unexpected argument '%s'", argv[optind]);
    if (!a->feedback || !a->out)
        return mdctl_usage_error ("record", "--feedback and --out are required");
    return 0;
}

static void
s_cell (FILE *f, double v, const char *fmt)
{
    fputc (',', f);
    if (!isnan (v))
        fprintf (f, fmt, v);
}

static void
s_header (const record_run_t *r)
{
    fputs ("t,queue_size,capacity,level,level_code", r->out);
    if (r->pipeline)
        fputs (",pipeline_scale,ingested_rate,acked_rate", r->out);
    if (r->store)
        fputs (",store_write_rate", r->out);
    fputc ('\n', r->out);
    fflush (r->out);
}

static void
s_sample (record_run_t *r, double t)
{
    int64_t now = mdf_mono_ms ();
    char err[512];
    fprintf (r->out, "%.3f", t);
    if (r->has_event)
        fprintf (r->out, ",%lld,%lld,%s,%d", (long long)r->last.queue_size,
                 (long long)r->last.capacity, mdf_level_name (r->last.level), (int)r->last.level);
    else
        fputs (",,,,", r->out);
    if (r->pipeline) {
        bool ok = scrape_fetch (r->pipeline, err, sizeof err) == 0;
        s_cell (r->out,
                ok ? scrape_value (r->pipeline, "pipeline_rate_scale_factor", SCRAPE_MIN) : NAN,
                "%.3f");
        s_cell (r->out,
                scrape_rate_update (
                    &r->ingested, scrape_value (r->pipeline, "mdp_bars_ingested_total", SCRAPE_SUM),
                    now),
                "%.1f");
        s_cell (r->out,
                scrape_rate_update (
                    &r->acked, scrape_value (r->pipeline, "mdp_bars_acked_total", SCRAPE_SUM), now),
                "%.1f");
    }
    if (r->store) {
        scrape_fetch (r->store, err, sizeof err);
        s_cell (r->out,
                scrape_rate_update (&r->written,
                                    scrape_value (r->store, "mds_bars_written_total", SCRAPE_SUM),
                                    now),
                "%.1f");
    }
    fputc ('\n', r->out);
    fflush (r->out);
    r->rows++;
}

static void
s_loop (record_run_t *r, const record_args_t *a)
{
    int64_t start = mdf_mono_ms ();
    int64_t deadline = a->duration_s > 0 ? start + (int64_t)(a->duration_s * 1000.0) : INT64_MAX;
    int64_t next = start;
    while (!mdctl_interrupted ()) {
        int64_t now = mdf_mono_ms ();
        if (now >= next) {
            s_sample (r, (double)(now - start) / 1000.0);
            next += a->interval_ms;
            if (next <= now)
                next = now + a->interval_ms;
        }
        if (now >= deadline)
            break;
        int64_t until = next < deadline ? next : deadline;
        mdf_feedback_t ev;
        size_t source;
        char err[512];
        int rc = feed_recv (r->feed, (int)(until - now), &ev, &source, err, sizeof err);
        if (rc == 1) {
            r->last = ev;
            r->has_event = true;
        } else if (rc < 0) {
            fprintf (stderr, "mdctl record: %s\n", err);
        }
    }
}

int
mdctl_record_main (int argc, char **argv)
{
    record_args_t a = { .interval_ms = 500 };
    int rc = s_parse (argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? MDCTL_EXIT_OK : rc;
    record_run_t r;
    memset (&r, 0, sizeof r);
    char err[512] = "";
    rc = MDCTL_EXIT_USAGE;
    if (a.pipeline_http && !(r.pipeline = scrape_new (a.pipeline_http, 500, err, sizeof err)))
        mdctl_usage_error ("record", "--pipeline-http: %s", err);
    else if (a.store_http && !(r.store = scrape_new (a.store_http, 500, err, sizeof err)))
        mdctl_usage_error ("record", "--store-http: %s", err);
    else if (!(r.feed = feed_new (&a.feedback, 1, err, sizeof err)))
        mdctl_usage_error ("record", "%s", err);
    else if (!(r.out = fopen (a.out, "w")))
        mdctl_fail ("record", "cannot write %s: %s", a.out, strerror (errno));
    else {
        s_header (&r);
        s_loop (&r, &a);
        rc = ferror (r.out) ? MDCTL_EXIT_FAIL : MDCTL_EXIT_OK;
        if (fclose (r.out) != 0 || rc != 0) {
            mdctl_fail ("record", "write error on %s", a.out);
            rc = MDCTL_EXIT_FAIL;
        } else {
            fprintf (stderr, "mdctl record: %lu samples written to %s\n", r.rows, a.out);
        }
    }
    feed_destroy (&r.feed);
    scrape_destroy (&r.pipeline);
    scrape_destroy (&r.store);
    return rc;
}
