/*
 * symhash: the hash of a symbol's bytes that pipeline/tickbar.c keys its
 * table with; bench/agg's bare loop uses the same one, so the two loops it
 * compares differ only by the operator's rules.
 *
 * A multiply-xorshift of n >= 1 bytes, 8 at a time, without a division or a
 * branch per byte.  Inline (forced): it is on the tick path.
 */
#ifndef PIPELINE_SYMHASH_H
#define PIPELINE_SYMHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline __attribute__ ((always_inline)) uint64_t
symhash_load64 (const char *p)
{
    uint64_t w;
    memcpy (&w, p, 8);
    return w;
}

static inline __attribute__ ((always_inline)) uint64_t
symhash_load32 (const char *p)
{
    uint32_t w;
    memcpy (&w, p, 4);
    return w;
}

/* The hash of the n >= 1 bytes at p. */
static inline __attribute__ ((always_inline)) uint64_t
symhash (const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
    while (n > 8) {
        h = (h ^ symhash_load64 (p)) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t w;
    if (n >= 4)
        w = symhash_load32 (p) | symhash_load32 (p + n - 4) << 32;
    else
        w = (uint64_t)(uint8_t)p[0] << 16 | (uint64_t)(uint8_t)p[n >> 1] << 8
            | (uint64_t)(uint8_t)p[n - 1];
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 29;
    return h;
}

#endif
