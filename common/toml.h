/*
 * toml: a small TOML 1.0 reader (no C TOML library is packaged for Debian 12,
 * so mdflow carries this one; it is tested against the public toml-test suite,
 * see tests/unit/common/test_toml.c).
 *
 * The parser builds an immutable tree of nodes owned by the root.  Tables keep
 * their keys in document order.  Every node remembers the line and column where
 * its value starts so configuration errors can name them.
 *
 * The module header comment in toml.c lists what is supported, what is not, and
 * the conformance figures (valid accepted / invalid rejected / skipped).
 */
#ifndef MDF_TOML_H
#define MDF_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MDF_TOML_TABLE,
    MDF_TOML_ARRAY,
    MDF_TOML_STRING,
    MDF_TOML_INTEGER,
    MDF_TOML_FLOAT,
    MDF_TOML_BOOL,
    MDF_TOML_DATETIME,       /* offset date-time, kept as its text */
    MDF_TOML_DATETIME_LOCAL, /* local date-time, kept as its text */
    MDF_TOML_DATE_LOCAL,     /* local date, kept as its text */
    MDF_TOML_TIME_LOCAL,     /* local time, kept as its text */
} mdf_toml_type_t;

typedef struct _mdf_toml_t mdf_toml_t;

/* Parse `len` bytes of TOML.  `name` (e.g. the file name) prefixes errors.
 * Returns the root table (owned by the caller) or NULL with `err` set to
 * "NAME:LINE:COL: what is wrong".  Values may nest at most 128 levels deep
 * (arrays, inline tables, dotted keys); deeper input is an error, not a crash. */
mdf_toml_t *mdf_toml_parse (const char *text, size_t len, const char *name, char *err,
                            size_t errlen);

/* Read and parse a file; errors as above, or "PATH: strerror" when unreadable. */
mdf_toml_t *mdf_toml_parse_file (const char *path, char *err, size_t errlen);

/* Free a tree from its root and set *root_p to NULL.  Only roots may be destroyed. */
void mdf_toml_destroy (mdf_toml_t **root_p);

mdf_toml_type_t mdf_toml_type (const mdf_toml_t *node);

/* Human name of a type: "table", "array", "string", "integer", "float", "boolean",
 * "datetime", ... */
const char *mdf_toml_type_name (mdf_toml_type_t type);

/* Where the node's value (or, for tables, the header or first key) starts; 1-based. */
int mdf_toml_line (const mdf_toml_t *node);
int mdf_toml_column (const mdf_toml_t *node);

/* Number of entries of a table or elements of an array; 0 for scalars. */
size_t mdf_toml_len (const mdf_toml_t *node);

/* Table entry i (document order): its key, and its value.  NULL when out of range
 * or not a table. */
const char *mdf_toml_key_at (const mdf_toml_t *table, size_t i);
/* Byte length of key i (keys may hold NUL bytes when written as "\u0000"). */
size_t mdf_toml_key_len_at (const mdf_toml_t *table, size_t i);
const mdf_toml_t *mdf_toml_value_at (const mdf_toml_t *table, size_t i);

/* Array element i, NULL when out of range or not an array. */
const mdf_toml_t *mdf_toml_at (const mdf_toml_t *array, size_t i);

/* Value of `key` in `table` (one key, not dotted), or NULL. */
const mdf_toml_t *mdf_toml_get (const mdf_toml_t *table, const char *key);

/* Scalar accessors; the caller checks mdf_toml_type() first.  Strings may hold
 * NUL bytes ("\u0000"), so their byte length is given too.  Datetime types
 * return their canonical text through mdf_toml_string(). */
const char *mdf_toml_string (const mdf_toml_t *node);
size_t mdf_toml_string_len (const mdf_toml_t *node);
int64_t mdf_toml_int (const mdf_toml_t *node);
double mdf_toml_float (const mdf_toml_t *node);
bool mdf_toml_bool (const mdf_toml_t *node);

#endif
