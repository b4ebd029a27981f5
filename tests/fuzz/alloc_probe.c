/*
 * alloc_probe: see alloc_probe.h.
 */
#include "alloc_probe.h"

#include <stdint.h>

void *__real_malloc (size_t size);
void *__real_calloc (size_t n, size_t size);
void *__real_realloc (void *p, size_t size);
void *__wrap_malloc (size_t size);
void *__wrap_calloc (size_t n, size_t size);
void *__wrap_realloc (void *p, size_t size);

static size_t s_max;

static void
s_note (size_t size)
{
    if (size > s_max)
        s_max = size;
}

void *
__wrap_malloc (size_t size)
{
    s_note (size);
    return __real_malloc (size);
}

void *
__wrap_calloc (size_t n, size_t size)
{
    s_note (size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size);
    return __real_calloc (n, size);
}

void *
__wrap_realloc (void *p, size_t size)
{
    s_note (size);
    return __real_realloc (p, size);
}

void
alloc_probe_reset (void)
{
    s_max = 0;
}

size_t
alloc_probe_max (void)
{
    return s_max;
}
