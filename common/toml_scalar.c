/*
 * toml_scalar: numbers and date-times of the TOML reader (see toml.c for the
 * design; hand-written because no C TOML library is packaged for Debian 12).
 *
 * Holds: integers (decimal with single '_' between digits, 0x/0o/0b without a
 * sign, leading zeros refused, overflow of int64 detected), floats (fraction,
 * exponent, inf, nan; a decimal too large for a double is an error), and the
 * four date-time kinds, validated (month length, leap years, offsets) and
 * kept as canonical text.  The scanners work on plain (text, length) so they
 * never read past the document; toml_number and toml_datetime wrap them into
 * nodes.
 */
#include "common/toml_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- scalars */

/* Digits of `base` with single underscores only between digits. */
static bool
s_digits_ok (const char *t, size_t n, int base)
{
    if (n == 0)
        return false;
    for (size_t k = 0; k < n; k++) {
        if (t[k] == '_') {
            if (k == 0 || k + 1 == n || t[k + 1] == '_')
                return false;
        } else if (toml_digit_value (t[k]) < 0 || toml_digit_value (t[k]) >= base)
            return false;
    }
    return true;
}

/* Accumulate digits (underscores skipped) into *out, failing above `limit`. */
static bool
s_accumulate (const char *t, size_t n, int base, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) {
        if (t[k] == '_')
            continue;
        uint64_t d = (uint64_t)toml_digit_value (t[k]);
        if (v > (limit - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}

static size_t
s_span_digits (const char *t, size_t n, size_t k)
{
    while (k < n && (toml_is_digit (t[k]) || t[k] == '_'))
        k++;
    return k;
}

static int
s_scan_prefixed (const char *t, size_t n, int64_t *i, const char **why)
{
    int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    uint64_t v;
    if (!s_digits_ok (t + 2, n - 2, base)) {
        *why = base == 16  ? "invalid hexadecimal integer"
               : base == 8 ? "invalid octal integer"
                           : "invalid binary integer";
        return -1;
    }
    if (!s_accumulate (t + 2, n - 2, base, INT64_MAX, &v)) {
        *why = "integer out of range";
        return -1;
    }
    *i = (int64_t)v;
    return 0;
}

/* Check the shape of a decimal integer or float; sets *is_float. */
static int
s_scan_decimal_shape (const char *t, size_t n, bool *is_float, const char **why)
{
    size_t k = s_span_digits (t, n, 0);
    *why = "invalid number";
    if (!s_digits_ok (t, k, 10))
        return -1;
    if (t[0] == '0' && k > 1) {
        *why = "leading zeros are not allowed";
        return -1;
    }
    *is_float = false;
    if (k < n && t[k] == '.') {
        size_t fs = ++k;
        k = s_span_digits (t, n, k);
        if (!s_digits_ok (t + fs, k - fs, 10))
            return -1;
        *is_float = true;
    }
    if (k < n && (t[k] == 'e' || t[k] == 'E')) {
        k++;
        if (k < n && (t[k] == '+' || t[k] == '-'))
            k++;
        size_t es = k;
        k = s_span_digits (t, n, k);
        if (!s_digits_ok (t + es, k - es, 10))
            return -1;
        *is_float = true;
    }
    return k == n ? 0 : -1;
}

/* A number token: integer (decimal, 0x, 0o, 0b) or float (incl. inf, nan). */
static int
s_scan_number (const char *tok, size_t len, int64_t *i, double *f, bool *is_float, const char **why)
{
    char clean[128];
    const char *t = tok;
    size_t n = len;
    bool sign = n > 0 && (t[0] == '+' || t[0] == '-'), neg = sign && t[0] == '-';
    t += sign;
    n -= sign;
    *is_float = false;
    *why = "expected a value";
    if (n == 0)
        return -1;
    if (n == 3 && (memcmp (t, "inf", 3) == 0 || memcmp (t, "nan", 3) == 0)) {
        *is_float = true;
        *f = t[0] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
        return 0;
    }
    if (n >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
        if (sign) {
            *why = "a sign is not allowed on hexadecimal, octal or binary integers";
            return -1;
        }
        return s_scan_prefixed (t, n, i, why);
    }
    if (s_scan_decimal_shape (t, n, is_float, why))
        return -1;
    if (len >= sizeof clean) {
        *why = "number too long";
        return -1;
    }
    size_t c = 0;
    for (size_t k = 0; k < len; k++)
        if (tok[k] != '_')
            clean[c++] = tok[k];
    clean[c] = '\0';
    if (*is_float) {
        *f = strtod (clean, NULL);
        *why = "float out of range";
        return isinf (*f) ? -1 : 0;
    }
    uint64_t v;
    if (!s_accumulate (t, n, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v)) {
        *why = "integer out of range";
        return -1;
    }
    *i = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* `n` decimal digits at s[at], or -1. */
static int
s_fixed (const char *s, size_t len, size_t at, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (at + k >= len || !toml_is_digit ((unsigned char)s[at + k]))
            return -1;
        v = v * 10 + s[at + k] - '0';
    }
    return v;
}

static int
s_days_in_month (int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return m == 2 && leap ? 29 : days[m - 1];
}

static int
s_scan_date (const char *s, size_t len, const char **why)
{
    int y = s_fixed (s, len, 0, 4), m = s_fixed (s, len, 5, 2), d = s_fixed (s, len, 8, 2);
    if (y < 0 || m < 0 || d < 0 || s[4] != '-' || s[7] != '-') {
        *why = "expected YYYY-MM-DD";
        return -1;
    }
    if (m < 1 || m > 12 || d < 1 || d > s_days_in_month (y, m)) {
        *why = m < 1 || m > 12 ? "month out of range" : "day out of range";
        return -1;
    }
    return 0;
}

/* HH:MM:SS[.frac] at s[k]; copies it to *o and advances both. */
static int
s_scan_time (const char *s, size_t len, size_t *k, char **o, const char **why)
{
    int h = s_fixed (s, len, *k, 2), m = s_fixed (s, len, *k + 3, 2),
        sec = s_fixed (s, len, *k + 6, 2);
    if (h < 0 || m < 0 || s[*k + 2] != ':' || sec < 0 || s[*k + 5] != ':') {
        *why = "expected HH:MM:SS";
        return -1;
    }
    if (h > 23 || m > 59 || sec > 60) {
        *why = "time out of range";
        return -1;
    }
    memcpy (*o, s + *k, 8);
    *o += 8;
    *k += 8;
    if (*k < len && s[*k] == '.') {
        size_t start = ++*k;
        while (*k < len && toml_is_digit ((unsigned char)s[*k]))
            (*k)++;
        if (*k == start) {
            *why = "expected digits after '.'";
            return -1;
        }
        size_t n = *k - start < 30 ? *k - start : 30;
        *(*o)++ = '.';
        memcpy (*o, s + start, n);
        *o += n;
    }
    return 0;
}

static int
s_scan_offset (const char *s, size_t len, size_t *k, char **o, const char **why)
{
    if (s[*k] == 'Z' || s[*k] == 'z') {
        *(*o)++ = 'Z';
        (*k)++;
        return 0;
    }
    int h = s_fixed (s, len, *k + 1, 2), m = s_fixed (s, len, *k + 4, 2);
    if (h < 0 || m < 0 || s[*k + 3] != ':') {
        *why = "expected an offset like +HH:MM";
        return -1;
    }
    if (h > 23 || m > 59) {
        *why = "offset out of range";
        return -1;
    }
    memcpy (*o, s + *k, 6);
    *o += 6;
    *k += 6;
    return 0;
}

/* A date-time of any of the four kinds at the start of s (which starts with
 * "DDDD-" or "DD:"); canonical text into canon[64]. */
static int
s_scan_datetime (const char *s, size_t len, size_t *used, char *canon, mdf_toml_type_t *type,
                 const char **why)
{
    size_t k = 0;
    char *o = canon;
    if (s[2] == ':') {
        *type = MDF_TOML_TIME_LOCAL;
    } else {
        if (s_scan_date (s, len, why))
            return -1;
        memcpy (o, s, 10);
        o += 10;
        k = 10;
        bool t = k < len && (s[k] == 'T' || s[k] == 't');
        bool space
            = k + 3 < len && s[k] == ' ' && s_fixed (s, len, k + 1, 2) >= 0 && s[k + 3] == ':';
        if (!t && !space) {
            *type = MDF_TOML_DATE_LOCAL;
            *o = '\0';
            *used = k;
            return 0;
        }
        *o++ = 'T';
        k++;
        *type = MDF_TOML_DATETIME_LOCAL;
    }
    if (s_scan_time (s, len, &k, &o, why))
        return -1;
    if (*type == MDF_TOML_DATETIME_LOCAL && k < len
        && (s[k] == 'Z' || s[k] == 'z' || s[k] == '+' || s[k] == '-')) {
        if (s_scan_offset (s, len, &k, &o, why))
            return -1;
        *type = MDF_TOML_DATETIME;
    }
    *o = '\0';
    *used = k;
    return 0;
}

int
toml_datetime (parser_t *p, int depth, mdf_toml_t **out)
{
    size_t used;
    char canon[64];
    mdf_toml_type_t type;
    const char *why;
    if (s_scan_datetime (p->s + p->pos, p->len - p->pos, &used, canon, &type, &why))
        return toml_fail (p, p->pos, "invalid date-time: %s", why);
    mdf_toml_t *n = toml_node (p, type, p->pos, depth);
    if (!n)
        return -1;
    n->slen = strlen (canon);
    n->str = toml_strdup (p, canon, n->slen);
    p->pos += used;
    *out = n;
    return n->str ? 0 : -1;
}

int
toml_number (parser_t *p, int depth, mdf_toml_t **out)
{
    size_t start = p->pos;
    while (p->pos < p->len
           && (toml_is_bare (toml_at (p, 0)) || toml_at (p, 0) == '+' || toml_at (p, 0) == '.'))
        p->pos++;
    int64_t i = 0;
    double f = 0;
    bool is_float;
    const char *why;
    if (s_scan_number (p->s + start, p->pos - start, &i, &f, &is_float, &why))
        return toml_fail (p, start, "%s", why);
    mdf_toml_t *n = toml_node (p, is_float ? MDF_TOML_FLOAT : MDF_TOML_INTEGER, start, depth);
    if (!n)
        return -1;
    n->i = i;
    n->f = f;
    *out = n;
    return 0;
}

bool
toml_starts_datetime (const parser_t *p)
{
    for (size_t k = 0; k < 4; k++) {
        if (!toml_is_digit (toml_at (p, k)))
            return k == 2 && toml_at (p, 2) == ':';
    }
    return toml_at (p, 4) == '-';
}
