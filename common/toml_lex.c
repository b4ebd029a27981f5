/*
 * toml_lex: the lexical layer of the TOML reader (see toml.c for the design;
 * hand-written because no C TOML library is packaged for Debian 12).
 *
 * Holds: newlines (LF and CRLF), whitespace, comments (control characters
 * rejected), the UTF-8 check of the whole document and its line index, basic
 * and literal strings, single and multi-line, with every TOML 1.0 escape
 * (\uXXXX and \UXXXXXXXX written out as UTF-8), and bare, quoted and dotted
 * keys.  Strings are built in a growing heap buffer, then copied to the arena.
 */
#include "common/toml_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

/* ---------------------------------------------------------------- buffer */

static int
s_buf_put (parser_t *p, buf_t *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc (b->data, cap);
        if (!d)
            return toml_fail (p, p->pos, "out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- lexing */

int
toml_newline (parser_t *p)
{
    if (toml_at (p, 0) == '\n') {
        p->pos++;
        return 1;
    }
    if (toml_at (p, 0) == '\r' && toml_at (p, 1) == '\n') {
        p->pos += 2;
        return 1;
    }
    return 0;
}

void
toml_skip_ws (parser_t *p)
{
    while (toml_at (p, 0) == ' ' || toml_at (p, 0) == '\t')
        p->pos++;
}

/* Skip a comment if one starts here, checking its characters. */
int
toml_skip_comment (parser_t *p)
{
    if (toml_at (p, 0) != '#')
        return 0;
    for (p->pos++; p->pos < p->len; p->pos++) {
        int c = toml_at (p, 0);
        if (c == '\n' || (c == '\r' && toml_at (p, 1) == '\n'))
            break;
        if (toml_is_control (c))
            return toml_fail (p, p->pos, "control character 0x%02X in comment", c);
    }
    return 0;
}

/* Whitespace, comments and newlines (inside arrays). */
int
toml_skip_all (parser_t *p)
{
    for (;;) {
        toml_skip_ws (p);
        if (toml_skip_comment (p))
            return -1;
        if (!toml_newline (p))
            return 0;
    }
}

int
toml_check_utf8 (parser_t *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    for (size_t i = 0; i < p->len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > p->len)
            return toml_fail (p, i, "invalid UTF-8");
        uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return toml_fail (p, i, "invalid UTF-8");
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return toml_fail (p, i, "invalid UTF-8");
        i += n;
    }
    return 0;
}

int
toml_index_lines (parser_t *p)
{
    size_t n = 1;
    for (size_t i = 0; i < p->len; i++)
        n += p->s[i] == '\n';
    p->lines = malloc (n * sizeof *p->lines);
    if (!p->lines)
        return -1;
    p->nlines = 0;
    p->lines[p->nlines++] = 0;
    for (size_t i = 0; i < p->len; i++)
        if (p->s[i] == '\n')
            p->lines[p->nlines++] = i + 1;
    return 0;
}

/* ---------------------------------------------------------------- strings */

static int
s_put_utf8 (parser_t *p, buf_t *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return s_buf_put (p, b, out, n);
}

/* At a backslash inside a basic string: decode one escape. */
static int
s_escape (parser_t *p, buf_t *b)
{
    size_t start = p->pos;
    int c = toml_at (p, 1);
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *hit = c > 0 ? strchr (from, c) : NULL;
    if (hit) {
        p->pos += 2;
        return s_buf_put (p, b, &to[hit - from], 1);
    }
    if (c != 'u' && c != 'U')
        return toml_fail (p, start, "invalid escape sequence in string");
    size_t n = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t k = 0; k < n; k++) {
        int h = toml_at (p, 2 + k);
        int v = toml_digit_value (h);
        if (v < 0)
            return toml_fail (p, start, "\\%c escape needs %zu hex digits", c, n);
        cp = cp * 16 + (uint32_t)v;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return toml_fail (p, start, "escape is not a Unicode scalar value");
    p->pos += 2 + n;
    return s_put_utf8 (p, b, cp);
}

/* Backslash at the end of a line in a multi-line basic string: skip the
 * newline and all whitespace and newlines after it. */
static int
s_line_ending_backslash (parser_t *p)
{
    size_t start = p->pos++;
    toml_skip_ws (p);
    if (!toml_newline (p))
        return toml_fail (p, start, "invalid escape sequence in string");
    for (;;) {
        toml_skip_ws (p);
        if (!toml_newline (p))
            return 0;
    }
}

/* Parse a string of either quote kind; `p->pos` is at the opening quote. */
int
toml_string (parser_t *p, char **out, size_t *outlen)
{
    size_t start = p->pos;
    char q = p->s[p->pos];
    bool multi = toml_at (p, 1) == q && toml_at (p, 2) == q;
    bool basic = q == '"';
    buf_t b = { 0 };
    p->pos += multi ? 3 : 1;
    if (multi)
        toml_newline (p);
    int rc = 0;
    for (;;) {
        int c = toml_at (p, 0);
        if (c < 0 || (!multi && (c == '\n' || c == '\r'))) {
            rc = toml_fail (p, start, "unterminated string");
            break;
        }
        if (c == q) {
            size_t n = 1;
            while (toml_at (p, n) == q)
                n++;
            if (!multi) {
                p->pos++;
                break;
            }
            if (n >= 3) {
                if (n > 5) {
                    rc = toml_fail (p, p->pos, "too many quotes at end of string");
                    break;
                }
                rc = s_buf_put (p, &b, p->s + p->pos, n - 3);
                p->pos += n;
                break;
            }
            rc = s_buf_put (p, &b, p->s + p->pos, n);
            p->pos += n;
        } else if (c == '\\' && basic) {
            int d = toml_at (p, 1);
            if (multi && (d == ' ' || d == '\t' || d == '\n' || d == '\r'))
                rc = s_line_ending_backslash (p);
            else
                rc = s_escape (p, &b);
        } else if (multi && toml_newline (p)) {
            rc = s_buf_put (p, &b, "\n", 1);
        } else if (toml_is_control (c)) {
            rc = toml_fail (p, p->pos, "control character 0x%02X in string", c);
        } else {
            rc = s_buf_put (p, &b, p->s + p->pos, 1);
            p->pos++;
        }
        if (rc)
            break;
    }
    if (rc == 0) {
        *out = toml_strdup (p, b.data ? b.data : "", b.len);
        *outlen = b.len;
        rc = *out ? 0 : -1;
    }
    free (b.data);
    return rc;
}

/* ---------------------------------------------------------------- keys */

static int
s_key_part (parser_t *p, keypart_t *k)
{
    k->pos = p->pos;
    int c = toml_at (p, 0);
    if (c == '"' || c == '\'') {
        if (toml_at (p, 1) == c && toml_at (p, 2) == c)
            return toml_fail (p, p->pos, "multi-line strings cannot be keys");
        return toml_string (p, &k->s, &k->len);
    }
    size_t start = p->pos;
    while (toml_is_bare (toml_at (p, 0)))
        p->pos++;
    if (p->pos == start)
        return toml_fail (p, start, "expected a key");
    k->len = p->pos - start;
    k->s = toml_strdup (p, p->s + start, k->len);
    return k->s ? 0 : -1;
}

/* A possibly dotted key; fills up to MAX_KEY_PARTS parts. */
int
toml_key (parser_t *p, keypart_t *parts, size_t *n)
{
    *n = 0;
    for (;;) {
        if (*n == MAX_KEY_PARTS)
            return toml_fail (p, p->pos, "key has more than %d parts", MAX_KEY_PARTS);
        if (s_key_part (p, &parts[(*n)++]))
            return -1;
        toml_skip_ws (p);
        if (toml_at (p, 0) != '.')
            return 0;
        p->pos++;
        toml_skip_ws (p);
    }
}
