/*
 * cfg_base: the two helpers every part of the settings loader uses (error
 * text, environment variable names).  The bottom of common/cfg*.c: it
 * depends on nothing else of it, so the other files never depend on each
 * other in a circle (see cfg.c, "Files").
 */
#include "common/cfg_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

int
cfg_error (char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, errlen, fmt, ap);
        va_end (ap);
    }
    return -1;
}

void
cfg_env_name (const char *prefix, const char *key, char *out, size_t outlen)
{
    snprintf (out, outlen, "%s_%s", prefix, key);
    for (char *c = out; *c; c++)
        *c = *c == '.' || *c == '-' ? '_' : (char)toupper ((unsigned char)*c);
}
