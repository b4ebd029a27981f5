/*
 * strv: a string vector, the plain `char **` + count that settings and
 * metrics hand around (endpoint lists, provider names, label values).
 *
 * The count is kept by the caller, next to the pointer, as the structs that
 * hold these arrays already do.  mdf_strlist_t (cfg.h) is the same idea with
 * the count inside, for settings fields.
 */
#ifndef MDF_STRV_H
#define MDF_STRV_H

#include <stddef.h>

/* Copy the n strings of v into a new array (owned by the caller; free it with
 * mdf_strv_free).  n may be 0: the result is then an empty, non-NULL array.
 * NULL when out of memory (nothing is leaked). */
char **mdf_strv_dup (const char *const *v, size_t n);

/* Free the n strings of v and v itself; v may be NULL. */
void mdf_strv_free (char **v, size_t n);

#endif
