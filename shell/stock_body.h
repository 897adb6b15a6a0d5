/*
 * The bodies of the stock writes read into engine commands: pure functions of a parsed JSON
 * object, without h2o, so that tests/fuzz/stock_body_fuzz.c reaches them as the routes do
 * (routes_stock.c checks the path, sends the commands to the engine and answers).
 */
#ifndef LARDER_SHELL_STOCK_BODY_H
#define LARDER_SHELL_STOCK_BODY_H

#include <stdint.h>

#include "../engine/jsonl_internal.h"
#include "larder/command.h"

/** POST /v1/stock/{sku}/receive: {"store"?, "lot", "quantity", "expires_at"?} into c, whose type
 *  and sku the caller sets; LDR_OK, or LDR_EPARSE with err naming the field. */
int ldr_stock_receive_body(const ldr__json_line_t *ln, ldr_cmd_t *c, ldr_error_t *err);
/** POST /v1/stock/{sku}/adjust: {"store"?, "delta" (not 0), "reason"} into c, the same way. */
int ldr_stock_adjust_body(const ldr__json_line_t *ln, ldr_cmd_t *c, ldr_error_t *err);
/** The i-th update of POST /v1/stock/batch, the value at obj: {"sku", "store"?, exactly one of
 *  "delta" (not 0) and "set", "reason"} into c with its type (ADJUST or SET); field names in
 *  messages are "updates[i].x". */
int ldr_stock_batch_update(const ldr__json_line_t *ln, uint32_t obj, uint32_t i, ldr_cmd_t *c,
                           ldr_error_t *err);

#endif
