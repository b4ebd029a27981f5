/*
 * crc32c: CRC-32C (Castagnoli, the iSCSI / ext4 / Kafka checksum), for the
 * pipeline's journal records.
 *
 * Written here because Debian 12 packages no CRC-32C library (zlib has the
 * other CRC-32, at about 5x the cost on small records: bench/live item 5).
 * x86-64 with SSE4.2 and arm64 with the CRC extension use the CPU's
 * instructions (chosen once, at the first call, on x86-64); anything else
 * a table, 8 bytes at a time.  All give the same value: the tests compare
 * them on random data and check the standard vector
 * crc32c("123456789") = 0xE3069283.
 */
#ifndef MDF_CRC32C_H
#define MDF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of n bytes, continued from crc (0 to start). */
uint32_t mdf_crc32c (uint32_t crc, const void *data, size_t n);

/* The same with the table only (the tests' reference). */
uint32_t mdf_crc32c_sw (uint32_t crc, const void *data, size_t n);

#endif
