/*
 * toml_base: the bottom of the TOML reader (see toml.c for the design and
 * the file map): what every other file of it uses and nothing above it.
 *
 * Holds: LINE:COL of a byte (cached along one line), the first error, the
 * arena that owns a tree, arena copies of strings, new nodes (with the
 * depth bound), and the names of the value types.  Calls nothing of the
 * other toml*.c files.
 */
#include "common/toml_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- positions, errors */

/* LINE:COL of byte `pos`.  Columns count code points from the line start;
 * the last answer is cached so positions along one long line cost O(1) each. */
void
toml_position (parser_t *p, size_t pos, int *line, int *col)
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

int
toml_fail (parser_t *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    if (!p->err || p->errlen == 0)
        return -1;
    int line, col;
    toml_position (p, pos, &line, &col);
    int n = snprintf (p->err, p->errlen, "%s:%d:%d: ", p->name, line, col);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

void *
toml_alloc (parser_t *p, size_t size)
{
    size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t) * sizeof (max_align_t);
    arena_block_t *b = p->arena;
    if (!b || b->size - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc (sizeof (arena_block_t) + cap);
        if (!b) {
            toml_fail (p, p->pos, "out of memory");
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

void
toml_arena_free (arena_block_t *b)
{
    while (b) {
        arena_block_t *next = b->next;
        free (b);
        b = next;
    }
}

char *
toml_strdup (parser_t *p, const char *data, size_t n)
{
    char *s = toml_alloc (p, n + 1);
    if (s && n)
        memcpy (s, data, n);
    return s;
}

/* ---------------------------------------------------------------- nodes */

mdf_toml_t *
toml_node (parser_t *p, mdf_toml_type_t type, size_t pos, int depth)
{
    if (depth > MAX_DEPTH) {
        toml_fail (p, pos, "nesting deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    mdf_toml_t *n = toml_alloc (p, sizeof (mdf_toml_t));
    if (!n)
        return NULL;
    n->type = type;
    n->depth = depth;
    toml_position (p, pos, &n->line, &n->column);
    return n;
}

const char *
mdf_toml_type_name (mdf_toml_type_t type)
{
    static const char *names[]
        = { "table",   "array",    "string",         "integer",    "float",
            "boolean", "datetime", "local datetime", "local date", "local time" };
    return (size_t)type < sizeof names / sizeof names[0] ? names[type] : "?";
}
