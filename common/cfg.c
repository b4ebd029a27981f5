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
 */
#include "common/cfg.h"

#include "common/toml.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *key;
    char *where;
} origin_t;

struct _mdf_cfg_t {
    const mdf_cfg_entry_t *entries;
    size_t n;
    char *prefix;
    char *path;
    mdf_toml_t *root;
    origin_t *origins;
    size_t norigins, cap;
};

/* The value being set: its text or TOML node, and where it came from. */
typedef struct {
    const char *name;       /* key as shown to the user, e.g. providers[1].rate */
    const char *where;      /* FILE:LINE, $ENV or default */
    const char *text;       /* text value (default, env), or NULL */
    const mdf_toml_t *node; /* TOML value, or NULL */
} source_t;

/* ---------------------------------------------------------------- helpers */

static char *
s_strdup (const char *s)
{
    size_t n = strlen (s) + 1;
    char *d = malloc (n);
    if (d)
        memcpy (d, s, n);
    return d;
}

static int s_error (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_error (char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, errlen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

static int
s_set_origin (mdf_cfg_t *self, const char *key, const char *where)
{
    for (size_t i = 0; i < self->norigins; i++) {
        if (strcmp (self->origins[i].key, key) == 0) {
            char *w = s_strdup (where);
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
    origin_t o = { s_strdup (key), s_strdup (where) };
    if (!o.key || !o.where) {
        free (o.key);
        free (o.where);
        return -1;
    }
    self->origins[self->norigins++] = o;
    return 0;
}

static const char *
s_type_name (mdf_cfg_type_t type)
{
    static const char *names[] = { "string", "integer", "number", "boolean", "list of strings" };
    return (size_t)type < 5 ? names[type] : "?";
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

/* ---------------------------------------------------------------- setters */

static int
s_check_range (const mdf_cfg_entry_t *e, const source_t *src, double v, const char *shown,
               char *err, size_t errlen)
{
    if (e->min > e->max || (v >= e->min && v <= e->max))
        return 0;
    return s_error (err, errlen, "%s: %s (%s) must be between %.15g and %.15g", src->where,
                    src->name, shown, e->min, e->max);
}

static int
s_set_int (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    int64_t v;
    if (src->node) {
        if (mdf_toml_type (src->node) != MDF_TOML_INTEGER)
            return s_error (err, errlen, "%s: %s: expected an integer, got %s", src->where,
                            src->name, mdf_toml_type_name (mdf_toml_type (src->node)));
        v = mdf_toml_int (src->node);
    } else {
        char *end;
        errno = 0;
        long long x = strtoll (src->text, &end, 10);
        while (isspace ((unsigned char)*end))
            end++;
        if (errno || end == src->text || *end)
            return s_error (err, errlen, "%s: %s: \"%s\" is not an integer", src->where, src->name,
                            src->text);
        v = x;
    }
    char shown[32];
    snprintf (shown, sizeof shown, "%" PRId64, v);
    if (s_check_range (e, src, (double)v, shown, err, errlen))
        return -1;
    *(int64_t *)field = v;
    return 0;
}

static int
s_set_double (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    double v;
    if (src->node) {
        mdf_toml_type_t t = mdf_toml_type (src->node);
        if (t != MDF_TOML_FLOAT && t != MDF_TOML_INTEGER)
            return s_error (err, errlen, "%s: %s: expected a number, got %s", src->where, src->name,
                            mdf_toml_type_name (t));
        v = t == MDF_TOML_FLOAT ? mdf_toml_float (src->node) : (double)mdf_toml_int (src->node);
    } else {
        char *end;
        v = strtod (src->text, &end);
        while (isspace ((unsigned char)*end))
            end++;
        if (end == src->text || *end)
            return s_error (err, errlen, "%s: %s: \"%s\" is not a number", src->where, src->name,
                            src->text);
    }
    if (isnan (v))
        return s_error (err, errlen, "%s: %s: nan is not allowed", src->where, src->name);
    char shown[32];
    snprintf (shown, sizeof shown, "%.15g", v);
    if (s_check_range (e, src, v, shown, err, errlen))
        return -1;
    *(double *)field = v;
    return 0;
}

static int
s_set_bool (const source_t *src, void *field, char *err, size_t errlen)
{
    if (src->node) {
        if (mdf_toml_type (src->node) != MDF_TOML_BOOL)
            return s_error (err, errlen, "%s: %s: expected a boolean, got %s", src->where,
                            src->name, mdf_toml_type_name (mdf_toml_type (src->node)));
        *(bool *)field = mdf_toml_bool (src->node);
        return 0;
    }
    static const char *yes[] = { "true", "yes", "on", "1" }, *no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp (src->text, yes[i]) == 0 || strcasecmp (src->text, no[i]) == 0) {
            *(bool *)field = strcasecmp (src->text, yes[i]) == 0;
            return 0;
        }
    }
    return s_error (err, errlen, "%s: %s: \"%s\" is not a boolean (true or false)", src->where,
                    src->name, src->text);
}

static int
s_set_string (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    const char *v = src->text;
    if (src->node) {
        if (mdf_toml_type (src->node) != MDF_TOML_STRING)
            return s_error (err, errlen, "%s: %s: expected a string, got %s", src->where, src->name,
                            mdf_toml_type_name (mdf_toml_type (src->node)));
        v = mdf_toml_string (src->node);
    }
    if (e->choices) {
        size_t i = 0;
        while (e->choices[i] && strcmp (e->choices[i], v) != 0)
            i++;
        if (!e->choices[i]) {
            char list[256] = "";
            for (size_t k = 0; e->choices[k]; k++)
                snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", k ? ", " : "",
                          e->choices[k]);
            return s_error (err, errlen, "%s: %s: \"%s\" is not one of %s", src->where, src->name,
                            v, list);
        }
    }
    char *copy = s_strdup (v);
    if (!copy)
        return s_error (err, errlen, "%s: %s: out of memory", src->where, src->name);
    free (*(char **)field);
    *(char **)field = copy;
    return 0;
}

static int
s_list_push (mdf_strlist_t *l, const char *s, size_t n)
{
    char **items = realloc (l->items, (l->count + 1) * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    l->items[l->count] = malloc (n + 1);
    if (!l->items[l->count])
        return -1;
    memcpy (l->items[l->count], s, n);
    l->items[l->count++][n] = '\0';
    return 0;
}

/* Comma-separated text into `l`, items trimmed, empty ones dropped. */
static int
s_split (mdf_strlist_t *l, const char *text)
{
    for (const char *p = text; *p;) {
        const char *end = strchr (p, ',');
        if (!end)
            end = p + strlen (p);
        const char *a = p, *b = end;
        while (a < b && isspace ((unsigned char)*a))
            a++;
        while (b > a && isspace ((unsigned char)b[-1]))
            b--;
        if (b > a && s_list_push (l, a, (size_t)(b - a)))
            return -1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int
s_set_list (const source_t *src, void *field, char *err, size_t errlen)
{
    mdf_strlist_t l = { 0 };
    int rc = 0;
    const mdf_toml_t *node = src->node;
    if (!node)
        rc = s_split (&l, src->text);
    else if (mdf_toml_type (node) == MDF_TOML_STRING)
        rc = s_list_push (&l, mdf_toml_string (node), strlen (mdf_toml_string (node)));
    else if (mdf_toml_type (node) != MDF_TOML_ARRAY)
        return s_error (err, errlen, "%s: %s: expected a list of strings, got %s", src->where,
                        src->name, mdf_toml_type_name (mdf_toml_type (node)));
    for (size_t i = 0; node && rc == 0 && i < mdf_toml_len (node); i++) {
        const mdf_toml_t *item = mdf_toml_at (node, i);
        if (mdf_toml_type (item) != MDF_TOML_STRING) {
            mdf_strlist_free (&l);
            return s_error (err, errlen, "%s: %s[%zu]: expected a string, got %s", src->where,
                            src->name, i, mdf_toml_type_name (mdf_toml_type (item)));
        }
        rc = s_list_push (&l, mdf_toml_string (item), strlen (mdf_toml_string (item)));
    }
    if (rc) {
        mdf_strlist_free (&l);
        return s_error (err, errlen, "%s: %s: out of memory", src->where, src->name);
    }
    mdf_strlist_free ((mdf_strlist_t *)field);
    *(mdf_strlist_t *)field = l;
    return 0;
}

/* Set entry `e` in `base` from `src` and record the origin under src->name. */
static int
s_set (mdf_cfg_t *self, const mdf_cfg_entry_t *e, const source_t *src, void *base, char *err,
       size_t errlen)
{
    void *field = (char *)base + e->offset;
    int rc;
    switch (e->type) {
    case MDF_CFG_STRING:
        rc = s_set_string (e, src, field, err, errlen);
        break;
    case MDF_CFG_INT:
        rc = s_set_int (e, src, field, err, errlen);
        break;
    case MDF_CFG_DOUBLE:
        rc = s_set_double (e, src, field, err, errlen);
        break;
    case MDF_CFG_BOOL:
        rc = s_set_bool (src, field, err, errlen);
        break;
    case MDF_CFG_STRLIST:
        rc = s_set_list (src, field, err, errlen);
        break;
    default:
        rc = s_error (err, errlen, "%s: bad entry type", src->name);
    }
    if (rc == 0 && s_set_origin (self, src->name, src->where))
        return s_error (err, errlen, "%s: out of memory", src->name);
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
        return s_error (err, errlen, "%s:%d: unknown key %s%s (did you mean %s%s?)", self->path,
                        mdf_toml_line (node), prefix, key, prefix, hint);
    return s_error (err, errlen, "%s:%d: unknown key %s%s%s", self->path, mdf_toml_line (node),
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

static void
s_env_name (const char *prefix, const char *key, char *out, size_t outlen)
{
    snprintf (out, outlen, "%s_%s", prefix, key);
    for (char *c = out; *c; c++)
        *c = *c == '.' || *c == '-' ? '_' : (char)toupper ((unsigned char)*c);
}

static int
s_load_env (mdf_cfg_t *self, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < self->n; i++) {
        const mdf_cfg_entry_t *e = &self->entries[i];
        char name[256], where[260];
        s_env_name (self->prefix, e->key, name, sizeof name);
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
    self->prefix = s_strdup (env_prefix ? env_prefix : "");
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
        self->path = s_strdup (path);
        if (!self->path)
            return s_error (err, errlen, "%s: out of memory", path);
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
        return s_error (err, errlen, "%s:%d: %s must be an array of tables ([[%s]])", self->path,
                        mdf_toml_line (arr), key, key);
    size_t len = mdf_toml_len (arr);
    if (len == 0)
        return 0;
    *items = calloc (len, elem_size);
    if (!*items)
        return s_error (err, errlen, "%s: out of memory", key);
    *count = len;
    for (size_t i = 0; i < len; i++)
        if (s_load_element (self, key, i, mdf_toml_at (arr, i), entries, n,
                            (char *)*items + i * elem_size, err, errlen))
            return -1;
    return 0;
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

int
mdf_strlist_copy (mdf_strlist_t *dst, const mdf_strlist_t *src)
{
    mdf_strlist_t l = { 0 };
    for (size_t i = 0; i < src->count; i++) {
        if (s_list_push (&l, src->items[i], strlen (src->items[i]))) {
            mdf_strlist_free (&l);
            return -1;
        }
    }
    *dst = l;
    return 0;
}

void
mdf_strlist_free (mdf_strlist_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free (list->items[i]);
    free (list->items);
    list->items = NULL;
    list->count = 0;
}

/* ---------------------------------------------------------------- output */

static void
s_print_string (const char *s, FILE *out)
{
    fputc ('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf (out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf (out, "\\u%04X", (unsigned char)*s);
        else
            fputc (*s, out);
    }
    fputc ('"', out);
}

static void
s_print_value (const mdf_cfg_entry_t *e, const void *settings, FILE *out)
{
    const void *field = (const char *)settings + e->offset;
    switch (e->type) {
    case MDF_CFG_STRING: {
        const char *s = *(char *const *)field;
        s_print_string (s ? s : "", out);
        break;
    }
    case MDF_CFG_INT:
        fprintf (out, "%" PRId64, *(const int64_t *)field);
        break;
    case MDF_CFG_DOUBLE:
        fprintf (out, "%.15g", *(const double *)field);
        break;
    case MDF_CFG_BOOL:
        fputs (*(const bool *)field ? "true" : "false", out);
        break;
    case MDF_CFG_STRLIST: {
        const mdf_strlist_t *l = field;
        fputc ('[', out);
        for (size_t i = 0; i < l->count; i++) {
            fputs (i ? ", " : "", out);
            s_print_string (l->items[i], out);
        }
        fputc (']', out);
        break;
    }
    }
}

void
mdf_cfg_dump (const mdf_cfg_t *self, const void *settings, FILE *out)
{
    for (size_t i = 0; i < self->n; i++) {
        const mdf_cfg_entry_t *e = &self->entries[i];
        fprintf (out, "%s = ", e->key);
        s_print_value (e, settings, out);
        fprintf (out, "  # %s\n", mdf_cfg_where (self, e->key));
    }
}

static void
s_print_cell (const char *s, FILE *out)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputc ('\\', out);
        fputc (*s, out);
    }
}

static void
s_print_range (const mdf_cfg_entry_t *e, FILE *out)
{
    if (e->choices) {
        for (size_t k = 0; e->choices[k]; k++)
            fprintf (out, "%s`%s`", k ? ", " : "", e->choices[k]);
    } else if ((e->type == MDF_CFG_INT || e->type == MDF_CFG_DOUBLE) && e->min <= e->max)
        fprintf (out, "%.15g .. %.15g", e->min, e->max);
}

void
mdf_cfg_print_reference (const mdf_cfg_entry_t *entries, size_t n, const char *env_prefix,
                         FILE *out)
{
    fputs ("| key | type | default | range | env | help |\n", out);
    fputs ("|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const mdf_cfg_entry_t *e = &entries[i];
        char env[256];
        s_env_name (env_prefix ? env_prefix : "", e->key, env, sizeof env);
        fprintf (out, "| `%s` | %s | `", e->key, s_type_name (e->type));
        s_print_cell (e->def, out);
        fputs ("` | ", out);
        s_print_range (e, out);
        if (env_prefix)
            fprintf (out, " | `%s` | ", env);
        else
            fputs (" | - | ", out);
        s_print_cell (e->help, out);
        fputs (" |\n", out);
    }
}
