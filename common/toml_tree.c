/*
 * toml_tree: the document structure of the TOML reader (see toml.c for the
 * design and the redefinition flags; hand-written because no C TOML library
 * is packaged for Debian 12).
 *
 * Holds: the growth of tables and arrays in the arena, key lookup (a hash index for
 * tables of more than 8 keys), values (dispatching to toml_scalar.c and
 * toml_lex.c), arrays, inline tables (sealed), key = value with dotted keys,
 * [table] and [[array of tables]] headers, and the document's lines.
 */
#include "common/toml_internal.h"

#include <string.h>

/* ---------------------------------------------------------------- nodes */

static int
s_grow (parser_t *p, mdf_toml_t *n, bool with_keys)
{
    if (n->len < n->cap)
        return 0;
    size_t cap = n->cap ? n->cap * 2 : 4;
    mdf_toml_t **vals = toml_alloc (p, cap * sizeof *vals);
    if (!vals)
        return -1;
    if (n->len)
        memcpy (vals, n->vals, n->len * sizeof *vals);
    n->vals = vals;
    if (with_keys) {
        char **keys = toml_alloc (p, cap * sizeof *keys);
        size_t *klens = toml_alloc (p, cap * sizeof *klens);
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

mdf_toml_t *
toml_find (const mdf_toml_t *t, const char *key, size_t klen)
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
    size_t *index = toml_alloc (p, cap * sizeof *index);
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
    mdf_toml_t *t = toml_node (p, MDF_TOML_TABLE, k->pos, parent->depth + 1);
    if (!t)
        return NULL;
    t->flags = flags;
    return s_table_add (p, parent, k, t) ? NULL : t;
}

/* ---------------------------------------------------------------- values */

static int s_value (parser_t *p, int depth, mdf_toml_t **out);
static int s_keyval (parser_t *p, mdf_toml_t *table);

static int
s_array (parser_t *p, int depth, mdf_toml_t **out)
{
    mdf_toml_t *a = toml_node (p, MDF_TOML_ARRAY, p->pos, depth);
    if (!a)
        return -1;
    a->flags = F_STATIC;
    p->pos++;
    for (;;) {
        if (toml_skip_all (p))
            return -1;
        if (toml_at (p, 0) == ']')
            break;
        mdf_toml_t *v;
        if (s_value (p, depth + 1, &v) || s_array_push (p, a, v) || toml_skip_all (p))
            return -1;
        if (toml_at (p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (toml_at (p, 0) == ']')
            break;
        return toml_fail (p, p->pos,
                          toml_at (p, 0) < 0 ? "unterminated array (opened at %d:%d)"
                                             : "expected ',' or ']' in array",
                          a->line, a->column);
    }
    p->pos++;
    *out = a;
    return 0;
}

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
    mdf_toml_t *t = toml_node (p, MDF_TOML_TABLE, p->pos, depth);
    if (!t)
        return -1;
    p->pos++;
    toml_skip_ws (p);
    if (toml_at (p, 0) != '}') {
        for (;;) {
            toml_skip_ws (p);
            if (s_keyval (p, t))
                return -1;
            toml_skip_ws (p);
            if (toml_at (p, 0) == '}')
                break;
            if (toml_at (p, 0) != ',')
                return toml_fail (p, p->pos, "expected ',' or '}' in inline table");
            p->pos++;
            toml_skip_ws (p);
            if (toml_at (p, 0) == '}')
                return toml_fail (p, p->pos, "trailing comma in inline table");
        }
    }
    p->pos++;
    s_seal (t);
    *out = t;
    return 0;
}

static int
s_value (parser_t *p, int depth, mdf_toml_t **out)
{
    int c = toml_at (p, 0);
    if (c == '"' || c == '\'') {
        mdf_toml_t *n = toml_node (p, MDF_TOML_STRING, p->pos, depth);
        *out = n;
        return n ? toml_string (p, &n->str, &n->slen) : -1;
    }
    if (c == '[')
        return s_array (p, depth, out);
    if (c == '{')
        return s_inline_table (p, depth, out);
    if (c == 't' || c == 'f') {
        bool t = c == 't';
        const char *word = t ? "true" : "false";
        if (p->len - p->pos < strlen (word) || memcmp (p->s + p->pos, word, strlen (word)))
            return toml_fail (p, p->pos, "expected a value");
        mdf_toml_t *n = toml_node (p, MDF_TOML_BOOL, p->pos, depth);
        if (!n)
            return -1;
        n->b = t;
        p->pos += strlen (word);
        *out = n;
        return 0;
    }
    if (toml_is_digit (c) && toml_starts_datetime (p))
        return toml_datetime (p, depth, out);
    if (toml_is_digit (c) || c == '+' || c == '-' || c == 'i' || c == 'n')
        return toml_number (p, depth, out);
    return toml_fail (p, p->pos,
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
    if (toml_key (p, parts, &n))
        return -1;
    if (toml_at (p, 0) != '=')
        return toml_fail (p, p->pos, "expected '=' after key");
    p->pos++;
    toml_skip_ws (p);
    mdf_toml_t *t = table;
    for (size_t i = 0; i + 1 < n; i++) {
        mdf_toml_t *v = toml_find (t, parts[i].s, parts[i].len);
        if (!v)
            v = s_new_table (p, t, &parts[i], F_DOTTED);
        else if (v->type != MDF_TOML_TABLE || (v->flags & (F_DEFINED | F_SEALED)))
            return toml_fail (p, parts[i].pos, "cannot add keys to '%s' here: already defined",
                              parts[i].s);
        if (!v)
            return -1;
        t = v;
    }
    const keypart_t last = parts[n - 1]; /* copied: s_value reuses p->parts */
    if (toml_find (t, last.s, last.len))
        return toml_fail (p, last.pos, "duplicate key '%s'", last.s);
    mdf_toml_t *v;
    if (s_value (p, t->depth + 1, &v))
        return -1;
    return s_table_add (p, t, &last, v);
}

/* Walk one header key part down from `t`. */
static mdf_toml_t *
s_header_step (parser_t *p, mdf_toml_t *t, const keypart_t *k)
{
    mdf_toml_t *v = toml_find (t, k->s, k->len);
    if (!v)
        return s_new_table (p, t, k, F_IMPLICIT);
    if (v->type == MDF_TOML_ARRAY && !(v->flags & F_STATIC) && v->len)
        v = v->vals[v->len - 1];
    if (v->type != MDF_TOML_TABLE || (v->flags & F_SEALED)) {
        toml_fail (p, k->pos, "'%s' is already defined as %s", k->s,
                   v->type == MDF_TOML_TABLE ? "an inline table" : mdf_toml_type_name (v->type));
        return NULL;
    }
    return v;
}

static int
s_header (parser_t *p)
{
    size_t start = p->pos;
    bool aot = toml_at (p, 1) == '[';
    p->pos += aot ? 2 : 1;
    toml_skip_ws (p);
    keypart_t *parts = p->parts;
    size_t n;
    if (toml_key (p, parts, &n))
        return -1;
    if (toml_at (p, 0) != ']' || (aot && toml_at (p, 1) != ']'))
        return toml_fail (p, p->pos, "expected '%s' to close the table header", aot ? "]]" : "]");
    p->pos += aot ? 2 : 1;
    mdf_toml_t *t = p->root;
    for (size_t i = 0; i + 1 < n && t; i++)
        t = s_header_step (p, t, &parts[i]);
    if (!t)
        return -1;
    const keypart_t *k = &parts[n - 1];
    mdf_toml_t *v = toml_find (t, k->s, k->len);
    if (aot) {
        if (!v) {
            v = toml_node (p, MDF_TOML_ARRAY, k->pos, t->depth + 1);
            if (!v || s_table_add (p, t, k, v))
                return -1;
        } else if (v->type != MDF_TOML_ARRAY || (v->flags & F_STATIC))
            return toml_fail (p, k->pos, "cannot append to '%s': not an array of tables", k->s);
        mdf_toml_t *e = toml_node (p, MDF_TOML_TABLE, start, v->depth + 1);
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
        toml_position (p, start, &v->line, &v->column);
    } else
        return toml_fail (p, k->pos, "table '%s' is already defined", k->s);
    p->cur = v;
    return 0;
}

/* One line of the document: blank, comment, header or key = value. */
int
toml_line (parser_t *p)
{
    toml_skip_ws (p);
    int c = toml_at (p, 0);
    if (c == '[') {
        if (s_header (p))
            return -1;
    } else if (c != '#' && c != '\n' && c != '\r' && c >= 0) {
        if (s_keyval (p, p->cur))
            return -1;
    }
    toml_skip_ws (p);
    if (toml_skip_comment (p))
        return -1;
    if (p->pos < p->len && !toml_newline (p))
        return toml_fail (p, p->pos,
                          toml_at (p, 0) == '\r' ? "carriage return without line feed"
                                                 : "expected a newline after the value");
    return 0;
}
