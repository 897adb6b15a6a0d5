/*
 * Effects and domain events: a logged COMMIT, RELEASE or TICK carries what it did to the state it
 * met, every logged command names its events by itself, and replay refuses a log whose effects
 * it does not reproduce.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../helpers.h"
#include "larder/engine.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})

static ldr_catalog_t *cat;
static ldr_state_t st;

static void setup(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce\",\"price\":2}\n";
    cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    st = (ldr_state_t){
        .catalog = cat, .stock = ldr_stock_new(), .reservations = ldr_reservations_new()};
}

static void teardown(void)
{
    ldr_reservations_free(st.reservations);
    ldr_stock_free(st.stock);
    ldr_catalog_free(cat);
}

TestSuite(events, .init = setup, .fini = teardown);

/* Applies c as the engine does and returns the logged payload (command + effects). */
static ldr_buf_t logged(const ldr_cmd_t *c, int64_t now, int want)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_encode(c, &b), LDR_OK);
    cr_assert_eq(ldr_cmd_apply_logged(&st, c, now, &res, &b), want, "type %u", c->type);
    return b;
}

typedef struct seen {
    int n;
    char names[8][24];
    ldr_event_t ev[8];
    int64_t line_qty[8];
} seen_t;

static void collect(void *ctx, const ldr_event_t *ev)
{
    seen_t *s = ctx;
    cr_assert_lt(s->n, 8);
    strcpy(s->names[s->n], ev->name);
    s->ev[s->n] = *ev;
    s->line_qty[s->n] = ev->nlines > 0 ? ev->lines[0].quantity : 0;
    s->n++;
}

static seen_t events_of(uint16_t type, const ldr_buf_t *payload)
{
    static ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX], evlines[LDR_RESERVE_LINES_MAX];
    ldr_cmd_t d;
    cr_assert_eq(ldr_cmd_decode(type, payload->base, payload->len, &d, lines), LDR_OK);
    seen_t s = {0};
    cr_assert_eq(ldr_cmd_events(&d, evlines, collect, &s), (uint32_t)s.n);
    /* a decoded record re-encodes to the same bytes, effects included */
    ldr_buf_t again = LDR_BUF_INIT;
    cr_assert_eq(ldr_cmd_encode(&d, &again), LDR_OK);
    cr_assert(again.len == payload->len && memcmp(again.base, payload->base, again.len) == 0);
    ldr_buf_free(&again);
    return s;
}

Test(events, every_command_names_its_events)
{
    ldr_cmd_t recv = {.type = LDR_CMD_RECEIVE,
                      .store = S("default"),
                      .sku = S("A-1"),
                      .lot = S("L1"),
                      .quantity = 10,
                      .expires_at = 500};
    ldr_buf_t b = logged(&recv, 0, LDR_OK);
    seen_t s = events_of(LDR_CMD_RECEIVE, &b);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.names[0], "StockReceived");
    cr_assert_eq(s.ev[0].quantity, 10);
    cr_assert_eq(s.ev[0].expires_at, 500);
    ldr_buf_free(&b);

    ldr_cmd_t set = {.type = LDR_CMD_SET,
                     .store = S("default"),
                     .sku = S("A-1"),
                     .reason = S("audit"),
                     .quantity = 8};
    b = logged(&set, 0, LDR_OK);
    s = events_of(LDR_CMD_SET, &b);
    cr_assert_str_eq(s.names[0], "StockAdjusted");
    cr_assert(s.ev[0].set);
    cr_assert_eq(s.ev[0].quantity, 8);
    ldr_buf_free(&b);

    ldr_cmd_line_t lines[] = {{S("default"), S("A-1"), 3, 0, {NULL, 0}}};
    ldr_cmd_t hold = {.type = LDR_CMD_RESERVE,
                      .owner = S("cart-1"),
                      .expires_at = 100,
                      .nlines = 1,
                      .lines = lines};
    b = logged(&hold, 0, LDR_OK);
    s = events_of(LDR_CMD_RESERVE, &b);
    cr_assert_str_eq(s.names[0], "StockReserved");
    cr_assert_eq(s.line_qty[0], 3);
    ldr_buf_free(&b);

    /* the commit's lines are not in the command: they come from the state, as effects */
    ldr_cmd_t commit = {.type = LDR_CMD_COMMIT, .owner = S("cart-1")};
    b = logged(&commit, 0, LDR_OK);
    s = events_of(LDR_CMD_COMMIT, &b);
    cr_assert_str_eq(s.names[0], "StockCommitted");
    cr_assert_eq(s.ev[0].nlines, 1);
    cr_assert_eq(s.line_qty[0], 3);
    cr_assert_eq(s.ev[0].shortfall, 0);
    ldr_buf_free(&b);

    /* refused: no effects appended */
    b = logged(&commit, 0, LDR_ENOENT);
    ldr_buf_t bare = LDR_BUF_INIT;
    ldr_cmd_encode(&commit, &bare);
    cr_assert_eq(b.len, bare.len);
    ldr_buf_free(&b);
    ldr_buf_free(&bare);
}

Test(events, a_tick_logs_the_lots_and_holds_it_expired)
{
    ldr_cmd_t recv = {.type = LDR_CMD_RECEIVE,
                      .store = S("default"),
                      .sku = S("B-2"),
                      .lot = S("SOON"),
                      .quantity = 4,
                      .expires_at = 100};
    ldr_buf_t b = logged(&recv, 0, LDR_OK);
    ldr_buf_free(&b);
    recv.lot = S("LATER"), recv.quantity = 6, recv.expires_at = 900;
    b = logged(&recv, 0, LDR_OK);
    ldr_buf_free(&b);
    ldr_cmd_line_t lines[] = {{S("default"), S("B-2"), 2, 0, {NULL, 0}}};
    ldr_cmd_t hold = {.type = LDR_CMD_RESERVE,
                      .owner = S("cart-9"),
                      .expires_at = 150,
                      .nlines = 1,
                      .lines = lines};
    b = logged(&hold, 0, LDR_OK);
    ldr_buf_free(&b);
    ldr_cmd_t tick = {.type = LDR_CMD_TICK};
    b = logged(&tick, 200, LDR_OK);
    seen_t s = events_of(LDR_CMD_TICK, &b);
    cr_assert_eq(s.n, 2, "%d events", s.n);
    cr_assert_str_eq(s.names[0], "LotExpired");
    cr_assert(ldr_str_eq(s.ev[0].lot, "SOON", 4));
    cr_assert_eq(s.ev[0].quantity, 4);
    cr_assert_eq(s.ev[0].expires_at, 100);
    cr_assert_str_eq(s.names[1], "ReservationExpired");
    cr_assert(ldr_str_eq(s.ev[1].owner, "cart-9", 6));
    cr_assert_eq(s.line_qty[1], 2);
    ldr_buf_free(&b);
}

static ldr_engine_t *open_engine(const char *dir, int *rc)
{
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e = NULL;
    ldr_wal_recovery_t rep;
    *rc = ldr_engine_open(&o, &e, &rep);
    return e;
}

Test(events, replay_refuses_effects_it_does_not_reproduce)
{
    char *dir = ldr_test_tmpdir();
    int rc;
    ldr_engine_t *e = open_engine(dir, &rc);
    cr_assert_eq(rc, LDR_OK);
    ldr_cmd_t recv = {.type = LDR_CMD_RECEIVE,
                      .store = S("default"),
                      .sku = S("A-1"),
                      .lot = S("L1"),
                      .quantity = 5,
                      .expires_at = 100};
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_engine_execute(e, &recv, 0, &res, NULL), LDR_OK);
    ldr_cmd_t tick = {.type = LDR_CMD_TICK};
    uint64_t lsn;
    cr_assert_eq(ldr_engine_execute(e, &tick, 200, &res, &lsn), LDR_OK);
    cr_assert_gt(lsn, 0, "a tick that expired a lot is logged");
    cr_assert_eq(ldr_engine_close(e), LDR_OK);
    e = open_engine(dir, &rc);
    cr_assert_eq(rc, LDR_OK, "a sound log replays");
    ldr_engine_close(e);

    /* a second log whose TICK claims another quantity: replay must not accept it */
    char *dir2 = ldr_test_tmpdir();
    ldr_wal_opts_t wo = {.dir = dir2};
    ldr_wal_t *w;
    cr_assert_eq(ldr_wal_open(&wo, &w, NULL), LDR_OK);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_cmd_encode(&recv, &b);
    cr_assert_eq(ldr_wal_append(w, LDR_CMD_RECEIVE, 0, b.base, b.len, NULL), LDR_OK);
    ldr_state_t other = {
        .catalog = cat, .stock = ldr_stock_new(), .reservations = ldr_reservations_new()};
    ldr_cmd_apply(&other, &recv, 0, &res);
    recv.quantity = 4; /* the lie: the tick expired 4 */
    ldr_state_t liar = {
        .catalog = cat, .stock = ldr_stock_new(), .reservations = ldr_reservations_new()};
    ldr_cmd_apply(&liar, &recv, 0, &res);
    ldr_buf_reset(&b);
    cr_assert_eq(ldr_cmd_apply_logged(&liar, &tick, 200, &res, &b), LDR_OK);
    cr_assert_eq(ldr_wal_append(w, LDR_CMD_TICK, 200000000000LL, b.base, b.len, NULL), LDR_OK);
    cr_assert_eq(ldr_wal_sync(w), LDR_OK);
    ldr_wal_close(w);
    e = open_engine(dir2, &rc);
    cr_assert_eq(rc, LDR_ECORRUPT, "replay accepted effects it did not reproduce");
    cr_assert_null(e);
    ldr_buf_free(&b);
    ldr_reservations_free(other.reservations), ldr_stock_free(other.stock);
    ldr_reservations_free(liar.reservations), ldr_stock_free(liar.stock);
    ldr_test_rmtree(dir), ldr_test_rmtree(dir2);
    free(dir), free(dir2);
}
