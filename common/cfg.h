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
 * INT -> int64_t; DOUBLE -> double; BOOL -> bool; STRLIST -> mdf_strlist_t (strv.h);
 * ENUM -> int, the index of the value in `choices`.
 *
 * Flags: MDF_CFG_LIVE marks a key a running service applies on reload
 * (SIGHUP, the pipeline's POST /control/reload); every other key needs a
 * restart.  MDF_CFG_SECRET keeps a value out of the --check-config dump.
 * Reload is one routine for both services (mdf_cfg_reload, below): load the
 * file into a fresh struct, diff it against the running one through the
 * table, move the LIVE values in, let the service push them to its parts,
 * and warn about the keys that need a restart.  So adding a live setting
 * means one table entry plus the code that uses the value.
 */
#ifndef MDF_CFG_H
#define MDF_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strv.h" /* mdf_strlist_t: STRLIST fields */

typedef enum {
    MDF_CFG_STRING,
    MDF_CFG_INT,
    MDF_CFG_DOUBLE,
    MDF_CFG_BOOL,
    MDF_CFG_STRLIST,
    MDF_CFG_ENUM,
} mdf_cfg_type_t;

enum {
    MDF_CFG_LIVE = 1u << 0,   /* applied on reload without a restart */
    MDF_CFG_SECRET = 1u << 1, /* printed as (redacted) by the dump */
};

typedef struct {
    const char *key; /* "section.key", or just "key" inside an array element */
    mdf_cfg_type_t type;
    const char *def;            /* default as text, parsed like an env value ("" = empty) */
    double min, max;            /* inclusive bounds for INT and DOUBLE; ignored when min > max */
    const char *const *choices; /* NULL-terminated allowed values (STRING: optional; ENUM) */
    size_t offset;              /* offsetof (settings struct, field) */
    unsigned flags;             /* MDF_CFG_LIVE, MDF_CFG_SECRET */
    const char *help;           /* one line for --help, --check-config and the README */
} mdf_cfg_entry_t;

/* An array of tables ([[providers]]) inside a settings struct: its elements
 * live in a malloc'd array at items_offset (a pointer) with their number at
 * count_offset (a size_t); each element is identified across reloads by the
 * STRING field at id_offset (its name). */
typedef struct {
    const char *key; /* "providers" */
    const mdf_cfg_entry_t *entries;
    size_t n;
    size_t elem_size;
    size_t items_offset, count_offset, id_offset;
} mdf_cfg_array_t;

/* Everything a service's settings are: the main table and its arrays. */
typedef struct {
    const char *service;    /* "md-store" */
    const char *env_prefix; /* "MDS" */
    const mdf_cfg_entry_t *entries;
    size_t n;
    const mdf_cfg_array_t *arrays;
    size_t narrays;
} mdf_cfg_schema_t;

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

/* Print the effective settings as TOML-ish "key = value  # where" lines
 * (MDF_CFG_SECRET values as "(redacted)"). */
void mdf_cfg_dump (const mdf_cfg_t *self, const void *settings, FILE *out);

/* The same for a whole schema: main keys, then each array's elements as
 * [[key]] tables. */
void mdf_cfg_dump_schema (const mdf_cfg_t *self, const mdf_cfg_schema_t *schema,
                          const void *settings, FILE *out);

/* Print the reference table (Markdown: key | type | default | range | reload
 * | env | help). */
void mdf_cfg_print_reference (const mdf_cfg_entry_t *entries, size_t n, const char *env_prefix,
                              FILE *out);

/* The reference of a whole schema: a "### SERVICE" heading, the main table,
 * then one "#### [[key]]" table per array. */
void mdf_cfg_print_schema_reference (const mdf_cfg_schema_t *schema, const char *file_name,
                                     FILE *out);

/* Every entry of `entries` at its default, nothing else (no file, no
 * environment); the struct as for mdf_cfg_load.  0 or -1 (out of memory). */
int mdf_cfg_defaults (const mdf_cfg_entry_t *entries, size_t n, void *settings);

/* ---- reload ---------------------------------------------------------- */

/* What a reload changed: comma-separated key lists ("feedback.kp,log.level",
 * array keys as "providers[NAME].refill_rate"), truncated to fit. */
typedef struct {
    char applied[1024]; /* LIVE keys now in the running settings */
    char restart[1024]; /* keys that changed but need a restart */
    size_t napplied, nrestart;
} mdf_cfg_changes_t;

/* Diff `fresh` against `running` through the schema.  Every changed LIVE
 * value moves into `running` (values are swapped, so freeing `fresh`
 * afterwards frees the old ones); everything else in `running` stays as it
 * is.  Array elements are matched by their id; a new or removed element is a
 * restart change.  Fills *out. */
void mdf_cfg_merge_live (const mdf_cfg_schema_t *schema, void *running, void *fresh,
                         mdf_cfg_changes_t *out);

/* How a service reloads, for mdf_cfg_reload. */
typedef struct {
    const mdf_cfg_schema_t *schema;
    size_t settings_size;
    /* Load `path` (+ environment) into the zeroed `settings` with the
     * service's cross-key checks; the loader, or NULL
     * with err.  `settings` is freed with `free_settings` either way. */
    mdf_cfg_t *(*load) (const char *path, void *settings, char *err, size_t errlen);
    void (*free_settings) (void *settings);
    /* Push the running settings' LIVE values to the service's parts; called
     * after they moved in, with what changed.  Runs on the reloading thread;
     * must only use thread-safe calls. */
    void (*apply) (void *arg, const void *running, const mdf_cfg_changes_t *changes);
    void *arg;
} mdf_cfg_reloader_t;

/* Reload the running settings from `path`: load it into a fresh struct,
 * refuse it when it does not load or holds no key at all (an empty or
 * truncated file would otherwise reset every live key to its default),
 * otherwise merge the LIVE keys (mdf_cfg_merge_live), call apply and log what
 * was applied and, as a warning, what needs a restart.  0, or -1 with err
 * (the running settings untouched, the failure logged). */
int mdf_cfg_reload (const mdf_cfg_reloader_t *r, const char *path, void *running,
                    mdf_cfg_changes_t *out, char *err, size_t errlen);

#endif
