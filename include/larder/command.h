/*
 * larder — engine commands: what the write-ahead log records and the engine applies.
 *
 * A command names things the way the outside world does (store ids, SKUs, lot ids, owners), never
 * by in-memory ids, so a log replays onto a catalog loaded in any order.  Its binary encoding is
 * the WAL record payload (the record type is the command type):
 *
 *   every field little-endian; a string is u16 length + bytes; an integer is i64
 *   RECEIVE  store, sku, lot, quantity, expires_at (LDR_NO_EXPIRY for none)
 *   ADJUST   store, sku, reason, quantity (the delta)
 *   SET      store, sku, reason, quantity (the new on_hand)
 *   RESERVE  owner, expires_at, u16 line count, then per line: store, sku, quantity
 *   COMMIT   owner
 *   RELEASE  owner
 *   TICK     (nothing: the record's time is the clock reading that expires lots and reservations)
 *
 * Decoding is strict: a known type, every length in bounds, identifiers valid, and exactly the
 * bytes of the payload consumed.  Applying is a pure function of (state, command, time).
 */
#ifndef LARDER_COMMAND_H
#define LARDER_COMMAND_H

#include <stdint.h>

#include "larder/buf.h"
#include "larder/catalog.h"
#include "larder/reservations.h"
#include "larder/stock.h"

enum {
    LDR_CMD_RECEIVE = 1,
    LDR_CMD_ADJUST = 2,
    LDR_CMD_SET = 3,
    LDR_CMD_RESERVE = 4,
    LDR_CMD_COMMIT = 5,
    LDR_CMD_RELEASE = 6,
    LDR_CMD_TICK = 7,
};

#define LDR_REASON_MAX 128

typedef struct ldr_cmd_line {
    ldr_str_t store, sku;
    int64_t quantity;
} ldr_cmd_line_t;

typedef struct ldr_cmd {
    uint16_t type;
    ldr_str_t store, sku, lot, reason, owner;
    int64_t quantity;   /* RECEIVE: > 0; ADJUST: the delta; SET: the new on_hand */
    int64_t expires_at; /* RECEIVE: the lot's; RESERVE: the reservation's */
    uint32_t nlines;
    const ldr_cmd_line_t *lines; /* RESERVE */
} ldr_cmd_t;

/** Appends the encoding of c to out.  Returns LDR_OK, or LDR_EINVAL for a command that
 *  ldr_cmd_decode would refuse (so nothing undecodable reaches the log). */
int ldr_cmd_encode(const ldr_cmd_t *c, ldr_buf_t *out);

/**
 * Decodes a payload of the given type.  Strings point into `data`; lines go to `lines` (room for
 * LDR_RESERVE_LINES_MAX).  Returns LDR_OK or LDR_EPARSE.
 */
int ldr_cmd_decode(uint16_t type, const void *data, size_t len, ldr_cmd_t *c,
                   ldr_cmd_line_t *lines);

/** What applying a command did. */
typedef struct ldr_cmd_result {
    int status;      /* LDR_OK, LDR_ENOENT (unknown sku/store/owner), LDR_ESHORT, LDR_EEXIST… */
    uint32_t nshort; /* RESERVE refused: the short lines' indexes */
    uint32_t short_idx[LDR_RESERVE_LINES_MAX];
    int64_t shortfall; /* COMMIT: units expiry had taken */
    uint64_t expired;  /* TICK: lots plus reservations expired */
} ldr_cmd_result_t;

/** The state commands change. */
typedef struct ldr_state {
    const ldr_catalog_t *catalog;
    ldr_stock_t *stock;
    ldr_reservations_t *reservations;
} ldr_state_t;

/**
 * Applies c at time `now` (seconds; the command's stamp).  Deterministic: the same commands in the
 * same order give the same state.  A refused command changes nothing.  Always fills *res and
 * returns res->status.
 */
int ldr_cmd_apply(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res);

/** A hash of the whole stock and reservation state, for replay and determinism checks. */
uint64_t ldr_state_hash(const ldr_state_t *s);

#endif
