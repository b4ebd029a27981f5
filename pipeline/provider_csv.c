/*
 * provider_csv: replay bars from a CSV file (see source.h for the format).
 *
 * The file is read line by line with getline, so memory does not grow with
 * the file.  Invariants: `line_no` is the 1-based number of the last line
 * read; `shift_ns` is added to every ts and grows by the file's span + 1 s at
 * each loop pass.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/source.h"

#define S_HEADER "symbol,ts,open,high,low,close,volume"

typedef struct {
    source_t base;
    char *path;
    bool loop;
    source_bad_row_fn on_bad_row;
    void *arg;
    FILE *f;
    char *line;
    size_t line_cap;
    size_t line_no;
    int64_t shift_ns;
    int64_t min_ts, max_ts; /* raw ts over the file, learnt on the first pass */
    size_t good_rows;       /* rows returned in the current pass */
    bool done;
} s_csv_t;

static int
s_parse_rfc3339 (const char *t, int64_t *ns, char *err, size_t errlen)
{
    struct tm tm = { 0 };
    const char *p = strptime (t, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        p = strptime (t, "%Y-%m-%d %H:%M:%S", &tm);
    if (!p) {
        snprintf (err, errlen, "\"%s\" is not RFC 3339, epoch seconds or epoch ns", t);
        return -1;
    }
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000000;
        p++;
        if (!isdigit ((unsigned char)*p)) {
            snprintf (err, errlen, "\"%s\": bad fraction of a second", t);
            return -1;
        }
        for (; isdigit ((unsigned char)*p); p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp (p, "Z") != 0 && strcmp (p, "z") != 0 && strcmp (p, "+00:00") != 0
        && strcmp (p, "-00:00") != 0) {
        snprintf (err, errlen, "\"%s\": only UTC (Z or +00:00) is accepted", t);
        return -1;
    }
    time_t secs = timegm (&tm);
    *ns = (int64_t)secs * 1000000000LL + frac;
    return 0;
}

int
csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen)
{
    size_t digits = strspn (text, "0123456789");
    if (digits > 0 && text[digits] == '\0') {
        errno = 0;
        unsigned long long v = strtoull (text, NULL, 10);
        if (errno || (digits >= 16 && v > (unsigned long long)INT64_MAX)
            || (digits < 16 && v > 9000000000ULL)) {
            snprintf (err, errlen, "\"%s\" is out of range", text);
            return -1;
        }
        *ns = digits >= 16 ? (int64_t)v : (int64_t)v * 1000000000LL;
        return 0;
    }
    if (digits > 0 && text[digits] == '.' && digits < 12) {
        char *end;
        double s = strtod (text, &end);
        if (*end != '\0' || !isfinite (s)) {
            snprintf (err, errlen, "\"%s\" is not a number", text);
            return -1;
        }
        *ns = (int64_t)llround (s * 1e9);
        return 0;
    }
    return s_parse_rfc3339 (text, ns, err, errlen);
}

/* Trim spaces in place; returns the start. */
static char *
s_trim (char *s)
{
    while (isspace ((unsigned char)*s))
        s++;
    size_t n = strlen (s);
    while (n > 0 && isspace ((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int
s_number (const char *name, const char *text, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    *out = strtod (text, &end);
    if (end == text || *end != '\0' || errno == ERANGE) {
        snprintf (err, errlen, "column %s: \"%s\" is not a number", name, text);
        return -1;
    }
    return 0;
}

int
csv_parse_line (const char *line, mdf_bar_t *bar, char *err, size_t errlen)
{
    static const char *const names[] = { "symbol", "ts", "open", "high", "low", "close", "volume" };
    char buf[1024];
    if (strlen (line) >= sizeof buf) {
        snprintf (err, errlen, "line longer than %zu bytes", sizeof buf - 1);
        return -1;
    }
    snprintf (buf, sizeof buf, "%s", line);
    char *field[7];
    size_t nf = 0;
    /* strsep keeps empty fields, which strtok would merge. */
    char *cur = buf;
    while (cur && nf < 8) {
        char *tok = strsep (&cur, ",");
        if (nf < 7)
            field[nf] = s_trim (tok);
        nf++;
    }
    if (nf != 7) {
        snprintf (err, errlen, "expected 7 columns (%s), got %s%zu", S_HEADER,
                  nf > 7 ? "more than " : "", nf > 7 ? (size_t)7 : nf);
        return -1;
    }
    memset (bar, 0, sizeof *bar);
    if (strlen (field[0]) == 0 || strlen (field[0]) > MDF_SYMBOL_MAX) {
        snprintf (err, errlen, "column symbol: must be 1..%d bytes", MDF_SYMBOL_MAX);
        return -1;
    }
    memcpy (bar->symbol, field[0], strlen (field[0]) + 1);
    char terr[200];
    if (csv_parse_ts (field[1], &bar->ts, terr, sizeof terr) < 0) {
        snprintf (err, errlen, "column ts: %s", terr);
        return -1;
    }
    double *vals[] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (size_t i = 0; i < 5; i++)
        if (s_number (names[i + 2], field[i + 2], vals[i], err, errlen) < 0)
            return -1;
    return mdf_bar_validate (bar, 0, err, errlen);
}

static void
s_close (s_csv_t *c)
{
    if (c->f)
        fclose (c->f);
    c->f = NULL;
}

/* Open the file and check the header.  0 or -1 (provider error). */
static int
s_open (s_csv_t *c, char *err, size_t errlen)
{
    c->f = fopen (c->path, "r");
    if (!c->f) {
        snprintf (err, errlen, "%s: %s", c->path, strerror (errno));
        return -1;
    }
    c->line_no = 0;
    c->good_rows = 0;
    ssize_t len = getline (&c->line, &c->line_cap, c->f);
    c->line_no = 1;
    if (len < 0 || strcmp (s_trim (c->line), S_HEADER) != 0) {
        snprintf (err, errlen, "%s:1: expected header \"%s\"", c->path, S_HEADER);
        s_close (c);
        return -1;
    }
    return 0;
}

/* At end of file: rewind for the next pass (loop) or finish.  0 to go on, 1 done. */
static int
s_end_of_pass (s_csv_t *c)
{
    bool any = c->good_rows > 0;
    s_close (c);
    if (!c->loop || !any) {
        c->done = true;
        return 1;
    }
    c->shift_ns += (c->max_ts - c->min_ts) + 1000000000LL;
    return 0;
}

static int
s_next (source_t *base, mdf_bar_t *bars, size_t n, char *err, size_t errlen)
{
    s_csv_t *c = (s_csv_t *)base;
    size_t got = 0;
    while (got < n && !c->done) {
        if (!c->f && s_open (c, err, errlen) < 0)
            return got > 0 ? (int)got : -1;
        ssize_t len = getline (&c->line, &c->line_cap, c->f);
        if (len < 0) {
            if (s_end_of_pass (c) == 1)
                break;
            continue;
        }
        c->line_no++;
        char *row = s_trim (c->line);
        if (*row == '\0')
            continue;
        char rerr[256];
        mdf_bar_t *bar = &bars[got];
        if (csv_parse_line (row, bar, rerr, sizeof rerr) < 0) {
            if (c->on_bad_row)
                c->on_bad_row (c->arg, c->line_no, rerr);
            continue;
        }
        if (c->shift_ns == 0) {
            c->min_ts = (c->min_ts == 0 || bar->ts < c->min_ts) ? bar->ts : c->min_ts;
            c->max_ts = bar->ts > c->max_ts ? bar->ts : c->max_ts;
        }
        bar->ts += c->shift_ns;
        c->good_rows++;
        got++;
    }
    return (int)got;
}

static void
s_destroy (source_t *base)
{
    s_csv_t *c = (s_csv_t *)base;
    s_close (c);
    free (c->line);
    free (c->path);
    free (c);
}

source_t *
source_csv_new (const char *path, bool loop, source_bad_row_fn on_bad_row, void *arg)
{
    s_csv_t *c = calloc (1, sizeof *c);
    if (!c)
        return NULL;
    c->path = strdup (path);
    if (!c->path) {
        free (c);
        return NULL;
    }
    c->loop = loop;
    c->on_bad_row = on_bad_row;
    c->arg = arg;
    c->base.next = s_next;
    c->base.destroy = s_destroy;
    return &c->base;
}
