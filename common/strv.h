/*
 * strv: the one list of strings of mdflow, mdf_strlist_t: a count and an
 * array of owned, NUL-terminated copies.  Settings fields (STRLIST keys of
 * common/cfg.h: endpoint lists, symbols), the metric registry's label names
 * and values, and the sender's provider names all hold their strings in it.
 *
 * An empty list is { NULL, 0 }.  Every function that allocates either
 * succeeds whole or returns -1 with nothing leaked, and freeing an empty or
 * zeroed list is harmless.
 */
#ifndef MDF_STRV_H
#define MDF_STRV_H

#include <stddef.h>

typedef struct {
    char **items; /* owned, `count` of them */
    size_t count;
} mdf_strlist_t;

/* Append a copy of the n bytes at s (they need no NUL; the copy gets one).
 * 0, or -1 when out of memory (the list is unchanged). */
int mdf_strlist_push (mdf_strlist_t *list, const char *s, size_t n);

/* Make *dst a copy of the n strings of v (n may be 0, v then NULL).  *dst
 * is overwritten, not freed.  0, or -1 when out of memory (*dst empty). */
int mdf_strlist_set (mdf_strlist_t *dst, const char *const *v, size_t n);

/* mdf_strlist_set from another list. */
int mdf_strlist_copy (mdf_strlist_t *dst, const mdf_strlist_t *src);

/* Free the strings and the array; the list becomes empty. */
void mdf_strlist_free (mdf_strlist_t *list);

#endif
