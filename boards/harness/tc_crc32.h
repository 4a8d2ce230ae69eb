/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320, init/xorout 0xFFFFFFFF): the same value as
 * Python's zlib.crc32. Nibble table: 64 bytes of flash, ~20 instructions per byte. */
#ifndef TC_CRC32_H
#define TC_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0, feed chunks in order; the return value is the CRC so far. */
uint32_t tc_crc32_update(uint32_t crc, const uint8_t *data, size_t n);

#endif /* TC_CRC32_H */
