/*
 * csv: the bar file reader shared by the csv provider and `mdctl send` (see
 * csv.h for the format).
 *
 * The file is read line by line with getline (no line length limit); a line
 * is split in place into at most CSV_FIELDS_MAX fields, unquoting as it goes,
 * so a row costs no allocation.  The header maps each of the seven columns to
 * a field index once; every row must then have the header's field count.
 * Invariant: `line` is the number of the last line read, blank ones included.
 */
#include "proto/csv.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CSV_FIELDS_MAX 64
#define CSV_NCOLS 7

struct _mdf_csv_t {
    FILE *f;
    char *buf; /* the current line, split in place */
    size_t size;
    size_t line;
    int col[CSV_NCOLS]; /* col[k]: the field of s_columns[k] */
    int ncols;          /* fields in the header */
    char *fields[CSV_FIELDS_MAX];
};

static const char *s_columns[CSV_NCOLS]
    = { "symbol", "ts", "open", "high", "low", "close", "volume" };

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

/* Split line in place (csv.h); returns the field count, or -1 on an unterminated quote. */
int
mdf_csv_split (char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p, *w = p;
        if (*p == '"') {
            start = w = ++p;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                w = ++p;
        }
        char end = *p;
        *w = '\0';
        if (n < max)
            fields[n] = s_trim (start);
        n++;
        if (end != ',')
            break;
        p++;
    }
    return n;
}

static int
s_parse_fraction (const char *frac, int64_t *ns)
{
    int64_t v = 0;
    int digits = 0;
    for (; isdigit ((unsigned char)*frac); frac++, digits++)
        if (digits < 9)
            v = v * 10 + (*frac - '0');
    if (digits == 0)
        return -1;
    for (; digits < 9; digits++)
        v *= 10;
    *ns = v;
    return *frac ? -1 : 0;
}

static int
s_parse_rfc3339 (const char *text, int64_t *ns, char *err, size_t errlen)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    char sep = 0;
    int used = 0;
    if (sscanf (text, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used)
            != 7
        || (sep != 'T' && sep != 't' && sep != ' ') || tm.tm_mon < 1 || tm.tm_mon > 12
        || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59
        || tm.tm_sec > 60) {
        snprintf (err, errlen, "ts '%s' is not RFC 3339 (2024-01-02T15:04:05Z)", text);
        return -1;
    }
    const char *p = text + used;
    int64_t frac = 0;
    if (*p == '.') {
        char digits[32];
        size_t k = 0;
        for (p++; isdigit ((unsigned char)*p) && k + 1 < sizeof digits; p++)
            digits[k++] = *p;
        digits[k] = '\0';
        if (s_parse_fraction (digits, &frac) != 0) {
            snprintf (err, errlen, "ts '%s': bad fraction of a second", text);
            return -1;
        }
    }
    int64_t offset_s = 0;
    int oh = 0, om = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset_s = 0;
    } else if ((*p == '+' || *p == '-') && sscanf (p + 1, "%2d:%2d", &oh, &om) == 2
               && strlen (p) == 6 && oh < 24 && om < 60) {
        offset_s = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
        snprintf (err, errlen, "ts '%s': expected Z or an offset like +02:00 after the time", text);
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t secs = (int64_t)timegm (&tm) - offset_s;
    if (secs <= -9000000000LL || secs >= 9000000000LL) {
        snprintf (err, errlen, "ts '%s' is out of range", text);
        return -1;
    }
    *ns = secs * 1000000000LL + frac;
    return 0;
}

/* The unit of an integer ts: one rule for text (below) and for numbers
 * (mdf_csv_ts_from_int, for JSON and msgpack). */
typedef enum { S_TS_SECONDS, S_TS_NS, S_TS_AMBIGUOUS } s_ts_unit_t;

static s_ts_unit_t
s_ts_unit (long long whole)
{
    if (whole > -10000000000LL && whole < 10000000000LL)
        return S_TS_SECONDS;
    return whole >= 100000000000000000LL ? S_TS_NS : S_TS_AMBIGUOUS;
}

/* Epoch seconds that fit in int64 nanoseconds (with room to spare). */
static bool
s_seconds_in_range (long long whole)
{
    return whole > -9000000000LL && whole < 9000000000LL;
}

int
mdf_csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen)
{
    if (!*text) {
        snprintf (err, errlen, "ts is empty");
        return -1;
    }
    if (strchr (text + 1, '-') || strchr (text, ':'))
        return s_parse_rfc3339 (text, ns, err, errlen);
    char *end = NULL;
    errno = 0;
    long long whole = strtoll (text, &end, 10);
    if (errno || end == text || (*end && *end != '.')) {
        snprintf (err, errlen, "ts '%s' is not a number nor RFC 3339", text);
        return -1;
    }
    int64_t frac = 0;
    if (*end == '.' && (s_parse_fraction (end + 1, &frac) != 0 || whole < 0)) {
        snprintf (err, errlen, "ts '%s': bad fraction of a second", text);
        return -1;
    }
    if (*end == '.' || s_ts_unit (whole) == S_TS_SECONDS) {
        if (!s_seconds_in_range (whole)) {
            snprintf (err, errlen, "ts '%s' is out of range for epoch seconds", text);
            return -1;
        }
        *ns = (int64_t)whole * 1000000000LL + frac;
        return 0;
    }
    if (s_ts_unit (whole) == S_TS_NS) {
        *ns = (int64_t)whole;
        return 0;
    }
    snprintf (err, errlen,
              "ts '%s' is neither epoch seconds (< 1e10) nor epoch nanoseconds (>= 1e17)", text);
    return -1;
}

int
mdf_csv_ts_from_int (int64_t v, int64_t *ns, char *err, size_t errlen)
{
    switch (s_ts_unit (v)) {
    case S_TS_SECONDS:
        if (!s_seconds_in_range (v)) {
            snprintf (err, errlen, "ts %lld is out of range for epoch seconds", (long long)v);
            return -1;
        }
        *ns = v * 1000000000LL;
        return 0;
    case S_TS_NS:
        *ns = v;
        return 0;
    default:
        snprintf (err, errlen,
                  "ts %lld is neither epoch seconds (< 1e10) nor epoch nanoseconds (>= 1e17)",
                  (long long)v);
        return -1;
    }
}

int
mdf_csv_ts_from_double (double v, int64_t *ns, char *err, size_t errlen)
{
    if (!isfinite (v)) {
        snprintf (err, errlen, "ts is not finite (%g)", v);
        return -1;
    }
    if (!(v > -9e9 && v < 9e9)) {
        snprintf (err, errlen, "ts %.17g is out of range for epoch seconds", v);
        return -1;
    }
    /* The decimal the sender most likely wrote: the shortest text that reads
     * back as v (1700000000.1, not 1700000000.0999999046), then the text
     * rule, exact to the ns.  An exponent (1e-05) or a negative value takes
     * the arithmetic below: v - floor (v) is exact, the fraction rounded. */
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf (text, sizeof text, "%.*g", prec, v);
        if (strtod (text, NULL) == v)
            break;
    }
    if (v > 0 && !strpbrk (text, "eE") && mdf_csv_parse_ts (text, ns, err, errlen) == 0)
        return 0;
    double whole = floor (v);
    *ns = (int64_t)whole * 1000000000LL + llround ((v - whole) * 1e9);
    return 0;
}

/* Map header fields to column indexes: col[k] is the field of s_columns[k]. */
static int
s_header (char **fields, int n, int col[CSV_NCOLS], char *what, size_t whatlen)
{
    for (int k = 0; k < CSV_NCOLS; k++) {
        col[k] = -1;
        for (int i = 0; i < n && i < CSV_FIELDS_MAX; i++)
            if (strcasecmp (fields[i], s_columns[k]) == 0)
                col[k] = i;
        if (col[k] < 0) {
            snprintf (what, whatlen,
                      "header lacks column '%s' (expected symbol,ts,open,high,low,close,volume)",
                      s_columns[k]);
            return -1;
        }
    }
    return 0;
}

static int
s_number (const char *text, const char *name, double *out, char *what, size_t whatlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod (text, &end);
    if (!*text || *end || errno == ERANGE) {
        snprintf (what, whatlen, "%s '%s' is not a number", name, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int
s_row (char **f, int n, const int col[CSV_NCOLS], int ncols, mdf_bar_t *bar, char *what,
       size_t whatlen)
{
    if (n != ncols) {
        snprintf (what, whatlen, "%d field(s), the header has %d", n, ncols);
        return -1;
    }
    const char *sym = f[col[0]];
    if (strlen (sym) > MDF_SYMBOL_MAX) {
        snprintf (what, whatlen, "symbol longer than %d bytes", MDF_SYMBOL_MAX);
        return -1;
    }
    memset (bar, 0, sizeof *bar);
    snprintf (bar->symbol, sizeof bar->symbol, "%s", sym);
    if (mdf_csv_parse_ts (f[col[1]], &bar->ts, what, whatlen) != 0)
        return -1;
    double *dst[5] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (int k = 0; k < 5; k++)
        if (s_number (f[col[k + 2]], s_columns[k + 2], dst[k], what, whatlen) != 0)
            return -1;
    return 0;
}

/* The next non-blank line, split: its field count, 0 at end of file, or -1
 * with `what` set (I/O error: *failed is set too). */
static int
s_next_fields (mdf_csv_t *self, bool *failed, char *what, size_t whatlen)
{
    *failed = false;
    for (;;) {
        if (getline (&self->buf, &self->size, self->f) < 0) {
            if (!ferror (self->f))
                return 0;
            snprintf (what, whatlen, "read error: %s", strerror (errno));
            *failed = true;
            return -1;
        }
        self->line++;
        self->buf[strcspn (self->buf, "\r\n")] = '\0';
        if (*s_trim (self->buf))
            break;
    }
    int n = mdf_csv_split (self->buf, self->fields, CSV_FIELDS_MAX);
    if (n < 0 || n > CSV_FIELDS_MAX) {
        snprintf (what, whatlen, n < 0 ? "unterminated quote" : "too many fields");
        return -1;
    }
    return n;
}

mdf_csv_t *
mdf_csv_open (const char *path, char *err, size_t errlen)
{
    mdf_csv_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "%s: out of memory", path);
        return NULL;
    }
    self->f = fopen (path, "r");
    if (!self->f) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        mdf_csv_destroy (&self);
        return NULL;
    }
    char what[512] = "";
    bool failed;
    int n = s_next_fields (self, &failed, what, sizeof what);
    if (n == 0)
        snprintf (what, sizeof what,
                  "empty file (expected a header symbol,ts,open,high,low,close,volume)");
    if (n <= 0 || s_header (self->fields, n, self->col, what, sizeof what) != 0) {
        snprintf (err, errlen, "%s:%zu: %s", path, self->line, what);
        mdf_csv_destroy (&self);
        return NULL;
    }
    self->ncols = n;
    return self;
}

mdf_csv_rc_t
mdf_csv_next (mdf_csv_t *self, mdf_bar_t *bar, char *err, size_t errlen)
{
    bool failed;
    int n = s_next_fields (self, &failed, err, errlen);
    if (n <= 0)
        return n == 0 ? MDF_CSV_END : failed ? MDF_CSV_FAILED : MDF_CSV_BAD_ROW;
    if (s_row (self->fields, n, self->col, self->ncols, bar, err, errlen) != 0)
        return MDF_CSV_BAD_ROW;
    return MDF_CSV_BAR;
}

size_t
mdf_csv_line (const mdf_csv_t *self)
{
    return self->line;
}

void
mdf_csv_destroy (mdf_csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_csv_t *self = *self_p;
    if (self->f)
        fclose (self->f);
    free (self->buf);
    free (self);
    *self_p = NULL;
}
