/*
 * cfg: typed service settings from one table per service.
 *
 * Each service describes its settings once, as an array of mdf_cfg_entry_t
 * (key, type, default, bounds, field offset, help) in the spirit of Redis'
 * standardConfig.  From that one table come: loading a TOML file into a plain
 * C struct, defaults, range checks, environment overrides, unknown-key errors,
 * the effective-config dump of --check-config, and the README's reference.
 *
 * Precedence, lowest first: the entry's default, the TOML file, the environment
 * variable <PREFIX>_<SECTION>_<KEY> (upper-cased, '.' -> '_'; e.g.
 * MDS_QUEUE_CAPACITY).  Environment values are parsed as the entry's type;
 * string lists are comma-separated.
 *
 * Errors are one line naming where the value came from, e.g.
 *   store.toml:12: queue.low_watermark (9000) must be below queue.high_watermark (8000)
 *   $MDS_QUEUE_CAPACITY: queue.capacity: "lots" is not an integer
 *   store.toml:7: unknown key queue.capcity (did you mean queue.capacity?)
 *
 * Arrays of tables ([[providers]]) are loaded element by element with
 * mdf_cfg_load_array(), each element against its own entry table.
 *
 * Field storage by type:  STRING -> char * (owned, freed by mdf_cfg_free);
 * INT -> int64_t; DOUBLE -> double; BOOL -> bool; STRLIST -> mdf_strlist_t.
 */
#ifndef MDF_CFG_H
#define MDF_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    MDF_CFG_STRING,
    MDF_CFG_INT,
    MDF_CFG_DOUBLE,
    MDF_CFG_BOOL,
    MDF_CFG_STRLIST,
} mdf_cfg_type_t;

typedef struct {
    char **items; /* owned */
    size_t count;
} mdf_strlist_t;

typedef struct {
    const char *key; /* "section.key", or just "key" inside an array element */
    mdf_cfg_type_t type;
    const char *def;            /* default as text, parsed like an env value ("" = empty) */
    double min, max;            /* inclusive bounds for INT and DOUBLE; ignored when min > max */
    const char *const *choices; /* NULL-terminated allowed values for STRING, or NULL */
    size_t offset;              /* offsetof (settings struct, field) */
    const char *help;           /* one line for --help, --check-config and the README */
} mdf_cfg_entry_t;

/* A loader: the parsed file plus where every value came from. */
typedef struct _mdf_cfg_t mdf_cfg_t;

/* New loader for `entries` (n of them; borrowed, must outlive the loader).
 * `env_prefix` is "MDS" or "MDP". */
mdf_cfg_t *mdf_cfg_new (const mdf_cfg_entry_t *entries, size_t n, const char *env_prefix);

void mdf_cfg_destroy (mdf_cfg_t **self_p);

/* Fill `settings` from defaults, then the file at `path` (NULL: none), then the
 * environment.  Tables named in `array_keys` (NULL-terminated, e.g. {"providers",
 * NULL}) are left for mdf_cfg_load_array(); any other key not in the table is an
 * error.  Returns 0, or -1 with `err` set.  On error the struct may be partly
 * filled: call mdf_cfg_free() either way.  Every field of an entry is first
 * overwritten (not freed) with its default, so pass a zeroed struct or one
 * already given to mdf_cfg_free().  TOML integers are accepted for DOUBLE, not
 * floats for INT; a STRLIST takes an array of strings or a single string. */
int mdf_cfg_load (mdf_cfg_t *self, const char *path, const char *const *array_keys, void *settings,
                  char *err, size_t errlen);

/* Load array-of-tables `key` ([[key]]) of the file loaded above: allocate
 * `*count` elements of `elem_size` bytes into *items (owned by the caller, free
 * with mdf_cfg_free_array), each filled from `entries` (keys without section)
 * with defaults and checks.  Errors say "FILE:LINE: providers[1].refill_rate ...".
 * A missing array gives *count = 0 and returns 0.  Elements have no environment
 * overrides.  On error *items and *count stay set: call mdf_cfg_free_array either way. */
int mdf_cfg_load_array (mdf_cfg_t *self, const char *key, const mdf_cfg_entry_t *entries, size_t n,
                        size_t elem_size, void **items, size_t *count, char *err, size_t errlen);

/* Where a key's value came from: "FILE:LINE", "$ENVVAR" or "default".
 * Valid until the loader is destroyed. For array elements use "providers[1].name". */
const char *mdf_cfg_where (const mdf_cfg_t *self, const char *key);

/* Write "WHERE: " + formatted message into err; returns -1 for `return mdf_cfg_fail (...)`. */
int mdf_cfg_fail (const mdf_cfg_t *self, const char *key, char *err, size_t errlen, const char *fmt,
                  ...) __attribute__ ((format (printf, 5, 6)));

/* Free the owned fields (strings, lists) of `settings` and zero them. */
void mdf_cfg_free (const mdf_cfg_entry_t *entries, size_t n, void *settings);
void mdf_cfg_free_array (const mdf_cfg_entry_t *entries, size_t n, size_t elem_size, void **items,
                         size_t *count);

/* Print the effective settings as TOML-ish "key = value  # where" lines. */
void mdf_cfg_dump (const mdf_cfg_t *self, const void *settings, FILE *out);

/* Print the reference table (Markdown: key | type | default | range | env | help). */
void mdf_cfg_print_reference (const mdf_cfg_entry_t *entries, size_t n, const char *env_prefix,
                              FILE *out);

/* Duplicate / free a string list (helpers for services that copy settings). */
int mdf_strlist_copy (mdf_strlist_t *dst, const mdf_strlist_t *src);
void mdf_strlist_free (mdf_strlist_t *list);

#endif
