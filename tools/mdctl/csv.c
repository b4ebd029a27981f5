/*
 * csv: the bar file reader of `mdctl send` (see csv.h).
 *
 * The file is read line by line with getline (no line length limit); a line
 * is split in place into at most CSV_FIELDS_MAX fields, unquoting as it goes,
 * so a row costs no allocation beyond the growing bar array.  Blank lines are
 * skipped but still counted, so line numbers in errors match an editor's.
 */
#include "tools/mdctl/csv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CSV_FIELDS_MAX 64
#define CSV_NCOLS 7

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

/* Split line in place; returns the field count, or -1 on an unterminated quote. */
static int
s_split (char *line, char **fields, int max)
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

int
csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen)
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
    if (*end == '.' || (whole > -10000000000LL && whole < 10000000000LL)) {
        if (whole <= -9000000000LL || whole >= 9000000000LL) {
            snprintf (err, errlen, "ts '%s' is out of range for epoch seconds", text);
            return -1;
        }
        *ns = (int64_t)whole * 1000000000LL + frac;
        return 0;
    }
    if (whole >= 100000000000000000LL) {
        *ns = (int64_t)whole;
        return 0;
    }
    snprintf (err, errlen,
              "ts '%s' is neither epoch seconds (< 1e10) nor epoch nanoseconds (>= 1e17)", text);
    return -1;
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
    if (csv_parse_ts (f[col[1]], &bar->ts, what, whatlen) != 0)
        return -1;
    double *dst[5] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (int k = 0; k < 5; k++)
        if (s_number (f[col[k + 2]], s_columns[k + 2], dst[k], what, whatlen) != 0)
            return -1;
    return 0;
}

static int
s_push (csv_bars_t *out, const mdf_bar_t *bar, size_t line)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        mdf_bar_t *bars = realloc (out->bars, cap * sizeof *bars);
        if (!bars)
            return -1;
        out->bars = bars;
        size_t *lines = realloc (out->lines, cap * sizeof *lines);
        if (!lines)
            return -1;
        out->lines = lines;
        out->cap = cap;
    }
    out->bars[out->n] = *bar;
    out->lines[out->n++] = line;
    return 0;
}

static int
s_read (FILE *f, csv_bars_t *out, size_t *lineno, char *what, size_t whatlen)
{
    char *line = NULL;
    size_t size = 0;
    int col[CSV_NCOLS], ncols = 0, rc = 0;
    char *fields[CSV_FIELDS_MAX];
    while (rc == 0 && getline (&line, &size, f) >= 0) {
        ++*lineno;
        line[strcspn (line, "\r\n")] = '\0';
        if (!*s_trim (line))
            continue;
        int n = s_split (line, fields, CSV_FIELDS_MAX);
        if (n < 0 || n > CSV_FIELDS_MAX) {
            snprintf (what, whatlen, n < 0 ? "unterminated quote" : "too many fields");
            rc = -1;
        } else if (ncols == 0) {
            rc = s_header (fields, n, col, what, whatlen);
            ncols = n;
        } else {
            mdf_bar_t bar;
            rc = s_row (fields, n, col, ncols, &bar, what, whatlen);
            if (rc == 0 && s_push (out, &bar, *lineno) != 0) {
                snprintf (what, whatlen, "out of memory");
                rc = -1;
            }
        }
    }
    free (line);
    if (rc == 0 && ncols == 0) {
        snprintf (what, whatlen,
                  "empty file (expected a header symbol,ts,open,high,low,close,volume)");
        rc = -1;
    }
    return rc;
}

int
csv_read_bars (const char *path, csv_bars_t *out, char *err, size_t errlen)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return -1;
    }
    size_t lineno = 0;
    char what[512] = "";
    int rc = s_read (f, out, &lineno, what, sizeof what);
    if (rc == 0 && ferror (f)) {
        snprintf (what, sizeof what, "read error: %s", strerror (errno));
        rc = -1;
    }
    fclose (f);
    if (rc != 0) {
        snprintf (err, errlen, "%s:%zu: %s", path, lineno, what);
        csv_bars_clear (out);
    }
    return rc;
}

void
csv_bars_clear (csv_bars_t *bars)
{
    free (bars->bars);
    free (bars->lines);
    memset (bars, 0, sizeof *bars);
}
