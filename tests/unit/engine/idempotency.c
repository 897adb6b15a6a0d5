/* Idempotency keys: the table, and how apply treats a replay, a conflict and an expired key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "larder/command.h"
#include "larder/snapshot.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})

Test(idempotency, table_finds_live_keys_and_forgets_expired_ones)
{
    ldr_idem_t *t = ldr_idem_new();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "svc k-%d", i);
        ldr_idem_put(t, key, (size_t)n, (uint64_t)i * 7, 1000 + i);
    }
    cr_assert_eq(ldr_idem_count(t), 5000);
    const ldr_idem_entry_t *e = ldr_idem_find(t, "svc k-4321", 10, 2000);
    cr_assert_not_null(e);
    cr_assert_eq(e->fingerprint, 4321u * 7);
    cr_assert_null(ldr_idem_find(t, "svc k-5000", 10, 2000));
    cr_assert_null(ldr_idem_find(t, "svc k-", 6, 2000), "a prefix is another key");
    /* at 1000 + TTL + 10 the first ten keys (times 1000..1009) and one more have expired */
    int64_t later = 1000 + LDR_IDEM_TTL + 10;
    cr_assert_null(ldr_idem_find(t, "svc k-3", 8, later));
    cr_assert_not_null(ldr_idem_find(t, "svc k-11", 8, later));
    /* they are dropped only once the oldest has been expired for ten minutes: a rebuild costs
     * the whole table, and the tick runs every second */
    cr_assert_eq(ldr_idem_purge(t, later), 0, "rebuilt for 11 expired keys");
    cr_assert_eq(ldr_idem_count(t), 5000);
    int64_t much_later = later + 600; /* times 1000..1610 have expired */
    cr_assert_eq(ldr_idem_purge(t, much_later), 611);
    cr_assert_eq(ldr_idem_count(t), 4389);
    cr_assert_eq(ldr_idem_purge(t, much_later + 1), 0, "rebuilt again a second later");
    cr_assert_not_null(ldr_idem_find(t, "svc k-4999", 10, later));
    /* an expired key may be used again */
    ldr_idem_put(t, "svc k-4999", 10, 1, later + LDR_IDEM_TTL);
    cr_assert_eq(ldr_idem_find(t, "svc k-4999", 10, later + LDR_IDEM_TTL)->fingerprint, 1);
    ldr_idem_free(t);
}

Test(idempotency, apply_replays_refuses_conflicts_and_expires)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce\",\"price\":1}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    ldr_state_t s = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .idem = ldr_idem_new()};
    ldr_cmd_t recv = {.type = LDR_CMD_RECEIVE,
                      .store = S("default"),
                      .sku = S("A-1"),
                      .lot = S("L1"),
                      .quantity = 5,
                      .expires_at = LDR_NO_EXPIRY,
                      .idem_key = S("ops r-1"),
                      .idem_fingerprint = 42};
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&s, &recv, 100, &res), LDR_OK);
    cr_assert(!res.replayed);
    cr_assert_eq(ldr_cmd_apply(&s, &recv, 200, &res), LDR_OK);
    cr_assert(res.replayed, "the retry was not recognised");
    cr_assert_eq(ldr_stock_get(s.stock, 0, 0)->on_hand, 5, "the retry was applied");
    recv.idem_fingerprint = 43;
    cr_assert_eq(ldr_cmd_apply(&s, &recv, 300, &res), LDR_ECONFLICT);
    cr_assert_eq(ldr_stock_get(s.stock, 0, 0)->on_hand, 5);
    /* a day later the key is free again */
    cr_assert_eq(ldr_cmd_apply(&s, &recv, 100 + LDR_IDEM_TTL, &res), LDR_OK);
    cr_assert(!res.replayed);
    cr_assert_eq(ldr_stock_get(s.stock, 0, 0)->on_hand, 10);
    /* refusals are not remembered: the same request may succeed later */
    ldr_cmd_t take = {.type = LDR_CMD_ADJUST,
                      .store = S("default"),
                      .sku = S("A-1"),
                      .reason = S("x"),
                      .quantity = -20,
                      .idem_key = S("ops a-1"),
                      .idem_fingerprint = 9};
    cr_assert_eq(ldr_cmd_apply(&s, &take, 400, &res), LDR_ESHORT);
    take.quantity = -2;
    take.idem_fingerprint = 10;
    cr_assert_eq(ldr_cmd_apply(&s, &take, 500, &res), LDR_OK, "a refused key blocked a retry");
    /* keys survive the codec */
    ldr_buf_t b = LDR_BUF_INIT;
    cr_assert_eq(ldr_cmd_encode(&take, &b), LDR_OK);
    ldr_cmd_t d;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_ADJUST, b.base, b.len, &d, lines), LDR_OK);
    cr_assert(ldr_str_eq(d.idem_key, "ops a-1", 7));
    cr_assert_eq(d.idem_fingerprint, 10);
    /* a key on a command that cannot carry one is refused by the codec */
    ldr_cmd_t commit = {.type = LDR_CMD_COMMIT, .owner = S("o"), .idem_key = S("ops c")};
    cr_assert_eq(ldr_cmd_encode(&commit, &b), LDR_EINVAL);
    ldr_buf_free(&b);
    ldr_idem_free(s.idem);
    ldr_reservations_free(s.reservations);
    ldr_stock_free(s.stock);
    ldr_catalog_free(cat);
}

Test(idempotency, keys_travel_in_snapshots)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce\",\"price\":1}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    ldr_state_t s = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .idem = ldr_idem_new()};
    ldr_cmd_t recv = {.type = LDR_CMD_RECEIVE,
                      .store = S("default"),
                      .sku = S("A-1"),
                      .lot = S("L1"),
                      .quantity = 5,
                      .expires_at = LDR_NO_EXPIRY,
                      .idem_key = S("ops r-1"),
                      .idem_fingerprint = 42};
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&s, &recv, 100, &res), LDR_OK);
    char path[] = "/tmp/larder-idem-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ldr_snapshot_write(fd, &s, 1, 0, NULL), LDR_OK);
    close(fd);
    ldr_state_t t = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .idem = ldr_idem_new()};
    char err[256];
    cr_assert_eq(ldr_snapshot_read(path, cat, &t, NULL, err, sizeof(err)), LDR_OK, "%s", err);
    unlink(path);
    const ldr_idem_entry_t *e = ldr_idem_find(t.idem, "ops r-1", 7, 200);
    cr_assert_not_null(e, "the key did not survive the snapshot");
    cr_assert_eq(e->fingerprint, 42);
    cr_assert_eq(e->time, 100);
    /* so a retry after recovering from the snapshot is still a replay */
    cr_assert_eq(ldr_cmd_apply(&t, &recv, 300, &res), LDR_OK);
    cr_assert(res.replayed);
    for (ldr_state_t *x = &s; x != NULL; x = x == &s ? &t : NULL) {
        ldr_idem_free(x->idem);
        ldr_reservations_free(x->reservations);
        ldr_stock_free(x->stock);
    }
    ldr_catalog_free(cat);
}
