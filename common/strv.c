/*
 * strv: lists of owned strings (see strv.h).
 */
#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

int
mdf_strlist_push (mdf_strlist_t *list, const char *s, size_t n)
{
    char *copy = malloc (n + 1);
    if (!copy)
        return -1;
    char **items = realloc (list->items, (list->count + 1) * sizeof *items);
    if (!items) {
        free (copy);
        return -1;
    }
    memcpy (copy, s, n);
    copy[n] = '\0';
    list->items = items;
    list->items[list->count++] = copy;
    return 0;
}

int
mdf_strlist_set (mdf_strlist_t *dst, const char *const *v, size_t n)
{
    mdf_strlist_t l = { NULL, 0 };
    for (size_t i = 0; i < n; i++)
        if (mdf_strlist_push (&l, v[i], strlen (v[i])) != 0) {
            mdf_strlist_free (&l);
            *dst = l;
            return -1;
        }
    *dst = l;
    return 0;
}

int
mdf_strlist_copy (mdf_strlist_t *dst, const mdf_strlist_t *src)
{
    return mdf_strlist_set (dst, (const char *const *)src->items, src->count);
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
