#include "tc_frame.h"

#include "tc_crc32.h"
#include "tc_port.h"

static uint32_t tx_crc;

static uint8_t rx_byte(void)
{
    int c;
    while ((c = tc_port_getc()) < 0) {
    }
    return (uint8_t)c;
}

uint16_t tc_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t tc_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int tc_frame_receive(tc_frame *f)
{
    uint8_t h[6];
    do { /* A5 A5 5A: the second A5 may be the real frame start */
        h[0] = rx_byte();
    } while (h[0] == TC_FRAME_MAGIC0);
    if (h[0] != TC_FRAME_MAGIC1) {
        return TC_RX_NOT_FRAME;
    }
    for (int i = 0; i < 6; ++i) {
        h[i] = rx_byte();
    }
    uint16_t len = tc_get_u16(&h[2]);
    uint16_t hcrc = (uint16_t)(tc_crc32_update(0u, h, 4) & 0xFFFFu);
    if (hcrc != tc_get_u16(&h[4]) || len > TC_FRAME_MAX_PAYLOAD) {
        return TC_RX_BAD_HEADER;
    }
    f->type = h[0];
    f->seq = h[1];
    f->len = len;
    for (uint16_t i = 0; i < len; ++i) {
        f->payload[i] = rx_byte();
    }
    uint8_t c[4];
    for (int i = 0; i < 4; ++i) {
        c[i] = rx_byte();
    }
    uint32_t crc = tc_crc32_update(tc_crc32_update(0u, h, 4), f->payload, len);
    return crc == tc_get_u32(c) ? TC_RX_OK : TC_RX_BAD_CRC;
}

void tc_frame_begin(uint8_t type, uint8_t seq, uint16_t len)
{
    uint8_t h[4] = {type, seq, (uint8_t)(len & 0xFFu), (uint8_t)(len >> 8)};
    uint32_t hcrc = tc_crc32_update(0u, h, 4);
    tc_port_putc(TC_FRAME_MAGIC0);
    tc_port_putc(TC_FRAME_MAGIC1);
    for (int i = 0; i < 4; ++i) {
        tc_port_putc(h[i]);
    }
    tc_port_putc((uint8_t)(hcrc & 0xFFu));
    tc_port_putc((uint8_t)((hcrc >> 8) & 0xFFu));
    tx_crc = hcrc;
}

void tc_frame_write(const void *data, uint32_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    tx_crc = tc_crc32_update(tx_crc, p, n);
    for (uint32_t i = 0; i < n; ++i) {
        tc_port_putc(p[i]);
    }
}

void tc_frame_write_u8(uint8_t v)
{
    tc_frame_write(&v, 1u);
}

void tc_frame_write_u16(uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v & 0xFFu), (uint8_t)(v >> 8)};
    tc_frame_write(b, 2u);
}

void tc_frame_write_u32(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tc_frame_write(b, 4u);
}

void tc_frame_end(void)
{
    uint32_t c = tx_crc;
    for (int i = 0; i < 4; ++i) {
        tc_port_putc((uint8_t)(c >> (8 * i)));
    }
}
