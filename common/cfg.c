/*
 * cfg: typed service settings from one entry table (see cfg.h).
 *
 * Design.  A loader holds the parsed TOML tree of the file (kept for
 * mdf_cfg_load_array) and an "origin" list: for every key set so far, where its
 * value came from ("store.toml:12", "$MDS_QUEUE_CAPACITY", "default").  Every
 * value, whatever its source, goes through one setter per type that converts,
 * range- and choice-checks it and frees the value it replaces, so a struct is
 * never left holding a dangling or leaked string.
 *
 * Invariants:
 *  - keys in the main table are "section.key"; a key nested deeper in the file
 *    ([a.b] c = 1) is reported as an unknown key, never followed blindly;
 *  - an INT entry rejects TOML floats (1.0 is not silently truncated); a DOUBLE
 *    entry accepts TOML integers;
 *  - text values (defaults and environment) are parsed the same way: integers in
 *    base 10, numbers by strtod, booleans true/false/yes/no/on/off/1/0,
 *    lists comma-separated with blanks trimmed and empty items dropped;
 *  - array-of-table elements get no environment overrides (there is no stable
 *    name for "the second provider"); their keys are reported as
 *    "providers[1].key".
 *
 * Files.  The loader is split by concept; the files share the private
 * common/cfg_internal.h and depend on each other only downwards:
 * cfg_base.c (error text and environment names, depends on nothing),
 * cfg_value.c (converting and checking one value, string lists), cfg.c (this
 * file: loading, origins, errors), cfg_report.c (the --check-config dump and
 * the README reference) and cfg_reload.c (the reload routine).  Like the
 * TOML reader it sits on, it is hand-written: no C TOML library is packaged
 * for Debian 12.
 */
#include "common/cfg_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static int
s_set_origin (mdf_cfg_t *self, const char *key, const char *where)
{
    for (size_t i = 0; i < self->norigins; i++) {
        if (strcmp (self->origins[i].key, key) == 0) {
            char *w = strdup (where);
            if (!w)
                return -1;
            free (self->origins[i].where);
            self->origins[i].where = w;
            return 0;
        }
    }
    if (self->norigins == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        origin_t *o = realloc (self->origins, cap * sizeof *o);
        if (!o)
            return -1;
        self->origins = o;
        self->cap = cap;
    }
    origin_t o = { strdup (key), strdup (where) };
    if (!o.key || !o.where) {
        free (o.key);
        free (o.where);
        return -1;
    }
    self->origins[self->norigins++] = o;
    return 0;
}

static const mdf_cfg_entry_t *
s_entry (const mdf_cfg_entry_t *entries, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (entries[i].key, key) == 0)
            return &entries[i];
    return NULL;
}

static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest entry key to `key`, or NULL if none is close. */
static const char *
s_suggest (const mdf_cfg_entry_t *entries, size_t n, const char *key)
{
    const char *best = NULL;
    size_t best_d = strlen (key) / 3 > 2 ? strlen (key) / 3 : 2;
    for (size_t i = 0; i < n; i++) {
        size_t d = s_distance (key, entries[i].key);
        if (d <= best_d) {
            best = entries[i].key;
            best_d = d;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- setting */

/* Set entry `e` in `base` from `src` and record the origin under src->name. */
static int
s_set (mdf_cfg_t *self, const mdf_cfg_entry_t *e, const source_t *src, void *base, char *err,
       size_t errlen)
{
    int rc = cfg_value_set (e, src, base, err, errlen);
    if (rc == 0 && s_set_origin (self, src->name, src->where))
        return cfg_error (err, errlen, "%s: out of memory", src->name);
    return rc;
}

/* Fill every entry from its default; fields are overwritten, not freed. */
static int
s_defaults (mdf_cfg_t *self, const mdf_cfg_entry_t *entries, size_t n, const char *name_prefix,
            void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const mdf_cfg_entry_t *e = &entries[i];
        char name[256];
        snprintf (name, sizeof name, "%s%s", name_prefix, e->key);
        void *field = (char *)base + e->offset;
        switch (e->type) {
        case MDF_CFG_STRING:
            *(char **)field = NULL;
            break;
        case MDF_CFG_INT:
            *(int64_t *)field = 0;
            break;
        case MDF_CFG_DOUBLE:
            *(double *)field = 0;
            break;
        case MDF_CFG_BOOL:
            *(bool *)field = false;
            break;
        case MDF_CFG_STRLIST:
            *(mdf_strlist_t *)field = (mdf_strlist_t){ 0 };
            break;
        case MDF_CFG_ENUM:
            *(int *)field = 0;
            break;
        }
        source_t src = { name, "default", e->def ? e->def : "", NULL };
        if (e->type != MDF_CFG_STRING && e->type != MDF_CFG_STRLIST && (!e->def || !*e->def))
            continue; /* zero */
        if (s_set (self, e, &src, base, err, errlen))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- file */

static int
s_unknown (const mdf_cfg_t *self, const mdf_cfg_entry_t *entries, size_t n, const char *prefix,
           const char *key, const mdf_toml_t *node, char *err, size_t errlen)
{
    const char *hint = s_suggest (entries, n, key);
    const char *nested = mdf_toml_type (node) == MDF_TOML_TABLE ? " (nested tables are not "
                                                                  "supported here)"
                                                                : "";
    if (hint)
        return cfg_error (err, errlen, "%s:%d: unknown key %s%s (did you mean %s%s?)", self->path,
                          mdf_toml_line (node), prefix, key, prefix, hint);
    return cfg_error (err, errlen, "%s:%d: unknown key %s%s%s", self->path, mdf_toml_line (node),
                      prefix, key, nested);
}

/* Apply one TOML value to entry `key` of `entries` (name shown as prefix+key). */
static int
s_apply (mdf_cfg_t *self, const mdf_cfg_entry_t *entries, size_t n, const char *prefix,
         const char *key, const mdf_toml_t *node, void *base, char *err, size_t errlen)
{
    const mdf_cfg_entry_t *e = s_entry (entries, n, key);
    if (!e)
        return s_unknown (self, entries, n, prefix, key, node, err, errlen);
    char name[256], where[1024];
    snprintf (name, sizeof name, "%s%s", prefix, key);
    snprintf (where, sizeof where, "%s:%d", self->path, mdf_toml_line (node));
    source_t src = { name, where, NULL, node };
    return s_set (self, e, &src, base, err, errlen);
}

static bool
s_listed (const char *const *keys, const char *key)
{
    for (size_t i = 0; keys && keys[i]; i++)
        if (strcmp (keys[i], key) == 0)
            return true;
    return false;
}

static int
s_load_file (mdf_cfg_t *self, const char *const *array_keys, void *base, char *err, size_t errlen)
{
    const mdf_toml_t *root = self->root;
    for (size_t i = 0; i < mdf_toml_len (root); i++) {
        const char *section = mdf_toml_key_at (root, i);
        const mdf_toml_t *v = mdf_toml_value_at (root, i);
        if (s_listed (array_keys, section))
            continue;
        if (mdf_toml_type (v) != MDF_TOML_TABLE) {
            if (s_apply (self, self->entries, self->n, "", section, v, base, err, errlen))
                return -1;
            continue;
        }
        for (size_t k = 0; k < mdf_toml_len (v); k++) {
            char key[512];
            snprintf (key, sizeof key, "%s.%s", section, mdf_toml_key_at (v, k));
            if (s_apply (self, self->entries, self->n, "", key, mdf_toml_value_at (v, k), base, err,
                         errlen))
                return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- env */

static int
s_load_env (mdf_cfg_t *self, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < self->n; i++) {
        const mdf_cfg_entry_t *e = &self->entries[i];
        char name[256], where[260];
        cfg_env_name (self->prefix, e->key, name, sizeof name);
        const char *text = getenv (name);
        if (!text)
            continue;
        snprintf (where, sizeof where, "$%s", name);
        source_t src = { e->key, where, text, NULL };
        if (s_set (self, e, &src, base, err, errlen))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- public */

mdf_cfg_t *
mdf_cfg_new (const mdf_cfg_entry_t *entries, size_t n, const char *env_prefix)
{
    mdf_cfg_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = entries;
    self->n = n;
    self->prefix = strdup (env_prefix ? env_prefix : "");
    if (!self->prefix)
        mdf_cfg_destroy (&self);
    return self;
}

void
mdf_cfg_destroy (mdf_cfg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_cfg_t *self = *self_p;
    for (size_t i = 0; i < self->norigins; i++) {
        free (self->origins[i].key);
        free (self->origins[i].where);
    }
    free (self->origins);
    mdf_toml_destroy (&self->root);
    free (self->path);
    free (self->prefix);
    free (self);
    *self_p = NULL;
}

int
mdf_cfg_load (mdf_cfg_t *self, const char *path, const char *const *array_keys, void *settings,
              char *err, size_t errlen)
{
    for (size_t i = 0; i < self->norigins; i++) {
        free (self->origins[i].key);
        free (self->origins[i].where);
    }
    self->norigins = 0;
    if (s_defaults (self, self->entries, self->n, "", settings, err, errlen))
        return -1;
    mdf_toml_destroy (&self->root);
    free (self->path);
    self->path = NULL;
    if (path) {
        self->path = strdup (path);
        if (!self->path)
            return cfg_error (err, errlen, "%s: out of memory", path);
        self->root = mdf_toml_parse_file (path, err, errlen);
        if (!self->root || s_load_file (self, array_keys, settings, err, errlen))
            return -1;
    }
    return s_load_env (self, settings, err, errlen);
}

static int
s_load_element (mdf_cfg_t *self, const char *key, size_t index, const mdf_toml_t *table,
                const mdf_cfg_entry_t *entries, size_t n, void *elem, char *err, size_t errlen)
{
    char prefix[256];
    snprintf (prefix, sizeof prefix, "%s[%zu].", key, index);
    if (s_defaults (self, entries, n, prefix, elem, err, errlen))
        return -1;
    for (size_t k = 0; k < mdf_toml_len (table); k++)
        if (s_apply (self, entries, n, prefix, mdf_toml_key_at (table, k),
                     mdf_toml_value_at (table, k), elem, err, errlen))
            return -1;
    return 0;
}

int
mdf_cfg_load_array (mdf_cfg_t *self, const char *key, const mdf_cfg_entry_t *entries, size_t n,
                    size_t elem_size, void **items, size_t *count, char *err, size_t errlen)
{
    *items = NULL;
    *count = 0;
    const mdf_toml_t *arr = self->root ? mdf_toml_get (self->root, key) : NULL;
    if (!arr)
        return 0;
    bool ok = mdf_toml_type (arr) == MDF_TOML_ARRAY;
    for (size_t i = 0; ok && i < mdf_toml_len (arr); i++)
        ok = mdf_toml_type (mdf_toml_at (arr, i)) == MDF_TOML_TABLE;
    if (!ok)
        return cfg_error (err, errlen, "%s:%d: %s must be an array of tables ([[%s]])", self->path,
                          mdf_toml_line (arr), key, key);
    size_t len = mdf_toml_len (arr);
    if (len == 0)
        return 0;
    *items = calloc (len, elem_size);
    if (!*items)
        return cfg_error (err, errlen, "%s: out of memory", key);
    *count = len;
    for (size_t i = 0; i < len; i++)
        if (s_load_element (self, key, i, mdf_toml_at (arr, i), entries, n,
                            (char *)*items + i * elem_size, err, errlen))
            return -1;
    return 0;
}

int
mdf_cfg_defaults (const mdf_cfg_entry_t *entries, size_t n, void *settings)
{
    mdf_cfg_t *self = mdf_cfg_new (entries, n, "");
    int rc = self ? s_defaults (self, entries, n, "", settings, NULL, 0) : -1;
    mdf_cfg_destroy (&self);
    return rc;
}

const char *
mdf_cfg_where (const mdf_cfg_t *self, const char *key)
{
    for (size_t i = 0; i < self->norigins; i++)
        if (strcmp (self->origins[i].key, key) == 0)
            return self->origins[i].where;
    return "default";
}

int
mdf_cfg_fail (const mdf_cfg_t *self, const char *key, char *err, size_t errlen, const char *fmt,
              ...)
{
    if (!err || !errlen)
        return -1;
    int n = snprintf (err, errlen, "%s: ", mdf_cfg_where (self, key));
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err + n, errlen - (size_t)n, fmt, ap);
        va_end (ap);
    }
    return -1;
}

void
mdf_cfg_free (const mdf_cfg_entry_t *entries, size_t n, void *settings)
{
    for (size_t i = 0; i < n; i++) {
        void *field = (char *)settings + entries[i].offset;
        if (entries[i].type == MDF_CFG_STRING) {
            free (*(char **)field);
            *(char **)field = NULL;
        } else if (entries[i].type == MDF_CFG_STRLIST)
            mdf_strlist_free ((mdf_strlist_t *)field);
    }
}

void
mdf_cfg_free_array (const mdf_cfg_entry_t *entries, size_t n, size_t elem_size, void **items,
                    size_t *count)
{
    for (size_t i = 0; *items && i < *count; i++)
        mdf_cfg_free (entries, n, (char *)*items + i * elem_size);
    free (*items);
    *items = NULL;
    *count = 0;
}
