/* Binary frames (see PROTOCOL.md): A5 5A | type | seq | len (u16 LE) | hcrc (u16 LE) | payload | crc (u32 LE)
 * hcrc = low 16 bits of CRC-32(type, seq, len); crc = CRC-32(type .. end of payload).
 * The header check bounds the damage of a corrupted length: a frame is never longer than
 * TC_FRAME_MAX_PAYLOAD, so a receiver that lost bytes resynchronises within one frame. */
#ifndef TC_FRAME_H
#define TC_FRAME_H

#include <stdint.h>

#define TC_FRAME_MAGIC0 0xA5u
#define TC_FRAME_MAGIC1 0x5Au
#define TC_FRAME_MAX_PAYLOAD 1024u

/* receive results */
#define TC_RX_OK 0
#define TC_RX_NOT_FRAME 1  /* the byte after A5 was not 5A: not a frame start, nothing consumed beyond it */
#define TC_RX_BAD_HEADER 2 /* header check failed or len too large: seq unknown */
#define TC_RX_BAD_CRC 3    /* payload CRC failed: the header (and seq) were intact */

typedef struct {
    uint8_t type;
    uint8_t seq;
    uint16_t len;
    uint8_t payload[TC_FRAME_MAX_PAYLOAD];
} tc_frame;

/* Receive the rest of a frame whose first magic byte (A5) was just read. Blocks for its bytes. */
int tc_frame_receive(tc_frame *f);

/* Stream a frame out: begin (header), any number of write calls totalling exactly `len` bytes,
 * then end (the CRC). No buffering: large outputs go straight from the arena to the UART. */
void tc_frame_begin(uint8_t type, uint8_t seq, uint16_t len);
void tc_frame_write(const void *data, uint32_t n);
void tc_frame_write_u8(uint8_t v);
void tc_frame_write_u16(uint16_t v);
void tc_frame_write_u32(uint32_t v);
void tc_frame_end(void);

/* Little-endian reads from a payload. */
uint16_t tc_get_u16(const uint8_t *p);
uint32_t tc_get_u32(const uint8_t *p);

#endif /* TC_FRAME_H */
