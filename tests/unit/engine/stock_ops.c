/* Stock changes: adjust, set, hold/unhold, consume FEFO, expiry; refusals change nothing. */
#include <criterion/criterion.h>
#include <string.h>

#include "larder/stock.h"

static ldr_stock_t *st;
static uint32_t store;

static void setup(void)
{
    st = ldr_stock_new();
    store = ldr_stock_store_put(st, "default", 7);
    /* doc 3: lots B (expires first), A (later), C (no expiry) */
    cr_assert_eq(ldr_stock_receive(st, store, 3, "A", 1, 10, 2000), LDR_OK);
    cr_assert_eq(ldr_stock_receive(st, store, 3, "B", 1, 5, 1000), LDR_OK);
    cr_assert_eq(ldr_stock_receive(st, store, 3, "C", 1, 7, LDR_NO_EXPIRY), LDR_OK);
}

static void teardown(void)
{
    ldr_stock_free(st);
}

TestSuite(stock_ops, .init = setup, .fini = teardown);

static const ldr_stock_entry_t *entry(uint32_t doc)
{
    return ldr_stock_get(st, store, doc);
}

static void expect_lots(uint32_t doc, const char *ids, const int64_t *qty)
{
    const ldr_stock_entry_t *e = entry(doc);
    int64_t sum = 0;
    size_t n = strlen(ids);
    cr_assert_eq(e->nlots, n, "%u lots, want %zu", e->nlots, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(e->lots[i].id[0], ids[i], "lot %zu is %s, want %c", i, e->lots[i].id, ids[i]);
        cr_assert_eq(e->lots[i].quantity, qty[i], "lot %s holds %lld", e->lots[i].id,
                     (long long)e->lots[i].quantity);
        sum += e->lots[i].quantity;
    }
    cr_assert_eq(e->on_hand, sum, "on_hand %lld, lots sum to %lld", (long long)e->on_hand,
                 (long long)sum);
}

Test(stock_ops, negative_adjust_takes_fefo)
{
    cr_assert_eq(ldr_stock_adjust(st, store, 3, -8), LDR_OK);
    expect_lots(3, "AC", (int64_t[]){7, 7}); /* B (5) gone, 3 from A */
    cr_assert_eq(entry(3)->on_hand, 14);
}

Test(stock_ops, positive_adjust_goes_to_an_undated_lot)
{
    uint64_t v = entry(3)->version;
    cr_assert_eq(ldr_stock_adjust(st, store, 3, 4), LDR_OK);
    cr_assert_eq(ldr_stock_adjust(st, store, 3, 1), LDR_OK);
    const ldr_stock_entry_t *e = entry(3);
    cr_assert_eq(e->on_hand, 27);
    cr_assert_str_eq(e->lots[3].id, "adjust");
    cr_assert_eq(e->lots[3].quantity, 5);
    cr_assert_eq(e->version, v + 2);
}

Test(stock_ops, refusals_change_nothing)
{
    cr_assert_eq(ldr_stock_hold(st, store, 3, 20), LDR_OK);
    uint64_t v = entry(3)->version;
    cr_assert_eq(ldr_stock_adjust(st, store, 3, -3), LDR_ESHORT); /* on_hand 22 - 3 < 20 held */
    cr_assert_eq(ldr_stock_set(st, store, 3, 19), LDR_ESHORT);
    cr_assert_eq(ldr_stock_hold(st, store, 3, 3), LDR_ESHORT); /* 2 available */
    cr_assert_eq(ldr_stock_set(st, store, 3, -1), LDR_ERANGE);
    cr_assert_eq(ldr_stock_adjust(st, store, 9, -1), LDR_ESHORT); /* nothing there */
    cr_assert_eq(ldr_stock_unhold(st, store, 3, 21), LDR_EINVAL);
    cr_assert_eq(ldr_stock_adjust(st, 7, 3, 1), LDR_EINVAL); /* unknown store */
    cr_assert_eq(entry(3)->version, v);
    expect_lots(3, "BAC", (int64_t[]){5, 10, 7});
    cr_assert_eq(entry(3)->reserved, 20);
    cr_assert_eq(ldr_stock_available(entry(3)), 2);
}

Test(stock_ops, set_is_an_adjust_to_the_target)
{
    cr_assert_eq(ldr_stock_set(st, store, 3, 12), LDR_OK);
    expect_lots(3, "AC", (int64_t[]){5, 7});
    cr_assert_eq(ldr_stock_set(st, store, 3, 15), LDR_OK);
    cr_assert_eq(entry(3)->on_hand, 15);
    cr_assert_eq(ldr_stock_set(st, store, 3, 0), LDR_OK);
    cr_assert_eq(entry(3)->nlots, 0);
}

Test(stock_ops, hold_consume_and_unhold)
{
    cr_assert_eq(ldr_stock_hold(st, store, 3, 6), LDR_OK);
    cr_assert_eq(ldr_stock_available(entry(3)), 16);
    int64_t taken = 0;
    cr_assert_eq(ldr_stock_consume(st, store, 3, 6, &taken), LDR_OK);
    cr_assert_eq(taken, 6);
    expect_lots(3, "AC", (int64_t[]){9, 7});
    cr_assert_eq(entry(3)->reserved, 0);
    cr_assert_eq(ldr_stock_consume(st, store, 3, 1, &taken), LDR_EINVAL); /* nothing held */
    cr_assert_eq(ldr_stock_hold(st, store, 3, 4), LDR_OK);
    cr_assert_eq(ldr_stock_unhold(st, store, 3, 4), LDR_OK);
    cr_assert_eq(ldr_stock_available(entry(3)), 16);
}

static int expired_lots;
static void on_expired(void *ctx, uint32_t s, uint32_t doc, const ldr_lot_t *lot)
{
    cr_assert_eq(doc, 3);
    cr_assert_eq(lot->expires_at <= *(int64_t *)ctx, true);
    expired_lots++;
}

Test(stock_ops, expiry_removes_due_lots_only)
{
    int64_t now = 999;
    cr_assert_eq(ldr_stock_expire(st, now, on_expired, &now), 0);
    now = 1000;
    cr_assert_eq(ldr_stock_expire(st, now, on_expired, &now), 1);
    expect_lots(3, "AC", (int64_t[]){10, 7});
    now = 5000;
    cr_assert_eq(ldr_stock_expire(st, now, on_expired, &now), 1);
    expect_lots(3, "C", (int64_t[]){7});
    cr_assert_eq(expired_lots, 2);
}

Test(stock_ops, expiry_of_held_goods_reports_the_shortfall_on_consume)
{
    cr_assert_eq(ldr_stock_hold(st, store, 3, 20), LDR_OK);
    int64_t now = 2000;
    cr_assert_eq(ldr_stock_expire(st, now, NULL, NULL), 2); /* 15 held units expire */
    cr_assert_eq(entry(3)->on_hand, 7);
    cr_assert_eq(ldr_stock_available(entry(3)), 0);
    int64_t taken = -1;
    cr_assert_eq(ldr_stock_consume(st, store, 3, 20, &taken), LDR_OK);
    cr_assert_eq(taken, 7);
    cr_assert_eq(entry(3)->on_hand, 0);
    cr_assert_eq(entry(3)->reserved, 0);
}
