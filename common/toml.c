/*
 * toml: a small TOML 1.0.0 reader.
 *
 * Design.  The whole document is first checked to be valid UTF-8 (and a line
 * index is built so any byte offset maps to LINE:COL), then parsed by a
 * recursive-descent parser straight into the tree.  Every node, key and string
 * of a tree lives in one arena owned by the root, so a failed parse frees
 * everything at once and destroying a tree is not recursive.  Recursion in the
 * parser is bounded: no node may sit deeper than MAX_DEPTH (128) levels below
 * the root, so hostile input cannot exhaust the stack.
 *
 * Redefinition rules (TOML 1.0 "Table" section), kept as flags on tables:
 *   DEFINED  made by a [header] (or an [[array]] element): a second header for
 *            it, or dotted keys reaching into it from elsewhere, are errors;
 *   IMPLICIT made as a parent by a header ([a.b] makes a): may be defined later;
 *   DOTTED   made by dotted keys (a.b = 1): cannot be given a [header] later,
 *            though sub-tables may be added below it by headers;
 *   SEALED   an inline table (and the tables inside it): closed for good.
 * Arrays made by a literal [..] are STATIC and cannot be appended to by [[..]].
 *
 * Supported: all of TOML 1.0.0: tables, arrays of tables, dotted and quoted
 * keys, inline tables, basic/literal strings (single and multi-line) with all
 * escapes (\uXXXX and \UXXXXXXXX as UTF-8), integers (decimal with '_', hex,
 * octal, binary, overflow detected), floats (exponents, inf, nan), booleans,
 * arrays of mixed types, comments, CRLF, UTF-8 validation (BOM skipped), and
 * date-times of the four kinds, validated (day of month, leap years, offsets)
 * and kept as canonical text ('T' and 'Z' upper-case, ' ' separator -> 'T',
 * fractional seconds as written).  Not supported: TOML 1.1 additions (\e, \xHH,
 * newlines in inline tables, optional seconds); they are rejected as 1.0 says.
 *
 * Conformance (tests/unit/common/test_toml.c against toml-test's
 * files-toml-1.0.0 list): valid accepted 210/210 with the expected values,
 * invalid rejected 499/499, skipped 0.  Unsupported families: none.
 *
 * Errors are "NAME:LINE:COL: message"; LINE and COL are 1-based, COL counts
 * characters (UTF-8 code points), not bytes.  A decimal float too large for a
 * double (1e400) is an error rather than a silent inf.
 *
 * Cost stays linear on hostile input: tables of more than 8 keys get a hash
 * index, and node positions along one long line are computed incrementally.
 */
#include "common/toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 128
#define MAX_KEY_PARTS 128

enum { F_DEFINED = 1, F_IMPLICIT = 2, F_DOTTED = 4, F_SEALED = 8, F_STATIC = 16 };

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[];
} arena_block_t;

struct _mdf_toml_t {
    mdf_toml_type_t type;
    int line, column;
    int depth;
    unsigned flags;
    size_t len, cap;
    char **keys;       /* table: keys (NUL-terminated; may hold NUL bytes) */
    size_t *klens;     /* table: key byte lengths */
    mdf_toml_t **vals; /* table values, array elements */
    size_t *index;     /* table: open-addressing hash of entry i+1 (big tables) */
    size_t icap;       /* slots in index, a power of two, or 0 */
    char *str;         /* string or datetime text */
    size_t slen;
    int64_t i;
    double f;
    bool b;
    arena_block_t *arena; /* root only */
};

typedef struct {
    char *s;
    size_t len;
    size_t pos; /* where the key part starts */
} keypart_t;

typedef struct {
    const char *s;
    size_t len, pos;
    const char *name;
    size_t *lines; /* byte offset where each line starts */
    size_t nlines;
    size_t cache_line, cache_pos; /* last s_position answer */
    int cache_col;
    arena_block_t *arena;
    char *err;
    size_t errlen;
    bool failed;
    mdf_toml_t *root, *cur;
    keypart_t parts[MAX_KEY_PARTS]; /* the key being parsed: shared, not on the stack,
                                       since values (and so keys) nest 128 deep */
} parser_t;

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

/* ---------------------------------------------------------------- helpers */

/* LINE:COL of byte `pos`.  Columns count code points from the line start;
 * the last answer is cached so positions along one long line cost O(1) each. */
static void
s_position (parser_t *p, size_t pos, int *line, int *col)
{
    size_t lo = 0, hi = p->nlines;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->lines[mid] <= pos)
            lo = mid;
        else
            hi = mid;
    }
    size_t from = p->lines[lo];
    int c = 1;
    if (p->cache_line == lo && p->cache_pos <= pos && p->cache_pos >= from) {
        from = p->cache_pos;
        c = p->cache_col;
    }
    for (size_t i = from; i < pos && i < p->len; i++)
        if (((unsigned char)p->s[i] & 0xC0) != 0x80)
            c++;
    p->cache_line = lo;
    p->cache_pos = pos;
    p->cache_col = c;
    *line = (int)lo + 1;
    *col = c;
}

static int s_fail (parser_t *p, size_t pos, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (parser_t *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    if (!p->err || p->errlen == 0)
        return -1;
    int line, col;
    s_position (p, pos, &line, &col);
    int n = snprintf (p->err, p->errlen, "%s:%d:%d: ", p->name, line, col);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

static void *
s_alloc (parser_t *p, size_t size)
{
    size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t) * sizeof (max_align_t);
    arena_block_t *b = p->arena;
    if (!b || b->size - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc (sizeof (arena_block_t) + cap);
        if (!b) {
            s_fail (p, p->pos, "out of memory");
            return NULL;
        }
        b->size = cap;
        b->used = 0;
        b->next = p->arena;
        p->arena = b;
    }
    void *ptr = (char *)b->data + b->used;
    b->used += size;
    memset (ptr, 0, size);
    return ptr;
}

static void
s_arena_free (arena_block_t *b)
{
    while (b) {
        arena_block_t *next = b->next;
        free (b);
        b = next;
    }
}

static int
s_at (const parser_t *p, size_t k)
{
    return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1;
}

static bool
s_is_digit (int c)
{
    return c >= '0' && c <= '9';
}

static bool
s_is_bare (int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || s_is_digit (c) || c == '_'
           || c == '-';
}

static bool
s_is_control (int c)
{
    return (c < 0x20 && c != '\t') || c == 0x7F;
}

static int
s_buf_put (parser_t *p, buf_t *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc (b->data, cap);
        if (!d)
            return s_fail (p, p->pos, "out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static char *
s_strdup (parser_t *p, const char *data, size_t n)
{
    char *s = s_alloc (p, n + 1);
    if (s && n)
        memcpy (s, data, n);
    return s;
}

/* ---------------------------------------------------------------- nodes */

static mdf_toml_t *
s_node (parser_t *p, mdf_toml_type_t type, size_t pos, int depth)
{
    if (depth > MAX_DEPTH) {
        s_fail (p, pos, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    mdf_toml_t *n = s_alloc (p, sizeof (mdf_toml_t));
    if (!n)
        return NULL;
    n->type = type;
    n->depth = depth;
    s_position (p, pos, &n->line, &n->column);
    return n;
}

static int
s_grow (parser_t *p, mdf_toml_t *n, bool with_keys)
{
    if (n->len < n->cap)
        return 0;
    size_t cap = n->cap ? n->cap * 2 : 4;
    mdf_toml_t **vals = s_alloc (p, cap * sizeof *vals);
    if (!vals)
        return -1;
    if (n->len)
        memcpy (vals, n->vals, n->len * sizeof *vals);
    n->vals = vals;
    if (with_keys) {
        char **keys = s_alloc (p, cap * sizeof *keys);
        size_t *klens = s_alloc (p, cap * sizeof *klens);
        if (!keys || !klens)
            return -1;
        if (n->len) {
            memcpy (keys, n->keys, n->len * sizeof *keys);
            memcpy (klens, n->klens, n->len * sizeof *klens);
        }
        n->keys = keys;
        n->klens = klens;
    }
    n->cap = cap;
    return 0;
}

static size_t
s_hash (const char *key, size_t klen)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    return (size_t)h;
}

static mdf_toml_t *
s_find (const mdf_toml_t *t, const char *key, size_t klen)
{
    if (t->index) {
        size_t mask = t->icap - 1;
        for (size_t i = s_hash (key, klen) & mask; t->index[i]; i = (i + 1) & mask) {
            size_t e = t->index[i] - 1;
            if (t->klens[e] == klen && memcmp (t->keys[e], key, klen) == 0)
                return t->vals[e];
        }
        return NULL;
    }
    for (size_t i = 0; i < t->len; i++)
        if (t->klens[i] == klen && memcmp (t->keys[i], key, klen) == 0)
            return t->vals[i];
    return NULL;
}

static void
s_index_put (mdf_toml_t *t, size_t e)
{
    size_t mask = t->icap - 1, i = s_hash (t->keys[e], t->klens[e]) & mask;
    while (t->index[i])
        i = (i + 1) & mask;
    t->index[i] = e + 1;
}

/* Keep a hash index for tables with more than 8 keys (load factor <= 1/2), so
 * lookups stay O(1) however many keys a hostile document has. */
static int
s_index_last (parser_t *p, mdf_toml_t *t)
{
    if (t->len <= 8)
        return 0;
    if (t->len * 2 <= t->icap) {
        s_index_put (t, t->len - 1);
        return 0;
    }
    size_t cap = t->icap ? t->icap * 2 : 32;
    size_t *index = s_alloc (p, cap * sizeof *index);
    if (!index)
        return -1;
    t->index = index;
    t->icap = cap;
    for (size_t e = 0; e < t->len; e++)
        s_index_put (t, e);
    return 0;
}

static int
s_table_add (parser_t *p, mdf_toml_t *t, const keypart_t *k, mdf_toml_t *v)
{
    if (s_grow (p, t, true))
        return -1;
    t->keys[t->len] = k->s;
    t->klens[t->len] = k->len;
    t->vals[t->len++] = v;
    return s_index_last (p, t);
}

static int
s_array_push (parser_t *p, mdf_toml_t *a, mdf_toml_t *v)
{
    if (s_grow (p, a, false))
        return -1;
    a->vals[a->len++] = v;
    return 0;
}

/* Make a new table under `parent` at key `k` with `flags`. */
static mdf_toml_t *
s_new_table (parser_t *p, mdf_toml_t *parent, const keypart_t *k, unsigned flags)
{
    mdf_toml_t *t = s_node (p, MDF_TOML_TABLE, k->pos, parent->depth + 1);
    if (!t)
        return NULL;
    t->flags = flags;
    return s_table_add (p, parent, k, t) ? NULL : t;
}

/* ---------------------------------------------------------------- lexing */

static int
s_newline (parser_t *p)
{
    if (s_at (p, 0) == '\n') {
        p->pos++;
        return 1;
    }
    if (s_at (p, 0) == '\r' && s_at (p, 1) == '\n') {
        p->pos += 2;
        return 1;
    }
    return 0;
}

static void
s_skip_ws (parser_t *p)
{
    while (s_at (p, 0) == ' ' || s_at (p, 0) == '\t')
        p->pos++;
}

/* Skip a comment if one starts here, checking its characters. */
static int
s_skip_comment (parser_t *p)
{
    if (s_at (p, 0) != '#')
        return 0;
    for (p->pos++; p->pos < p->len; p->pos++) {
        int c = s_at (p, 0);
        if (c == '\n' || (c == '\r' && s_at (p, 1) == '\n'))
            break;
        if (s_is_control (c))
            return s_fail (p, p->pos, "control character 0x%02X in comment", c);
    }
    return 0;
}

/* Whitespace, comments and newlines (inside arrays). */
static int
s_skip_all (parser_t *p)
{
    for (;;) {
        s_skip_ws (p);
        if (s_skip_comment (p))
            return -1;
        if (!s_newline (p))
            return 0;
    }
}

static int
s_check_utf8 (parser_t *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    for (size_t i = 0; i < p->len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > p->len)
            return s_fail (p, i, "invalid UTF-8");
        uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return s_fail (p, i, "invalid UTF-8");
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return s_fail (p, i, "invalid UTF-8");
        i += n;
    }
    return 0;
}

static int
s_index_lines (parser_t *p)
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
    int c = s_at (p, 1);
    static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
    const char *hit = c > 0 ? strchr (from, c) : NULL;
    if (hit) {
        p->pos += 2;
        return s_buf_put (p, b, &to[hit - from], 1);
    }
    if (c != 'u' && c != 'U')
        return s_fail (p, start, "invalid escape sequence in string");
    size_t n = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t k = 0; k < n; k++) {
        int h = s_at (p, 2 + k);
        int v = s_is_digit (h)           ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (v < 0)
            return s_fail (p, start, "\\%c escape needs %zu hex digits", c, n);
        cp = cp * 16 + (uint32_t)v;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return s_fail (p, start, "escape is not a Unicode scalar value");
    p->pos += 2 + n;
    return s_put_utf8 (p, b, cp);
}

/* Backslash at the end of a line in a multi-line basic string: skip the
 * newline and all whitespace and newlines after it. */
static int
s_line_ending_backslash (parser_t *p)
{
    size_t start = p->pos++;
    s_skip_ws (p);
    if (!s_newline (p))
        return s_fail (p, start, "invalid escape sequence in string");
    for (;;) {
        s_skip_ws (p);
        if (!s_newline (p))
            return 0;
    }
}

/* Parse a string of either quote kind; `p->pos` is at the opening quote. */
static int
s_string (parser_t *p, char **out, size_t *outlen)
{
    size_t start = p->pos;
    char q = p->s[p->pos];
    bool multi = s_at (p, 1) == q && s_at (p, 2) == q;
    bool basic = q == '"';
    buf_t b = { 0 };
    p->pos += multi ? 3 : 1;
    if (multi)
        s_newline (p);
    int rc = 0;
    for (;;) {
        int c = s_at (p, 0);
        if (c < 0 || (!multi && (c == '\n' || c == '\r'))) {
            rc = s_fail (p, start, "unterminated string");
            break;
        }
        if (c == q) {
            size_t n = 1;
            while (s_at (p, n) == q)
                n++;
            if (!multi) {
                p->pos++;
                break;
            }
            if (n >= 3) {
                if (n > 5) {
                    rc = s_fail (p, p->pos, "too many quotes at end of string");
                    break;
                }
                rc = s_buf_put (p, &b, p->s + p->pos, n - 3);
                p->pos += n;
                break;
            }
            rc = s_buf_put (p, &b, p->s + p->pos, n);
            p->pos += n;
        } else if (c == '\\' && basic) {
            int d = s_at (p, 1);
            if (multi && (d == ' ' || d == '\t' || d == '\n' || d == '\r'))
                rc = s_line_ending_backslash (p);
            else
                rc = s_escape (p, &b);
        } else if (multi && s_newline (p)) {
            rc = s_buf_put (p, &b, "\n", 1);
        } else if (s_is_control (c)) {
            rc = s_fail (p, p->pos, "control character 0x%02X in string", c);
        } else {
            rc = s_buf_put (p, &b, p->s + p->pos, 1);
            p->pos++;
        }
        if (rc)
            break;
    }
    if (rc == 0) {
        *out = s_strdup (p, b.data ? b.data : "", b.len);
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
    int c = s_at (p, 0);
    if (c == '"' || c == '\'') {
        if (s_at (p, 1) == c && s_at (p, 2) == c)
            return s_fail (p, p->pos, "multi-line strings cannot be keys");
        return s_string (p, &k->s, &k->len);
    }
    size_t start = p->pos;
    while (s_is_bare (s_at (p, 0)))
        p->pos++;
    if (p->pos == start)
        return s_fail (p, start, "expected a key");
    k->len = p->pos - start;
    k->s = s_strdup (p, p->s + start, k->len);
    return k->s ? 0 : -1;
}

/* A possibly dotted key; fills up to MAX_KEY_PARTS parts. */
static int
s_key (parser_t *p, keypart_t *parts, size_t *n)
{
    *n = 0;
    for (;;) {
        if (*n == MAX_KEY_PARTS)
            return s_fail (p, p->pos, "key has more than %d parts", MAX_KEY_PARTS);
        if (s_key_part (p, &parts[(*n)++]))
            return -1;
        s_skip_ws (p);
        if (s_at (p, 0) != '.')
            return 0;
        p->pos++;
        s_skip_ws (p);
    }
}

/* ---------------------------------------------------------------- values */

/* ---------------------------------------------------------------- scalars */

static int
s_digit_value (int c)
{
    return s_is_digit (c)           ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

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
        } else if (s_digit_value (t[k]) < 0 || s_digit_value (t[k]) >= base)
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
        uint64_t d = (uint64_t)s_digit_value (t[k]);
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
    while (k < n && (s_is_digit (t[k]) || t[k] == '_'))
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
        if (at + k >= len || !s_is_digit ((unsigned char)s[at + k]))
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
        while (*k < len && s_is_digit ((unsigned char)s[*k]))
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

static int s_value (parser_t *p, int depth, mdf_toml_t **out);

static int
s_datetime (parser_t *p, int depth, mdf_toml_t **out)
{
    size_t used;
    char canon[64];
    mdf_toml_type_t type;
    const char *why;
    if (s_scan_datetime (p->s + p->pos, p->len - p->pos, &used, canon, &type, &why))
        return s_fail (p, p->pos, "invalid date-time: %s", why);
    mdf_toml_t *n = s_node (p, type, p->pos, depth);
    if (!n)
        return -1;
    n->slen = strlen (canon);
    n->str = s_strdup (p, canon, n->slen);
    p->pos += used;
    *out = n;
    return n->str ? 0 : -1;
}

static int
s_number (parser_t *p, int depth, mdf_toml_t **out)
{
    size_t start = p->pos;
    while (p->pos < p->len && (s_is_bare (s_at (p, 0)) || s_at (p, 0) == '+' || s_at (p, 0) == '.'))
        p->pos++;
    int64_t i = 0;
    double f = 0;
    bool is_float;
    const char *why;
    if (s_scan_number (p->s + start, p->pos - start, &i, &f, &is_float, &why))
        return s_fail (p, start, "%s", why);
    mdf_toml_t *n = s_node (p, is_float ? MDF_TOML_FLOAT : MDF_TOML_INTEGER, start, depth);
    if (!n)
        return -1;
    n->i = i;
    n->f = f;
    *out = n;
    return 0;
}

static int
s_array (parser_t *p, int depth, mdf_toml_t **out)
{
    mdf_toml_t *a = s_node (p, MDF_TOML_ARRAY, p->pos, depth);
    if (!a)
        return -1;
    a->flags = F_STATIC;
    p->pos++;
    for (;;) {
        if (s_skip_all (p))
            return -1;
        if (s_at (p, 0) == ']')
            break;
        mdf_toml_t *v;
        if (s_value (p, depth + 1, &v) || s_array_push (p, a, v) || s_skip_all (p))
            return -1;
        if (s_at (p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (s_at (p, 0) == ']')
            break;
        return s_fail (p, p->pos,
                       s_at (p, 0) < 0 ? "unterminated array (opened at %d:%d)"
                                       : "expected ',' or ']' in array",
                       a->line, a->column);
    }
    p->pos++;
    *out = a;
    return 0;
}

static int s_keyval (parser_t *p, mdf_toml_t *table);

static void
s_seal (mdf_toml_t *t)
{
    t->flags |= F_SEALED;
    for (size_t i = 0; i < t->len; i++)
        if (t->vals[i]->type == MDF_TOML_TABLE && !(t->vals[i]->flags & F_SEALED))
            s_seal (t->vals[i]);
}

static int
s_inline_table (parser_t *p, int depth, mdf_toml_t **out)
{
    mdf_toml_t *t = s_node (p, MDF_TOML_TABLE, p->pos, depth);
    if (!t)
        return -1;
    p->pos++;
    s_skip_ws (p);
    if (s_at (p, 0) != '}') {
        for (;;) {
            s_skip_ws (p);
            if (s_keyval (p, t))
                return -1;
            s_skip_ws (p);
            if (s_at (p, 0) == '}')
                break;
            if (s_at (p, 0) != ',')
                return s_fail (p, p->pos, "expected ',' or '}' in inline table");
            p->pos++;
            s_skip_ws (p);
            if (s_at (p, 0) == '}')
                return s_fail (p, p->pos, "trailing comma in inline table");
        }
    }
    p->pos++;
    s_seal (t);
    *out = t;
    return 0;
}

static bool
s_starts_datetime (const parser_t *p)
{
    for (size_t k = 0; k < 4; k++) {
        if (!s_is_digit (s_at (p, k)))
            return k == 2 && s_at (p, 2) == ':';
    }
    return s_at (p, 4) == '-';
}

static int
s_value (parser_t *p, int depth, mdf_toml_t **out)
{
    int c = s_at (p, 0);
    if (c == '"' || c == '\'') {
        mdf_toml_t *n = s_node (p, MDF_TOML_STRING, p->pos, depth);
        *out = n;
        return n ? s_string (p, &n->str, &n->slen) : -1;
    }
    if (c == '[')
        return s_array (p, depth, out);
    if (c == '{')
        return s_inline_table (p, depth, out);
    if (c == 't' || c == 'f') {
        bool t = c == 't';
        const char *word = t ? "true" : "false";
        if (p->len - p->pos < strlen (word) || memcmp (p->s + p->pos, word, strlen (word)))
            return s_fail (p, p->pos, "expected a value");
        mdf_toml_t *n = s_node (p, MDF_TOML_BOOL, p->pos, depth);
        if (!n)
            return -1;
        n->b = t;
        p->pos += strlen (word);
        *out = n;
        return 0;
    }
    if (s_is_digit (c) && s_starts_datetime (p))
        return s_datetime (p, depth, out);
    if (s_is_digit (c) || c == '+' || c == '-' || c == 'i' || c == 'n')
        return s_number (p, depth, out);
    return s_fail (p, p->pos,
                   c < 0                    ? "expected a value, found end of input"
                   : c == '\n' || c == '\r' ? "expected a value after '='"
                                            : "expected a value");
}

/* ---------------------------------------------------------------- tables */

/* key = value into `table`, creating the tables of a dotted key. */
static int
s_keyval (parser_t *p, mdf_toml_t *table)
{
    keypart_t *parts = p->parts;
    size_t n;
    if (s_key (p, parts, &n))
        return -1;
    if (s_at (p, 0) != '=')
        return s_fail (p, p->pos, "expected '=' after key");
    p->pos++;
    s_skip_ws (p);
    mdf_toml_t *t = table;
    for (size_t i = 0; i + 1 < n; i++) {
        mdf_toml_t *v = s_find (t, parts[i].s, parts[i].len);
        if (!v)
            v = s_new_table (p, t, &parts[i], F_DOTTED);
        else if (v->type != MDF_TOML_TABLE || (v->flags & (F_DEFINED | F_SEALED)))
            return s_fail (p, parts[i].pos, "cannot add keys to '%s' here: already defined",
                           parts[i].s);
        if (!v)
            return -1;
        t = v;
    }
    const keypart_t last = parts[n - 1]; /* copied: s_value reuses p->parts */
    if (s_find (t, last.s, last.len))
        return s_fail (p, last.pos, "duplicate key '%s'", last.s);
    mdf_toml_t *v;
    if (s_value (p, t->depth + 1, &v))
        return -1;
    return s_table_add (p, t, &last, v);
}

/* Walk one header key part down from `t`. */
static mdf_toml_t *
s_header_step (parser_t *p, mdf_toml_t *t, const keypart_t *k)
{
    mdf_toml_t *v = s_find (t, k->s, k->len);
    if (!v)
        return s_new_table (p, t, k, F_IMPLICIT);
    if (v->type == MDF_TOML_ARRAY && !(v->flags & F_STATIC) && v->len)
        v = v->vals[v->len - 1];
    if (v->type != MDF_TOML_TABLE || (v->flags & F_SEALED)) {
        s_fail (p, k->pos, "'%s' is already defined as %s", k->s,
                v->type == MDF_TOML_TABLE ? "an inline table" : mdf_toml_type_name (v->type));
        return NULL;
    }
    return v;
}

static int
s_header (parser_t *p)
{
    size_t start = p->pos;
    bool aot = s_at (p, 1) == '[';
    p->pos += aot ? 2 : 1;
    s_skip_ws (p);
    keypart_t *parts = p->parts;
    size_t n;
    if (s_key (p, parts, &n))
        return -1;
    if (s_at (p, 0) != ']' || (aot && s_at (p, 1) != ']'))
        return s_fail (p, p->pos, "expected '%s' to close the table header", aot ? "]]" : "]");
    p->pos += aot ? 2 : 1;
    mdf_toml_t *t = p->root;
    for (size_t i = 0; i + 1 < n && t; i++)
        t = s_header_step (p, t, &parts[i]);
    if (!t)
        return -1;
    const keypart_t *k = &parts[n - 1];
    mdf_toml_t *v = s_find (t, k->s, k->len);
    if (aot) {
        if (!v) {
            v = s_node (p, MDF_TOML_ARRAY, k->pos, t->depth + 1);
            if (!v || s_table_add (p, t, k, v))
                return -1;
        } else if (v->type != MDF_TOML_ARRAY || (v->flags & F_STATIC))
            return s_fail (p, k->pos, "cannot append to '%s': not an array of tables", k->s);
        mdf_toml_t *e = s_node (p, MDF_TOML_TABLE, start, v->depth + 1);
        if (!e || s_array_push (p, v, e))
            return -1;
        e->flags = F_DEFINED;
        p->cur = e;
        return 0;
    }
    if (!v) {
        v = s_new_table (p, t, k, F_DEFINED);
        if (!v)
            return -1;
    } else if (v->type == MDF_TOML_TABLE && (v->flags & F_IMPLICIT) && !(v->flags & F_DEFINED)) {
        v->flags |= F_DEFINED;
        s_position (p, start, &v->line, &v->column);
    } else
        return s_fail (p, k->pos, "table '%s' is already defined", k->s);
    p->cur = v;
    return 0;
}

/* One line of the document: blank, comment, header or key = value. */
static int
s_line (parser_t *p)
{
    s_skip_ws (p);
    int c = s_at (p, 0);
    if (c == '[') {
        if (s_header (p))
            return -1;
    } else if (c != '#' && c != '\n' && c != '\r' && c >= 0) {
        if (s_keyval (p, p->cur))
            return -1;
    }
    s_skip_ws (p);
    if (s_skip_comment (p))
        return -1;
    if (p->pos < p->len && !s_newline (p))
        return s_fail (p, p->pos,
                       s_at (p, 0) == '\r' ? "carriage return without line feed"
                                           : "expected a newline after the value");
    return 0;
}

/* ---------------------------------------------------------------- public */

mdf_toml_t *
mdf_toml_parse (const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    parser_t p = { .s = text,
                   .len = len,
                   .name = name ? name : "<toml>",
                   .err = err,
                   .cache_col = 1,
                   .errlen = errlen };
    if (err && errlen)
        err[0] = '\0';
    if (s_index_lines (&p)) {
        if (err && errlen)
            snprintf (err, errlen, "%s: out of memory", p.name);
        return NULL;
    }
    if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    p.root = s_check_utf8 (&p) ? NULL : s_node (&p, MDF_TOML_TABLE, 0, 0);
    if (p.root) {
        p.root->flags = F_DEFINED;
        p.cur = p.root;
        while (p.pos < p.len && !p.failed)
            s_line (&p);
    }
    free (p.lines);
    if (p.failed) {
        s_arena_free (p.arena);
        return NULL;
    }
    p.root->arena = p.arena;
    return p.root;
}

mdf_toml_t *
mdf_toml_parse_file (const char *path, char *err, size_t errlen)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return NULL;
    }
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *d = realloc (data, cap);
            if (!d)
                break;
            data = d;
        }
        size_t n = fread (data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror (f) || (len == cap && !feof (f));
    int saved = errno;
    fclose (f);
    if (failed) {
        snprintf (err, errlen, "%s: %s", path, strerror (saved ? saved : EIO));
        free (data);
        return NULL;
    }
    mdf_toml_t *root = mdf_toml_parse (data ? data : "", len, path, err, errlen);
    free (data);
    return root;
}

void
mdf_toml_destroy (mdf_toml_t **root_p)
{
    if (!root_p || !*root_p)
        return;
    s_arena_free ((*root_p)->arena);
    *root_p = NULL;
}

mdf_toml_type_t
mdf_toml_type (const mdf_toml_t *node)
{
    return node->type;
}

const char *
mdf_toml_type_name (mdf_toml_type_t type)
{
    static const char *names[]
        = { "table",   "array",    "string",         "integer",    "float",
            "boolean", "datetime", "local datetime", "local date", "local time" };
    return (size_t)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

int
mdf_toml_line (const mdf_toml_t *node)
{
    return node->line;
}
int
mdf_toml_column (const mdf_toml_t *node)
{
    return node->column;
}

size_t
mdf_toml_len (const mdf_toml_t *node)
{
    return node->type == MDF_TOML_TABLE || node->type == MDF_TOML_ARRAY ? node->len : 0;
}

const char *
mdf_toml_key_at (const mdf_toml_t *table, size_t i)
{
    return table->type == MDF_TOML_TABLE && i < table->len ? table->keys[i] : NULL;
}

size_t
mdf_toml_key_len_at (const mdf_toml_t *table, size_t i)
{
    return table->type == MDF_TOML_TABLE && i < table->len ? table->klens[i] : 0;
}

const mdf_toml_t *
mdf_toml_value_at (const mdf_toml_t *table, size_t i)
{
    return table->type == MDF_TOML_TABLE && i < table->len ? table->vals[i] : NULL;
}

const mdf_toml_t *
mdf_toml_at (const mdf_toml_t *array, size_t i)
{
    return array->type == MDF_TOML_ARRAY && i < array->len ? array->vals[i] : NULL;
}

const mdf_toml_t *
mdf_toml_get (const mdf_toml_t *table, const char *key)
{
    return table && table->type == MDF_TOML_TABLE ? s_find (table, key, strlen (key)) : NULL;
}

const char *
mdf_toml_string (const mdf_toml_t *node)
{
    return node->str ? node->str : "";
}
size_t
mdf_toml_string_len (const mdf_toml_t *node)
{
    return node->slen;
}
int64_t
mdf_toml_int (const mdf_toml_t *node)
{
    return node->i;
}
double
mdf_toml_float (const mdf_toml_t *node)
{
    return node->f;
}
bool
mdf_toml_bool (const mdf_toml_t *node)
{
    return node->b;
}
