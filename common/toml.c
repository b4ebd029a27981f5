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
 *
 * Files.  The reader is hand-written (no C TOML library is packaged for
 * Debian 12, see toml.h) and split by concept; the five files share the
 * private common/toml_internal.h and call each other only downwards, each
 * file only files below it, so no two depend on each other:
 *   toml.c         this file: the public API (parse, read a tree);
 *   toml_tree.c    tables, arrays, inline tables, dotted keys, headers, the
 *                  document's lines;
 *   toml_scalar.c  integers, floats and date-times;
 *   toml_lex.c     whitespace, comments, the UTF-8 check, strings and keys;
 *   toml_base.c    the parser state every other file uses: positions,
 *                  errors, the arena that owns a tree, new nodes.
 */
#include "common/toml_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (toml_index_lines (&p)) {
        if (err && errlen)
            snprintf (err, errlen, "%s: out of memory", p.name);
        return NULL;
    }
    if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    p.root = toml_check_utf8 (&p) ? NULL : toml_node (&p, MDF_TOML_TABLE, 0, 0);
    if (p.root) {
        p.root->flags = F_DEFINED;
        p.cur = p.root;
        while (p.pos < p.len && !p.failed)
            toml_line (&p);
    }
    free (p.lines);
    if (p.failed) {
        toml_arena_free (p.arena);
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
    toml_arena_free ((*root_p)->arena);
    *root_p = NULL;
}

mdf_toml_type_t
mdf_toml_type (const mdf_toml_t *node)
{
    return node->type;
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
    return table && table->type == MDF_TOML_TABLE ? toml_find (table, key, strlen (key)) : NULL;
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
