/*
 * alloc_probe: the largest single allocation requested since the last reset.
 * The binaries that link alloc_probe.c (the proto unit tests, the fuzz
 * targets) are linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * which sends the calls made by their own objects and by proto's static
 * library here; shared libraries are not affected.
 * Not thread-safe: the proto tests and fuzz targets are single-threaded.
 */
#ifndef MDF_ALLOC_PROBE_H
#define MDF_ALLOC_PROBE_H

#include <stddef.h>

void alloc_probe_reset (void);
size_t alloc_probe_max (void);

#endif
