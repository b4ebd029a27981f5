/*
 * scale_probe: sample the /metrics of services that each listen on the
 * loopback of their own network namespace, from one process.
 *
 *   scale_probe --targets FILE --out FILE [--interval-ms 100]
 *
 * FILE lists the targets, one per line: `LABEL KIND NETNS PORT`, KIND being
 * `store` or `pipe`, NETNS a name under /run/netns.  It is read again every
 * tick, so a script adds and removes targets while the probe runs (write a
 * new file and rename it over the old one).  Before each request the probe
 * enters the target's network namespace (setns), so the connection (kept
 * alive between ticks) is made to that namespace's 127.0.0.1: the services
 * keep listening on loopback only.  Needs CAP_SYS_ADMIN (root).
 *
 * Every tick writes one line per target to --out, all with the tick's wall
 * time (seconds since the epoch, CLOCK_REALTIME, as `date +%s.%N`):
 *   T LABEL KIND key=value ...   (the series below; a missing one is "nan")
 *   T LABEL KIND down            (no 200 answer)
 * and flushes, so an analysis may read the file while the probe runs.  Stops
 * on SIGTERM or SIGINT (exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_http.h"

#define S_MAX_TARGETS 32

typedef struct {
    const char *key, *series;
} s_series_t;

static const s_series_t s_store_series[] = {
    { "written", "mds_bars_written_total" },
    { "ok", "mds_batches_total{status=\"ok\"}" },
    { "retry", "mds_batches_total{status=\"retry\"}" },
    { "depth", "coordinator_queue_depth" },
    { "subs", "mds_feedback_subscribers" },
    { "draining", "mds_draining" },
};

static const s_series_t s_pipe_series[] = {
    { "acked", "mdp_bars_acked_total" },
    { "ingested", "mdp_bars_ingested_total" },
    { "scale", "pipeline_rate_scale_factor" },
    { "failsafe", "mdp_feedback_failsafe" },
    { "live", "mdp_stores{state=\"live\"}" },
    { "stale", "mdp_stores{state=\"stale\"}" },
    { "leaving", "mdp_stores{state=\"leaving\"}" },
    { "candidate", "mdp_stores{state=\"candidate\"}" },
    { "routable", "mdp_stores_routable" },
    { "discovered", "mdp_discovery_stores" },
    { "inflight", "mdp_batches_inflight" },
    { "resent", "mdp_batches_resent_total" },
    { "restarts", "mdp_feedback_restarts_total" },
    { "resyncs", "mdp_feedback_resyncs_total" },
    { "implausible", "mdp_feedback_ignored_total{reason=\"implausible\"}" },
    { "foreign", "mdp_feedback_ignored_total{reason=\"foreign\"}" },
    { "old_epoch", "mdp_feedback_ignored_total{reason=\"old_epoch\"}" },
    { "duplicate", "mdp_feedback_ignored_total{reason=\"duplicate\"}" },
};

typedef struct {
    char label[64], kind[16], netns[128];
    int port;
    int fd; /* /run/netns/NETNS */
    bench_http_t *http;
    int seen; /* listed in the last reading of the file */
} s_target_t;

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

static void
s_close (s_target_t *t)
{
    bench_http_destroy (&t->http);
    if (t->fd >= 0)
        close (t->fd);
    t->fd = -1;
    t->label[0] = '\0';
}

static s_target_t *
s_find (s_target_t *ts, const char *label)
{
    for (int i = 0; i < S_MAX_TARGETS; i++)
        if (ts[i].label[0] && strcmp (ts[i].label, label) == 0)
            return &ts[i];
    return NULL;
}

/* Read the targets file: open what is new, close what left. */
static void
s_read_targets (const char *path, s_target_t *ts)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return; /* not written yet, or being replaced: keep the last list */
    for (int i = 0; i < S_MAX_TARGETS; i++)
        ts[i].seen = 0;
    char line[512];
    while (fgets (line, sizeof line, f)) {
        char label[64], kind[16], netns[128];
        int port;
        if (sscanf (line, "%63s %15s %127s %d", label, kind, netns, &port) != 4)
            continue;
        s_target_t *t = s_find (ts, label);
        if (t && (strcmp (t->netns, netns) != 0 || t->port != port)) {
            s_close (t); /* same label, another place: a new target */
            t = NULL;
        }
        if (!t) {
            for (int i = 0; i < S_MAX_TARGETS && !t; i++)
                if (!ts[i].label[0])
                    t = &ts[i];
            if (!t)
                continue;
            char nspath[256];
            snprintf (nspath, sizeof nspath, "/run/netns/%s", netns);
            t->fd = open (nspath, O_RDONLY | O_CLOEXEC);
            if (t->fd < 0)
                continue; /* the namespace is not there (yet): next tick */
            t->http = bench_http_new (port);
            if (!t->http) {
                close (t->fd);
                t->fd = -1;
                continue;
            }
            snprintf (t->label, sizeof t->label, "%s", label);
            snprintf (t->kind, sizeof t->kind, "%s", kind);
            snprintf (t->netns, sizeof t->netns, "%s", netns);
            t->port = port;
        }
        t->seen = 1;
    }
    fclose (f);
    for (int i = 0; i < S_MAX_TARGETS; i++)
        if (ts[i].label[0] && !ts[i].seen)
            s_close (&ts[i]);
}

static void
s_sample (FILE *out, double now, s_target_t *t)
{
    if (setns (t->fd, CLONE_NEWNET) != 0) {
        fprintf (out, "%.3f %s %s down\n", now, t->label, t->kind);
        return;
    }
    const char *body = bench_http_get (t->http, "/metrics");
    if (!body) {
        fprintf (out, "%.3f %s %s down\n", now, t->label, t->kind);
        return;
    }
    int store = strcmp (t->kind, "store") == 0;
    const s_series_t *list = store ? s_store_series : s_pipe_series;
    size_t n = store ? sizeof s_store_series / sizeof s_store_series[0]
                     : sizeof s_pipe_series / sizeof s_pipe_series[0];
    fprintf (out, "%.3f %s %s", now, t->label, t->kind);
    for (size_t i = 0; i < n; i++) {
        double v = bench_metric (body, list[i].series);
        if (isnan (v))
            fprintf (out, " %s=nan", list[i].key);
        else
            fprintf (out, " %s=%.17g", list[i].key, v);
    }
    fputc ('\n', out);
}

int
main (int argc, char **argv)
{
    const char *targets = NULL, *outpath = NULL;
    long interval_ms = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--targets") && i + 1 < argc)
            targets = argv[++i];
        else if (!strcmp (argv[i], "--out") && i + 1 < argc)
            outpath = argv[++i];
        else if (!strcmp (argv[i], "--interval-ms") && i + 1 < argc)
            interval_ms = strtol (argv[++i], NULL, 10);
        else {
            fprintf (stderr, "usage: scale_probe --targets FILE --out FILE [--interval-ms N]\n");
            return 2;
        }
    }
    if (!targets || !outpath || interval_ms < 1) {
        fprintf (stderr, "usage: scale_probe --targets FILE --out FILE [--interval-ms N]\n");
        return 2;
    }
    FILE *out = fopen (outpath, "a");
    if (!out) {
        fprintf (stderr, "scale_probe: %s: %s\n", outpath, strerror (errno));
        return 1;
    }
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    static s_target_t ts[S_MAX_TARGETS];
    for (int i = 0; i < S_MAX_TARGETS; i++)
        ts[i].fd = -1;
    struct timespec next;
    clock_gettime (CLOCK_MONOTONIC, &next);
    while (!s_stop) {
        s_read_targets (targets, ts);
        double now = bench_wall_s ();
        for (int i = 0; i < S_MAX_TARGETS && !s_stop; i++)
            if (ts[i].label[0])
                s_sample (out, now, &ts[i]);
        fflush (out);
        next.tv_nsec += interval_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        struct timespec mono;
        clock_gettime (CLOCK_MONOTONIC, &mono);
        if (mono.tv_sec > next.tv_sec
            || (mono.tv_sec == next.tv_sec && mono.tv_nsec > next.tv_nsec))
            next = mono; /* late (a slow answer): no burst of catch-up ticks */
        while (!s_stop && clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    for (int i = 0; i < S_MAX_TARGETS; i++)
        if (ts[i].label[0])
            s_close (&ts[i]);
    fclose (out);
    return 0;
}
