/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2.
 *
 * crc32c() picks the fastest path once at start-up: ISA-L's crc32_iscsi (folding with
 * PCLMULQDQ), else the SSE4.2 crc32 instruction, else a slice-by-8 table. All paths compute the
 * same function and are tested against each other and known vectors. Pure; thread-safe.
 * `crc` is the running value: start with 0, feed chunks in order.
 */
#ifndef PLG_BASE_CRC32C_H
#define PLG_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The individual paths, exposed for tests and benchmarks. crc32c_sse42 returns the table
 * result on CPUs without SSE4.2. */
uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_isal(uint32_t crc, const void *buf, size_t len);

#endif
