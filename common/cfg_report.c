/*
 * cfg_report: what the entry tables print (see cfg.h; hand-written, like the
 * rest of cfg: no C TOML library is packaged for Debian 12).
 *
 * mdf_cfg_dump writes the effective settings as TOML-ish lines, each with the
 * place its value came from (--check-config), secrets redacted;
 * mdf_cfg_print_reference writes the Markdown table the README's
 * configuration reference and both services' --help are generated from
 * (tools/config_reference.c), so the docs cannot drift from the code.  The
 * "reload" column comes from MDF_CFG_LIVE.
 */
#include "common/cfg_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static const char *
s_type_name (mdf_cfg_type_t type)
{
    static const char *names[]
        = { "string", "integer", "number", "boolean", "list of strings", "string" };
    return (size_t)type < sizeof names / sizeof names[0] ? names[type] : "?";
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
    if (e->flags & MDF_CFG_SECRET) {
        const char *s = e->type == MDF_CFG_STRING ? *(char *const *)field : NULL;
        fputs (s && *s ? "\"(redacted)\"" : "\"\"", out);
        return;
    }
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
    case MDF_CFG_ENUM: {
        int i = *(const int *)field;
        s_print_string (i >= 0 && e->choices ? e->choices[i] : "?", out);
        break;
    }
    }
}

/* Entries of one struct; origins looked up as prefix + key. */
static void
s_dump_entries (const mdf_cfg_t *self, const mdf_cfg_entry_t *entries, size_t n, const char *prefix,
                const void *settings, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const mdf_cfg_entry_t *e = &entries[i];
        char name[256];
        snprintf (name, sizeof name, "%s%s", prefix, e->key);
        fprintf (out, "%s = ", e->key);
        s_print_value (e, settings, out);
        fprintf (out, "  # %s\n", mdf_cfg_where (self, name));
    }
}

void
mdf_cfg_dump (const mdf_cfg_t *self, const void *settings, FILE *out)
{
    s_dump_entries (self, self->entries, self->n, "", settings, out);
}

void
mdf_cfg_dump_schema (const mdf_cfg_t *self, const mdf_cfg_schema_t *schema, const void *settings,
                     FILE *out)
{
    s_dump_entries (self, schema->entries, schema->n, "", settings, out);
    for (size_t a = 0; a < schema->narrays; a++) {
        const mdf_cfg_array_t *arr = &schema->arrays[a];
        const char *items = *(char *const *)((const char *)settings + arr->items_offset);
        size_t count = *(const size_t *)((const char *)settings + arr->count_offset);
        for (size_t i = 0; i < count; i++) {
            char prefix[128];
            snprintf (prefix, sizeof prefix, "%s[%zu].", arr->key, i);
            fprintf (out, "\n[[%s]]  # %zu\n", arr->key, i);
            s_dump_entries (self, arr->entries, arr->n, prefix, items + i * arr->elem_size, out);
        }
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
    fputs ("| key | type | default | range | reload | env | help |\n", out);
    fputs ("|---|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const mdf_cfg_entry_t *e = &entries[i];
        char env[256];
        cfg_env_name (env_prefix ? env_prefix : "", e->key, env, sizeof env);
        fprintf (out, "| `%s` | %s | ", e->key, s_type_name (e->type));
        if (e->def && *e->def) {
            fputc ('`', out);
            s_print_cell (e->def, out);
            fputc ('`', out);
        } else {
            fputs ("(empty)", out); /* `` would render as stray backticks */
        }
        fputs (" | ", out);
        s_print_range (e, out);
        fputs (e->flags & MDF_CFG_LIVE ? " | live" : " | restart", out);
        if (env_prefix)
            fprintf (out, " | `%s` | ", env);
        else
            fputs (" | - | ", out);
        s_print_cell (e->help, out);
        fputs (" |\n", out);
    }
}

void
mdf_cfg_print_schema_reference (const mdf_cfg_schema_t *schema, const char *file_name, FILE *out)
{
    fprintf (out, "### %s (`%s`, environment `%s_<SECTION>_<KEY>`)\n\n", schema->service, file_name,
             schema->env_prefix);
    mdf_cfg_print_reference (schema->entries, schema->n, schema->env_prefix, out);
    for (size_t a = 0; a < schema->narrays; a++) {
        fprintf (out, "\n#### `[[%s]]` (one table each; no environment overrides)\n\n",
                 schema->arrays[a].key);
        mdf_cfg_print_reference (schema->arrays[a].entries, schema->arrays[a].n, NULL, out);
    }
}
