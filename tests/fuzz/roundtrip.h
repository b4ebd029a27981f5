/*
 * roundtrip: the property every decoder must keep, shared by the libFuzzer
 * targets and the unit tests' random-input case.  Given any bytes:
 *   - decoding never crashes (the sanitizers watch that);
 *   - a failure comes with a non-empty error message;
 *   - a success re-encodes, and decoding the encoding gives the same message;
 *   - a batch decode allocates nothing larger than one mdf_bar_t per 9 bytes of
 *     body (alloc_probe.h: link alloc_probe.c and wrap the allocator).
 * Each function returns 0 when the property holds, -1 (with a description in
 * why) when it does not.
 */
#ifndef MDF_FUZZ_ROUNDTRIP_H
#define MDF_FUZZ_ROUNDTRIP_H

#include <stddef.h>
#include <stdint.h>

int roundtrip_feedback (const uint8_t *data, size_t size, char *why, size_t whylen);
int roundtrip_batch (const uint8_t *data, size_t size, char *why, size_t whylen);
int roundtrip_ack (const uint8_t *data, size_t size, char *why, size_t whylen);

#endif
