/*
 * strv: duplicate and free string vectors (see strv.h).  A vector is one
 * calloc'ed array of n pointers (at least one slot, so an empty vector is not
 * NULL and NULL keeps meaning "out of memory") to n strdup'ed strings.
 */
#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

char **
mdf_strv_dup (const char *const *v, size_t n)
{
    char **out = calloc (n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup (v[i]))) {
            mdf_strv_free (out, n);
            return NULL;
        }
    return out;
}

void
mdf_strv_free (char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free (v[i]);
    free (v);
}
