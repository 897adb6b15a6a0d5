/* The users table, USER_ADD through the codec and apply, and users in snapshots. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "larder/command.h"
#include "larder/snapshot.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})
#define HASH   "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

/* s written to a snapshot file and read back onto cat (its users and carts in new tables). */
static ldr_state_t through_snapshot(const ldr_state_t *s, ldr_catalog_t *cat)
{
    char path[] = "/tmp/larder-users-snap-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(ldr_snapshot_write(fd, s, 1, 0, NULL), LDR_OK);
    close(fd);
    ldr_state_t t = {.stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .users = s->users != NULL ? ldr_users_new() : NULL,
                     .carts = s->carts != NULL ? ldr_carts_new() : NULL};
    char err[256];
    cr_assert_eq(ldr_snapshot_read(path, cat, &t, NULL, err, sizeof(err)), LDR_OK, "%s", err);
    unlink(path);
    return t;
}

static void free_state(ldr_state_t *x)
{
    ldr_users_free(x->users);
    ldr_carts_free(x->carts);
    ldr_reservations_free(x->reservations);
    ldr_stock_free(x->stock);
}

Test(users, table_indexes_by_email_in_any_case_and_by_id)
{
    ldr_users_t *u = ldr_users_new();
    for (int i = 0; i < 1000; i++) {
        ldr_user_t x = {.role = 1};
        snprintf(x.id, sizeof(x.id), "usr-%d", i);
        snprintf(x.email, sizeof(x.email), "User%d@Example.VN", i);
        strcpy(x.name, "n"), strcpy(x.locale, "vi"), strcpy(x.hash, HASH);
        cr_assert_eq(ldr_users_add(u, &x), LDR_OK);
    }
    cr_assert_eq(ldr_users_count(u), 1000);
    const ldr_user_t *f = ldr_users_by_email(u, "USER777@example.vn", 18);
    cr_assert_not_null(f);
    cr_assert_str_eq(f->id, "usr-777");
    cr_assert_str_eq(f->email, "user777@example.vn");
    cr_assert_not_null(ldr_users_by_id(u, "usr-999", 7));
    cr_assert_null(ldr_users_by_id(u, "usr-1000", 8));
    ldr_user_t dup = {.role = 1};
    strcpy(dup.id, "usr-new"), strcpy(dup.email, "user5@example.vn");
    cr_assert_eq(ldr_users_add(u, &dup), LDR_ECONFLICT, "an email taken in another case");
    strcpy(dup.id, "usr-5"), strcpy(dup.email, "fresh@example.vn");
    cr_assert_eq(ldr_users_add(u, &dup), LDR_ECONFLICT, "an id taken");
    cr_assert(!ldr_email_valid("no-at.vn", 8) && !ldr_email_valid("a@b", 3) &&
              !ldr_email_valid("a b@c.vn", 8) && ldr_email_valid("a@b.vn", 6));
    ldr_users_free(u);
}

Test(users, user_add_applies_once_and_travels_in_snapshots)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_state_t s = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .users = ldr_users_new()};
    ldr_cmd_t c = {.type = LDR_CMD_USER_ADD,
                   .owner = S("usr-0123456789abcdef"),
                   .email = S("Lan@Example.vn"),
                   .name = S("Nguy\xe1\xbb\x85n Lan"),
                   .locale = S("vi"),
                   .role = 1,
                   .password_hash = S(HASH)};
    ldr_buf_t b = LDR_BUF_INIT;
    cr_assert_eq(ldr_cmd_encode(&c, &b), LDR_OK);
    ldr_cmd_t d;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_USER_ADD, b.base, b.len, &d, lines), LDR_OK);
    cr_assert(ldr_str_eq(d.email, "Lan@Example.vn", 14) && d.role == 1);
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&s, &d, 1000, &res), LDR_OK);
    cr_assert_eq(ldr_cmd_apply(&s, &d, 1001, &res), LDR_ECONFLICT);
    ldr_cmd_t bad = c;
    bad.password_hash = S("plaintext");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL, "a password that is not a hash");
    bad = c, bad.role = 9;
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL);
    ldr_state_t t = through_snapshot(&s, cat);
    const ldr_user_t *u = ldr_users_by_email(t.users, "lan@example.vn", 14);
    cr_assert_not_null(u, "the user did not survive the snapshot");
    cr_assert_str_eq(u->hash, HASH);
    cr_assert_eq(u->created_at, 1000);
    ldr_buf_free(&b);
    free_state(&s), free_state(&t);
    ldr_catalog_free(cat);
}

Test(users, carts_set_replace_remove_and_travel_in_snapshots)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce\",\"price\":1}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    ldr_state_t s = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .carts = ldr_carts_new()};
    ldr_cmd_t c = {.type = LDR_CMD_CART_SET,
                   .owner = S("usr-a"),
                   .sku = S("A-1"),
                   .quantity = 2,
                   .substitution_allowed = true};
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&s, &c, 1, &res), LDR_OK);
    c.quantity = 5;
    cr_assert_eq(ldr_cmd_apply(&s, &c, 1, &res), LDR_OK);
    const ldr_cart_t *cart = ldr_carts_find(s.carts, "usr-a", 5);
    cr_assert(cart != NULL && cart->nlines == 1 && cart->lines[0].quantity == 5);
    ldr_cmd_t unknown = c;
    unknown.sku = S("B-2");
    cr_assert_eq(ldr_cmd_apply(&s, &unknown, 1, &res), LDR_ENOENT);
    unknown.quantity = 0;
    cr_assert_eq(ldr_cmd_apply(&s, &unknown, 1, &res), LDR_OK);
    cr_assert(res.noop, "removing an absent line changes nothing");
    /* 200 lines at most (a catalog of one SKU: fill through the table itself) */
    char sku[16];
    for (int i = 0; i < LDR_CART_LINES_MAX - 1; i++) {
        int n = snprintf(sku, sizeof(sku), "X-%d", i);
        cr_assert_eq(ldr_carts_set(s.carts, "usr-a", 5, sku, (size_t)n, 1, false, NULL, 0), LDR_OK);
    }
    cr_assert_eq(ldr_carts_set(s.carts, "usr-a", 5, "Y-1", 3, 1, false, NULL, 0), LDR_EFULL);
    ldr_buf_t b = LDR_BUF_INIT;
    cr_assert_eq(ldr_cmd_encode(&c, &b), LDR_OK);
    ldr_cmd_t d;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_CART_SET, b.base, b.len, &d, lines), LDR_OK);
    cr_assert(d.substitution_allowed && d.quantity == 5);
    ldr_state_t t = through_snapshot(&s, cat);
    const ldr_cart_t *back = ldr_carts_find(t.carts, "usr-a", 5);
    cr_assert(back != NULL && back->nlines == LDR_CART_LINES_MAX, "the cart did not survive");
    cr_assert(back->lines[0].substitution_allowed && back->lines[0].quantity == 5);
    /* emptying a cart removes it */
    c.quantity = 0;
    cr_assert_eq(ldr_cmd_apply(&t, &c, 1, &res), LDR_OK);
    for (int i = 0; i < LDR_CART_LINES_MAX - 1; i++) {
        int n = snprintf(sku, sizeof(sku), "X-%d", i);
        ldr_carts_set(t.carts, "usr-a", 5, sku, (size_t)n, 0, false, NULL, 0);
    }
    cr_assert_null(ldr_carts_find(t.carts, "usr-a", 5));
    cr_assert_eq(ldr_carts_count(t.carts), 0);
    ldr_buf_free(&b);
    free_state(&s), free_state(&t);
    ldr_catalog_free(cat);
}

Test(users, cart_replacements_are_checked_logged_and_kept)
{
    static const char jsonl[] =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce\",\"price\":1}\n"
        "{\"sku\":\"A-2\",\"name\":{\"en\":\"Pear\"},\"category\":\"produce\",\"price\":1}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, jsonl, sizeof(jsonl) - 1, NULL, NULL, NULL);
    ldr_state_t s = {.catalog = cat,
                     .stock = ldr_stock_new(),
                     .reservations = ldr_reservations_new(),
                     .carts = ldr_carts_new()};
    ldr_cmd_t c = {.type = LDR_CMD_CART_SET,
                   .owner = S("usr-a"),
                   .sku = S("A-1"),
                   .quantity = 2,
                   .substitution_allowed = true,
                   .replacement = S("A-2")};
    ldr_buf_t b = LDR_BUF_INIT;
    /* refused before the log: a replacement where substitution is not allowed, the line's own
     * sku, a malformed sku */
    ldr_cmd_t bad = c;
    bad.substitution_allowed = false;
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL);
    bad = c, bad.replacement = S("A-1");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL);
    bad = c, bad.replacement = S("A 2");
    cr_assert_eq(ldr_cmd_encode(&bad, &b), LDR_EINVAL);
    cr_assert_eq(b.len, 0);
    /* logged and decoded with it; a record without one (as older logs hold) still decodes */
    cr_assert_eq(ldr_cmd_encode(&c, &b), LDR_OK);
    ldr_cmd_t d;
    ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_CART_SET, b.base, b.len, &d, lines), LDR_OK);
    cr_assert(ldr_str_eq(d.replacement, "A-2", 3) && d.substitution_allowed);
    size_t with = b.len;
    ldr_cmd_t plain = c;
    plain.replacement = (ldr_str_t){NULL, 0};
    ldr_buf_reset(&b);
    cr_assert_eq(ldr_cmd_encode(&plain, &b), LDR_OK);
    cr_assert_eq(b.len, with - 5, "an absent replacement costs nothing in the record");
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_CART_SET, b.base, b.len, &d, lines), LDR_OK);
    cr_assert_eq(d.replacement.len, 0);
    /* an empty string written anyway is not the one encoding of "none" */
    ldr_buf_append(&b, "\0\0", 2);
    cr_assert_eq(ldr_cmd_decode(LDR_CMD_CART_SET, b.base, b.len, &d, lines), LDR_EPARSE);
    /* applied, replaced by a later set without one, and kept by snapshots */
    ldr_cmd_result_t res;
    cr_assert_eq(ldr_cmd_apply(&s, &c, 1, &res), LDR_OK);
    cr_assert_str_eq(ldr_carts_find(s.carts, "usr-a", 5)->lines[0].replacement, "A-2");
    cr_assert_eq(ldr_cmd_apply(&s, &plain, 1, &res), LDR_OK);
    cr_assert_str_eq(ldr_carts_find(s.carts, "usr-a", 5)->lines[0].replacement, "");
    cr_assert_eq(ldr_cmd_apply(&s, &c, 1, &res), LDR_OK);
    ldr_state_t t = through_snapshot(&s, cat);
    const ldr_cart_t *back = ldr_carts_find(t.carts, "usr-a", 5);
    cr_assert(back != NULL && back->nlines == 1);
    cr_assert_str_eq(back->lines[0].replacement, "A-2");
    cr_assert(back->lines[0].substitution_allowed && back->lines[0].quantity == 2);
    ldr_buf_free(&b);
    free_state(&s), free_state(&t);
    ldr_catalog_free(cat);
}
