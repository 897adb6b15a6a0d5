/* Reservations: all-or-nothing holds, commit consuming FEFO, release, TTL expiry, many owners. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "larder/reservations.h"

static ldr_stock_t *st;
static ldr_reservations_t *rs;
static uint32_t store;

static void setup(void)
{
    st = ldr_stock_new();
    rs = ldr_reservations_new();
    store = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(ldr_stock_receive(st, store, 1, "L1", 2, 10, 500), LDR_OK);
    cr_assert_eq(ldr_stock_receive(st, store, 1, "L2", 2, 10, 100), LDR_OK);
    cr_assert_eq(ldr_stock_receive(st, store, 2, "L1", 2, 3, LDR_NO_EXPIRY), LDR_OK);
}

static void teardown(void)
{
    ldr_reservations_free(rs);
    ldr_stock_free(st);
}

TestSuite(reservations, .init = setup, .fini = teardown);

static int64_t avail(uint32_t doc)
{
    return ldr_stock_available(ldr_stock_get(st, store, doc));
}

static int reserve(const char *owner, const ldr_reserve_line_t *lines, uint32_t n, int64_t until,
                   uint32_t *nshort, uint32_t *short_idx)
{
    return ldr_reservations_reserve(rs, st, owner, strlen(owner), lines, n, until, short_idx,
                                    nshort);
}

Test(reservations, all_lines_or_none)
{
    uint32_t nshort, idx[4];
    ldr_reserve_line_t lines[] = {{store, 1, 15}, {store, 2, 4}, {store, 9, 1}};
    cr_assert_eq(reserve("ord-1", lines, 3, 1000, &nshort, idx), LDR_ESHORT);
    cr_assert_eq(nshort, 2);
    cr_assert_eq(idx[0], 1); /* 4 of doc 2, only 3 there */
    cr_assert_eq(idx[1], 2); /* doc 9 has nothing */
    cr_assert_eq(avail(1), 20, "a refused reservation held something");
    cr_assert_eq(ldr_reservations_count(rs), 0);
    lines[1].quantity = 3;
    cr_assert_eq(reserve("ord-1", lines, 2, 1000, &nshort, idx), LDR_OK);
    cr_assert_eq(avail(1), 5);
    cr_assert_eq(avail(2), 0);
    cr_assert_eq(reserve("ord-1", lines, 1, 1000, &nshort, idx), LDR_EEXIST);
}

Test(reservations, repeated_items_add_up)
{
    uint32_t nshort, idx[4];
    ldr_reserve_line_t lines[] = {{store, 2, 2}, {store, 2, 2}};
    cr_assert_eq(reserve("cart-7", lines, 2, 1000, &nshort, idx), LDR_ESHORT);
    cr_assert_eq(nshort, 1);
    cr_assert_eq(idx[0], 1);
    cr_assert_eq(avail(2), 3);
}

Test(reservations, commit_consumes_fefo_and_ends)
{
    uint32_t nshort, idx[2];
    ldr_reserve_line_t lines[] = {{store, 1, 12}};
    cr_assert_eq(reserve("ord-2", lines, 1, 1000, &nshort, idx), LDR_OK);
    int64_t shortfall = -1;
    cr_assert_eq(ldr_reservations_commit(rs, st, "ord-2", 5, &shortfall), LDR_OK);
    cr_assert_eq(shortfall, 0);
    const ldr_stock_entry_t *e = ldr_stock_get(st, store, 1);
    cr_assert_eq(e->on_hand, 8);
    cr_assert_eq(e->reserved, 0);
    cr_assert_eq(e->nlots, 1);
    cr_assert_str_eq(e->lots[0].id, "L1"); /* L2 expired first, so it went first */
    cr_assert_eq(e->lots[0].quantity, 8);
    cr_assert_eq(ldr_reservations_commit(rs, st, "ord-2", 5, NULL), LDR_ENOENT);
    cr_assert_null(ldr_reservations_find(rs, "ord-2", 5));
}

Test(reservations, release_gives_stock_back)
{
    uint32_t nshort, idx[2];
    ldr_reserve_line_t lines[] = {{store, 1, 4}, {store, 2, 1}};
    cr_assert_eq(reserve("cart-1", lines, 2, 1000, &nshort, idx), LDR_OK);
    cr_assert_eq(ldr_reservations_release(rs, st, "cart-1", 6), LDR_OK);
    cr_assert_eq(avail(1), 20);
    cr_assert_eq(avail(2), 3);
    cr_assert_eq(ldr_reservations_release(rs, st, "cart-1", 6), LDR_ENOENT);
}

static uint32_t seen_expired;
static void on_expired(void *ctx, const ldr_reservation_t *res)
{
    cr_assert_leq(res->expires_at, *(int64_t *)ctx);
    seen_expired++;
}

Test(reservations, ttl_expiry_releases_only_due_ones_among_many)
{
    uint32_t nshort, idx[2];
    char owner[32];
    /* 300 carts of 2 units each on a doc with 1000: half expire at 100, half at 200 */
    cr_assert_eq(ldr_stock_receive(st, store, 5, "BIG", 3, 1000, LDR_NO_EXPIRY), LDR_OK);
    for (int i = 0; i < 300; i++) {
        snprintf(owner, sizeof(owner), "cart-%d", i);
        ldr_reserve_line_t line = {store, 5, 2};
        cr_assert_eq(reserve(owner, &line, 1, i % 2 ? 100 : 200, &nshort, idx), LDR_OK);
    }
    cr_assert_eq(ldr_reservations_count(rs), 300);
    cr_assert_eq(avail(5), 400);
    int64_t now = 150;
    cr_assert_eq(ldr_reservations_expire(rs, st, now, on_expired, &now), 150);
    cr_assert_eq(seen_expired, 150);
    cr_assert_eq(ldr_reservations_count(rs), 150);
    cr_assert_eq(avail(5), 700);
    for (int i = 0; i < 300; i++) {
        snprintf(owner, sizeof(owner), "cart-%d", i);
        const ldr_reservation_t *res = ldr_reservations_find(rs, owner, strlen(owner));
        if (i % 2)
            cr_assert_null(res, "%s should have expired", owner);
        else
            cr_assert(res != NULL && res->expires_at == 200, "%s lost", owner);
    }
    now = 200;
    cr_assert_eq(ldr_reservations_expire(rs, st, now, NULL, NULL), 150);
    cr_assert_eq(avail(5), 1000);
    cr_assert_eq(ldr_reservations_count(rs), 0);
}

Test(reservations, bad_input_is_refused)
{
    uint32_t nshort, idx[2];
    ldr_reserve_line_t zero = {store, 1, 0}, ok = {store, 1, 1};
    cr_assert_eq(reserve("o", &zero, 1, 1, &nshort, idx), LDR_EINVAL);
    cr_assert_eq(reserve("o", &ok, 0, 1, &nshort, idx), LDR_EINVAL);
    cr_assert_eq(reserve("", &ok, 1, 1, &nshort, idx), LDR_EINVAL);
    char longname[80];
    memset(longname, 'x', 79);
    longname[79] = '\0';
    cr_assert_eq(reserve(longname, &ok, 1, 1, &nshort, idx), LDR_EINVAL);
    cr_assert_eq(avail(1), 20);
}

/* The expiry tick skips the table until the earliest hold is due, and never misses one: holds
 * added, moved earlier, moved later or made permanent after a scan are all honoured. */
Test(reservations, expiry_skips_until_due_and_misses_nothing)
{
    uint32_t nshort, idx[4];
    ldr_reserve_line_t one[] = {{store, 1, 1}};
    cr_assert_eq(reserve("h-100", one, 1, 100, &nshort, idx), LDR_OK);
    cr_assert_eq(reserve("h-200", one, 1, 200, &nshort, idx), LDR_OK);
    cr_assert_eq(reserve("h-paid", one, 1, 150, &nshort, idx), LDR_OK);
    cr_assert_eq(ldr_reservations_set_expiry(rs, "h-paid", 6, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(ldr_reservations_expire(rs, st, 99, NULL, NULL), 0);
    cr_assert_eq(ldr_reservations_expire(rs, st, 150, NULL, NULL), 1, "h-100 is due");
    cr_assert_eq(ldr_reservations_expire(rs, st, 199, NULL, NULL), 0, "h-paid never expires");
    /* moved earlier after the scan: still found */
    cr_assert_eq(ldr_reservations_set_expiry(rs, "h-200", 5, 160), LDR_OK);
    cr_assert_eq(reserve("h-170", one, 1, 170, &nshort, idx), LDR_OK);
    cr_assert_eq(ldr_reservations_expire(rs, st, 165, NULL, NULL), 1, "h-200, moved to 160");
    cr_assert_eq(ldr_reservations_expire(rs, st, 170, NULL, NULL), 1, "h-170");
    cr_assert_eq(ldr_reservations_count(rs), 1);
    cr_assert_eq(ldr_reservations_expire(rs, st, INT64_MAX - 1, NULL, NULL), 0);
    cr_assert_eq(avail(1), 19, "only the permanent hold is left");
}
