/*
 * view: state and rendering of `mdctl watch` (see view.h).
 *
 * Invariants: coordinators are kept in arrival order (a stable screen);
 * `recent` is a ring of the last opts.recent events, newest at recent_head - 1;
 * a coordinator is stale when now - last_ms > stale_ms, and plain mode prints
 * the stale line once per silence (stale_reported is cleared by the next
 * event).  The dashboard is composed in memory and written with one fwrite,
 * starting at the cursor home and clearing each line's tail, so it does not
 * flicker.
 */
#include "tools/mdctl/view.h"
#include "tools/mdctl/mdctl.h"

#include "common/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_BAR_WIDTH 50
#define VIEW_WARN_MAX 3

typedef struct {
    double ts;
    mdf_level_t level;
    int64_t queue;
    uint64_t seq;
    char reason[MDF_REASON_MAX + 1];
} view_recent_t;

typedef struct {
    mdf_feedback_t last;
    int64_t last_ms;
    bool stale_reported;
    unsigned long events, restarts, lost;
    view_recent_t *recent; /* ring of opts.recent */
    int recent_head, recent_count;
} view_coord_t;

struct _view_t {
    view_opts_t opts;
    char *const *endpoints;
    size_t nendpoints;
    bool *heard;
    view_coord_t *coords;
    size_t ncoords, cap;
    const char *pipeline_host;
    view_pipeline_t pipeline;
    char warns[VIEW_WARN_MAX][256];
    int nwarns;
    bool cleared;
};

view_t *
view_new (const view_opts_t *opts, char *const *endpoints, size_t n)
{
    view_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    if (self->opts.recent < 1)
        self->opts.recent = 1;
    self->endpoints = endpoints;
    self->nendpoints = n;
    self->heard = calloc (n ? n : 1, sizeof *self->heard);
    if (!self->heard) {
        free (self);
        return NULL;
    }
    return self;
}

void
view_destroy (view_t **self_p, FILE *out)
{
    if (!self_p || !*self_p)
        return;
    view_t *self = *self_p;
    if (self->opts.dashboard && self->cleared && out) {
        fputs ("\033[?25h", out);
        fflush (out);
    }
    for (size_t i = 0; i < self->ncoords; i++)
        free (self->coords[i].recent);
    free (self->coords);
    free (self->heard);
    free (self);
    *self_p = NULL;
}

void
view_watermarks (const view_opts_t *opts, int64_t capacity, int64_t *low, int64_t *high)
{
    *low = opts->low > 0 ? opts->low : capacity / 2;
    *high = opts->high > 0 ? opts->high : capacity * 8 / 10;
}

static view_coord_t *
s_coord (view_t *self, const char *id)
{
    for (size_t i = 0; i < self->ncoords; i++)
        if (strcmp (self->coords[i].last.coordinator_id, id) == 0)
            return &self->coords[i];
    if (self->ncoords == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 4;
        view_coord_t *coords = realloc (self->coords, cap * sizeof *coords);
        if (!coords)
            return NULL;
        self->coords = coords;
        self->cap = cap;
    }
    view_coord_t *c = &self->coords[self->ncoords];
    memset (c, 0, sizeof *c);
    c->recent = calloc ((size_t)self->opts.recent, sizeof *c->recent);
    if (!c->recent)
        return NULL;
    self->ncoords++;
    return c;
}

static void
s_print_line (const mdf_feedback_t *ev, FILE *out)
{
    char ts[40], id[2 * MDF_ID_MAX + 8], reason[2 * MDF_REASON_MAX + 8];
    fprintf (out,
             "ts=%s coordinator=%s level=%s queue=%lld capacity=%lld seq=%llu epoch=%lld "
             "reason=%s\n",
             mdctl_fmt_wall (ev->ts, false, ts, sizeof ts),
             mdctl_quote (ev->coordinator_id, id, sizeof id), mdf_level_name (ev->level),
             (long long)ev->queue_size, (long long)ev->capacity, (unsigned long long)ev->seq,
             (long long)ev->epoch, mdctl_quote (ev->reason, reason, sizeof reason));
    fflush (out);
}

void
view_event (view_t *self, const mdf_feedback_t *ev, size_t source, int64_t now_ms, FILE *out)
{
    if (source < self->nendpoints)
        self->heard[source] = true;
    view_coord_t *c = s_coord (self, ev->coordinator_id);
    if (!c)
        return;
    if (c->events > 0) {
        if (ev->epoch != c->last.epoch)
            c->restarts++;
        else if (ev->seq > c->last.seq + 1)
            c->lost += (unsigned long)(ev->seq - c->last.seq - 1);
    }
    c->events++;
    c->last = *ev;
    c->last_ms = now_ms;
    c->stale_reported = false;
    view_recent_t *r = &c->recent[c->recent_head];
    r->ts = ev->ts;
    r->level = ev->level;
    r->queue = ev->queue_size;
    r->seq = ev->seq;
    snprintf (r->reason, sizeof r->reason, "%s", ev->reason);
    c->recent_head = (c->recent_head + 1) % self->opts.recent;
    if (c->recent_count < self->opts.recent)
        c->recent_count++;
    if (!self->opts.dashboard && out)
        s_print_line (ev, out);
}

void
view_warn (view_t *self, const char *text)
{
    if (!self->opts.dashboard) {
        fprintf (stderr, "mdctl watch: %s\n", text);
        return;
    }
    if (self->nwarns == VIEW_WARN_MAX) {
        memmove (self->warns[0], self->warns[1], sizeof self->warns[0] * (VIEW_WARN_MAX - 1));
        self->nwarns--;
    }
    snprintf (self->warns[self->nwarns++], sizeof self->warns[0], "%s", text);
}

void
view_pipeline (view_t *self, const char *pipeline_host, const view_pipeline_t *p)
{
    self->pipeline_host = pipeline_host;
    if (p)
        self->pipeline = *p;
}

/* ---- dashboard ------------------------------------------------------------ */

static const char *
s_col (const view_t *self, const char *code)
{
    return self->opts.color ? code : "";
}

static const char *
s_level_col (const view_t *self, mdf_level_t level)
{
    static const char *codes[] = { "\033[1;32m", "\033[1;33m", "\033[1;31m" };
    return s_col (self, codes[level <= MDF_LEVEL_HARD ? level : MDF_LEVEL_HARD]);
}

static int
s_cell (int64_t value, int64_t capacity)
{
    if (capacity <= 0 || value <= 0)
        return 0;
    if (value >= capacity)
        return VIEW_BAR_WIDTH;
    return (int)(value * VIEW_BAR_WIDTH / capacity);
}

static void
s_draw_bar (const view_t *self, const view_coord_t *c, FILE *f)
{
    int64_t cap = c->last.capacity, low, high;
    view_watermarks (&self->opts, cap, &low, &high);
    int fill = s_cell (c->last.queue_size, cap);
    int lo = s_cell (low, cap), hi = s_cell (high, cap);
    const char *reset = s_col (self, "\033[0m");
    fputs ("  queue [", f);
    for (int i = 0; i < VIEW_BAR_WIDTH; i++) {
        if (i == lo || i == hi) {
            fprintf (f, "%s%c%s", s_col (self, "\033[1m"), i == lo ? 'L' : 'H', reset);
            continue;
        }
        mdf_level_t zone = i < lo ? MDF_LEVEL_OK : i < hi ? MDF_LEVEL_SOFT : MDF_LEVEL_HARD;
        if (i < fill)
            fprintf (f, "%s=%s", s_level_col (self, zone), reset);
        else
            fputc (' ', f);
    }
    double pct = cap > 0 ? 100.0 * (double)c->last.queue_size / (double)cap : 0.0;
    fprintf (f, "] %lld/%lld %.1f%%  low %lld high %lld\033[K\n", (long long)c->last.queue_size,
             (long long)cap, pct, (long long)low, (long long)high);
}

static void
s_draw_coord (const view_t *self, const view_coord_t *c, int64_t now_ms, FILE *f)
{
    const char *reset = s_col (self, "\033[0m");
    double silent = (double)(now_ms - c->last_ms) / 1000.0;
    bool stale = now_ms - c->last_ms > self->opts.stale_ms;
    fprintf (f, "%s%s%s  %s%-4s%s  seq %llu  epoch %lld  last event %.1f s ago",
             s_col (self, "\033[1m"), c->last.coordinator_id, reset,
             s_level_col (self, c->last.level), mdf_level_name (c->last.level), reset,
             (unsigned long long)c->last.seq, (long long)c->last.epoch, silent);
    if (stale)
        fprintf (f, "  %sSTALE%s", s_col (self, "\033[1;35m"), reset);
    fputs ("\033[K\n", f);
    s_draw_bar (self, c, f);
    for (int k = 0; k < c->recent_count; k++) {
        int idx = (c->recent_head - 1 - k + 2 * self->opts.recent) % self->opts.recent;
        const view_recent_t *r = &c->recent[idx];
        char ts[32];
        fprintf (f, "  %s %s%-4s%s queue %-7lld seq %-6llu %s\033[K\n",
                 mdctl_fmt_wall (r->ts, true, ts, sizeof ts), s_level_col (self, r->level),
                 mdf_level_name (r->level), reset, (long long)r->queue, (unsigned long long)r->seq,
                 r->reason[0] ? r->reason : "-");
    }
    fprintf (f, "  events %lu  restarts %lu  lost %lu\033[K\n\033[K\n", c->events, c->restarts,
             c->lost);
}

static void
s_fmt_num (double v, const char *fmt, char *buf, size_t size)
{
    if (isnan (v))
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, fmt, v);
}

static void
s_draw_footer (const view_t *self, FILE *f)
{
    for (size_t i = 0; i < self->nendpoints; i++)
        if (!self->heard[i])
            fprintf (f, "waiting for %s (no event yet)\033[K\n", self->endpoints[i]);
    if (self->pipeline_host) {
        const view_pipeline_t *p = &self->pipeline;
        if (!p->ok) {
            fprintf (f, "pipeline %s: %s\033[K\n", self->pipeline_host, p->err);
        } else {
            char scale[32], in[32], ack[32];
            s_fmt_num (p->scale, "%.2f", scale, sizeof scale);
            s_fmt_num (p->ingested, "%.0f/s", in, sizeof in);
            s_fmt_num (p->acked, "%.0f/s", ack, sizeof ack);
            fprintf (f, "pipeline %s  scale %s  ingested %s  acked %s\033[K\n", self->pipeline_host,
                     scale, in, ack);
            if (!isnan (p->ticks) || !isnan (p->lag)) {
                char ticks[32], bars[32], lag[32];
                s_fmt_num (p->ticks, "%.0f/s", ticks, sizeof ticks);
                s_fmt_num (p->live_bars, "%.1f/s", bars, sizeof bars);
                s_fmt_num (p->lag, "%.1fs", lag, sizeof lag);
                char journal[64] = "";
                if (!isnan (p->jstate))
                    snprintf (journal, sizeof journal, "  journal %s %.1f MB",
                              p->jstate >= 2   ? "ERROR"
                              : p->jstate >= 1 ? "FULL"
                                               : "ok",
                              (isnan (p->jbytes) ? 0 : p->jbytes) / 1e6);
                fprintf (f,
                         "live  ticks %s  bars %s  lag %s  late %.0f  dropped %.0f  bad "
                         "%.0f%s\033[K\n",
                         ticks, bars, lag, isnan (p->late) ? 0 : p->late,
                         isnan (p->dropped) ? 0 : p->dropped, isnan (p->bad) ? 0 : p->bad, journal);
            }
        }
    }
    for (int i = 0; i < self->nwarns; i++)
        fprintf (f, "%s!%s %s\033[K\n", s_col (self, "\033[1;31m"), s_col (self, "\033[0m"),
                 self->warns[i]);
}

static void
s_draw (view_t *self, int64_t now_ms, FILE *out)
{
    char *frame = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&frame, &len);
    if (!f)
        return;
    if (!self->cleared) {
        fputs ("\033[?25l\033[2J", f);
        self->cleared = true;
    }
    char now[32];
    fprintf (f,
             "\033[H%smdctl watch%s  %s UTC  stale after %lld ms  (Ctrl-C quits)\033[K\n\033[K\n",
             s_col (self, "\033[1m"), s_col (self, "\033[0m"),
             mdctl_fmt_wall (mdf_wall_s (), true, now, sizeof now), (long long)self->opts.stale_ms);
    for (size_t i = 0; i < self->ncoords; i++)
        s_draw_coord (self, &self->coords[i], now_ms, f);
    s_draw_footer (self, f);
    fputs ("\033[J", f);
    fclose (f);
    fwrite (frame, 1, len, out);
    fflush (out);
    free (frame);
}

static void
s_report_stale (view_t *self, int64_t now_ms, FILE *out)
{
    for (size_t i = 0; i < self->ncoords; i++) {
        view_coord_t *c = &self->coords[i];
        if (c->stale_reported || now_ms - c->last_ms <= self->opts.stale_ms)
            continue;
        c->stale_reported = true;
        char ts[40], id[2 * MDF_ID_MAX + 8];
        fprintf (out, "ts=%s coordinator=%s stale=true silent_ms=%lld last_seq=%llu\n",
                 mdctl_fmt_wall (mdf_wall_s (), false, ts, sizeof ts),
                 mdctl_quote (c->last.coordinator_id, id, sizeof id),
                 (long long)(now_ms - c->last_ms), (unsigned long long)c->last.seq);
        fflush (out);
    }
}

void
view_tick (view_t *self, int64_t now_ms, FILE *out)
{
    if (self->opts.dashboard)
        s_draw (self, now_ms, out);
    else
        s_report_stale (self, now_ms, out);
}
