/*
 * crc32c: see crc32c.h.  The table version is the classic slicing-by-8 of
 * the reflected polynomial 0x82F63B78.
 */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

#define S_POLY 0x82F63B78u

static uint32_t s_table[8][256];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_init (void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ S_POLY : c >> 1;
        s_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            s_table[t][i] = (s_table[t - 1][i] >> 8) ^ s_table[0][s_table[t - 1][i] & 0xff];
}

uint32_t
mdf_crc32c_sw (uint32_t crc, const void *data, size_t n)
{
    pthread_once (&s_once, s_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy (&lo, p, 4);
        memcpy (&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32 (lo);
        hi = __builtin_bswap32 (hi);
#endif
        lo ^= c;
        c = s_table[7][lo & 0xff] ^ s_table[6][(lo >> 8) & 0xff] ^ s_table[5][(lo >> 16) & 0xff]
            ^ s_table[4][lo >> 24] ^ s_table[3][hi & 0xff] ^ s_table[2][(hi >> 8) & 0xff]
            ^ s_table[1][(hi >> 16) & 0xff] ^ s_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ s_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__ ((target ("sse4.2"))) static uint32_t
s_hw (uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy (&v, p, 8);
        c = _mm_crc32_u64 (c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    if (n >= 4) {
        uint32_t v;
        memcpy (&v, p, 4);
        c32 = _mm_crc32_u32 (c32, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        c32 = _mm_crc32_u8 (c32, *p++);
    return ~c32;
}

/* 0 unknown yet, 1 the instructions, 2 the table (a racy first call
 * computes the same answer twice: harmless) */
static _Atomic int s_impl;

uint32_t
mdf_crc32c (uint32_t crc, const void *data, size_t n)
{
    int impl = s_impl;
    if (impl == 0) {
        __builtin_cpu_init ();
        impl = __builtin_cpu_supports ("sse4.2") ? 1 : 2;
        s_impl = impl;
    }
    return impl == 1 ? s_hw (crc, data, n) : mdf_crc32c_sw (crc, data, n);
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

uint32_t
mdf_crc32c (uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy (&v, p, 8);
        c = __crc32cd (c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __crc32cb (c, *p++);
    return ~c;
}

#else

uint32_t
mdf_crc32c (uint32_t crc, const void *data, size_t n)
{
    return mdf_crc32c_sw (crc, data, n);
}

#endif
