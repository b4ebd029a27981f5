/*
 * csv: the bar file reader shared by the csv provider and `mdctl send` (see
 * csv.h for the format).
 *
 * The file is read line by line through zlib's gzgets, which reads a plain
 * file as it is and a gzip file decompressed (no line length limit: the
 * buffer grows); a line is split in place into at most CSV_FIELDS_MAX
 * fields, unquoting as it goes, so a row costs no allocation.  The header
 * maps each of the seven columns to a field index once (-1: the symbol comes
 * from opts.symbol); every row must then have the header's field count.
 * mdf_csv_load keeps every bar and sorts them by (ts, line).
 * Invariant: `line` is the number of the last line read, blank ones included.
 */
#include "proto/csv.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#define CSV_FIELDS_MAX 64
#define CSV_NCOLS MDF_CSV_NCOLS
#define CSV_LINE_START 4096

struct _mdf_csv_t {
    char *path;
    gzFile gz;
    char *buf; /* the current line, split in place */
    size_t size;
    size_t line;
    mdf_csv_opts_t opts;
    int col[CSV_NCOLS]; /* col[k]: the field of s_columns[k]; col[0] -1 with opts.symbol */
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

/* timegm of *tm, -1 when its date does not exist (31 April: timegm would
 * make it 1 May). */
static int
s_timegm_exact (struct tm *tm, int64_t *secs)
{
    int year = tm->tm_year, mon = tm->tm_mon, mday = tm->tm_mday;
    *secs = (int64_t)timegm (tm);
    return tm->tm_year == year && tm->tm_mon == mon && tm->tm_mday == mday ? 0 : -1;
}

/* A date alone, "2024-01-02" (exactly): 00:00 UTC that day.  1 when text is
 * one (*ns set), 0 when it is not, -1 when it looks like one but is not a
 * date (err set). */
static int
s_parse_date_only (const char *text, int64_t *ns, char *err, size_t errlen)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    int used = 0;
    if (strlen (text) != 10 || !isdigit ((unsigned char)text[0])
        || sscanf (text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used) != 3
        || used != 10)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t secs = 0;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || s_timegm_exact (&tm, &secs) != 0) {
        snprintf (err, errlen, "ts '%s' is not a date (YYYY-MM-DD)", text);
        return -1;
    }
    if (secs <= -9000000000LL || secs >= 9000000000LL) { /* as RFC 3339: ns fit in 64 bits */
        snprintf (err, errlen, "ts '%s' is out of range", text);
        return -1;
    }
    *ns = secs * 1000000000LL;
    return 1;
}

int
mdf_csv_parse_ts (const char *text, int64_t *ns, char *err, size_t errlen)
{
    if (!*text) {
        snprintf (err, errlen, "ts is empty");
        return -1;
    }
    int date = s_parse_date_only (text, ns, err, errlen);
    if (date != 0)
        return date > 0 ? 0 : -1;
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

/* ts read with a strptime format, as UTC (a %z read applies its offset). */
static int
s_parse_ts_format (const char *text, const char *format, int64_t *ns, char *err, size_t errlen)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    tm.tm_mday = 1; /* a format without a day means the first */
    const char *end = *text ? strptime (text, format, &tm) : NULL;
    while (end && isspace ((unsigned char)*end))
        end++;
    if (!end || *end) {
        snprintf (err, errlen, "ts '%s' does not match ts_format '%s'", text, format);
        return -1;
    }
    long gmtoff = tm.tm_gmtoff;
    int64_t secs = 0;
    if (s_timegm_exact (&tm, &secs) != 0) {
        snprintf (err, errlen, "ts '%s' is not a date", text);
        return -1;
    }
    secs -= gmtoff;
    if (!s_seconds_in_range (secs)) {
        snprintf (err, errlen, "ts '%s' is out of range", text);
        return -1;
    }
    *ns = secs * 1000000000LL;
    return 0;
}

/* A row's ts: the format of opts (or the default spellings) plus ts_offset. */
static int
s_row_ts (const mdf_csv_opts_t *opts, const char *text, int64_t *ns, char *err, size_t errlen)
{
    int rc = opts->ts_format[0] ? s_parse_ts_format (text, opts->ts_format, ns, err, errlen)
                                : mdf_csv_parse_ts (text, ns, err, errlen);
    if (rc == 0)
        *ns += opts->ts_offset_ns;
    return rc;
}

/* ---- options (csv.h) ---- */

/* n digits at *p (advanced) into *v; -1 when they are not there. */
static int
s_digits (const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit ((unsigned char)**p))
            return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

/* "[-+]H[H]:MM[:SS]" into ns. */
static int
s_parse_offset (const char *text, int64_t *ns, char *err, size_t errlen)
{
    const char *p = text;
    int sign = 1, h = 0, m = 0, sec = 0;
    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    int hdigits = isdigit ((unsigned char)p[0]) && isdigit ((unsigned char)p[1]) ? 2 : 1;
    bool ok
        = s_digits (&p, hdigits, &h) == 0 && *p++ == ':' && s_digits (&p, 2, &m) == 0 && m <= 59;
    if (ok && *p == ':')
        ok = (p++, s_digits (&p, 2, &sec) == 0 && sec <= 59);
    if (!ok || *p) {
        snprintf (err, errlen, "ts_offset '%s': expected [-]HH:MM[:SS], e.g. 16:00", text);
        return -1;
    }
    *ns = sign * ((int64_t)h * 3600 + m * 60 + sec) * 1000000000LL;
    return 0;
}

/* Check a strptime format: it has a conversion, and reads back what
 * strftime writes with it for a known time. */
static int
s_check_format (const char *format, char *err, size_t errlen)
{
    if (strlen (format) > MDF_CSV_FORMAT_MAX || !strchr (format, '%')) {
        snprintf (err, errlen,
                  "ts_format '%s': expected a strptime format of at most %d bytes, "
                  "e.g. %%d-%%b-%%y",
                  format, MDF_CSV_FORMAT_MAX);
        return -1;
    }
    struct tm tm = { .tm_year = 124,
                     .tm_mon = 0,
                     .tm_mday = 2,
                     .tm_hour = 15,
                     .tm_min = 4,
                     .tm_sec = 5,
                     .tm_wday = 2,
                     .tm_yday = 1 };
    char text[256];
    int64_t ns = 0;
    if (strftime (text, sizeof text, format, &tm) == 0
        || s_parse_ts_format (text, format, &ns, err, errlen) != 0) {
        snprintf (err, errlen,
                  "ts_format '%s' cannot read the times it writes (a conversion strptime does "
                  "not know?)",
                  format);
        return -1;
    }
    return 0;
}

static int
s_column_index (const char *name, size_t len)
{
    for (int k = 0; k < CSV_NCOLS; k++)
        if (strlen (s_columns[k]) == len && strncasecmp (name, s_columns[k], len) == 0)
            return k;
    return -1;
}

/* "ts=date, volume=Volume" into opts->column. */
static int
s_parse_columns (mdf_csv_opts_t *opts, const char *spec, char *err, size_t errlen)
{
    char copy[1024];
    if (strlen (spec) >= sizeof copy) {
        snprintf (err, errlen, "columns is longer than %zu bytes", sizeof copy - 1);
        return -1;
    }
    snprintf (copy, sizeof copy, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (item, '=');
        if (eq)
            *eq = '\0';
        char *name = s_trim (item), *header = eq ? s_trim (eq + 1) : NULL;
        int k = s_column_index (name, strlen (name));
        if (k < 0 || !header || !*header || strlen (header) > MDF_CSV_NAME_MAX) {
            snprintf (err, errlen,
                      "columns '%s': expected NAME=HEADER,... with NAME one of "
                      "symbol,ts,open,high,low,close,volume and HEADER 1..%d bytes "
                      "(e.g. ts=date,volume=Volume)",
                      spec, MDF_CSV_NAME_MAX);
            return -1;
        }
        if (opts->column[k][0]) {
            snprintf (err, errlen, "columns '%s' maps %s twice", spec, s_columns[k]);
            return -1;
        }
        if (k == 0 && opts->symbol[0]) {
            snprintf (err, errlen, "columns '%s' maps symbol, and symbol is set too: set only one",
                      spec);
            return -1;
        }
        snprintf (opts->column[k], sizeof opts->column[k], "%s", header);
    }
    return 0;
}

int
mdf_csv_opts_parse (mdf_csv_opts_t *opts, const char *symbol, const char *columns,
                    const char *ts_format, const char *ts_offset, const char **bad_key, char *err,
                    size_t errlen)
{
    memset (opts, 0, sizeof *opts);
    if (symbol && *symbol) {
        *bad_key = "symbol";
        if (strlen (symbol) > MDF_SYMBOL_MAX) {
            snprintf (err, errlen, "symbol '%s' is longer than %d bytes", symbol, MDF_SYMBOL_MAX);
            return -1;
        }
        snprintf (opts->symbol, sizeof opts->symbol, "%s", symbol);
    }
    *bad_key = "columns";
    if (columns && *columns && s_parse_columns (opts, columns, err, errlen) != 0)
        return -1;
    *bad_key = "ts_format";
    if (ts_format && *ts_format) {
        if (s_check_format (ts_format, err, errlen) != 0)
            return -1;
        snprintf (opts->ts_format, sizeof opts->ts_format, "%s", ts_format);
    }
    *bad_key = "ts_offset";
    if (ts_offset && *ts_offset
        && s_parse_offset (ts_offset, &opts->ts_offset_ns, err, errlen) != 0)
        return -1;
    *bad_key = NULL;
    return 0;
}

/* ---- the header ---- */

/* The header's names, comma-separated, into out (cut short if long). */
static void
s_header_text (char **fields, int n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && i < CSV_FIELDS_MAX && len + 1 < size; i++)
        len += (size_t)snprintf (out + len, size - len, "%s%s", i ? "," : "", fields[i]);
    if (len >= size && size > 4)
        snprintf (out + size - 4, 4, "...");
}

/* Why column k is missing, and the option that fixes it, appended to what. */
static void
s_missing (int k, const char *mapped, char **fields, int n, char *what, size_t whatlen)
{
    size_t len = strlen (what);
    char *w = what + len;
    size_t room = whatlen - len;
    if (mapped[0]) {
        snprintf (w, room, "header lacks column '%s' (columns maps %s to it); ", mapped,
                  s_columns[k]);
        return;
    }
    const char *guess = "NAME";
    for (int i = 0; k == 1 && i < n && i < CSV_FIELDS_MAX; i++)
        if (strcasestr (fields[i], "date") || strcasestr (fields[i], "time")) {
            guess = fields[i];
            break;
        }
    if (k == 0)
        snprintf (w, room,
                  "header lacks column 'symbol': for a file of one symbol set symbol = \"AAPL\" "
                  "(mdctl send --symbol AAPL), or map the file's column with columns = "
                  "\"symbol=NAME\" (--columns symbol=NAME); ");
    else
        snprintf (w, room,
                  "header lacks column '%s': map the file's column with columns = \"%s=%s\" "
                  "(mdctl send --columns %s=%s); ",
                  s_columns[k], s_columns[k], guess, s_columns[k], guess);
}

/* Map header fields to column indexes: col[k] is the field of s_columns[k]
 * (or of the name opts gives it); -1 for the symbol when opts gives one.
 * Every missing column is named in what, then the header. */
static int
s_header (const mdf_csv_opts_t *opts, char **fields, int n, int col[CSV_NCOLS], char *what,
          size_t whatlen)
{
    what[0] = '\0';
    for (int k = 0; k < CSV_NCOLS; k++) {
        col[k] = -1;
        if (k == 0 && opts->symbol[0])
            continue;
        const char *name = opts->column[k][0] ? opts->column[k] : s_columns[k];
        for (int i = 0; i < n && i < CSV_FIELDS_MAX; i++)
            if (strcasecmp (fields[i], name) == 0)
                col[k] = i;
        if (col[k] < 0)
            s_missing (k, opts->column[k], fields, n, what, whatlen);
    }
    if (!what[0])
        return 0;
    size_t len = strlen (what);
    char header[200];
    s_header_text (fields, n, header, sizeof header);
    snprintf (what + len, whatlen - len, "the header is: %s", header);
    return -1;
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
s_row (const mdf_csv_t *self, int n, mdf_bar_t *bar, char *what, size_t whatlen)
{
    char *const *f = self->fields;
    const int *col = self->col;
    if (n != self->ncols) {
        snprintf (what, whatlen, "%d field(s), the header has %d", n, self->ncols);
        return -1;
    }
    const char *sym = col[0] >= 0 ? f[col[0]] : self->opts.symbol;
    if (strlen (sym) > MDF_SYMBOL_MAX) {
        snprintf (what, whatlen, "symbol longer than %d bytes", MDF_SYMBOL_MAX);
        return -1;
    }
    memset (bar, 0, sizeof *bar);
    snprintf (bar->symbol, sizeof bar->symbol, "%s", sym);
    if (s_row_ts (&self->opts, f[col[1]], &bar->ts, what, whatlen) != 0)
        return -1;
    double *dst[5] = { &bar->open, &bar->high, &bar->low, &bar->close, &bar->volume };
    for (int k = 0; k < 5; k++)
        if (s_number (f[col[k + 2]], s_columns[k + 2], dst[k], what, whatlen) != 0)
            return -1;
    return 0;
}

/* One line into self->buf (any length: the buffer grows), like getline.
 * Its length, 0 at the end of the file, -1 on a read error (what set): an
 * I/O error, or a gzip file cut short or corrupt. */
static ssize_t
s_getline (mdf_csv_t *self, char *what, size_t whatlen)
{
    size_t len = 0;
    for (;;) {
        if (len + 1 >= self->size) {
            size_t size = self->size ? self->size * 2 : CSV_LINE_START;
            char *buf = size <= (size_t)INT_MAX ? realloc (self->buf, size) : NULL;
            if (!buf) {
                snprintf (what, whatlen, "out of memory for a line of %zu bytes", len);
                return -1;
            }
            self->buf = buf;
            self->size = size;
        }
        if (!gzgets (self->gz, self->buf + len, (int)(self->size - len))) {
            int zerr = Z_OK;
            const char *msg = gzerror (self->gz, &zerr);
            size_t plen = strlen (self->path); /* zlib's message starts "PATH: " */
            if (strncmp (msg, self->path, plen) == 0 && strncmp (msg + plen, ": ", 2) == 0)
                msg += plen + 2;
            if (zerr != Z_OK && zerr != Z_STREAM_END) { /* never half a line as a row */
                snprintf (what, whatlen, "read error: %s",
                          zerr == Z_ERRNO ? strerror (errno) : msg);
                return -1;
            }
            self->buf[len] = '\0';
            return (ssize_t)len; /* the last line without its LF, or the end */
        }
        len += strlen (self->buf + len);
        if ((len > 0 && self->buf[len - 1] == '\n') || len + 1 < self->size)
            return (ssize_t)len; /* a whole line, or the last without LF (or a NUL) */
    }
}

/* The next non-blank line, split: its field count, 0 at end of file, or -1
 * with `what` set (I/O error: *failed is set too). */
static int
s_next_fields (mdf_csv_t *self, bool *failed, char *what, size_t whatlen)
{
    *failed = false;
    for (;;) {
        ssize_t got = s_getline (self, what, whatlen);
        if (got <= 0) {
            *failed = got < 0;
            return got < 0 ? -1 : 0;
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
mdf_csv_open (const char *path, const mdf_csv_opts_t *opts, char *err, size_t errlen)
{
    mdf_csv_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (opts)
        self->opts = *opts;
    self->path = strdup (path);
    if (!self->path) {
        snprintf (err, errlen, "%s: out of memory", path);
        mdf_csv_destroy (&self);
        return NULL;
    }
    errno = 0;
    self->gz = gzopen (path, "rb");
    if (!self->gz) {
        snprintf (err, errlen, "%s: %s", path, errno ? strerror (errno) : "cannot open");
        mdf_csv_destroy (&self);
        return NULL;
    }
    gzbuffer (self->gz, 1 << 16);
    char what[512] = "";
    bool failed;
    int n = s_next_fields (self, &failed, what, sizeof what);
    if (n == 0)
        snprintf (what, sizeof what,
                  "empty file (expected a header symbol,ts,open,high,low,close,volume)");
    if (n <= 0 || s_header (&self->opts, self->fields, n, self->col, what, sizeof what) != 0) {
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
    if (s_row (self, n, bar, err, errlen) != 0)
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
    if (self->gz)
        gzclose (self->gz);
    free (self->path);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

/* ---- the whole file, sorted ---- */

static int
s_push (mdf_csv_bars_t *out, const mdf_bar_t *bar, size_t line)
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

typedef struct {
    int64_t ts;
    size_t i; /* the bar's place in the file: ties keep the file's order */
} s_key_t;

static int
s_key_cmp (const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort out by (ts, place in the file); nothing moves in a file in order. */
static int
s_sort (mdf_csv_bars_t *out)
{
    size_t i = 1;
    while (i < out->n && out->bars[i - 1].ts <= out->bars[i].ts)
        i++;
    if (i >= out->n)
        return 0;
    s_key_t *keys = malloc (out->n * sizeof *keys);
    mdf_bar_t *bars = malloc (out->n * sizeof *bars);
    size_t *lines = malloc (out->n * sizeof *lines);
    if (!keys || !bars || !lines) {
        free (keys);
        free (bars);
        free (lines);
        return -1;
    }
    for (i = 0; i < out->n; i++)
        keys[i] = (s_key_t){ out->bars[i].ts, i };
    qsort (keys, out->n, sizeof *keys, s_key_cmp);
    for (i = 0; i < out->n; i++) {
        bars[i] = out->bars[keys[i].i];
        lines[i] = out->lines[keys[i].i];
    }
    free (keys);
    free (out->bars);
    free (out->lines);
    out->bars = bars;
    out->lines = lines;
    out->cap = out->n;
    return 0;
}

int
mdf_csv_load (const char *path, const mdf_csv_opts_t *opts, mdf_csv_bad_row_fn on_bad_row,
              void *arg, mdf_csv_bars_t *out, char *err, size_t errlen)
{
    mdf_csv_t *reader = mdf_csv_open (path, opts, err, errlen);
    if (!reader)
        return -1;
    char what[512] = "";
    mdf_bar_t bar;
    mdf_csv_rc_t rc;
    for (;;) {
        rc = mdf_csv_next (reader, &bar, what, sizeof what);
        if (rc == MDF_CSV_BAR && on_bad_row && mdf_bar_validate (&bar, 0, what, sizeof what) < 0)
            rc = MDF_CSV_BAD_ROW;
        if (rc == MDF_CSV_BAD_ROW && on_bad_row) {
            on_bad_row (arg, mdf_csv_line (reader), what);
            continue;
        }
        if (rc != MDF_CSV_BAR)
            break;
        if (s_push (out, &bar, mdf_csv_line (reader)) != 0) {
            snprintf (what, sizeof what, "out of memory");
            rc = MDF_CSV_FAILED;
            break;
        }
    }
    if (rc == MDF_CSV_END && s_sort (out) != 0) {
        snprintf (what, sizeof what, "out of memory to sort %zu bars", out->n);
        rc = MDF_CSV_FAILED;
    }
    if (rc != MDF_CSV_END) {
        snprintf (err, errlen, "%s:%zu: %s", path, mdf_csv_line (reader), what);
        mdf_csv_bars_clear (out);
    }
    mdf_csv_destroy (&reader);
    return rc == MDF_CSV_END ? 0 : -1;
}

void
mdf_csv_bars_clear (mdf_csv_bars_t *bars)
{
    free (bars->bars);
    free (bars->lines);
    memset (bars, 0, sizeof *bars);
}
