/*
 * cfg_internal: what the files of the settings loader share (private to
 * common/cfg*.c; users include common/cfg.h only).  Each depends only on
 * those above it in this list:
 *
 *   cfg_base.c    error text, environment variable names
 *   cfg_value.c   one value into one field: conversion, range and choice
 *                 checks, string lists
 *   cfg.c         the loader: defaults, the TOML file, the environment, arrays
 *                 of tables, origins ("where did this value come from"), errors
 *   cfg_report.c  output: the effective-config dump and the README reference
 *   cfg_reload.c  the reload routine: diff, move the live keys, report
 */
#ifndef MDF_CFG_INTERNAL_H
#define MDF_CFG_INTERNAL_H

#include "common/cfg.h"
#include "common/toml.h"

#include <stddef.h>

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

/* Format into err (when given); returns -1. */
int cfg_error (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* The environment variable of `key`: PREFIX_KEY upper-cased, '.' and '-' -> '_'. */
void cfg_env_name (const char *prefix, const char *key, char *out, size_t outlen);

/* Convert and check `src` as entry `e` and store it in `base` + e->offset,
 * freeing the value it replaces.  0, or -1 with err naming src->where and
 * src->name; the field is unchanged on error. */
int cfg_value_set (const mdf_cfg_entry_t *e, const source_t *src, void *base, char *err,
                   size_t errlen);

#endif
