/*
 * Fuzz target for engine commands (libFuzzer: `make fuzz`).
 *
 * Input: two bytes of command type (little-endian), then the payload.  A payload that decodes must
 * re-encode to exactly the same bytes (the round trip), and applying it to a small state must keep
 * the stock invariants: available never negative, reserved never above on_hand except after
 * expiry, on_hand equal to the sum of the lots.  Applying twice to two fresh states must give the
 * same state hash (determinism).
 *
 * tests/unit/engine/command_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/command.h"

#define LDR_FUZZ_NAME "command_fuzz"
#include "fuzz.h"

/* A catalog of its own for every state: product commands change it. */
static ldr_catalog_t *cf_catalog(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"A\"},\"category\":\"a\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"B\"},\"category\":\"b\",\"price\":2}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    return cat;
}

/* A small, fixed starting state: stock of both SKUs in "default" and one reservation. */
static ldr_state_t cf_state(void)
{
    ldr_state_t s = {.catalog = cf_catalog(),
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .idem = ldr_idem_new(),
                     .carts = ldr_carts_new(),
                     .orders = ldr_orders_new()};
    uint32_t store = ldr_stock_store_put(s.stock, "default", 7);
    ldr_stock_receive(s.stock, store, 0, "L1", 2, 10, 100);
    ldr_stock_receive(s.stock, store, 1, "L1", 2, 5, LDR_NO_EXPIRY);
    ldr_reserve_line_t line = {store, 0, 3};
    uint32_t idx[1], nshort;
    ldr_reservations_reserve(s.reservations, s.stock, "o1", 2, &line, 1, 50, idx, &nshort);
    return s;
}

static void cf_free(ldr_state_t *s)
{
    ldr_orders_free(s->orders);
    ldr_carts_free(s->carts);
    ldr_catalog_free(s->catalog);
    ldr_idem_free(s->idem);
    ldr_reservations_free(s->reservations);
    ldr_stock_free(s->stock);
}

static void cf_invariants(const ldr_state_t *s)
{
    const ldr_intern_t *stores = ldr_stock_stores(s->stock);
    for (uint32_t st = 0; st < ldr_intern_count(stores); st++)
        for (uint32_t d = 0; ldr_stock_doc_in_range(s->stock, st, d); d++) {
            const ldr_stock_entry_t *e = ldr_stock_get(s->stock, st, d);
            if (e == NULL)
                continue;
            int64_t sum = 0;
            for (uint32_t l = 0; l < e->nlots; l++) {
                FZ_CHECK(e->lots[l].quantity > 0, "an empty lot survived");
                FZ_CHECK(l == 0 || e->lots[l - 1].expires_at <= e->lots[l].expires_at,
                         "lots out of FEFO order");
                sum += e->lots[l].quantity;
            }
            FZ_CHECK(sum == e->on_hand, "on_hand %lld but lots sum to %lld", (long long)e->on_hand,
                     (long long)sum);
            FZ_CHECK(e->reserved >= 0 && ldr_stock_available(e) >= 0, "negative stock");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint16_t type = (uint16_t)(data[0] | data[1] << 8);
    ldr_cmd_t c;
    static ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    if (ldr_cmd_decode(type, data + 2, size - 2, &c, lines) != LDR_OK)
        return 0;
    ldr_buf_t b = LDR_BUF_INIT;
    FZ_CHECK(ldr_cmd_encode(&c, &b) == LDR_OK, "a decoded command does not encode");
    FZ_CHECK(b.len == size - 2 && (b.len == 0 || memcmp(b.base, data + 2, b.len) == 0),
             "the round trip changed the bytes");
    ldr_buf_free(&b);
    ldr_state_t s1 = cf_state(), s2 = cf_state();
    ldr_cmd_result_t r1, r2;
    int rc1 = ldr_cmd_apply(&s1, &c, 60, &r1), rc2 = ldr_cmd_apply(&s2, &c, 60, &r2);
    FZ_CHECK(rc1 == rc2 && r1.noop == r2.noop && r1.created == r2.created,
             "the same command applied two ways");
    FZ_CHECK(ldr_state_hash(&s1) == ldr_state_hash(&s2), "apply is not deterministic");
    FZ_CHECK(ldr_catalog_count(s1.catalog) == ldr_catalog_count(s2.catalog) &&
                 ldr_catalog_changes(s1.catalog) == ldr_catalog_changes(s2.catalog),
             "product commands are not deterministic");
    FZ_CHECK(ldr_orders_count(s1.orders) == ldr_orders_count(s2.orders),
             "order commands are not deterministic");
    if (rc1 != LDR_OK) {
        ldr_state_t fresh = cf_state();
        FZ_CHECK(ldr_state_hash(&s1) == ldr_state_hash(&fresh) &&
                     ldr_catalog_changes(s1.catalog) == ldr_catalog_changes(fresh.catalog) &&
                     ldr_orders_count(s1.orders) == ldr_orders_count(fresh.orders),
                 "a refused command changed state");
        cf_free(&fresh);
    }
    cf_invariants(&s1);
    cf_free(&s1);
    cf_free(&s2);
    return 0;
}
