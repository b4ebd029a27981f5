/*
 * cfg_value: one settings value into one struct field (see cfg.h and cfg.c;
 * hand-written, like the TOML reader it reads from: no C TOML library is
 * packaged for Debian 12).
 *
 * Every value, whatever its source (default, file, environment), goes through
 * one setter per type that converts it, checks its range or choices and frees
 * the value it replaces, so a struct never holds a dangling or leaked string.
 * TOML values are type-checked (an INT rejects a float, a DOUBLE accepts an
 * integer); text values are parsed: integers in base 10, numbers by strtod,
 * booleans true/false/yes/no/on/off/1/0, lists comma-separated with blanks
 * trimmed and empty items dropped.
 */
#include "common/cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- setters */

static int
s_check_range (const mdf_cfg_entry_t *e, const source_t *src, double v, const char *shown,
               char *err, size_t errlen)
{
    if (e->min > e->max || (v >= e->min && v <= e->max))
        return 0;
    return cfg_error (err, errlen, "%s: %s (%s) must be between %.15g and %.15g", src->where,
                      src->name, shown, e->min, e->max);
}

static int
s_set_int (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    int64_t v;
    if (src->node) {
        if (mdf_toml_type (src->node) != MDF_TOML_INTEGER)
            return cfg_error (err, errlen, "%s: %s: expected an integer, got %s", src->where,
                              src->name, mdf_toml_type_name (mdf_toml_type (src->node)));
        v = mdf_toml_int (src->node);
    } else {
        char *end;
        errno = 0;
        long long x = strtoll (src->text, &end, 10);
        while (isspace ((unsigned char)*end))
            end++;
        if (errno || end == src->text || *end)
            return cfg_error (err, errlen, "%s: %s: \"%s\" is not an integer", src->where,
                              src->name, src->text);
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
            return cfg_error (err, errlen, "%s: %s: expected a number, got %s", src->where,
                              src->name, mdf_toml_type_name (t));
        v = t == MDF_TOML_FLOAT ? mdf_toml_float (src->node) : (double)mdf_toml_int (src->node);
    } else {
        char *end;
        v = strtod (src->text, &end);
        while (isspace ((unsigned char)*end))
            end++;
        if (end == src->text || *end)
            return cfg_error (err, errlen, "%s: %s: \"%s\" is not a number", src->where, src->name,
                              src->text);
    }
    if (isnan (v))
        return cfg_error (err, errlen, "%s: %s: nan is not allowed", src->where, src->name);
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
            return cfg_error (err, errlen, "%s: %s: expected a boolean, got %s", src->where,
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
    return cfg_error (err, errlen, "%s: %s: \"%s\" is not a boolean (true or false)", src->where,
                      src->name, src->text);
}

/* Index of `v` in e->choices, or -1 with err listing them. */
static int
s_choice (const mdf_cfg_entry_t *e, const source_t *src, const char *v, char *err, size_t errlen)
{
    for (int i = 0; e->choices && e->choices[i]; i++)
        if (strcmp (e->choices[i], v) == 0)
            return i;
    char list[256] = "";
    for (size_t k = 0; e->choices && e->choices[k]; k++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", k ? ", " : "",
                  e->choices[k]);
    return cfg_error (err, errlen, "%s: %s: \"%s\" is not one of %s", src->where, src->name, v,
                      list);
}

/* The text of a STRING or ENUM value (TOML string or plain text). */
static const char *
s_text (const source_t *src, char *err, size_t errlen)
{
    if (!src->node)
        return src->text;
    if (mdf_toml_type (src->node) != MDF_TOML_STRING) {
        cfg_error (err, errlen, "%s: %s: expected a string, got %s", src->where, src->name,
                   mdf_toml_type_name (mdf_toml_type (src->node)));
        return NULL;
    }
    return mdf_toml_string (src->node);
}

static int
s_set_string (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    const char *v = s_text (src, err, errlen);
    if (!v || (e->choices && s_choice (e, src, v, err, errlen) < 0))
        return -1;
    char *copy = strdup (v);
    if (!copy)
        return cfg_error (err, errlen, "%s: %s: out of memory", src->where, src->name);
    free (*(char **)field);
    *(char **)field = copy;
    return 0;
}

static int
s_set_enum (const mdf_cfg_entry_t *e, const source_t *src, void *field, char *err, size_t errlen)
{
    const char *v = s_text (src, err, errlen);
    int i = v ? s_choice (e, src, v, err, errlen) : -1;
    if (i < 0)
        return -1;
    *(int *)field = i;
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
        if (b > a && mdf_strlist_push (l, a, (size_t)(b - a)))
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
        rc = mdf_strlist_push (&l, mdf_toml_string (node), strlen (mdf_toml_string (node)));
    else if (mdf_toml_type (node) != MDF_TOML_ARRAY)
        return cfg_error (err, errlen, "%s: %s: expected a list of strings, got %s", src->where,
                          src->name, mdf_toml_type_name (mdf_toml_type (node)));
    for (size_t i = 0; node && rc == 0 && i < mdf_toml_len (node); i++) {
        const mdf_toml_t *item = mdf_toml_at (node, i);
        if (mdf_toml_type (item) != MDF_TOML_STRING) {
            mdf_strlist_free (&l);
            return cfg_error (err, errlen, "%s: %s[%zu]: expected a string, got %s", src->where,
                              src->name, i, mdf_toml_type_name (mdf_toml_type (item)));
        }
        rc = mdf_strlist_push (&l, mdf_toml_string (item), strlen (mdf_toml_string (item)));
    }
    if (rc) {
        mdf_strlist_free (&l);
        return cfg_error (err, errlen, "%s: %s: out of memory", src->where, src->name);
    }
    mdf_strlist_free ((mdf_strlist_t *)field);
    *(mdf_strlist_t *)field = l;
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

int
cfg_value_set (const mdf_cfg_entry_t *e, const source_t *src, void *base, char *err, size_t errlen)
{
    void *field = (char *)base + e->offset;
    switch (e->type) {
    case MDF_CFG_STRING:
        return s_set_string (e, src, field, err, errlen);
    case MDF_CFG_INT:
        return s_set_int (e, src, field, err, errlen);
    case MDF_CFG_DOUBLE:
        return s_set_double (e, src, field, err, errlen);
    case MDF_CFG_BOOL:
        return s_set_bool (src, field, err, errlen);
    case MDF_CFG_STRLIST:
        return s_set_list (src, field, err, errlen);
    case MDF_CFG_ENUM:
        return s_set_enum (e, src, field, err, errlen);
    }
    return cfg_error (err, errlen, "%s: bad entry type", src->name);
}
