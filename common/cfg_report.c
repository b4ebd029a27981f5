/*
 * cfg_report: what the entry tables print (see cfg.h; hand-written, like the
 * rest of cfg: no C TOML library is packaged for Debian 12).
 *
 * mdf_cfg_dump writes the effective settings as TOML-ish lines, each with the
 * place its value came from (--check-config); mdf_cfg_print_reference writes
 * the Markdown table the README's configuration reference is generated from
 * (tools/config_reference.c), so the docs cannot drift from the code.
 */
#include "common/cfg_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static const char *
s_type_name (mdf_cfg_type_t type)
{
    static const char *names[] = { "string", "integer", "number", "boolean", "list of strings" };
    return (size_t)type < 5 ? names[type] : "?";
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
        if (env_prefix)
            fprintf (out, " | `%s` | ", env);
        else
            fputs (" | - | ", out);
        s_print_cell (e->help, out);
        fputs (" |\n", out);
    }
}
