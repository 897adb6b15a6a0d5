/*
 * Fuzz target for the stock writes' bodies (libFuzzer: `make fuzz`): shell/stock_body.c, what
 * POST /v1/stock/{sku}/receive, /adjust and /v1/stock/batch read from their JSON.
 *
 * The input's first byte picks the reader (receive, adjust, or a batch update numbered by the
 * byte); the rest is the body, parsed as the routes parse it.  Whatever it is, nothing may crash,
 * and:
 *  - a refusal names a field, or a position for text that is not one JSON object, with a message
 *    (a key "" is named in the message only);
 *  - an accepted body gives a command within the API's rules: a valid store id ("default" when
 *    absent); receive: a valid lot id, 1..LDR_QUANTITY_MAX units and an expiry (none when
 *    absent); adjust: a delta within ±LDR_QUANTITY_MAX, not 0, and a reason of
 *    1..LDR_REASON_MAX bytes; a batch update: a valid sku, an ADJUST with such a delta or a SET
 *    of 0..LDR_QUANTITY_MAX, and a reason;
 *  - every string of the command lies in the body, in the line's unescaped strings, or is the
 *    default store;
 *  - the command, its sku set as the route sets it, encodes and decodes to the same fields, so
 *    whatever a body is accepted as can go to the log.
 *
 * tests/unit/shell/stock_body_corpus.c includes this file with LLVMFuzzerTestOneInput renamed
 * and LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LDR_FUZZ_LINKED /* the fuzz build links common/, engine/, index/ only: bring it in */
#include "../../shell/stock_body.c"
#else
#include "../../shell/stock_body.h"
#endif
#include "larder/catalog.h"
#include "larder/stock.h"

#define LDR_FUZZ_NAME "stock_body_fuzz"
#include "fuzz.h"

enum { SB_RECEIVE, SB_ADJUST, SB_BATCH };

static unsigned sb_accepted[3]; /* per reader: the corpus replay checks every one accepts a seed */

/* s lies in [base, base + len), or is empty */
static int sb_within(ldr_str_t s, const char *base, size_t len)
{
    return s.len == 0 || (s.ptr >= base && s.ptr + s.len <= base + len);
}

static void sb_string(const char *what, ldr_str_t s, const char *body, size_t len,
                      const ldr_buf_t *strings, int may_be_default)
{
    FZ_CHECK(sb_within(s, body, len) || sb_within(s, strings->base, strings->len) ||
                 (may_be_default && s.len == 7 && memcmp(s.ptr, "default", 7) == 0),
             "%s (%u bytes) points outside the body and its strings", what, (unsigned)s.len);
}

static int sb_delta_ok(int64_t q)
{
    return q != 0 && q >= -LDR_QUANTITY_MAX && q <= LDR_QUANTITY_MAX;
}

/* the accepted command's fields, by kind */
static void sb_check_accepted(int kind, const ldr_cmd_t *c)
{
    FZ_CHECK(ldr_store_id_valid(c->store.ptr, c->store.len), "an invalid store id accepted");
    switch (kind) {
    case SB_RECEIVE:
        FZ_CHECK(ldr_lot_id_valid(c->lot.ptr, c->lot.len), "an invalid lot id accepted");
        FZ_CHECK(c->quantity >= 1 && c->quantity <= LDR_QUANTITY_MAX, "quantity %lld accepted",
                 (long long)c->quantity);
        break;
    case SB_ADJUST:
        FZ_CHECK(sb_delta_ok(c->quantity), "delta %lld accepted", (long long)c->quantity);
        break;
    default:
        FZ_CHECK(ldr_sku_valid(c->sku.ptr, c->sku.len), "an invalid sku accepted");
        FZ_CHECK(c->type == LDR_CMD_ADJUST || c->type == LDR_CMD_SET, "type %u", c->type);
        if (c->type == LDR_CMD_ADJUST)
            FZ_CHECK(sb_delta_ok(c->quantity), "batch delta %lld accepted", (long long)c->quantity);
        else
            FZ_CHECK(c->quantity >= 0 && c->quantity <= LDR_QUANTITY_MAX, "batch set %lld accepted",
                     (long long)c->quantity);
        break;
    }
    if (kind != SB_RECEIVE)
        FZ_CHECK(c->reason.len >= 1 && c->reason.len <= LDR_REASON_MAX,
                 "a reason of %u bytes accepted", (unsigned)c->reason.len);
}

/* what goes to the log comes back the same */
static void sb_round_trip(const ldr_cmd_t *c)
{
    ldr_buf_t enc = LDR_BUF_INIT;
    FZ_CHECK(ldr_cmd_encode(c, &enc) == LDR_OK, "an accepted body does not encode (type %u)",
             c->type);
    ldr_cmd_t d;
    static ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    memset(&d, 0, sizeof(d));
    FZ_CHECK(ldr_cmd_decode(c->type, enc.base, enc.len, &d, lines) == LDR_OK,
             "an encoded body does not decode (type %u)", c->type);
    FZ_CHECK(d.quantity == c->quantity && d.store.len == c->store.len &&
                 memcmp(d.store.ptr, c->store.ptr, c->store.len) == 0 && d.sku.len == c->sku.len &&
                 memcmp(d.sku.ptr, c->sku.ptr, c->sku.len) == 0,
             "the round trip changed the command (type %u)", c->type);
    if (c->type == LDR_CMD_RECEIVE)
        FZ_CHECK(d.expires_at == c->expires_at && d.lot.len == c->lot.len &&
                     memcmp(d.lot.ptr, c->lot.ptr, c->lot.len) == 0,
                 "the round trip changed the lot");
    else
        FZ_CHECK(d.reason.len == c->reason.len &&
                     memcmp(d.reason.ptr, c->reason.ptr, c->reason.len) == 0,
                 "the round trip changed the reason");
    ldr_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] % 3;
    uint32_t index = data[0] / 3;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    ldr_error_t err = {.position = -1};
    if (ldr__json_object(&sc, body, len, &ln, &err) != LDR_OK) {
        FZ_CHECK(err.message[0] != '\0', "a refused body without a message");
        ldr__jsonl_scratch_free(&sc);
        return 0;
    }
    ldr_cmd_t c;
    memset(&c, 0, sizeof(c));
    int rc;
    if (kind == SB_RECEIVE) {
        c.type = LDR_CMD_RECEIVE;
        rc = ldr_stock_receive_body(&ln, &c, &err);
    } else if (kind == SB_ADJUST) {
        c.type = LDR_CMD_ADJUST;
        rc = ldr_stock_adjust_body(&ln, &c, &err);
    } else {
        rc = ldr_stock_batch_update(&ln, 0, index, &c, &err);
    }
    if (rc != LDR_OK) {
        FZ_CHECK(rc == LDR_EPARSE, "a reader returned %d", rc);
        FZ_CHECK(err.message[0] != '\0', "a refusal without a message");
        /* (a key "" is named in the message only: there is no name to give as the field) */
        FZ_CHECK(err.field[0] != '\0' || err.position >= 0 ||
                     strcmp(err.message, "unknown field \"\"") == 0,
                 "a refusal naming nothing: %s", err.message);
        ldr__jsonl_scratch_free(&sc);
        return 0;
    }
    sb_accepted[kind]++;
    sb_check_accepted(kind, &c);
    sb_string("store", c.store, body, len, ln.strings, 1);
    sb_string("lot", c.lot, body, len, ln.strings, 0);
    sb_string("reason", c.reason, body, len, ln.strings, 0);
    sb_string("sku", c.sku, body, len, ln.strings, 0);
    if (kind != SB_BATCH)
        c.sku = LDR_STR_LIT("FZ-000001"); /* the route sets the path's sku */
    sb_round_trip(&c);
    ldr__jsonl_scratch_free(&sc);
    return 0;
}
