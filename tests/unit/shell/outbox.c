/*
 * The outbox messages of real log records, held to the JSON Schemas in docs/events/: an engine
 * runs every kind of command, its log is read back, and every message it makes must satisfy its
 * event's schema (required fields, types, nothing undocumented); every schema's event must come
 * up at least once.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../shell/outbox.h"
#include "../../helpers.h"
#include "larder/command.h"
#include "larder/orders.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})
#define T0     1800000000 /* 2027-01-15 */

static ldr_catalog_t *cat;
static char *dir;

static void setup(void)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/fruit\",\"price\":1}\n"
        "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce/beans\",\"price\":2}\n"
        "{\"sku\":\"C-3\",\"name\":{\"en\":\"Corn\"},\"category\":\"produce/beans\",\"price\":3}\n";
    cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    dir = ldr_test_tmpdir();
}

static void teardown(void)
{
    ldr_catalog_free(cat);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(outbox, .init = setup, .fini = teardown);

/* ---- a JSON Schema subset: type, const, enum, pattern, format date-time, required,
 * properties, additionalProperties false, items, minItems ---- */

static void check(json_t *schema, json_t *v, const char *where)
{
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (type != NULL) {
        bool ok = strcmp(type, "object") == 0    ? json_is_object(v)
                  : strcmp(type, "array") == 0   ? json_is_array(v)
                  : strcmp(type, "string") == 0  ? json_is_string(v)
                  : strcmp(type, "integer") == 0 ? json_is_integer(v)
                  : strcmp(type, "boolean") == 0 ? json_is_boolean(v)
                                                 : false;
        cr_assert(ok, "%s: not of type %s", where, type);
    }
    json_t *c = json_object_get(schema, "const");
    if (c != NULL)
        cr_assert(json_equal(c, v), "%s: not the const", where);
    json_t *en = json_object_get(schema, "enum"), *x;
    size_t i;
    if (en != NULL) {
        bool found = false;
        json_array_foreach(en, i, x) found |= json_equal(x, v);
        cr_assert(found, "%s: %s is not one of the enum", where, json_string_value(v));
    }
    const char *pattern = json_string_value(json_object_get(schema, "pattern"));
    if (pattern != NULL) {
        regex_t re;
        cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
        cr_assert_eq(regexec(&re, json_string_value(v), 0, NULL, 0), 0, "%s: \"%s\" !~ %s", where,
                     json_string_value(v), pattern);
        regfree(&re);
    }
    const char *format = json_string_value(json_object_get(schema, "format"));
    if (format != NULL && strcmp(format, "date-time") == 0) {
        int y, mo, d, h, mi, s;
        cr_assert_eq(
            sscanf(json_string_value(v), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s), 6,
            "%s: not a date-time: %s", where, json_string_value(v));
        cr_assert_eq(json_string_value(v)[strlen(json_string_value(v)) - 1], 'Z');
    }
    if (json_is_object(v)) {
        json_t *props = json_object_get(schema, "properties"),
               *req = json_object_get(schema, "required");
        json_array_foreach(req, i, x)
            cr_assert_not_null(json_object_get(v, json_string_value(x)), "%s: %s is required",
                               where, json_string_value(x));
        const char *k;
        json_object_foreach(v, k, x)
        {
            json_t *ps = json_object_get(props, k);
            cr_assert(ps != NULL || !json_is_false(json_object_get(schema, "additionalProperties")),
                      "%s: %s is not in the schema", where, k);
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s", where, k);
            if (ps != NULL)
                check(ps, x, sub);
        }
    }
    if (json_is_array(v)) {
        json_t *min = json_object_get(schema, "minItems"),
               *items = json_object_get(schema, "items");
        if (min != NULL)
            cr_assert_geq(json_array_size(v), (size_t)json_integer_value(min), "%s: too few",
                          where);
        json_array_foreach(v, i, x)
        {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
            if (items != NULL)
                check(items, x, sub);
        }
    }
}

/* ---- rendering the log ---- */

typedef struct seen {
    ldr_engine_t *e;
    char events[64][32];
    int nevents;
    int messages;
} seen_t;

static void on_message(void *ctx, const ldr_outbox_msg_t *m)
{
    seen_t *s = ctx;
    char path[256];
    snprintf(path, sizeof(path), "docs/events/%s.json", m->event);
    json_error_t je;
    json_t *schema = json_load_file(path, 0, &je);
    cr_assert_not_null(schema, "%s has no schema (%s)", m->event, je.text);
    json_t *v = json_loadb(m->value.ptr, m->value.len, 0, &je);
    cr_assert_not_null(v, "%s: not JSON: %.*s", m->event, (int)m->value.len, m->value.ptr);
    check(schema, v, m->event);
    cr_assert_str_eq(json_string_value(json_object_get(v, "eventId")), m->id);
    const char *topic = json_string_value(json_object_get(schema, "x-topic"));
    cr_assert_str_eq(ldr_topic_default_names[m->topic], topic, "%s's topic", m->event);
    const char *key = json_string_value(json_object_get(schema, "x-key"));
    const char *kv = json_string_value(json_object_get(v, key));
    cr_assert(kv != NULL && strlen(kv) == m->key.len && memcmp(kv, m->key.ptr, m->key.len) == 0,
              "%s is keyed by its %s", m->event, key);
    int k = 0;
    while (k < s->nevents && strcmp(s->events[k], m->event) != 0)
        k++;
    if (k == s->nevents)
        snprintf(s->events[s->nevents++], sizeof(s->events[0]), "%s", m->event);
    s->messages++;
    json_decref(v);
    json_decref(schema);
}

static int render(void *ctx, const ldr_wal_record_t *rec)
{
    seen_t *s = ctx;
    cr_assert_geq(ldr_outbox_render(s->e, rec, on_message, s), 0, "lsn %llu is no command",
                  (unsigned long long)rec->lsn);
    return LDR_OK;
}

static void run(ldr_engine_t *e, ldr_cmd_t c, int64_t now)
{
    ldr_cmd_result_t r;
    uint64_t lsn = 0;
    int rc = ldr_engine_execute(e, &c, now, &r, &lsn);
    cr_assert_eq(rc, LDR_OK, "command %u: %s", c.type, ldr_strerror(rc));
    cr_assert_neq(lsn, 0, "command %u was not logged", c.type);
}

static ldr_cmd_t order(uint16_t type, const char *id)
{
    return (ldr_cmd_t){.type = type, .order = {id, strlen(id)}};
}

static ldr_cmd_t place(const char *id, const char *slot, const ldr_cmd_line_t *lines, uint32_t n)
{
    ldr_cmd_t c = order(LDR_CMD_ORDER_PLACE, id);
    c.owner = S("usr-7"), c.store = S("default"), c.slot = (ldr_str_t){slot, strlen(slot)};
    c.quantity = 5, c.expires_at = T0 + 900, c.provider = S("fake"), c.pay_token = S("fake_ok");
    c.lines = lines, c.nlines = n;
    c.substitute[0] = 1; /* the first line may be substituted */
    return c;
}

static ldr_cmd_t status(const char *id, int to)
{
    ldr_cmd_t c = order(LDR_CMD_ORDER_STATUS, id);
    c.role = (uint16_t)to;
    return c;
}

static ldr_engine_t *open_engine(void)
{
    ldr_engine_opts_t o = {.wal_dir = dir, .catalog = cat};
    ldr_engine_t *e;
    cr_assert_eq(ldr_engine_open(&o, &e, NULL), LDR_OK);
    return e;
}

Test(outbox, every_message_of_every_command_follows_its_schema)
{
    ldr_engine_t *e = open_engine();
    ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                   .store = S("default"),
                   .sku = S("A-1"),
                   .lot = S("L1"),
                   .quantity = 20,
                   .expires_at = T0 + 5000};
    run(e, c, T0);
    c.sku = S("B-2"), c.lot = S("L2"), c.expires_at = LDR_NO_EXPIRY;
    run(e, c, T0);
    c.sku = S("C-3"), c.lot = S("L3"), c.quantity = 1;
    run(e, c, T0);
    run(e,
        (ldr_cmd_t){.type = LDR_CMD_ADJUST,
                    .store = S("default"),
                    .sku = S("A-1"),
                    .reason = S("count"),
                    .quantity = -1},
        T0);
    run(e,
        (ldr_cmd_t){.type = LDR_CMD_SET,
                    .store = S("default"),
                    .sku = S("B-2"),
                    .reason = S("count"),
                    .quantity = 30},
        T0);
    ldr_cmd_line_t one_a[] = {{S("default"), S("A-1"), 1, 0, {NULL, 0}}};
    ldr_cmd_t res = {.type = LDR_CMD_RESERVE,
                     .owner = S("res-1"),
                     .expires_at = T0 + 60,
                     .lines = one_a,
                     .nlines = 1};
    run(e, res, T0);
    run(e, (ldr_cmd_t){.type = LDR_CMD_COMMIT, .owner = S("res-1")}, T0);
    res.owner = S("res-2");
    run(e, res, T0);
    run(e, (ldr_cmd_t){.type = LDR_CMD_RELEASE, .owner = S("res-2")}, T0);
    res.owner = S("res-3"), res.expires_at = T0 + 10;
    run(e, res, T0);
    run(e, (ldr_cmd_t){.type = LDR_CMD_TICK}, T0 + 11); /* res-3 lapses */

    /* C-3 has one unit: the two-unit line takes B-2 instead */
    ldr_cmd_line_t lines[] = {{S("default"), S("C-3"), 2, 300, S("B-2")},
                              {S("default"), S("A-1"), 1, 100, {NULL, 0}}};
    run(e, place("ord-1", "", lines, 2), T0 + 20);
    ldr_cmd_t paid = order(LDR_CMD_ORDER_PAID, "ord-1");
    paid.pay_ref = S("pi_123");
    run(e, paid, T0 + 21);
    run(e, status("ord-1", LDR_ORDER_PICKING), T0 + 22);
    run(e, status("ord-1", LDR_ORDER_READY_FOR_PICKUP), T0 + 23);
    run(e, status("ord-1", LDR_ORDER_DELIVERED), T0 + 24);
    ldr_cmd_t courier = place("ord-2", "slot-1", lines + 1, 1);
    courier.courier = S("fake");
    courier.address.name = S("Lan"), courier.address.phone = S("0912345678");
    courier.address.line1 = S("12 Hang Bac"), courier.address.district = S("Hoan Kiem");
    courier.address.city = S("Ha Noi");
    run(e, courier, T0 + 30);
    run(e, order(LDR_CMD_ORDER_PAID, "ord-2"), T0 + 31);
    run(e, status("ord-2", LDR_ORDER_PICKING), T0 + 32);
    run(e, status("ord-2", LDR_ORDER_OUT_FOR_DELIVERY), T0 + 33);
    run(e, place("ord-3", "", lines + 1, 1), T0 + 40);
    ldr_cmd_t cancel = order(LDR_CMD_ORDER_CANCEL, "ord-3");
    cancel.reason = S("payment_declined");
    run(e, cancel, T0 + 41);
    run(e, place("ord-4", "", lines + 1, 1), T0 + 50);
    run(e, order(LDR_CMD_ORDER_PAID, "ord-4"), T0 + 51);
    ldr_cmd_t refund = order(LDR_CMD_ORDER_REFUND, "ord-4");
    refund.reason = S("damaged");
    run(e, refund, T0 + 52);
    /* a courier's booking of ord-2 and its progress; ord-5's cancelled, ord-6's given up */
    static const struct {
        const char *id;
        int move;
    } moves[] = {{"ord-2", LDR_DELIVERY_BOOKING_FAILED}, {"ord-2", LDR_DELIVERY_BOOKED},
                 {"ord-2", LDR_DELIVERY_IN_TRANSIT},     {"ord-2", LDR_DELIVERY_DELIVERED},
                 {"ord-5", LDR_DELIVERY_BOOKED},         {"ord-5", LDR_DELIVERY_CANCELLED},
                 {"ord-6", LDR_DELIVERY_BOOKED},         {"ord-6", LDR_DELIVERY_FAILED}};
    for (const char *const *id = (const char *const[]){"ord-5", "ord-6", NULL}; *id; id++) {
        ldr_cmd_t p = place(*id, "slot-1", lines + 1, 1);
        p.courier = courier.courier, p.address = courier.address;
        run(e, p, T0 + 31);
    }
    for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
        ldr_cmd_t d = order(LDR_CMD_DELIVERY, moves[i].id);
        d.role = (uint16_t)moves[i].move;
        if (moves[i].move == LDR_DELIVERY_BOOKED)
            d.tracking = S("GRAB-123");
        else if (moves[i].move == LDR_DELIVERY_BOOKING_FAILED)
            d.reason = S("HTTP 503");
        run(e, d, T0 + 34 + (int64_t)i);
    }
    run(e, place("ord-7", "", lines + 1, 1), T0 + 60);    /* never paid: lapses below */
    run(e, (ldr_cmd_t){.type = LDR_CMD_TICK}, T0 + 6000); /* L1 expires, so does ord-7's hold */
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);

    /* with the engine (an order's lines as held), and without it (as `wal dump` does) */
    for (int pass = 0; pass < 2; pass++) {
        seen_t s = {.e = pass == 0 ? e : NULL};
        cr_assert_eq(ldr_wal_replay(dir, 0, render, &s, NULL), LDR_OK);
        DIR *d = opendir("docs/events");
        cr_assert_not_null(d, "docs/events");
        int schemas = 0;
        for (struct dirent *de; (de = readdir(d)) != NULL;) {
            size_t n = strlen(de->d_name);
            if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
                continue;
            schemas++;
            bool made = false;
            for (int k = 0; k < s.nevents; k++)
                made |= strncmp(s.events[k], de->d_name, n - 5) == 0 && s.events[k][n - 5] == 0;
            cr_assert(made, "no message made a %s (pass %d)", de->d_name, pass);
        }
        closedir(d);
        cr_assert_eq(s.nevents, schemas, "events without a schema");
    }
    ldr_engine_close(e);
}

typedef struct kept {
    ldr_engine_t *e;
    json_t *by_event; /* event name -> message */
} kept_t;

static void keep(void *ctx, const ldr_outbox_msg_t *m)
{
    kept_t *k = ctx;
    json_object_set_new(k->by_event, m->event, json_loadb(m->value.ptr, m->value.len, 0, NULL));
}

static int keep_record(void *ctx, const ldr_wal_record_t *rec)
{
    ldr_outbox_render(((kept_t *)ctx)->e, rec, keep, ctx);
    return LDR_OK;
}

Test(outbox, an_order_shows_what_was_held_when_the_engine_tells)
{
    ldr_engine_t *e = open_engine();
    ldr_cmd_t c = {.type = LDR_CMD_RECEIVE,
                   .store = S("default"),
                   .sku = S("B-2"),
                   .lot = S("L2"),
                   .quantity = 5,
                   .expires_at = LDR_NO_EXPIRY};
    run(e, c, T0);
    ldr_cmd_line_t lines[] = {{S("default"), S("C-3"), 2, 300, S("B-2")}};
    run(e, place("ord-9", "", lines, 1), T0);
    cr_assert_eq(ldr_engine_sync(e), LDR_OK);
    for (int pass = 0; pass < 2; pass++) {
        kept_t k = {pass == 0 ? e : NULL, json_object()};
        cr_assert_eq(ldr_wal_replay(dir, 0, keep_record, &k, NULL), LDR_OK);
        json_t *placed = json_object_get(k.by_event, "OrderPlaced");
        json_t *held = json_object_get(k.by_event, "StockReserved");
        json_t *line = json_array_get(json_object_get(placed, "items"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(line, "sku")), "C-3");
        cr_assert(json_is_true(json_object_get(line, "substitutionAllowed")));
        const char *by = json_string_value(json_object_get(line, "substitutedBy"));
        const char *sku = json_string_value(
            json_object_get(json_array_get(json_object_get(held, "items"), 0), "sku"));
        if (pass == 0) {
            cr_assert_str_eq(by, "B-2", "the engine held the substitute");
            cr_assert_str_eq(sku, "B-2");
            cr_assert_str_eq(json_string_value(json_object_get(placed, "userId")), "usr-7");
            cr_assert_eq(json_integer_value(json_object_get(placed, "total")), 600);
        } else {
            cr_assert_null(by, "the record alone does not know what was held");
            cr_assert_str_eq(sku, "C-3");
        }
        json_decref(k.by_event);
    }
    ldr_engine_close(e);
}
