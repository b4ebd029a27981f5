/*
 * toml_internal: what the five files of the TOML reader share (private to
 * common/toml*.c; users include common/toml.h only).  Each file calls only
 * the files below it in this list, so none depends on another in a circle:
 *
 *   toml.c         public API: parse, read a tree
 *   toml_tree.c    tables, arrays, inline tables, dotted keys, headers
 *   toml_scalar.c  integers, floats, date-times
 *   toml_lex.c     whitespace, comments, UTF-8 check, strings, keys
 *   toml_base.c    parser state: positions, errors, the arena, new nodes
 *
 * Every function here works on one parser_t and, on error, records the first
 * error (toml_fail) and returns -1 or NULL; callers stop at the first failure.
 * Everything a tree holds is allocated from the parser's arena (toml_alloc).
 */
#ifndef MDF_TOML_INTERNAL_H
#define MDF_TOML_INTERNAL_H

#include "common/toml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_DEPTH 128
#define MAX_KEY_PARTS 128

/* Table and array flags: the redefinition rules (see toml.c). */
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
    size_t cache_line, cache_pos; /* last toml_position answer */
    int cache_col;
    arena_block_t *arena;
    char *err;
    size_t errlen;
    bool failed;
    mdf_toml_t *root, *cur;
    keypart_t parts[MAX_KEY_PARTS]; /* the key being parsed: shared, not on the stack,
                                       since values (and so keys) nest 128 deep */
} parser_t;

/* ---- character classes ---- */

/* The byte k positions ahead, or -1 past the end. */
static inline int
toml_at (const parser_t *p, size_t k)
{
    return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1;
}

static inline bool
toml_is_digit (int c)
{
    return c >= '0' && c <= '9';
}

static inline bool
toml_is_bare (int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || toml_is_digit (c) || c == '_'
           || c == '-';
}

static inline bool
toml_is_control (int c)
{
    return (c < 0x20 && c != '\t') || c == 0x7F;
}

/* Value of a hexadecimal digit, or -1. */
static inline int
toml_digit_value (int c)
{
    return toml_is_digit (c)        ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* ---- toml_base.c: parser state ---- */

/* LINE:COL (1-based, COL in code points) of byte `pos`. */
void toml_position (parser_t *p, size_t pos, int *line, int *col);
/* Record the first error as "NAME:LINE:COL: message"; returns -1. */
int toml_fail (parser_t *p, size_t pos, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Zeroed memory from the arena, or NULL (error recorded). */
void *toml_alloc (parser_t *p, size_t size);
/* NUL-terminated copy of n bytes in the arena, or NULL. */
char *toml_strdup (parser_t *p, const char *data, size_t n);
/* Free an arena (a list of blocks). */
void toml_arena_free (arena_block_t *b);
/* A node of `type` at `pos`, `depth` levels below the root (at most MAX_DEPTH). */
mdf_toml_t *toml_node (parser_t *p, mdf_toml_type_t type, size_t pos, int depth);

/* ---- toml_lex.c ---- */

int toml_newline (parser_t *p);      /* 1 and past it if a newline is here */
void toml_skip_ws (parser_t *p);     /* spaces and tabs */
int toml_skip_comment (parser_t *p); /* a comment if one starts here */
int toml_skip_all (parser_t *p);     /* whitespace, comments and newlines */
int toml_check_utf8 (parser_t *p);   /* the whole document */
int toml_index_lines (parser_t *p);  /* fills p->lines; -1 out of memory */
/* A string of any quote kind at p->pos, copied to the arena. */
int toml_string (parser_t *p, char **out, size_t *outlen);
/* A possibly dotted key into parts (at most MAX_KEY_PARTS). */
int toml_key (parser_t *p, keypart_t *parts, size_t *n);

/* ---- toml_scalar.c ---- */

bool toml_starts_datetime (const parser_t *p);
int toml_datetime (parser_t *p, int depth, mdf_toml_t **out);
int toml_number (parser_t *p, int depth, mdf_toml_t **out);

/* ---- toml_tree.c ---- */

/* Value of key (klen bytes) in table t, or NULL. */
mdf_toml_t *toml_find (const mdf_toml_t *t, const char *key, size_t klen);
/* One line of the document: blank, comment, header or key = value. */
int toml_line (parser_t *p);

#endif
