/*
 * Orders in the engine: ORDER_PLACE holds every line or none together with a place in the
 * delivery window, ORDER_PAID keeps the hold until picking, ORDER_CANCEL and an unpaid deadline
 * give stock and window back; the codec is strict; a log and a snapshot bring orders back.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../helpers.h"
#include "larder/command.h"
#include "larder/engine.h"
#include "larder/snapshot.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})

static ldr_catalog_t *cat;
static ldr_state_t st;

static void setup(void)
{
    static const char jsonl[] = "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":"
                                "\"produce/fruit\",\"price\":10}\n"
                                "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":"
                                "\"produce/beans\",\"price\":20}\n";
    cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    st = (ldr_state_t){.catalog = cat,
                       .stock = ldr_stock_new(),
                       .reservations = ldr_reservations_new(),
                       .idem = ldr_idem_new(),
                       .carts = ldr_carts_new(),
                       .orders = ldr_orders_new()};
    ldr_cmd_result_t r;
    ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                   .store = S("default"),
                   .sku = S("A-1"),
                   .lot = S("L1"),
                   .quantity = 5,
                   .expires_at = LDR_NO_EXPIRY};
    cr_assert_eq(ldr_cmd_apply(&st, &c, 0, &r), LDR_OK);
    c.sku = S("B-2");
    cr_assert_eq(ldr_cmd_apply(&st, &c, 0, &r), LDR_OK);
}

static void teardown(void)
{
    ldr_orders_free(st.orders);
    ldr_carts_free(st.carts);
    ldr_idem_free(st.idem);
    ldr_reservations_free(st.reservations);
    ldr_stock_free(st.stock);
    ldr_catalog_free(cat);
}

TestSuite(orders, .init = setup, .fini = teardown);

static ldr_cmd_line_t line_a = {S("default"), S("A-1"), 2, 10, {NULL, 0}},
                      line_b = {S("default"), S("B-2"), 1, 20, {NULL, 0}};

static ldr_cmd_t place(const char *id, const char *slot, int64_t capacity, int64_t pay_by,
                       const ldr_cmd_line_t *lines, uint32_t n)
{
    return (ldr_cmd_t){.type = LDR_CMD_ORDER_PLACE,
                       .order = {id, strlen(id)},
                       .owner = S("usr-1"),
                       .store = S("default"),
                       .slot = {slot, strlen(slot)},
                       .quantity = capacity,
                       .expires_at = pay_by,
                       .provider = S("fake"),
                       .nlines = n,
                       .lines = lines};
}

static int apply(ldr_cmd_t c, int64_t now, ldr_cmd_result_t *r)
{
    ldr_cmd_result_t mine;
    return ldr_cmd_apply(&st, &c, now, r != NULL ? r : &mine);
}

static int64_t available(const char *sku)
{
    uint32_t doc;
    cr_assert_not_null(ldr_catalog_find(cat, sku, strlen(sku), &doc));
    return ldr_stock_available(ldr_stock_get(st.stock, 0, doc));
}

static const ldr_order_t *order(const char *id)
{
    return ldr_orders_find(st.orders, id, strlen(id));
}

Test(orders, place_holds_everything_or_nothing_and_empties_the_cart_lines)
{
    ldr_cmd_result_t r;
    ldr_cmd_t cart = {
        .type = LDR_CMD_CART_SET, .owner = S("usr-1"), .sku = S("A-1"), .quantity = 2};
    cr_assert_eq(apply(cart, 1, NULL), LDR_OK);
    cart.sku = S("B-2");
    cr_assert_eq(apply(cart, 1, NULL), LDR_OK);
    ldr_cmd_line_t two[] = {line_a, line_b};
    ldr_cmd_t first = place("ord-1", "default-20261126-0800", 2, 100, two, 2);
    first.substitute[0] = 2; /* the second line may be substituted */
    cr_assert_eq(apply(first, 10, &r), LDR_OK);
    const ldr_order_t *o = order("ord-1");
    cr_assert_not_null(o);
    cr_assert(!o->lines[0].substitution_allowed && o->lines[1].substitution_allowed);
    cr_assert_str_eq(o->provider, "fake");
    cr_assert_eq(o->status, LDR_ORDER_PENDING_PAYMENT);
    cr_assert_eq(o->total, 2 * 10 + 20);
    cr_assert_eq(o->nevents, 1);
    cr_assert_eq(available("A-1"), 3);
    cr_assert_eq(available("B-2"), 4);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "default-20261126-0800", 21), 1);
    cr_assert_null(ldr_carts_find(st.carts, "usr-1", 5), "the ordered lines stayed in the cart");
    /* short on one line: nothing is held, no order, the window untouched */
    ldr_cmd_line_t much[] = {line_b, {S("default"), S("A-1"), 4, 10, {NULL, 0}}};
    cr_assert_eq(apply(place("ord-2", "default-20261126-0800", 2, 100, much, 2), 10, &r),
                 LDR_ESHORT);
    cr_assert_eq(r.nshort, 1);
    cr_assert_eq(r.short_idx[0], 1);
    cr_assert_null(order("ord-2"));
    cr_assert_eq(available("B-2"), 4);
    /* an unknown SKU is short too, and the same id twice is refused */
    ldr_cmd_line_t unknown[] = {{S("default"), S("Z-9"), 1, 1, {NULL, 0}}};
    cr_assert_eq(apply(place("ord-3", "", 2, 100, unknown, 1), 10, &r), LDR_ESHORT);
    cr_assert_eq(apply(place("ord-1", "", 2, 100, &line_b, 1), 10, NULL), LDR_EEXIST);
    /* the window holds two */
    cr_assert_eq(apply(place("ord-4", "default-20261126-0800", 2, 100, &line_b, 1), 10, NULL),
                 LDR_OK);
    cr_assert_eq(apply(place("ord-5", "default-20261126-0800", 2, 100, &line_b, 1), 10, NULL),
                 LDR_EFULL);
    cr_assert_eq(available("B-2"), 3, "a refused order held stock");
    /* pickup needs no window */
    cr_assert_eq(apply(place("ord-6", "", 2, 100, &line_b, 1), 10, NULL), LDR_OK);
}

Test(orders, paid_keeps_its_hold_and_cancelled_gives_everything_back)
{
    cr_assert_eq(apply(place("ord-1", "w-1", 1, 100, &line_a, 1), 10, NULL), LDR_OK);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-1")}, 20, NULL),
                 LDR_OK);
    cr_assert_eq(order("ord-1")->status, LDR_ORDER_PAID);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-1")}, 21, NULL),
                 LDR_ECONFLICT);
    /* past the payment deadline: a paid order keeps its goods */
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_TICK}, 1000, NULL), LDR_OK);
    cr_assert_eq(order("ord-1")->status, LDR_ORDER_PAID);
    cr_assert_eq(available("A-1"), 3);
    ldr_cmd_t cancel = {.type = LDR_CMD_ORDER_CANCEL, .order = S("ord-1"), .reason = S("customer")};
    cr_assert_eq(apply(cancel, 1001, NULL), LDR_OK);
    const ldr_order_t *o = order("ord-1");
    cr_assert_eq(o->status, LDR_ORDER_CANCELLED);
    cr_assert_str_eq(o->reason, "customer");
    cr_assert_eq(o->nevents, 3);
    cr_assert_eq(o->events[2].at, 1001);
    cr_assert_eq(available("A-1"), 5);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 0);
    cr_assert_eq(apply(cancel, 1002, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-1")}, 1003, NULL),
                 LDR_ECONFLICT);
    cancel.order = S("ord-9");
    cr_assert_eq(apply(cancel, 1004, NULL), LDR_ENOENT);
}

Test(orders, an_unpaid_order_is_cancelled_at_its_deadline)
{
    cr_assert_eq(apply(place("ord-1", "w-1", 1, 100, &line_a, 1), 10, NULL), LDR_OK);
    ldr_cmd_result_t r;
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_TICK}, 99, &r), LDR_OK);
    cr_assert_eq(r.expired, 0);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_TICK}, 100, &r), LDR_OK);
    cr_assert_eq(r.expired, 1);
    const ldr_order_t *o = order("ord-1");
    cr_assert_eq(o->status, LDR_ORDER_CANCELLED);
    cr_assert_str_eq(o->reason, "payment_timeout");
    cr_assert_eq(available("A-1"), 5);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 0);
    /* and the window is free for the next one */
    cr_assert_eq(apply(place("ord-2", "w-1", 1, 500, &line_a, 1), 101, NULL), LDR_OK);
}

Test(orders, a_retried_checkout_is_answered_as_the_first)
{
    ldr_cmd_t c = place("ord-1", "", 1, 100, &line_a, 1);
    c.idem_key = S("usr-1 key-1"), c.idem_fingerprint = 42;
    ldr_cmd_result_t r;
    cr_assert_eq(apply(c, 10, &r), LDR_OK);
    cr_assert_not(r.replayed);
    cr_assert_eq(apply(c, 11, &r), LDR_OK);
    cr_assert(r.replayed);
    cr_assert_eq(available("A-1"), 3, "a replay held stock again");
    c.idem_fingerprint = 43;
    cr_assert_eq(apply(c, 12, &r), LDR_ECONFLICT);
    char id[LDR_ORDER_ID_MAX + 1], id2[LDR_ORDER_ID_MAX + 1];
    ldr_order_id_for("usr-1 key-1", 11, id);
    ldr_order_id_for("usr-1 key-1", 11, id2);
    cr_assert_str_eq(id, id2);
    cr_assert(strncmp(id, "ord-", 4) == 0 && strlen(id) == 20, "%s", id);
    ldr_order_id_for("usr-2 key-1", 11, id2);
    cr_assert_str_neq(id, id2);
}

Test(orders, the_codec_is_strict)
{
    ldr_cmd_line_t two[] = {line_a, line_b};
    ldr_cmd_t cmds[] = {place("ord-1", "w-1", 20, 100, two, 2),
                        (ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-1")},
                        (ldr_cmd_t){.type = LDR_CMD_ORDER_CANCEL,
                                    .order = S("ord-1"),
                                    .reason = S("payment_declined")}};
    for (size_t i = 0; i < 3; i++) {
        ldr_buf_t b = LDR_BUF_INIT, b2 = LDR_BUF_INIT;
        cr_assert_eq(ldr_cmd_encode(&cmds[i], &b), LDR_OK);
        ldr_cmd_t d;
        ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
        cr_assert_eq(ldr_cmd_decode(cmds[i].type, b.base, b.len, &d, lines), LDR_OK);
        cr_assert_eq(ldr_cmd_encode(&d, &b2), LDR_OK);
        cr_assert(b.len == b2.len && memcmp(b.base, b2.base, b.len) == 0);
        for (size_t n = 0; n < b.len; n++)
            cr_assert_eq(ldr_cmd_decode(cmds[i].type, b.base, n, &d, lines), LDR_EPARSE);
        ldr_buf_free(&b);
        ldr_buf_free(&b2);
    }
    /* refused before anything is logged */
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_t bad = place("order-1", "", 1, 1, two, 2);
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "an id without ord-");
    bad = place("ord-1", "", 1, 1, two, 0);
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "no lines");
    ldr_cmd_line_t neg[] = {{S("default"), S("A-1"), 1, -5, {NULL, 0}}};
    bad = place("ord-1", "", 1, 1, neg, 1);
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "a negative price");
    ldr_buf_free(&b);
}

/* The orders state a snapshot file holds, read onto the suite's catalog. */
static ldr_state_t read_snapshot(const char *path)
{
    ldr_state_t t = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .orders = ldr_orders_new()};
    char err[256];
    cr_assert_eq(ldr_snapshot_read(path, cat, &t, NULL, err, sizeof(err)), LDR_OK, "%s", err);
    return t;
}

static void free_read(ldr_state_t *t)
{
    ldr_orders_free(t->orders);
    ldr_reservations_free(t->reservations);
    ldr_stock_free(t->stock);
}

Test(orders, the_log_and_a_snapshot_bring_orders_back)
{
    char *dir = ldr_test_tmpdir();
    ldr_engine_opts_t eo = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e;
    cr_assert_eq(ldr_engine_open(&eo, &e, NULL), LDR_OK);
    ldr_cmd_result_t r;
    ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                   .store = S("default"),
                   .sku = S("A-1"),
                   .lot = S("L1"),
                   .quantity = 10,
                   .expires_at = LDR_NO_EXPIRY};
    cr_assert_eq(ldr_engine_execute(e, &c, 0, &r, NULL), LDR_OK);
    ldr_cmd_t p1 = place("ord-1", "w-1", 5, 100, &line_a, 1),
              p2 = place("ord-2", "w-1", 5, 50, &line_a, 1),
              p3 = place("ord-3", "", 5, 100, &line_a, 1);
    cr_assert_eq(ldr_engine_execute(e, &p1, 1, &r, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_execute(e, &p2, 1, &r, NULL), LDR_OK);
    cr_assert_eq(ldr_engine_execute(e, &p3, 1, &r, NULL), LDR_OK);
    ldr_cmd_t paid = {.type = LDR_CMD_ORDER_PAID, .order = S("ord-1")};
    cr_assert_eq(ldr_engine_execute(e, &paid, 2, &r, NULL), LDR_OK);
    ldr_cmd_t tick = {.type = LDR_CMD_TICK};
    cr_assert_eq(ldr_engine_execute(e, &tick, 60, &r, NULL), LDR_OK); /* ord-2 times out */
    const ldr_state_t *s = ldr_engine_state(e);
    cr_assert_eq(ldr_orders_find(s->orders, "ord-2", 5)->status, LDR_ORDER_CANCELLED);
    uint64_t hash = ldr_state_hash(s);
    char snap[600];
    snprintf(snap, sizeof(snap), "%s/orders.snap", dir);
    int fd = open(snap, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    cr_assert_eq(ldr_snapshot_write(fd, s, 9, 0, NULL), LDR_OK);
    close(fd);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    /* the log, replayed */
    cr_assert_eq(ldr_engine_open(&eo, &e, NULL), LDR_OK);
    s = ldr_engine_state(e);
    cr_assert_eq(ldr_state_hash(s), hash);
    cr_assert_eq(ldr_orders_count(s->orders), 3);
    cr_assert_eq(ldr_orders_find(s->orders, "ord-1", 5)->status, LDR_ORDER_PAID);
    cr_assert_eq(ldr_orders_find(s->orders, "ord-2", 5)->status, LDR_ORDER_CANCELLED);
    cr_assert_str_eq(ldr_orders_find(s->orders, "ord-2", 5)->reason, "payment_timeout");
    cr_assert_eq(ldr_orders_slot_held(s->orders, "w-1", 3), 1);
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    /* the snapshot, read */
    ldr_state_t t = read_snapshot(snap);
    cr_assert_eq(ldr_state_hash(&t), hash);
    const ldr_order_t *o = ldr_orders_find(t.orders, "ord-1", 5);
    cr_assert(o != NULL && o->status == LDR_ORDER_PAID && o->nevents == 2 && o->total == 20 &&
              strcmp(o->slot, "w-1") == 0 && strcmp(o->lines[0].sku, "A-1") == 0);
    cr_assert_eq(ldr_orders_slot_held(t.orders, "w-1", 3), 1);
    free_read(&t);
    ldr_test_rmtree(dir);
    free(dir);
}

static int64_t on_hand(const char *sku)
{
    uint32_t doc;
    cr_assert_not_null(ldr_catalog_find(cat, sku, strlen(sku), &doc));
    return ldr_stock_get(st.stock, 0, doc)->on_hand;
}

static ldr_cmd_t to_status(const char *id, int status)
{
    return (ldr_cmd_t){
        .type = LDR_CMD_ORDER_STATUS, .order = {id, strlen(id)}, .role = (uint16_t)status};
}

Test(orders, fulfilment_takes_the_goods_and_follows_the_machine)
{
    cr_assert_eq(apply(place("ord-d", "w-1", 5, 100, &line_a, 1), 10, NULL), LDR_OK);
    cr_assert_eq(apply(place("ord-p", "", 5, 100, &line_b, 1), 10, NULL), LDR_OK);
    /* not before it is paid */
    cr_assert_eq(apply(to_status("ord-d", LDR_ORDER_PICKING), 11, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-d")}, 12, NULL),
                 LDR_OK);
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = S("ord-p")}, 12, NULL),
                 LDR_OK);
    cr_assert_eq(on_hand("A-1"), 5);
    cr_assert_eq(apply(to_status("ord-d", LDR_ORDER_PICKING), 13, NULL), LDR_OK);
    cr_assert_eq(on_hand("A-1"), 3, "picking did not take the goods");
    cr_assert_eq(available("A-1"), 3);
    cr_assert_null(ldr_reservations_find(st.reservations, "ord-d", 5));
    /* a delivery goes out, a pickup waits at the store: not the other way round */
    cr_assert_eq(apply(to_status("ord-d", LDR_ORDER_READY_FOR_PICKUP), 14, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply(to_status("ord-d", LDR_ORDER_OUT_FOR_DELIVERY), 14, NULL), LDR_OK);
    cr_assert_eq(apply(to_status("ord-d", LDR_ORDER_DELIVERED), 15, NULL), LDR_OK);
    cr_assert_eq(order("ord-d")->nevents, 5);
    cr_assert_eq(apply(to_status("ord-p", LDR_ORDER_PICKING), 16, NULL), LDR_OK);
    cr_assert_eq(apply(to_status("ord-p", LDR_ORDER_OUT_FOR_DELIVERY), 17, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply(to_status("ord-p", LDR_ORDER_READY_FOR_PICKUP), 17, NULL), LDR_OK);
    /* picked goods are not given back by a cancel: too late */
    ldr_cmd_t cancel = {.type = LDR_CMD_ORDER_CANCEL, .order = S("ord-p"), .reason = S("late")};
    cr_assert_eq(apply(cancel, 18, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply(to_status("ord-p", LDR_ORDER_DELIVERED), 19, NULL), LDR_OK);
    cr_assert_eq(apply(to_status("ord-p", LDR_ORDER_DELIVERED), 20, NULL), LDR_ECONFLICT);
    cr_assert_eq(on_hand("B-2"), 4);
    /* the window stays held by a delivered order: it was used */
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 1);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_t bad = to_status("ord-p", LDR_ORDER_CANCELLED);
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "cancelling goes through ORDER_CANCEL");
    ldr_buf_free(&b);
}

Test(orders, a_short_line_that_allows_it_takes_the_first_substitute_with_enough)
{
    /* A-1 has 5, B-2 has 5; C-3 is known but has none */
    static const char c3[] =
        "{\"sku\":\"C-3\",\"name\":{\"en\":\"Corn\"},\"category\":\"produce/fruit\",\"price\":9}";
    ldr_cmd_result_t r;
    cr_assert_eq(apply((ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT, .product = S(c3)}, 1, &r), LDR_OK);
    ldr_cmd_line_t want7[] = {{S("default"), S("A-1"), 7, 10, S("C-3,B-2")}};
    /* not allowed: the alternatives may not even be given */
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_t c = place("ord-s", "", 5, 100, want7, 1);
    cr_assert_eq(ldr_cmd_encode(&c, &b), LDR_EINVAL);
    ldr_buf_free(&b);
    c.substitute[0] = 1;
    /* 7 of A-1: short (5); C-3 has none; B-2 has 5 < 7: short still */
    cr_assert_eq(apply(c, 10, &r), LDR_ESHORT);
    ldr_cmd_line_t want4[] = {{S("default"), S("A-1"), 4, 10, S("C-3,B-2")}};
    /* enough of A-1 itself: no substitution */
    c = place("ord-s", "", 5, 100, want4, 1);
    c.substitute[0] = 1;
    cr_assert_eq(apply(c, 10, &r), LDR_OK);
    cr_assert_str_eq(order("ord-s")->lines[0].substituted_by, "");
    /* now A-1 has 1 left: the next 4 come from B-2, C-3 being empty */
    c.order = S("ord-t");
    cr_assert_eq(apply(c, 11, &r), LDR_OK);
    const ldr_order_t *o = order("ord-t");
    cr_assert_str_eq(o->lines[0].sku, "A-1");
    cr_assert_str_eq(o->lines[0].substituted_by, "B-2");
    cr_assert_eq(available("A-1"), 1);
    cr_assert_eq(available("B-2"), 1);
    /* cancelling gives back what was held: the substitute */
    ldr_cmd_t cancel = {.type = LDR_CMD_ORDER_CANCEL, .order = S("ord-t"), .reason = S("x")};
    cr_assert_eq(apply(cancel, 12, NULL), LDR_OK);
    cr_assert_eq(available("B-2"), 5);
    /* a malformed list is refused before it is logged */
    ldr_cmd_line_t bad[] = {{S("default"), S("A-1"), 1, 10, S("B-2,,C-3")}};
    c = place("ord-u", "", 5, 100, bad, 1);
    c.substitute[0] = 1;
    b = (ldr_buf_t)LDR_BUF_INIT;
    cr_assert_eq(ldr_cmd_encode(&c, &b), LDR_EINVAL);
    ldr_buf_free(&b);
}

static ldr_cmd_t refund(const char *id)
{
    return (ldr_cmd_t){
        .type = LDR_CMD_ORDER_REFUND, .order = {id, strlen(id)}, .reason = S("refunded_by_admin")};
}

Test(orders, a_refund_gives_back_only_what_was_not_picked)
{
    cr_assert_eq(apply(place("ord-a", "w-1", 5, 100, &line_a, 1), 10, NULL), LDR_OK);
    cr_assert_eq(apply(place("ord-b", "w-1", 5, 100, &line_a, 1), 10, NULL), LDR_OK);
    cr_assert_eq(apply(place("ord-c", "w-1", 5, 100, &line_b, 1), 10, NULL), LDR_OK);
    /* unpaid: nothing was taken, so nothing to refund (cancel it instead) */
    cr_assert_eq(apply(refund("ord-a"), 11, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply(refund("ord-none"), 11, NULL), LDR_ENOENT);
    for (const char *const *id = (const char *const[]){"ord-a", "ord-b", "ord-c", NULL}; *id; id++)
        cr_assert_eq(
            apply((ldr_cmd_t){.type = LDR_CMD_ORDER_PAID, .order = {*id, strlen(*id)}}, 12, NULL),
            LDR_OK);
    cr_assert_eq(available("A-1"), 1);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 3);
    /* paid, not picked: the hold and the window's place come back */
    cr_assert_eq(apply(refund("ord-a"), 13, NULL), LDR_OK);
    cr_assert_eq(order("ord-a")->status, LDR_ORDER_REFUNDED);
    cr_assert_str_eq(order("ord-a")->reason, "refunded_by_admin");
    cr_assert_eq(available("A-1"), 3);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 2);
    cr_assert_eq(apply(refund("ord-a"), 14, NULL), LDR_ECONFLICT, "refunded twice");
    /* picked: the goods left stock and stay gone; the window was used */
    cr_assert_eq(apply(to_status("ord-b", LDR_ORDER_PICKING), 15, NULL), LDR_OK);
    int64_t before = on_hand("A-1");
    cr_assert_eq(apply(refund("ord-b"), 16, NULL), LDR_OK);
    cr_assert_eq(on_hand("A-1"), before);
    cr_assert_eq(ldr_orders_slot_held(st.orders, "w-1", 3), 2);
    /* and delivered orders may be refunded too; cancelled ones may not */
    cr_assert_eq(apply(to_status("ord-c", LDR_ORDER_PICKING), 17, NULL), LDR_OK);
    cr_assert_eq(apply(to_status("ord-c", LDR_ORDER_OUT_FOR_DELIVERY), 18, NULL), LDR_OK);
    cr_assert_eq(apply(to_status("ord-c", LDR_ORDER_DELIVERED), 19, NULL), LDR_OK);
    cr_assert_eq(apply(refund("ord-c"), 20, NULL), LDR_OK);
    cr_assert_eq(apply(place("ord-x", "", 5, 100, &line_b, 1), 21, NULL), LDR_OK);
    ldr_cmd_t cancel = {.type = LDR_CMD_ORDER_CANCEL, .order = S("ord-x"), .reason = S("x")};
    cr_assert_eq(apply(cancel, 22, NULL), LDR_OK);
    cr_assert_eq(apply(refund("ord-x"), 23, NULL), LDR_ECONFLICT);
    /* a snapshot counts the window's places the same way: ord-b and ord-c keep theirs */
    char *dir = ldr_test_tmpdir();
    char snap[600];
    snprintf(snap, sizeof(snap), "%s/refunds.snap", dir);
    int fd = open(snap, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    cr_assert_eq(ldr_snapshot_write(fd, &st, 9, 0, NULL), LDR_OK);
    close(fd);
    ldr_state_t t = read_snapshot(snap);
    cr_assert_eq(ldr_state_hash(&t), ldr_state_hash(&st));
    cr_assert_eq(ldr_orders_slot_held(t.orders, "w-1", 3), 2);
    cr_assert_eq(ldr_orders_find(t.orders, "ord-a", 5)->status, LDR_ORDER_REFUNDED);
    free_read(&t);
    ldr_test_rmtree(dir);
    free(dir);
    /* the record: strict, and it carries a request */
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_t keyed = refund("ord-c");
    keyed.idem_key = S("ops r-1"), keyed.idem_fingerprint = 7;
    cr_assert_eq(ldr_cmd_encode(&keyed, &b), LDR_OK);
    ldr_cmd_t d;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_ORDER_REFUND, b.base, b.len, &d, lines), LDR_OK);
    cr_assert(ldr_str_eq(d.idem_key, "ops r-1", 7) && d.idem_fingerprint == 7);
    for (size_t n = 0; n < b.len; n++)
        if (n != b.len - 17) /* the record without its request is whole too */
            cr_assert_neq(ldr_cmd_decode(LDR_CMD_ORDER_REFUND, b.base, n, &d, lines), LDR_OK,
                          "a %zu-byte prefix decoded", n);
    ldr_buf_free(&b);
}

/* ORDER_PLACE with a courier and an address (no idempotency key: the empty key keeps its place). */
static ldr_cmd_t place_delivered(const char *id, const ldr_cmd_line_t *line)
{
    ldr_cmd_t c = place(id, "w-2", 20, 100, line, 1);
    c.courier = S("grab");
    c.address.name = S("Nguyễn Văn An");
    c.address.phone = S("0912345678");
    c.address.line1 = S("12 Lý Thường Kiệt");
    c.address.district = S("Quận Hoàn Kiếm");
    c.address.city = S("Hà Nội");
    return c;
}

static ldr_cmd_t delivery(const char *id, int status, const char *tracking, const char *note)
{
    return (ldr_cmd_t){.type = LDR_CMD_DELIVERY,
                       .order = {id, strlen(id)},
                       .role = (uint16_t)status,
                       .tracking = {tracking, strlen(tracking)},
                       .reason = {note, strlen(note)}};
}

static void name_event(void *ctx, const ldr_event_t *ev)
{
    snprintf(ctx, 64, "%s %.*s", ev->name, (int)ev->tracking.len, ev->tracking.ptr);
}

Test(orders, a_courier_booking_follows_its_own_machine_and_round_trips)
{
    /* the codec: with and without a request, strict about the delivery section */
    ldr_cmd_t p = place_delivered("ord-7", &line_a);
    ldr_cmd_t keyed = p;
    keyed.idem_key = S("usr-1 k"), keyed.idem_fingerprint = 7;
    ldr_cmd_t cmds[] = {p, keyed, delivery("ord-7", LDR_DELIVERY_BOOKED, "GRAB-1", ""),
                        delivery("ord-7", LDR_DELIVERY_BOOKING_FAILED, "", "HTTP 503")};
    for (size_t i = 0; i < 4; i++) {
        ldr_buf_t b = LDR_BUF_INIT, b2 = LDR_BUF_INIT;
        cr_assert_eq(ldr_cmd_encode(&cmds[i], &b), LDR_OK, "command %zu", i);
        ldr_cmd_t d;
        ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
        cr_assert_eq(ldr_cmd_decode(cmds[i].type, b.base, b.len, &d, lines), LDR_OK);
        cr_assert_eq(ldr_cmd_encode(&d, &b2), LDR_OK);
        cr_assert(b.len == b2.len && memcmp(b.base, b2.base, b.len) == 0, "command %zu", i);
        /* (a cut ORDER_PLACE may be a shorter valid one: without its delivery section) */
        for (size_t n = 0; cmds[i].type == LDR_CMD_DELIVERY && n < b.len; n++)
            cr_assert_eq(ldr_cmd_decode(cmds[i].type, b.base, n, &d, lines), LDR_EPARSE);
        ldr_buf_free(&b);
        ldr_buf_free(&b2);
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_t bad = p;
    bad.address.phone = S("12345");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "a bad phone");
    bad = p, bad.slot = S("");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "a courier for a pickup");
    bad = p, bad.courier = S("");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "an address without a courier");
    bad = delivery("ord-7", LDR_DELIVERY_BOOKED, "", "");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "booked without a tracking id");
    ldr_buf_free(&b);
    /* the moves */
    cr_assert_eq(apply(p, 1, NULL), LDR_OK);
    const ldr_order_t *o = order("ord-7");
    cr_assert_eq(o->delivery, LDR_DELIVERY_PENDING);
    cr_assert_str_eq(o->address.city, "Hà Nội");
    cr_assert_str_eq(o->courier, "grab");
    cr_assert_eq(apply(delivery("ord-7", LDR_DELIVERY_IN_TRANSIT, "", ""), 2, NULL), LDR_ECONFLICT);
    cr_assert_eq(apply(delivery("ord-7", LDR_DELIVERY_BOOKING_FAILED, "", "HTTP 503"), 2, NULL),
                 LDR_OK);
    cr_assert_str_eq(o->delivery_note, "HTTP 503");
    cr_assert_eq(apply(delivery("ord-7", LDR_DELIVERY_BOOKING_FAILED, "", "again"), 2, NULL),
                 LDR_ECONFLICT, "one failure is recorded");
    ldr_cmd_t booked = delivery("ord-7", LDR_DELIVERY_BOOKED, "GRAB-1", "");
    cr_assert_eq(apply(booked, 3, NULL), LDR_OK);
    cr_assert_eq(apply(booked, 3, NULL), LDR_ECONFLICT, "booked once");
    cr_assert_str_eq(o->tracking, "GRAB-1");
    cr_assert_str_eq(o->delivery_note, "");
    cr_assert_eq(
        apply(delivery("ord-7", LDR_DELIVERY_IN_TRANSIT, "", "grab: IN_DELIVERY"), 4, NULL),
        LDR_OK);
    cr_assert_eq(apply(delivery("ord-7", LDR_DELIVERY_CANCELLED, "", ""), 5, NULL), LDR_OK);
    cr_assert_eq(apply(delivery("ord-7", LDR_DELIVERY_DELIVERED, "", ""), 6, NULL), LDR_ECONFLICT);
    cr_assert_str_eq(o->tracking, "GRAB-1", "kept after the booking ends");
    /* an order without a courier has no booking to move */
    cr_assert_eq(apply(place("ord-8", "", 5, 100, &line_b, 1), 1, NULL), LDR_OK);
    ldr_cmd_t other = delivery("ord-8", LDR_DELIVERY_BOOKED, "X-1", "");
    cr_assert_eq(apply(other, 3, NULL), LDR_EINVAL);
    /* the event names the booking */
    char ev[64] = "";
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_events(&booked, lines, name_event, ev), 1);
    cr_assert_str_eq(ev, "DeliveryBooked GRAB-1");
    /* a snapshot keeps the courier, the address and the booking */
    char *dir = ldr_test_tmpdir(), snap[600];
    snprintf(snap, sizeof(snap), "%s/d.snap", dir);
    int fd = open(snap, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    cr_assert_eq(ldr_snapshot_write(fd, &st, 9, 0, NULL), LDR_OK);
    close(fd);
    ldr_state_t t = read_snapshot(snap);
    const ldr_order_t *r = ldr_orders_find(t.orders, "ord-7", 5);
    cr_assert(r != NULL && r->delivery == LDR_DELIVERY_CANCELLED &&
              strcmp(r->tracking, "GRAB-1") == 0 && strcmp(r->courier, "grab") == 0 &&
              strcmp(r->address.name, "Nguyễn Văn An") == 0 &&
              strcmp(r->address.phone, "0912345678") == 0 && r->address.ward[0] == '\0');
    r = ldr_orders_find(t.orders, "ord-8", 5);
    cr_assert(r != NULL && r->delivery == LDR_DELIVERY_NONE && r->courier[0] == '\0');
    free_read(&t);
    ldr_test_rmtree(dir);
    free(dir);
}
