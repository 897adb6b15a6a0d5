/*
 * Unit tests for engine/stock.c: lots in first-expired-first-out order, receiving, the version,
 * availability, and the stock JSON Lines loader.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "larder/catalog.h"
#include "larder/stock.h"

#include "../unit_helpers.h"

#define T_NOV25 INT64_C(1795597200) /* 2026-11-25T09:00:00Z */
#define T_NOV26 (T_NOV25 + 86400)
#define T_NOV27 (T_NOV25 + 2 * 86400)

static ldr_catalog_t *three_products(void)
{
    const char *text = "{\"sku\":\"VEG-1\",\"name\":{\"en\":\"Kale\"},\"category\":\"produce\","
                       "\"price\":10000,\"perishable\":true}\n"
                       "{\"sku\":\"VEG-2\",\"name\":{\"en\":\"Leek\"},\"category\":\"produce\","
                       "\"price\":12000}\n"
                       "{\"sku\":\"MILK-1\",\"name\":{\"vi\":\"Sữa\"},\"category\":\"dairy\","
                       "\"price\":30000}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(cat, text, strlen(text), NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.loaded, 3);
    return cat;
}

static uint32_t doc_of(const ldr_catalog_t *cat, const char *sku)
{
    uint32_t doc = UINT32_MAX;
    cr_assert_not_null(ldr_catalog_find(cat, sku, strlen(sku), &doc), "%s", sku);
    return doc;
}

static int receive(ldr_stock_t *st, uint32_t store, uint32_t doc, const char *lot, int64_t qty,
                   int64_t expires_at)
{
    return ldr_stock_receive(st, store, doc, lot, strlen(lot), qty, expires_at);
}

static ldr_load_result_t load(ldr_stock_t *st, const ldr_catalog_t *cat, const char *text,
                              ldr_test_rejects_t *rej)
{
    ldr_load_result_t res = {99, 99, 99};
    memset(rej, 0, sizeof(*rej));
    cr_assert_eq(ldr_stock_load_jsonl(st, cat, text, strlen(text), ldr_test_reject_cb, rej, &res),
                 LDR_OK);
    cr_assert_eq(res.rejected, rej->count);
    cr_assert_eq(res.loaded + res.rejected, res.lines);
    return res;
}

/* Asserts the lots of e, in order. */
typedef struct want_lot {
    const char *id;
    int64_t quantity, expires_at;
} want_lot_t;

static void assert_lots(const ldr_stock_entry_t *e, const want_lot_t *want, uint32_t n)
{
    cr_assert_not_null(e);
    cr_assert_eq(e->nlots, n, "%u lots, want %u", e->nlots, n);
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_str_eq(e->lots[i].id, want[i].id, "lot #%u", i);
        cr_assert_eq(e->lots[i].quantity, want[i].quantity, "lot #%u (%s) quantity", i, want[i].id);
        cr_assert_eq(e->lots[i].expires_at, want[i].expires_at, "lot #%u (%s) expiry", i,
                     want[i].id);
        sum += want[i].quantity;
    }
    cr_assert_eq(e->on_hand, sum, "on_hand is the sum of the lots");
}

/* ---- stores ---- */

Test(stock, store_ids_are_interned_and_validated)
{
    ldr_stock_t *st = ldr_stock_new();
    cr_assert_eq(ldr_stock_store_find(st, "default", 7), UINT32_MAX);
    uint32_t a = ldr_stock_store_put(st, "default", 7);
    uint32_t b = ldr_stock_store_put(st, "hcm-01", 6);
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 1);
    cr_assert_eq(ldr_stock_store_put(st, "default", 7), a);
    cr_assert_eq(ldr_stock_store_find(st, "hcm-01", 6), b);
    cr_assert_eq(ldr_intern_count(ldr_stock_stores(st)), 2);
    for (int i = 0; i < 40; i++) { /* past the first block of store slots */
        char id[16];
        int n = snprintf(id, sizeof(id), "s%d", i);
        cr_assert_eq(ldr_stock_store_put(st, id, (size_t)n), (uint32_t)(2 + i));
    }
    cr_assert_eq(receive(st, 41, 0, "L", 1, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, 41, 0)->on_hand, 1);
    ldr_stock_free(st);

    cr_assert(ldr_store_id_valid("default", 7));
    cr_assert(ldr_store_id_valid("hcm_district-1", 14));
    cr_assert_not(ldr_store_id_valid("", 0));
    cr_assert_not(ldr_store_id_valid("Default", 7));
    cr_assert_not(ldr_store_id_valid("main store", 10));
    cr_assert_not(ldr_store_id_valid("a.b", 3));
    cr_assert_not(ldr_store_id_valid("hà-nội", strlen("hà-nội")));
    char long_id[LDR_STORE_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id));
    cr_assert(ldr_store_id_valid(long_id, LDR_STORE_ID_MAX));
    cr_assert_not(ldr_store_id_valid(long_id, LDR_STORE_ID_MAX + 1));
}

Test(stock, get_before_any_receive_is_null)
{
    ldr_stock_t *st = ldr_stock_new();
    cr_assert_null(ldr_stock_get(st, 0, 0), "no store yet");
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_null(ldr_stock_get(st, s, 0), "store without entries");
    cr_assert_eq(receive(st, s, 5, "L1", 3, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_null(ldr_stock_get(st, s, 4), "a neighbour of a received doc");
    cr_assert_null(ldr_stock_get(st, s, 100000), "past the entries");
    cr_assert_null(ldr_stock_get(st, s + 1, 5), "unknown store");
    uint32_t t = ldr_stock_store_put(st, "other", 5);
    cr_assert_null(ldr_stock_get(st, t, 5), "stock is per store");
    cr_assert_eq(ldr_stock_available(ldr_stock_get(st, t, 5)), 0);
    ldr_stock_free(st);
}

/* ---- receive ---- */

Test(stock, receive_keeps_lots_fefo)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 0, "L-late", 5, T_NOV27), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-none", 7, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-early", 1, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-mid", 3, T_NOV26), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-early2", 2, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-none2", 8, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "L-past", 4, 0), LDR_OK); /* 1970: already expired, first */
    const want_lot_t want[] = {
        {"L-past", 4, 0},
        {"L-early", 1, T_NOV25},
        {"L-early2", 2, T_NOV25}, /* equal expiries keep arrival order */
        {"L-mid", 3, T_NOV26},
        {"L-late", 5, T_NOV27},
        {"L-none", 7, LDR_NO_EXPIRY}, /* no expiry last, in arrival order */
        {"L-none2", 8, LDR_NO_EXPIRY},
    };
    const ldr_stock_entry_t *e = ldr_stock_get(st, s, 0);
    assert_lots(e, want, LDR_ARRAY_SIZE(want));
    cr_assert_eq(e->on_hand, 30);
    cr_assert_eq(e->reserved, 0);
    cr_assert_eq(e->version, 7, "one bump per receive");
    ldr_stock_free(st);
}

Test(stock, receive_more_of_a_lot_adds_to_it)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 2, "A", 10, T_NOV26), LDR_OK);
    cr_assert_eq(receive(st, s, 2, "B", 5, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 2, "A", 6, T_NOV26), LDR_OK);
    cr_assert_eq(receive(st, s, 2, "N", 1, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(receive(st, s, 2, "N", 2, LDR_NO_EXPIRY), LDR_OK);
    const want_lot_t want[] = {{"B", 5, T_NOV25}, {"A", 16, T_NOV26}, {"N", 3, LDR_NO_EXPIRY}};
    const ldr_stock_entry_t *e = ldr_stock_get(st, s, 2);
    assert_lots(e, want, LDR_ARRAY_SIZE(want));
    cr_assert_eq(e->version, 5);
    /* lot ids are compared whole: "A" is not "AB", and ids are case-sensitive */
    cr_assert_eq(receive(st, s, 2, "AB", 1, T_NOV27), LDR_OK);
    cr_assert_eq(receive(st, s, 2, "a", 1, T_NOV27), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 2)->nlots, 5);
    cr_assert_eq(ldr_stock_get(st, s, 2)->lots[1].quantity, 16);
    ldr_stock_free(st);
}

Test(stock, same_lot_with_another_expiry_is_eexist_and_changes_nothing)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 0, "A", 10, T_NOV26), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "N", 4, LDR_NO_EXPIRY), LDR_OK);
    const ldr_stock_entry_t *e = ldr_stock_get(st, s, 0);
    ldr_stock_entry_t before = *e;
    ldr_lot_t lots_before[2];
    memcpy(lots_before, e->lots, sizeof(lots_before));

    cr_assert_eq(receive(st, s, 0, "A", 5, T_NOV25), LDR_EEXIST);
    cr_assert_eq(receive(st, s, 0, "A", 5, LDR_NO_EXPIRY), LDR_EEXIST);
    cr_assert_eq(receive(st, s, 0, "N", 5, T_NOV25), LDR_EEXIST);

    e = ldr_stock_get(st, s, 0);
    cr_assert_eq(e->on_hand, before.on_hand);
    cr_assert_eq(e->version, before.version);
    cr_assert_eq(e->nlots, 2);
    cr_assert(memcmp(e->lots, lots_before, sizeof(lots_before)) == 0, "lots changed");
    ldr_stock_free(st);
}

Test(stock, bad_quantity_is_erange_and_changes_nothing)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 0, "A", 0, T_NOV25), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "A", -1, T_NOV25), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "A", INT64_MIN, T_NOV25), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "A", LDR_QUANTITY_MAX + 1, T_NOV25), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "A", INT64_MAX, T_NOV25), LDR_ERANGE);
    cr_assert_null(ldr_stock_get(st, s, 0), "a refused first receive leaves no entry");

    cr_assert_eq(receive(st, s, 0, "A", 10, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "A", 0, T_NOV25), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "A", -10, T_NOV25), LDR_ERANGE);
    const ldr_stock_entry_t *e = ldr_stock_get(st, s, 0);
    cr_assert_eq(e->on_hand, 10);
    cr_assert_eq(e->lots[0].quantity, 10);
    cr_assert_eq(e->version, 1);

    /* on hand is bounded too: exactly LDR_QUANTITY_MAX fits, one more does not */
    cr_assert_eq(receive(st, s, 0, "B", LDR_QUANTITY_MAX - 10, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 0)->on_hand, LDR_QUANTITY_MAX);
    cr_assert_eq(receive(st, s, 0, "C", 1, LDR_NO_EXPIRY), LDR_ERANGE);
    cr_assert_eq(receive(st, s, 0, "B", 1, LDR_NO_EXPIRY), LDR_ERANGE);
    e = ldr_stock_get(st, s, 0);
    cr_assert_eq(e->on_hand, LDR_QUANTITY_MAX);
    cr_assert_eq(e->nlots, 2);
    cr_assert_eq(e->version, 2);
    ldr_stock_free(st);
}

Test(stock, bad_store_or_lot_is_einval)
{
    ldr_stock_t *st = ldr_stock_new();
    cr_assert_eq(receive(st, 0, 0, "A", 1, T_NOV25), LDR_EINVAL, "store never put");
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s + 1, 0, "A", 1, T_NOV25), LDR_EINVAL);
    cr_assert_eq(receive(st, UINT32_MAX, 0, "A", 1, T_NOV25), LDR_EINVAL);
    cr_assert_eq(receive(st, s, 0, "", 1, T_NOV25), LDR_EINVAL, "empty lot id");
    char lot[LDR_LOT_ID_MAX + 2];
    memset(lot, 'L', sizeof(lot) - 1);
    lot[LDR_LOT_ID_MAX + 1] = '\0';
    cr_assert_eq(receive(st, s, 0, lot, 1, T_NOV25), LDR_EINVAL, "33-byte lot id");
    cr_assert_null(ldr_stock_get(st, s, 0));
    lot[LDR_LOT_ID_MAX] = '\0';
    cr_assert_eq(receive(st, s, 0, lot, 1, T_NOV25), LDR_OK, "32-byte lot id");
    cr_assert_str_eq(ldr_stock_get(st, s, 0)->lots[0].id, lot);
    ldr_stock_free(st);
}

/* A doc id is any uint32_t to this API (the stock table does not know the catalog).  Entry arrays
 * grow by doubling a uint32_t from 1024: for doc >= 2^31 the doubling wraps to 0 and never exceeds
 * doc, so the call spins forever (engine/stock.c ldr__entry).  It must return an error instead. */
Test(stock, receive_with_huge_doc_id_returns, .timeout = 0.5)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    int rc = receive(st, s, UINT32_MAX, "A", 1, T_NOV25);
    cr_assert(rc == LDR_EINVAL || rc == LDR_ERANGE, "got %s", ldr_status_name(rc));
    rc = receive(st, s, UINT32_C(0x80000000), "A", 1, T_NOV25);
    cr_assert(rc == LDR_EINVAL || rc == LDR_ERANGE, "got %s", ldr_status_name(rc));
    cr_assert_null(ldr_stock_get(st, s, UINT32_MAX));
    ldr_stock_free(st);
}

Test(stock, version_bumps_on_every_change_per_entry)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    uint32_t t = ldr_stock_store_put(st, "other", 5);
    for (int i = 1; i <= 5; i++) {
        cr_assert_eq(receive(st, s, 3, "A", 1, T_NOV25), LDR_OK);
        cr_assert_eq(ldr_stock_get(st, s, 3)->version, (uint64_t)i);
    }
    cr_assert_eq(receive(st, s, 4, "A", 1, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, t, 3, "A", 1, T_NOV25), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 4)->version, 1, "versions are per (store, doc)");
    cr_assert_eq(ldr_stock_get(st, t, 3)->version, 1);
    cr_assert_eq(ldr_stock_get(st, s, 3)->version, 5);
    cr_assert_eq(receive(st, s, 3, "A", 1, T_NOV26), LDR_EEXIST);
    cr_assert_eq(ldr_stock_get(st, s, 3)->version, 5, "a refused receive does not bump");
    ldr_stock_free(st);
}

Test(stock, entries_survive_growth_of_the_doc_array)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 1, "A", 11, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 1023, "B", 22, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 1024, "C", 33, LDR_NO_EXPIRY), LDR_OK); /* forces a grow */
    cr_assert_eq(receive(st, s, 70000, "D", 44, LDR_NO_EXPIRY), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 1)->on_hand, 11);
    cr_assert_str_eq(ldr_stock_get(st, s, 1)->lots[0].id, "A");
    cr_assert_eq(ldr_stock_get(st, s, 1023)->on_hand, 22);
    cr_assert_eq(ldr_stock_get(st, s, 1024)->on_hand, 33);
    cr_assert_eq(ldr_stock_get(st, s, 70000)->on_hand, 44);
    cr_assert_null(ldr_stock_get(st, s, 69999));
    ldr_stock_free(st);
}

Test(stock, available_is_on_hand_minus_reserved_never_negative)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    cr_assert_eq(receive(st, s, 0, "A", 10, T_NOV25), LDR_OK);
    cr_assert_eq(receive(st, s, 0, "B", 5, LDR_NO_EXPIRY), LDR_OK);
    const ldr_stock_entry_t *e = ldr_stock_get(st, s, 0);
    cr_assert_eq(e->reserved, 0);
    cr_assert_eq(ldr_stock_available(e), 15);
    ldr_stock_free(st);

    cr_assert_eq(ldr_stock_available(NULL), 0);
    ldr_stock_entry_t x = {.on_hand = 10, .reserved = 3};
    cr_assert_eq(ldr_stock_available(&x), 7);
    x.reserved = 10;
    cr_assert_eq(ldr_stock_available(&x), 0);
    x.reserved = 12;
    cr_assert_eq(ldr_stock_available(&x), 0, "never negative");
}

/* ---- JSON Lines ---- */

Test(stock, load_valid_lines)
{
    ldr_catalog_t *cat = three_products();
    ldr_stock_t *st = ldr_stock_new();
    const char *text =
        "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L2\",\"quantity\":5,"
        "\"expires_at\":\"2026-11-26T09:00:00Z\"}\n"
        "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":3,"
        "\"expires_at\":\"2026-11-25T16:00:00+07:00\"}\r\n"
        "\n"
        "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":4,"
        "\"expires_at\":\"2026-11-25T09:00:00.250Z\"}\n"
        "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"dry_1.A-z\",\"quantity\":1}\n"
        "{\"sku\":\"MILK-1\",\"store\":\"hcm-01\",\"lot\":\"M\",\"quantity\":1000000000,"
        "\"expires_at\":null}\n"
        "{\"store\":\"default\",\"quantity\":2,\"lot\":\"X\",\"sku\":\"VEG-2\"}";
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(st, cat, text, &rej);
    cr_assert_eq(res.rejected, 0, "line %llu: %s", (unsigned long long)rej.line[0], rej.message[0]);
    cr_assert_eq(res.lines, 6);
    cr_assert_eq(res.loaded, 6);

    uint32_t def = ldr_stock_store_find(st, "default", 7);
    uint32_t hcm = ldr_stock_store_find(st, "hcm-01", 6);
    cr_assert_neq(def, UINT32_MAX);
    cr_assert_neq(hcm, UINT32_MAX);
    cr_assert_eq(ldr_intern_count(ldr_stock_stores(st)), 2);

    const ldr_stock_entry_t *e = ldr_stock_get(st, def, doc_of(cat, "VEG-1"));
    const want_lot_t want[] = {
        {"L1", 7, T_NOV25}, /* +07:00 and fractional seconds name the same instant: one lot */
        {"L2", 5, T_NOV26},
        {"dry_1.A-z", 1, LDR_NO_EXPIRY},
    };
    assert_lots(e, want, LDR_ARRAY_SIZE(want));
    cr_assert_eq(e->version, 4);
    cr_assert_eq(ldr_stock_available(e), 13);

    e = ldr_stock_get(st, hcm, doc_of(cat, "MILK-1"));
    const want_lot_t milk[] = {{"M", 1000000000, LDR_NO_EXPIRY}};
    assert_lots(e, milk, 1);
    cr_assert_null(ldr_stock_get(st, def, doc_of(cat, "MILK-1")), "stock is per store");
    cr_assert_eq(ldr_stock_get(st, def, doc_of(cat, "VEG-2"))->on_hand, 2);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
}

typedef struct bad_stock {
    const char *what;
    const char *line;
    const char *needle;
} bad_stock_t;

#define S_OK_REST "\"lot\":\"L1\",\"quantity\":5"

static const bad_stock_t bad_stock[] = {
    {"unknown sku", "{\"sku\":\"NOPE-1\",\"store\":\"newstore\"," S_OK_REST "}",
     "field \"sku\": unknown sku \"NOPE-1\""},
    {"sku differing in case", "{\"sku\":\"veg-1\",\"store\":\"newstore\"," S_OK_REST "}",
     "field \"sku\": unknown sku"},
    {"missing sku", "{\"store\":\"newstore\"," S_OK_REST "}", "field \"sku\": is required"},
    {"sku as a number", "{\"sku\":1,\"store\":\"newstore\"," S_OK_REST "}",
     "field \"sku\": expected a string"},
    {"uppercase store", "{\"sku\":\"VEG-1\",\"store\":\"Main\"," S_OK_REST "}",
     "field \"store\": not a valid store id"},
    {"store with a space", "{\"sku\":\"VEG-1\",\"store\":\"new store\"," S_OK_REST "}",
     "field \"store\": not a valid store id"},
    {"store with a slash", "{\"sku\":\"VEG-1\",\"store\":\"a/b\"," S_OK_REST "}",
     "field \"store\": not a valid store id"},
    {"empty store", "{\"sku\":\"VEG-1\",\"store\":\"\"," S_OK_REST "}",
     "field \"store\": must not be empty"},
    {"missing store", "{\"sku\":\"VEG-1\"," S_OK_REST "}", "field \"store\": is required"},
    {"store of 65 bytes",
     "{\"sku\":\"VEG-1\",\"store\":"
     "\"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss\"," S_OK_REST "}",
     "field \"store\": longer than 64 bytes"},
    {"lot with a space",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L 1\",\"quantity\":5}",
     "field \"lot\": not a valid lot id"},
    {"lot with a slash",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L/1\",\"quantity\":5}",
     "field \"lot\": not a valid lot id"},
    {"lot with non-ASCII",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"lô-1\",\"quantity\":5}",
     "field \"lot\": not a valid lot id"},
    {"lot of 33 bytes",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\","
     "\"quantity\":5}",
     "field \"lot\": longer than 32 bytes"},
    {"empty lot", "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"\",\"quantity\":5}",
     "field \"lot\": must not be empty"},
    {"missing lot", "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"quantity\":5}",
     "field \"lot\": is required"},
    {"missing quantity", "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\"}",
     "field \"quantity\": is required"},
    {"zero quantity", "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\",\"quantity\":0}",
     "field \"quantity\": must be between 1 and 1000000000"},
    {"negative quantity",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\",\"quantity\":-4}",
     "field \"quantity\": must be between 1 and 1000000000"},
    {"quantity too large",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\",\"quantity\":1000000001}",
     "field \"quantity\": must be between"},
    {"quantity as a string",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\",\"quantity\":\"5\"}",
     "field \"quantity\": expected integer, got a string"},
    {"quantity with a fraction",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"L1\",\"quantity\":1.5}",
     "field \"quantity\": expected integer"},
    {"impossible date",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST
     ",\"expires_at\":\"2026-02-30T00:00:00Z\"}",
     "field \"expires_at\": expected an RFC 3339 time"},
    {"date without time",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST ",\"expires_at\":\"2026-11-25\"}",
     "field \"expires_at\": expected an RFC 3339 time"},
    {"words for a date",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST ",\"expires_at\":\"tomorrow\"}",
     "field \"expires_at\": expected an RFC 3339 time"},
    {"epoch seconds for a date",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST ",\"expires_at\":1795597200}",
     "field \"expires_at\": expected a string, got an integer"},
    {"empty date", "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST ",\"expires_at\":\"\"}",
     "field \"expires_at\": must not be empty"},
    {"unknown field", "{\"sku\":\"VEG-1\",\"store\":\"newstore\"," S_OK_REST ",\"price\":1}",
     "unknown field \"price\""},
    {"bad JSON", "{\"sku\":\"VEG-1\",\"store\":\"newstore\",", "invalid JSON"},
    {"not an object", "[\"VEG-1\",\"newstore\",\"L1\",5]", "expected a JSON object"},
    {"duplicate keys", "{\"sku\":\"VEG-1\",\"sku\":\"VEG-2\",\"store\":\"newstore\"," S_OK_REST "}",
     "duplicate"},
    {"invalid UTF-8",
     "{\"sku\":\"VEG-1\",\"store\":\"newstore\",\"lot\":\"\xC3\x28\",\"quantity\":5}",
     "invalid JSON"},
};

Test(stock, load_rejects_bad_lines_and_changes_nothing)
{
    ldr_catalog_t *cat = three_products();
    uint32_t veg1 = doc_of(cat, "VEG-1");
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad_stock); i++) {
        const bad_stock_t *c = &bad_stock[i];
        ldr_stock_t *st = ldr_stock_new();
        ldr_test_rejects_t rej;
        /* seed: VEG-1 in "default", lot L1 */
        ldr_load_result_t res = load(st, cat,
                                     "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\","
                                     "\"quantity\":2,\"expires_at\":\"2026-11-25T09:00:00Z\"}",
                                     &rej);
        cr_assert_eq(res.loaded, 1, "seed: %s", rej.message[0]);
        uint32_t def = ldr_stock_store_find(st, "default", 7);

        char text[512];
        snprintf(text, sizeof(text), "\n%s\n", c->line); /* the bad line is line 2 */
        res = load(st, cat, text, &rej);
        cr_assert_eq(res.lines, 1, "[%s]", c->what);
        cr_assert_eq(res.rejected, 1, "[%s] was accepted: %s", c->what, c->line);
        cr_assert_eq(rej.line[0], 2, "[%s] line number", c->what);
        cr_assert(ldr_test_reject_has(&rej, 0, c->needle), "[%s] message \"%s\" lacks \"%s\"",
                  c->what, rej.message[0], c->needle);

        cr_assert_eq(ldr_intern_count(ldr_stock_stores(st)), 1, "[%s] a store was created",
                     c->what);
        cr_assert_eq(ldr_stock_store_find(st, "newstore", 8), UINT32_MAX, "[%s]", c->what);
        const ldr_stock_entry_t *e = ldr_stock_get(st, def, veg1);
        const want_lot_t want[] = {{"L1", 2, T_NOV25}};
        assert_lots(e, want, 1);
        cr_assert_eq(e->version, 1, "[%s] version bumped", c->what);
        for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++)
            if (d != veg1)
                cr_assert_null(ldr_stock_get(st, def, d), "[%s] doc %u got stock", c->what, d);
        ldr_stock_free(st);
    }
    ldr_catalog_free(cat);
}

Test(stock, load_same_lot_with_another_expiry_is_rejected)
{
    ldr_catalog_t *cat = three_products();
    ldr_stock_t *st = ldr_stock_new();
    const char *text = "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":2,"
                       "\"expires_at\":\"2026-11-25T09:00:00Z\"}\n"
                       "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":3,"
                       "\"expires_at\":\"2026-11-26T09:00:00Z\"}\n"
                       "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":4}\n"
                       "{\"sku\":\"VEG-2\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":6,"
                       "\"expires_at\":\"2026-11-26T09:00:00Z\"}\n";
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(st, cat, text, &rej);
    cr_assert_eq(res.loaded, 2);
    cr_assert_eq(res.rejected, 2);
    cr_assert_eq(rej.line[0], 2);
    cr_assert_eq(rej.line[1], 3);
    cr_assert(ldr_test_reject_has(&rej, 0, "field \"expires_at\": lot \"L1\" was already received"),
              "%s", rej.message[0]);
    cr_assert(ldr_test_reject_has(&rej, 1, "field \"expires_at\""), "%s", rej.message[1]);
    uint32_t def = ldr_stock_store_find(st, "default", 7);
    const want_lot_t veg1[] = {{"L1", 2, T_NOV25}};
    const ldr_stock_entry_t *e = ldr_stock_get(st, def, doc_of(cat, "VEG-1"));
    assert_lots(e, veg1, 1);
    cr_assert_eq(e->version, 1);
    const want_lot_t veg2[] = {{"L1", 6, T_NOV26}}; /* lot ids are per SKU */
    assert_lots(ldr_stock_get(st, def, doc_of(cat, "VEG-2")), veg2, 1);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
}

Test(stock, load_reports_exact_line_numbers)
{
    ldr_catalog_t *cat = three_products();
    ldr_stock_t *st = ldr_stock_new();
    const char *text =
        /* 1 */ "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"A\",\"quantity\":1}\n"
                /* 2 */ "\r\n"
                /* 3 */ "{\"sku\":\"GONE\",\"store\":\"default\",\"lot\":\"A\",\"quantity\":1}\r\n"
                /* 4 */ "{\"sku\":\"VEG-2\",\"store\":\"default\",\"lot\":\"A\",\"quantity\":1}\r\n"
                /* 5 */ "  \n"
                /* 6 */ "{\"sku\":\"VEG-2\",\"store\":\"default\",\"lot\":\"B\"}\n"
                /* 7 */ "{\"sku\":\"MILK-1\",\"store\":\"default\",\"lot\":\"A\",\"quantity\":1,"
                "\"expires_at\":\"2025-02-29T00:00:00Z\"}";
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(st, cat, text, &rej);
    cr_assert_eq(res.lines, 5);
    cr_assert_eq(res.loaded, 2);
    cr_assert_eq(res.rejected, 3);
    cr_assert_eq(rej.line[0], 3);
    cr_assert(ldr_test_reject_has(&rej, 0, "field \"sku\""), "%s", rej.message[0]);
    cr_assert_eq(rej.line[1], 6);
    cr_assert(ldr_test_reject_has(&rej, 1, "field \"quantity\""), "%s", rej.message[1]);
    cr_assert_eq(rej.line[2], 7);
    cr_assert(ldr_test_reject_has(&rej, 2, "field \"expires_at\""), "%s", rej.message[2]);
    uint32_t def = ldr_stock_store_find(st, "default", 7);
    cr_assert_null(ldr_stock_get(st, def, doc_of(cat, "MILK-1")));
    cr_assert_eq(ldr_stock_get(st, def, doc_of(cat, "VEG-2"))->on_hand, 1);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
}

Test(stock, load_with_empty_catalog_rejects_everything)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_stock_t *st = ldr_stock_new();
    const char *text = "{\"sku\":\"VEG-1\",\"store\":\"default\",\"lot\":\"A\",\"quantity\":1}\n";
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(st, cat, text, &rej);
    cr_assert_eq(res.rejected, 1);
    cr_assert(ldr_test_reject_has(&rej, 0, "unknown sku"), "%s", rej.message[0]);
    cr_assert_eq(ldr_intern_count(ldr_stock_stores(st)), 0);
    /* NULL callback and result are allowed */
    cr_assert_eq(ldr_stock_load_jsonl(st, cat, text, strlen(text), NULL, NULL, NULL), LDR_OK);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
}
