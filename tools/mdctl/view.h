/*
 * view: what `mdctl watch` shows, kept apart from the sockets that feed it.
 *
 * The view keeps, per coordinator (by coordinator_id), the last event, when it
 * arrived (monotonic), the last few events, and how many restarts (epoch
 * changes) and lost events (seq gaps within an epoch) it has seen.  It renders
 * in one of two modes:
 *
 *  - dashboard (a terminal): the whole screen is redrawn on each tick: per
 *    coordinator a queue bar with the low (L) and high (H) watermarks marked,
 *    the level (coloured unless disabled), seq/epoch, a STALE marker once the
 *    coordinator has been silent for stale_ms, the recent events; then the
 *    endpoints that never answered and the pipeline's scale and rates.
 *  - plain (a pipe or file): one stable logfmt line per event,
 *      ts=... coordinator=... level=... queue=... capacity=... seq=... epoch=... reason=...
 *    and one `... stale=true silent_ms=...` line when a coordinator goes stale.
 *
 * Time comes in as arguments (now_ms on the monotonic clock), so the view is
 * deterministic and does no I/O beyond the FILE it is handed.
 */
#ifndef MDCTL_VIEW_H
#define MDCTL_VIEW_H

#include "proto/feedback.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    bool dashboard; /* redraw a screen (true) or print plain lines */
    bool color;     /* ANSI colours in the dashboard */
    int64_t low;    /* watermarks to mark; 0: 50% / 80% of the event's capacity */
    int64_t high;
    int64_t stale_ms; /* silence after which a coordinator is marked stale */
    int recent;       /* events listed per coordinator (dashboard) */
} view_opts_t;

/* What the last /metrics scrape of a pipeline said. */
typedef struct {
    bool ok; /* false: err holds why the scrape failed */
    char err[256];
    double scale;    /* pipeline_rate_scale_factor (min over providers), NAN if absent */
    double ingested; /* bars/s, NAN until two scrapes */
    double acked;    /* bars/s */
    /* live tick providers (all NAN when the pipeline has none) */
    double ticks;     /* good ticks/s */
    double live_bars; /* bars/s closed from ticks */
    double late;      /* mdp_ticks_late_total */
    double dropped;   /* mdp_ticks_dropped_total */
    double bad;       /* mdp_ticks_bad_total */
    double lag;       /* mdp_live_lag_seconds, the worst provider's */
    double jstate;    /* mdp_journal_state, the worst: 0 ok, 1 full, 2 disk error; NAN none */
    double jbytes;    /* mdp_journal_bytes, summed */
} view_pipeline_t;

typedef struct _view_t view_t;

/* A view of the n endpoints (borrowed strings, listed while silent). */
view_t *view_new (const view_opts_t *opts, char *const *endpoints, size_t n);

/* In dashboard mode, restores the cursor on `out` (may be NULL). */
void view_destroy (view_t **self_p, FILE *out);

/* Record an event from endpoint `source`; in plain mode print its line. */
void view_event (view_t *self, const mdf_feedback_t *ev, size_t source, int64_t now_ms, FILE *out);

/* Keep a warning to show (dashboard) or print it on stderr (plain). */
void view_warn (view_t *self, const char *text);

/* Set the pipeline line (pipeline_host is borrowed; NULL hides the line). */
void view_pipeline (view_t *self, const char *pipeline_host, const view_pipeline_t *p);

/* Dashboard: redraw.  Plain: print stale transitions. */
void view_tick (view_t *self, int64_t now_ms, FILE *out);

/* Watermarks used for a capacity: the configured ones or 50% / 80%. */
void view_watermarks (const view_opts_t *opts, int64_t capacity, int64_t *low, int64_t *high);

#endif
