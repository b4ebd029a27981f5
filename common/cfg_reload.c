/*
 * cfg_reload: one reload routine for both services (see cfg.h, "reload").
 *
 * The running settings struct is the one the service started with; a reload
 * loads the file into a fresh struct of the same type, compares the two
 * field by field through the schema, and swaps each changed MDF_CFG_LIVE
 * field into the running struct.  Swapping (not copying) keeps ownership
 * simple: afterwards the fresh struct holds the old values and is freed as
 * any other settings struct.  Fields without the flag keep their running
 * value and are reported as needing a restart.
 *
 * Only the reloading thread writes the running struct; other threads must
 * not read its LIVE fields directly, but get them from the service's apply
 * callback through thread-safe calls.
 */
#include "common/cfg_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static bool
s_same_list (const mdf_strlist_t *a, const mdf_strlist_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp (a->items[i], b->items[i]) != 0)
            return false;
    return true;
}

static bool
s_same (const mdf_cfg_entry_t *e, const void *a, const void *b)
{
    const char *pa = (const char *)a + e->offset, *pb = (const char *)b + e->offset;
    switch (e->type) {
    case MDF_CFG_STRING: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        return strcmp (sa ? sa : "", sb ? sb : "") == 0;
    }
    case MDF_CFG_INT:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    case MDF_CFG_DOUBLE:
        return *(const double *)pa == *(const double *)pb;
    case MDF_CFG_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case MDF_CFG_STRLIST:
        return s_same_list ((const mdf_strlist_t *)pa, (const mdf_strlist_t *)pb);
    case MDF_CFG_ENUM:
        return *(const int *)pa == *(const int *)pb;
    }
    return true;
}

static size_t
s_size (mdf_cfg_type_t type)
{
    switch (type) {
    case MDF_CFG_STRING:
        return sizeof (char *);
    case MDF_CFG_INT:
        return sizeof (int64_t);
    case MDF_CFG_DOUBLE:
        return sizeof (double);
    case MDF_CFG_BOOL:
        return sizeof (bool);
    case MDF_CFG_STRLIST:
        return sizeof (mdf_strlist_t);
    case MDF_CFG_ENUM:
        return sizeof (int);
    }
    return 0;
}

static void
s_swap (const mdf_cfg_entry_t *e, void *a, void *b)
{
    unsigned char tmp[sizeof (mdf_strlist_t)];
    size_t n = s_size (e->type);
    char *pa = (char *)a + e->offset, *pb = (char *)b + e->offset;
    memcpy (tmp, pa, n);
    memcpy (pa, pb, n);
    memcpy (pb, tmp, n);
}

/* Append `key` to a comma-separated list (truncated, with "..." once full). */
static void
s_note (char *list, size_t size, size_t *count, const char *prefix, const char *key)
{
    size_t used = strlen (list);
    int w = snprintf (list + used, size - used, "%s%s%s", *count ? "," : "", prefix, key);
    if (w < 0 || (size_t)w >= size - used)
        snprintf (list + (size > 4 ? size - 4 : 0), size > 4 ? 4 : size, "...");
    (*count)++;
}

static void
s_merge_entries (const mdf_cfg_entry_t *entries, size_t n, const char *prefix, void *running,
                 void *fresh, mdf_cfg_changes_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const mdf_cfg_entry_t *e = &entries[i];
        if (s_same (e, running, fresh))
            continue;
        if (e->flags & MDF_CFG_LIVE) {
            s_swap (e, running, fresh);
            s_note (out->applied, sizeof out->applied, &out->napplied, prefix, e->key);
        } else {
            s_note (out->restart, sizeof out->restart, &out->nrestart, prefix, e->key);
        }
    }
}

static const char *
s_id (const mdf_cfg_array_t *arr, const char *elem)
{
    const char *id = *(char *const *)(elem + arr->id_offset);
    return id ? id : "";
}

/* Element of `items` (count of them) whose id is `id`, or NULL. */
static char *
s_find (const mdf_cfg_array_t *arr, char *items, size_t count, const char *id)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (s_id (arr, items + i * arr->elem_size), id) == 0)
            return items + i * arr->elem_size;
    return NULL;
}

static void
s_merge_array (const mdf_cfg_array_t *arr, void *running, void *fresh, mdf_cfg_changes_t *out)
{
    char *ri = *(char **)((char *)running + arr->items_offset);
    char *fi = *(char **)((char *)fresh + arr->items_offset);
    size_t rn = *(size_t *)((char *)running + arr->count_offset);
    size_t fn = *(size_t *)((char *)fresh + arr->count_offset);
    char name[300];
    for (size_t i = 0; i < fn; i++) {
        char *f = fi + i * arr->elem_size;
        char *r = s_find (arr, ri, rn, s_id (arr, f));
        snprintf (name, sizeof name, "%s[%s]", arr->key, s_id (arr, f));
        if (!r) {
            s_note (out->restart, sizeof out->restart, &out->nrestart, name, " (new)");
            continue;
        }
        snprintf (name, sizeof name, "%s[%s].", arr->key, s_id (arr, f));
        s_merge_entries (arr->entries, arr->n, name, r, f, out);
    }
    for (size_t i = 0; i < rn; i++) {
        const char *id = s_id (arr, ri + i * arr->elem_size);
        if (!s_find (arr, fi, fn, id)) {
            snprintf (name, sizeof name, "%s[%s]", arr->key, id);
            s_note (out->restart, sizeof out->restart, &out->nrestart, name, " (removed)");
        }
    }
}

void
mdf_cfg_merge_live (const mdf_cfg_schema_t *schema, void *running, void *fresh,
                    mdf_cfg_changes_t *out)
{
    memset (out, 0, sizeof *out);
    s_merge_entries (schema->entries, schema->n, "", running, fresh, out);
    for (size_t a = 0; a < schema->narrays; a++)
        s_merge_array (&schema->arrays[a], running, fresh, out);
}

/* True when `path` parses as TOML but sets no key at all (checked before the
 * service's own rules, which would only say what is missing). */
static bool
s_empty (const char *path)
{
    char err[256];
    mdf_toml_t *root = mdf_toml_parse_file (path, err, sizeof err);
    size_t keys = 0;
    for (size_t i = 0; root && i < mdf_toml_len (root); i++) {
        const mdf_toml_t *v = mdf_toml_value_at (root, i);
        mdf_toml_type_t t = mdf_toml_type (v);
        keys += t == MDF_TOML_TABLE || t == MDF_TOML_ARRAY ? mdf_toml_len (v) : 1;
    }
    bool empty = root && keys == 0;
    mdf_toml_destroy (&root);
    return empty;
}

int
mdf_cfg_reload (const mdf_cfg_reloader_t *r, const char *path, void *running,
                mdf_cfg_changes_t *out, char *err, size_t errlen)
{
    mdf_cfg_changes_t local;
    out = out ? out : &local;
    memset (out, 0, sizeof *out);
    void *fresh = calloc (1, r->settings_size);
    if (!fresh)
        return cfg_error (err, errlen, "out of memory");
    mdf_cfg_t *cfg = NULL;
    int rc = -1;
    if (path && s_empty (path))
        cfg_error (err, errlen, "%s: the file holds no setting (empty or truncated?)", path);
    else if ((cfg = r->load (path, fresh, err, errlen))) {
        mdf_cfg_merge_live (r->schema, running, fresh, out);
        if (r->apply)
            r->apply (r->arg, running, out);
        rc = 0;
    }
    char q[1100];
    if (rc == 0)
        mdf_info ("configuration reloaded", "path=%s applied=%s needs_restart=%s",
                  path ? path : "-", out->napplied ? out->applied : "-",
                  out->nrestart ? out->restart : "-");
    if (rc == 0 && out->nrestart)
        mdf_warn ("changed keys need a restart to take effect", "keys=%s", out->restart);
    if (rc < 0)
        mdf_error ("reload refused, keeping the running configuration", "error=%s",
                   mdf_log_quote (q, sizeof q, err));
    mdf_cfg_destroy (&cfg);
    r->free_settings (fresh);
    free (fresh);
    return rc;
}
