/* MLPerf Tiny runner text commands, as EEMBC's internally_implemented.cpp answers them:
 * name, profile, timestamp, db load N, db <hex>, infer N W, results, help. */
#include <stddef.h>
#include <stdint.h>

#include "tc_commands.h"
#include "tc_model_info.h"
#include "tc_model_io.h"
#include "tc_out.h"
#include "tc_port.h"

static uint32_t db_expected; /* bytes announced by `db load N` */
static uint32_t db_pos;      /* bytes received since */
static uint32_t db_crc;      /* CRC-32 of the inputs once loaded: an inference may overwrite them */
static int results_withheld; /* the last `infer N W` ran on an input an earlier run overwrote */

/* next space-separated token of *s (NUL-terminated in place), or NULL */
static char *next_token(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
        ++p;
    }
    if (*p == '\0') {
        *s = p;
        return NULL;
    }
    char *start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
        ++p;
    }
    if (*p != '\0') {
        *p++ = '\0';
    }
    *s = p;
    return start;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

/* decimal number, -1 if not one */
static int32_t parse_uint(const char *s)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    int32_t v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9' || v > 100000000) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void lap_us(void)
{
    uint64_t us = tc_ticks64() * 1000000u / tc_port_tick_hz();
    tc_out_str("m-lap-us-");
    tc_out_u32((uint32_t)us);
    tc_out_str("\r\n");
}

static void results(void)
{
    if (!tc_model_has_outputs()) {
        tc_out_str("e-[No inference has run yet]\r\n");
        return;
    }
    if (results_withheld) {
        tc_out_str("e-[Results withheld: the model overwrites its input, so only the first of the runs saw the "
                   "loaded data; db load it again and infer 1 0]\r\n");
        return;
    }
    tc_out_str("m-results-[");
    int first = 1;
    for (int i = 0; i < MODEL_NUM_OUTPUTS; ++i) {
        for (uint32_t j = 0; j < tc_output_elements(i); ++j) {
            if (!first) {
                tc_port_putc(',');
            }
            first = 0;
            tc_out_float(tc_output_value(i, j), 6);
        }
    }
    tc_out_str("]\r\n");
}

static void db(char *rest)
{
    char *sub = next_token(&rest);
    if (sub == NULL) {
        tc_out_str("e-[Command 'db' requires a subcommand]\r\n");
    } else if (streq(sub, "load")) {
        int32_t n = parse_uint(next_token(&rest));
        if (n <= 0 || (uint32_t)n > TC_INPUT_TOTAL_BYTES) {
            tc_out_str("e-[Command 'db load' takes 1..");
            tc_out_u32(TC_INPUT_TOTAL_BYTES);
            tc_out_str(" bytes]\r\n");
            return;
        }
        db_expected = (uint32_t)n;
        db_pos = 0;
        tc_out_str("m-[Expecting ");
        tc_out_u32(db_expected);
        tc_out_str(" bytes]\r\n");
    } else {
        if (db_expected == 0u) {
            tc_out_str("e-[Buffer not allocated]\r\n");
            return;
        }
        uint32_t n = 0;
        while (sub[n] != '\0') {
            ++n;
        }
        if (n & 1u) {
            tc_out_str("e-[Insufficent number of hex digits]\r\n");
            return;
        }
        for (uint32_t i = 0; i < n; i += 2u) {
            int hi = hex_digit(sub[i]), lo = hex_digit(sub[i + 1u]);
            if (hi < 0 || lo < 0) {
                tc_out_str("e-[Invalid hex digit]\r\n");
                return;
            }
            if (db_pos < db_expected) {
                uint8_t b = (uint8_t)(hi * 16 + lo);
                db_pos += tc_input_write(db_pos, &b, 1u);
                if (db_pos == db_expected) {
                    db_crc = tc_input_crc();
                    tc_out_str("m-load-done\r\n");
                    return; /* like the reference: the remainder of the digits is disregarded */
                }
            }
        }
    }
}

static void infer(char *rest)
{
    int32_t n = 1, w = 0;
    char *tok = next_token(&rest);
    if (tok != NULL) {
        n = parse_uint(tok);
        tok = next_token(&rest);
        if (tok != NULL) {
            w = parse_uint(tok);
        }
    }
    if (n < 1 || w < 0) {
        tc_out_str("e-[Usage: infer N W (N >= 1 inferences after W >= 0 warm-ups)]\r\n");
        return;
    }
    if (db_expected != TC_INPUT_TOTAL_BYTES || db_pos != db_expected) {
        tc_out_str("e-[Input not loaded: db load ");
        tc_out_u32(TC_INPUT_TOTAL_BYTES);
        tc_out_str(" and its bytes first]\r\n");
        return;
    }
    /* the input lives in the arena: an earlier inference (or a binary WRITE_INPUT) may have changed it */
    if (tc_input_crc() != db_crc) {
        tc_out_str("e-[The input changed since db load (an inference overwrote it): load it again]\r\n");
        return;
    }
    uint32_t ticks = 0;
    int32_t status = 0;
    tc_out_str("m-warmup-start-");
    tc_out_u32((uint32_t)w);
    tc_out_str("\r\n");
    while (w-- > 0 && status == 0) {
        status = tc_model_run(&ticks);
    }
    tc_out_str("m-warmup-done\r\nm-infer-start-");
    tc_out_u32((uint32_t)n);
    tc_out_str("\r\n");
    lap_us();
    for (int32_t k = 0; k < n && status == 0; ++k) {
        status = tc_model_run(&ticks);
    }
    lap_us();
    tc_out_str("m-infer-done\r\n");
    /* each run is deterministic: if the input survived the last one it survived them all */
    results_withheld = (n + w > 1) && tc_input_crc() != db_crc;
    if (status != 0) {
        tc_out_str("e-[model_invoke returned ");
        tc_out_i32(status);
        tc_out_str(status == -1 ? ": arena guard overwritten]\r\n" : ": a kernel refused its arguments]\r\n");
        return;
    }
    results();
}

void tc_text_command(char *line)
{
    char *rest = line;
    char *cmd = next_token(&rest);
    if (cmd == NULL) {
        /* an empty command (e.g. a lone %): only the prompt */
    } else if (streq(cmd, "name")) {
        tc_out_str("m-name-dut-[tinycompiler]\r\n");
    } else if (streq(cmd, "profile")) {
        tc_out_str("m-profile-[tinycompiler harness ");
        tc_out_u32(TC_PROTOCOL_VERSION);
        tc_out_str("]\r\nm-model-[" TC_MODEL_NAME "]\r\n");
    } else if (streq(cmd, "timestamp")) {
        lap_us();
    } else if (streq(cmd, "db")) {
        db(rest);
    } else if (streq(cmd, "infer")) {
        infer(rest);
    } else if (streq(cmd, "results")) {
        results();
    } else if (streq(cmd, "help")) {
        tc_out_str("m-[commands: name profile timestamp db infer results help; binary frames: PROTOCOL.md]\r\n");
    } else {
        tc_out_str("e-[Unknown command: ");
        tc_out_str(cmd);
        tc_out_str("]\r\n");
    }
    tc_out_str("m-ready\r\n");
}
