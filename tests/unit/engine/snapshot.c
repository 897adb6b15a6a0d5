/*
 * Unit tests for engine/snapshot.c: round trips of states built by commands (entry by entry,
 * versions included, and behaving alike afterwards), the empty state, 50,000 SKUs x 3 stores,
 * refusal of every single-byte corruption and every truncation, the strict field checks behind the
 * checksum (resealed files, with offsets), unknown SKUs, write errors, a write from a fork()ed
 * child, and file names.  Every test works in its own directory under /tmp, removed afterwards.
 */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "larder/gen.h"
#include "larder/intern.h"
#include "larder/snapshot.h"

#include "../../helpers.h"

#define S(lit) ((ldr_str_t){lit, sizeof(lit) - 1})

static char *dir;

static void setup(void)
{
    dir = ldr_test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

/* ---- fixtures ---- */

static const char catalog_jsonl[] =
    "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"produce/fruits\",\"price\":1}\n"
    "{\"sku\":\"B-2\",\"name\":{\"en\":\"Bean\"},\"category\":\"produce/beans\",\"price\":2}\n"
    "{\"sku\":\"C-3\",\"name\":{\"en\":\"Corn\"},\"category\":\"produce/grain\",\"price\":3}\n"
    "{\"sku\":\"D-4\",\"name\":{\"en\":\"Date\"},\"category\":\"produce/fruits\",\"price\":4}\n"
    "{\"sku\":\"E-5\",\"name\":{\"en\":\"Egg\"},\"category\":\"dairy/eggs\",\"price\":5}\n";

/* The catalog above; `reversed` loads it bottom-up (other doc ids); `skip` leaves one SKU out. */
static ldr_catalog_t *make_catalog(bool reversed, const char *skip)
{
    char *lines[8];
    uint32_t n = 0;
    char *copy = strdup(catalog_jsonl), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
        if (skip == NULL || strstr(l, skip) == NULL)
            lines[n++] = l;
    ldr_catalog_t *cat = ldr_catalog_new();
    for (uint32_t i = 0; i < n; i++) {
        const char *l = lines[reversed ? n - 1 - i : i];
        ldr_load_result_t r;
        ldr_catalog_load_jsonl(cat, l, strlen(l), NULL, NULL, &r);
        cr_assert_eq(r.loaded, 1);
    }
    free(copy);
    return cat;
}

static ldr_state_t new_state(ldr_catalog_t *cat)
{
    return (ldr_state_t){
        .catalog = cat, .stock = ldr_stock_new(), .reservations = ldr_reservations_new()};
}

static void free_state(ldr_state_t *s)
{
    ldr_reservations_free(s->reservations);
    ldr_stock_free(s->stock);
}

static int apply(ldr_state_t *s, ldr_cmd_t c, int64_t now, int want)
{
    ldr_cmd_result_t res;
    int rc = ldr_cmd_apply(s, &c, now, &res);
    if (want != 1)
        cr_assert_eq(rc, want, "command type %u: %s", c.type, ldr_status_name(rc));
    return rc;
}

static void receive(ldr_state_t *s, ldr_str_t store, ldr_str_t sku, ldr_str_t lot, int64_t q,
                    int64_t expires_at)
{
    apply(s,
          (ldr_cmd_t){.type = LDR_CMD_RECEIVE,
                      .store = store,
                      .sku = sku,
                      .lot = lot,
                      .quantity = q,
                      .expires_at = expires_at},
          1000, LDR_OK);
}

static void reserve(ldr_state_t *s, ldr_str_t owner, const ldr_cmd_line_t *lines, uint32_t n,
                    int64_t until)
{
    apply(s,
          (ldr_cmd_t){.type = LDR_CMD_RESERVE,
                      .owner = owner,
                      .expires_at = until,
                      .nlines = n,
                      .lines = lines},
          1000, LDR_OK);
}

/*
 * Three stores and an empty fourth, lots with and without expiry, adjustments both ways, a set,
 * reservations with several lines (one naming an item twice), one committed, one released, and a
 * lot expired under a hold, so that one entry has reserved > on_hand.
 */
static void build_rich(ldr_state_t *s)
{
    receive(s, S("default"), S("A-1"), S("L1"), 10, 2000);
    receive(s, S("default"), S("A-1"), S("L2"), 5, LDR_NO_EXPIRY);
    receive(s, S("default"), S("A-1"), S("L0"), 3, 1500);
    receive(s, S("default"), S("B-2"), S("B.7"), 40, LDR_NO_EXPIRY);
    receive(s, S("hcm-q7"), S("A-1"), S("L1"), 8, 2000);
    receive(s, S("hcm-q7"), S("C-3"), S("C_1"), 12, 1200);
    receive(s, S("hcm-q7"), S("C-3"), S("C_2"), 2, 1100);
    receive(s, S("hn-01"), S("E-5"), S("EGG-9"), 30, 3000);
    receive(s, S("hn-01"), S("D-4"), S("D1"), 6, LDR_NO_EXPIRY);
    ldr_stock_store_put(s->stock, "empty-store", 11); /* a store that never got stock */
    apply(s,
          (ldr_cmd_t){.type = LDR_CMD_ADJUST,
                      .store = S("default"),
                      .sku = S("B-2"),
                      .reason = S("broken"),
                      .quantity = -7},
          1000, LDR_OK);
    apply(s,
          (ldr_cmd_t){.type = LDR_CMD_ADJUST,
                      .store = S("hn-01"),
                      .sku = S("D-4"),
                      .reason = S("found"),
                      .quantity = 4},
          1000, LDR_OK);
    apply(s,
          (ldr_cmd_t){.type = LDR_CMD_SET,
                      .store = S("hn-01"),
                      .sku = S("E-5"),
                      .reason = S("count"),
                      .quantity = 25},
          1000, LDR_OK);
    ldr_cmd_line_t l1[] = {{S("default"), S("A-1"), 4, 0, {NULL, 0}},
                           {S("hcm-q7"), S("C-3"), 9, 0, {NULL, 0}},
                           {S("default"), S("A-1"), 2, 0, {NULL, 0}},
                           {S("hn-01"), S("E-5"), 1, 0, {NULL, 0}}};
    reserve(s, S("cart-1"), l1, 4, 5000);
    ldr_cmd_line_t l2[] = {{S("default"), S("B-2"), 3, 0, {NULL, 0}},
                           {S("hn-01"), S("D-4"), 2, 0, {NULL, 0}}};
    reserve(s, S("order-2"), l2, 2, 6000);
    ldr_cmd_line_t l3[] = {{S("default"), S("B-2"), 1, 0, {NULL, 0}},
                           {S("hcm-q7"), S("A-1"), 8, 0, {NULL, 0}}};
    reserve(s, S("order-3"), l3, 2, 7000);
    ldr_cmd_line_t l4[] = {{S("hn-01"), S("D-4"), 1, 0, {NULL, 0}}};
    reserve(s, S("giỏ-4"), l4, 1, 8000);
    apply(s, (ldr_cmd_t){.type = LDR_CMD_COMMIT, .owner = S("order-3")}, 1000, LDR_OK);
    apply(s, (ldr_cmd_t){.type = LDR_CMD_RELEASE, .owner = S("giỏ-4")}, 1000, LDR_OK);
    /* C_2 and C_1 expire at 1100 and 1200 with 9 of hcm-q7's C-3 held by cart-1 */
    apply(s, (ldr_cmd_t){.type = LDR_CMD_TICK}, 1250, LDR_OK);
    uint32_t c3 = UINT32_MAX;
    ldr_catalog_find(s->catalog, "C-3", 3, &c3);
    const ldr_stock_entry_t *e =
        ldr_stock_get(s->stock, ldr_stock_store_find(s->stock, "hcm-q7", 6), c3);
    cr_assert(e != NULL && e->on_hand == 0 && e->reserved == 9, "the fixture lost its point");
    cr_assert_eq(ldr_reservations_count(s->reservations), 2);
}

/* Writes s to DIR/name (created afresh); returns the size. */
static uint64_t write_file(const ldr_state_t *s, const char *name, uint64_t lsn, int64_t t)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    uint64_t bytes = 0;
    int rc = ldr_snapshot_write(fd, s, lsn, t, &bytes);
    cr_assert_eq(rc, LDR_OK, "write: %s: %s", ldr_status_name(rc), strerror(errno));
    struct stat st;
    fstat(fd, &st);
    cr_assert_eq((uint64_t)st.st_size, bytes);
    close(fd);
    return bytes;
}

/* The snapshot of s as bytes (malloc'ed). */
static uint8_t *snapshot_bytes(const ldr_state_t *s, uint64_t lsn, size_t *len)
{
    char path[512];
    write_file(s, "bytes.tmp", lsn, 42);
    snprintf(path, sizeof(path), "%s/bytes.tmp", dir);
    uint8_t *b = (uint8_t *)ldr_test_slurp(path, len);
    cr_assert_not_null(b);
    unlink(path);
    return b;
}

/* Both states hold the same stores, entries (versions and lots included) and reservations. */
static void assert_same(const ldr_state_t *a, const ldr_state_t *b)
{
    cr_assert_eq(ldr_state_hash(a), ldr_state_hash(b));
    const ldr_intern_t *sa = ldr_stock_stores(a->stock), *sb = ldr_stock_stores(b->stock);
    cr_assert_eq(ldr_intern_count(sa), ldr_intern_count(sb));
    uint64_t na = 0, nb = 0;
    for (uint32_t st = 0; st < ldr_intern_count(sa); st++) {
        ldr_str_t id = ldr_intern_str(sa, st);
        cr_assert_eq(ldr_stock_store_find(b->stock, id.ptr, id.len), st, "store ids keep order");
        for (uint32_t doc = 0; ldr_stock_doc_in_range(b->stock, st, doc); doc++)
            nb += ldr_stock_get(b->stock, st, doc) != NULL;
        for (uint32_t doc = 0; ldr_stock_doc_in_range(a->stock, st, doc); doc++) {
            const ldr_stock_entry_t *x = ldr_stock_get(a->stock, st, doc), *y;
            if (x == NULL)
                continue;
            na++;
            ldr_str_t sku = ldr_catalog_doc(a->catalog, doc)->sku;
            uint32_t bdoc;
            cr_assert_not_null(ldr_catalog_find(b->catalog, sku.ptr, sku.len, &bdoc));
            y = ldr_stock_get(b->stock, st, bdoc);
            cr_assert_not_null(y, "%.*s missing", (int)sku.len, sku.ptr);
            cr_assert(x->on_hand == y->on_hand && x->reserved == y->reserved &&
                          x->version == y->version && x->nlots == y->nlots,
                      "%.*s differs", (int)sku.len, sku.ptr);
            for (uint32_t l = 0; l < x->nlots; l++)
                cr_assert(strcmp(x->lots[l].id, y->lots[l].id) == 0 &&
                          x->lots[l].quantity == y->lots[l].quantity &&
                          x->lots[l].expires_at == y->lots[l].expires_at);
        }
    }
    cr_assert_eq(na, nb, "entry counts differ");
    cr_assert_eq(ldr_reservations_count(a->reservations), ldr_reservations_count(b->reservations));
}

/* A reservation of a is in b alike (lines compared by name: doc ids may differ). */
static const ldr_state_t *cmp_other;
static const ldr_state_t *cmp_self;
static void check_reservation(void *ctx, const ldr_reservation_t *r)
{
    const ldr_reservation_t *o =
        ldr_reservations_find(cmp_other->reservations, r->owner, strlen(r->owner));
    cr_assert_not_null(o, "reservation %s missing", r->owner);
    cr_assert(o->expires_at == r->expires_at && o->nlines == r->nlines);
    for (uint32_t i = 0; i < r->nlines; i++) {
        cr_assert_eq(o->lines[i].store, r->lines[i].store);
        cr_assert_eq(o->lines[i].quantity, r->lines[i].quantity);
        ldr_str_t x = ldr_catalog_doc(cmp_self->catalog, r->lines[i].doc)->sku;
        ldr_str_t y = ldr_catalog_doc(cmp_other->catalog, o->lines[i].doc)->sku;
        cr_assert(x.len == y.len && memcmp(x.ptr, y.ptr, x.len) == 0);
    }
}

static void assert_same_reservations(const ldr_state_t *a, const ldr_state_t *b)
{
    cmp_self = a, cmp_other = b;
    ldr_reservations_each(a->reservations, check_reservation, NULL);
}

/* Reads DIR/name into a new state on cat. */
static int read_file(const char *name, ldr_catalog_t *cat, ldr_state_t *out,
                     ldr_snapshot_info_t *info, char *err)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    *out = new_state(cat);
    return ldr_snapshot_read(path, cat, out, info, err, LDR_SNAPSHOT_ERR_MAX);
}

static int decode(const uint8_t *p, size_t len, ldr_catalog_t *cat, char *err)
{
    ldr_state_t s = new_state(cat);
    int rc = ldr_snapshot_decode(p, len, cat, &s, NULL, err, LDR_SNAPSHOT_ERR_MAX);
    free_state(&s);
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- round trips ---- */

Test(snapshot, rich_state_round_trips_entry_by_entry)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat), t;
    build_rich(&s);
    uint64_t bytes = write_file(&s, "snap-0000000000000029.snap", 41, 1250000000000LL);
    ldr_snapshot_info_t info;
    char err[LDR_SNAPSHOT_ERR_MAX];
    int rc = read_file("snap-0000000000000029.snap", cat, &t, &info, err);
    cr_assert_eq(rc, LDR_OK, "%s: %s", ldr_status_name(rc), err);
    cr_assert_eq(t.catalog, cat);
    cr_assert_eq(info.lsn, 41);
    cr_assert_eq(info.time_ns, 1250000000000LL);
    cr_assert_eq(info.stores, 4);
    cr_assert_eq(info.entries, 6);
    cr_assert_eq(info.reservations, 2);
    cr_assert_eq(info.lines, 6);
    cr_assert_eq(info.bytes, bytes);
    uint64_t lots = 0;
    for (uint32_t st = 0; st < 4; st++)
        for (uint32_t d = 0; ldr_stock_doc_in_range(s.stock, st, d); d++)
            if (ldr_stock_get(s.stock, st, d) != NULL)
                lots += ldr_stock_get(s.stock, st, d)->nlots;
    cr_assert_eq(info.lots, lots);
    assert_same(&s, &t);
    assert_same_reservations(&s, &t);
    assert_same_reservations(&t, &s);

    /* the loaded state behaves like the original: same commands, same results */
    ldr_cmd_t next[] = {
        {.type = LDR_CMD_COMMIT, .owner = S("cart-1")},
        {.type = LDR_CMD_RELEASE, .owner = S("order-2")},
        {.type = LDR_CMD_ADJUST, .store = S("default"), .sku = S("A-1"), .quantity = -1},
        {.type = LDR_CMD_RECEIVE,
         .store = S("hcm-q7"),
         .sku = S("A-1"),
         .lot = S("L1"),
         .quantity = 2,
         .expires_at = 2000},
        {.type = LDR_CMD_TICK},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(next); i++) {
        ldr_cmd_result_t ra, rb;
        ldr_cmd_apply(&s, &next[i], 2500, &ra);
        ldr_cmd_apply(&t, &next[i], 2500, &rb);
        cr_assert_eq(ra.status, rb.status, "command %zu", i);
        cr_assert_eq(ra.shortfall, rb.shortfall, "command %zu", i);
        cr_assert_eq(ra.expired, rb.expired, "command %zu", i);
        assert_same(&s, &t);
    }
    cr_assert_eq(ldr_reservations_count(t.reservations), 0);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(cat);
}

Test(snapshot, loads_onto_a_catalog_in_another_order)
{
    ldr_catalog_t *cat = make_catalog(false, NULL), *rev = make_catalog(true, NULL);
    ldr_state_t s = new_state(cat), t;
    build_rich(&s);
    write_file(&s, "a.snap", 9, 0);
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(read_file("a.snap", rev, &t, NULL, err), LDR_OK, "%s", err);
    uint32_t da, db;
    ldr_catalog_find(cat, "A-1", 3, &da);
    ldr_catalog_find(rev, "A-1", 3, &db);
    cr_assert_neq(da, db, "the reversed catalog should give other doc ids");
    assert_same(&s, &t);
    assert_same_reservations(&s, &t);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(rev);
    ldr_catalog_free(cat);
}

Test(snapshot, empty_state_round_trips)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat), t;
    uint64_t bytes = write_file(&s, "snap-0000000000000000.snap", 0, -5);
    cr_assert_eq(bytes, 100,
                 "header, empty product, key, user, cart and order counts and the trailer only");
    ldr_snapshot_info_t info;
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(read_file("snap-0000000000000000.snap", cat, &t, &info, err), LDR_OK, "%s", err);
    cr_assert(info.lsn == 0 && info.time_ns == -5 && info.stores == 0 && info.entries == 0 &&
              info.lots == 0 && info.reservations == 0 && info.lines == 0 && info.bytes == 100);
    assert_same(&s, &t);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(cat);
}

Test(snapshot, fifty_thousand_skus_in_three_stores, .timeout = 120)
{
    char *cbuf = NULL, *sbuf = NULL;
    size_t clen = 0, slen = 0;
    FILE *cf = open_memstream(&cbuf, &clen), *sf = open_memstream(&sbuf, &slen);
    cr_assert(cf != NULL && sf != NULL);
    ldr_gen_opts_t o = {50000, 1, 3, 1795564800};
    cr_assert_eq(ldr_gen_catalog(&o, cf, sf), LDR_OK);
    fclose(cf);
    fclose(sf);
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(cat, cbuf, clen, NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.loaded, 50000);
    ldr_state_t s = new_state(cat), t;
    cr_assert_eq(ldr_stock_load_jsonl(s.stock, cat, sbuf, slen, NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.rejected, 0);
    free(cbuf);
    free(sbuf);

    /* gen-catalog leaves some items out of some stores: fill them in, so every SKU has an entry
     * in every store, half of them with a dated lot */
    const ldr_intern_t *stores = ldr_stock_stores(s.stock);
    cr_assert_eq(ldr_intern_count(stores), 3);
    for (uint32_t st = 0; st < 3; st++)
        for (uint32_t doc = 0; doc < 50000; doc++)
            if (ldr_stock_get(s.stock, st, doc) == NULL)
                cr_assert_eq(ldr_stock_receive(s.stock, st, doc, "FILL-1", 6, 1 + doc % 50,
                                               doc % 2 ? LDR_NO_EXPIRY : 1795564800 + doc),
                             LDR_OK);

    /* a thousand carts of three lines each, wherever stock allows */
    uint32_t held = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        ldr_cmd_line_t lines[3];
        for (uint32_t k = 0; k < 3; k++) {
            ldr_str_t st = ldr_intern_str(stores, k);
            lines[k] = (ldr_cmd_line_t){
                st, ldr_catalog_doc(cat, (i * 37 + k * 9973) % 50000)->sku, 1, 0, {NULL, 0}};
        }
        char owner[32];
        int n = snprintf(owner, sizeof(owner), "cart-%u", i);
        held += apply(&s,
                      (ldr_cmd_t){.type = LDR_CMD_RESERVE,
                                  .owner = {owner, (uint32_t)n},
                                  .expires_at = 1795600000,
                                  .nlines = 3,
                                  .lines = lines},
                      1795564800, 1) == LDR_OK;
    }
    cr_assert_gt(held, 500);

    double t0 = now_ms();
    uint64_t bytes = write_file(&s, "big.snap", 123456, 0);
    double t1 = now_ms();
    ldr_snapshot_info_t info;
    char err[LDR_SNAPSHOT_ERR_MAX];
    int rc = read_file("big.snap", cat, &t, &info, err);
    double t2 = now_ms();
    cr_assert_eq(rc, LDR_OK, "%s", err);
    cr_log_info("snapshot of 50,000 SKUs x 3 stores (%" PRIu64 " entries, %" PRIu64
                " lots, %u reservations): %" PRIu64 " bytes; write + fdatasync %.1f ms, "
                "read + verify + load %.1f ms",
                info.entries, info.lots, info.reservations, bytes, t1 - t0, t2 - t1);
    cr_assert_eq(info.entries, 150000);
    cr_assert_eq(info.reservations, held);
    assert_same(&s, &t);
    assert_same_reservations(&s, &t);

    /* a big file is refused whole when cut anywhere or damaged in the middle */
    char path[512];
    snprintf(path, sizeof(path), "%s/big.snap", dir);
    size_t len;
    uint8_t *b = (uint8_t *)ldr_test_slurp(path, &len);
    cr_assert_eq(len, bytes);
    for (size_t cut = 0; cut < len; cut += len / 97 + 1)
        cr_assert_eq(decode(b, cut, cat, err), LDR_ECORRUPT, "cut at %zu", cut);
    b[len / 2] ^= 0x10;
    cr_assert_eq(decode(b, len, cat, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "checksum mismatch") != NULL, "%s", err);
    free(b);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(cat);
}

Test(snapshot, written_from_a_forked_child)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat), t;
    build_rich(&s);
    char path[512];
    snprintf(path, sizeof(path), "%s/snap-0000000000000007.snap.tmp", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(ldr_snapshot_write(fd, &s, 7, 0, NULL) == LDR_OK ? 0 : 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    char final[512];
    snprintf(final, sizeof(final), "%s/snap-0000000000000007.snap", dir);
    cr_assert_eq(rename(path, final), 0);
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(read_file("snap-0000000000000007.snap", cat, &t, NULL, err), LDR_OK, "%s", err);
    assert_same(&s, &t);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(cat);
}

/* ---- refusals ---- */

Test(snapshot, every_single_byte_corruption_is_refused)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat);
    build_rich(&s);
    size_t len;
    uint8_t *b = snapshot_bytes(&s, 3, &len);
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(decode(b, len, cat, err), LDR_OK, "%s", err);
    static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x5a};
    for (size_t off = 0; off < len; off++) /* header, every section, trailer */
        for (size_t m = 0; m < sizeof(masks); m++) {
            b[off] ^= masks[m];
            err[0] = '\0';
            cr_assert_eq(decode(b, len, cat, err), LDR_ECORRUPT, "byte %zu ^ 0x%02x", off,
                         masks[m]);
            cr_assert(strncmp(err, "offset ", 7) == 0, "byte %zu: message \"%s\"", off, err);
            b[off] ^= masks[m];
        }
    free(b);
    free_state(&s);
    ldr_catalog_free(cat);
}

Test(snapshot, every_truncation_and_extension_is_refused)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat);
    build_rich(&s);
    size_t len;
    uint8_t *b = snapshot_bytes(&s, 3, &len);
    char err[LDR_SNAPSHOT_ERR_MAX];
    for (size_t cut = 0; cut < len; cut++) {
        err[0] = '\0';
        cr_assert_eq(decode(b, cut, cat, err), LDR_ECORRUPT, "cut at %zu", cut);
        cr_assert(err[0] != '\0');
    }
    cr_assert_eq(decode(b, 79, cat, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "truncated") != NULL, "%s", err);
    cr_assert_eq(decode(b, len - 1, cat, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "truncated or extended") != NULL, "%s", err);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, b, len);
    longer[len] = 0;
    cr_assert_eq(decode(longer, len + 1, cat, err), LDR_ECORRUPT);
    free(longer);

    /* and through the file reader: a file cut short */
    char path[512];
    snprintf(path, sizeof(path), "%s/cut.snap", dir);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len / 2, f);
    fclose(f);
    ldr_state_t t;
    cr_assert_eq(read_file("cut.snap", cat, &t, NULL, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "cut.snap: offset ") != NULL, "%s", err);
    free_state(&t);
    free(b);
    free_state(&s);
    ldr_catalog_free(cat);
}

static void put64(uint8_t *p, uint64_t v);
static void reseal(uint8_t *b, size_t len);

/*
 * The strict checks behind the checksum.  A small state with a fixed layout (asserted below, so a
 * change of format shows here), turned into format 1 (no products or orders sections: their
 * counts go, the version and length are set, the file resealed), which this build still reads:
 *
 *   64 "s1"  68 "s2"
 *   72 entry s1/A-1: 76 sku, 81 on_hand 8, 89 reserved 2, 97 version 3, 105 nlots 2,
 *        109 lot "L1" (113 quantity 5, 121 expires 100), 129 lot "L2" (133 q 3, 141 no expiry)
 *   149 entry s2/B-2: 153 sku, 158 on_hand 4, 166 reserved 0, 174 version 1, 182 nlots 1,
 *        186 lot "L9" (190 q 4, 198 expiry)
 *   206 reservation "o1": 210 expires, 218 nlines 1, 220 line (store 0, 224 sku A-1, 229 q 2)
 *   237 idempotency keys: count 0;  241 users: count 0;  245 carts: count 0
 *   249 trailer; 265 bytes
 */
static uint8_t *small_snapshot(ldr_catalog_t *cat, size_t *len)
{
    ldr_state_t s = new_state(cat);
    apply(&s,
          (ldr_cmd_t){.type = LDR_CMD_RECEIVE,
                      .store = S("s1"),
                      .sku = S("A-1"),
                      .lot = S("L1"),
                      .quantity = 5,
                      .expires_at = 100},
          50, LDR_OK);
    receive(&s, S("s1"), S("A-1"), S("L2"), 3, LDR_NO_EXPIRY);
    receive(&s, S("s2"), S("B-2"), S("L9"), 4, LDR_NO_EXPIRY);
    ldr_cmd_line_t l[] = {{S("s1"), S("A-1"), 2, 0, {NULL, 0}}};
    reserve(&s, S("o1"), l, 1, 1000);
    uint8_t *b = snapshot_bytes(&s, 1, len);
    free_state(&s);
    cr_assert_eq(*len, 273);
    cr_assert(b[8] == 6 && memcmp(b + 64, "\0\0\0\0", 4) == 0 &&
                  memcmp(b + *len - 20, "\0\0\0\0", 4) == 0,
              "format 6, no products, no orders");
    memmove(b + *len - 20, b + *len - 16, 16); /* the orders count goes */
    memmove(b + 64, b + 68, *len - 68);        /* and the products count */
    *len -= 8;
    b[8] = 1;
    put64(b + *len - 16, *len);
    reseal(b, *len);
    cr_assert_eq(*len, 265);
    cr_assert(memcmp(b + 111, "L1", 2) == 0 && memcmp(b + 155, "B-2", 3) == 0 &&
              memcmp(b + 208, "o1", 2) == 0 && memcmp(b + 226, "A-1", 3) == 0);
    return b;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the checksum, as a writer with a bug (or an attacker) would. */
static void reseal(uint8_t *b, size_t len)
{
    put64(b + len - 8, ldr_hash(b, len - 8));
}

typedef struct mutation {
    const char *name;
    size_t off;
    const char *bytes; /* written at off */
    size_t n;
    int want;
    const char *msg; /* expected in the message, which must also name the offset */
    size_t at;
    size_t off2; /* a second byte to set when nonzero */
    uint8_t byte2;
} mutation_t;

/* Little-endian i64 values as 8-byte strings. */
#define I64_0  "\0\0\0\0\0\0\0\0"
#define I64_1  "\x01\0\0\0\0\0\0\0"
#define I64_3  "\x03\0\0\0\0\0\0\0"
#define I64_9  "\x09\0\0\0\0\0\0\0"
#define I64_99 "\x63\0\0\0\0\0\0\0"

Test(snapshot, strict_checks_behind_the_checksum)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    size_t len;
    uint8_t *orig = small_snapshot(cat, &len);
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(decode(orig, len, cat, err), LDR_OK, "%s", err);
    const mutation_t cases[] = {
        {"flags", 12, "\1", 1, LDR_ECORRUPT, "unknown flags", 12, 0, 0},
        {"header lots", 48, "\4", 1, LDR_ECORRUPT, "header counts 4 lots", 48, 0, 0},
        {"header lines", 56, "\2", 1, LDR_ECORRUPT, "header counts 2 reservation lines", 56, 0, 0},
        {"header entries", 40, "\1", 1, LDR_ECORRUPT, "reservation: owner not valid", 149, 0, 0},
        {"header reservations", 36, "\0", 1, LDR_ECORRUPT, "runs into the trailer", 212, 0, 0},
        {"header stores", 32, "\3", 1, LDR_ECORRUPT, "store 2: id not valid", 72, 0, 0},
        {"store id", 64 + 2, "S", 1, LDR_ECORRUPT, "store 0: id not valid", 64, 0, 0},
        {"store twice", 68 + 3, "1", 1, LDR_ECORRUPT, "store \"s1\" listed twice", 68, 0, 0},
        {"store index", 72, "\2", 1, LDR_ECORRUPT, "store index 2, there are 2", 72, 0, 0},
        {"not grouped", 72, "\1", 1, LDR_ECORRUPT, "not grouped by store", 149, 149, 0},
        {"sku chars", 78 + 1, "/", 1, LDR_ECORRUPT, "entry: sku not valid", 76, 0, 0},
        {"sku unknown", 78, "Z", 1, LDR_ENOENT, "sku \"Z-1\" is not in the catalog", 76, 0, 0},
        {"on_hand", 81, I64_9, 8, LDR_ECORRUPT, "on_hand is not the sum of the lots", 72, 0, 0},
        {"on_hand negative", 81, "\xff\xff\xff\xff\xff\xff\xff\xff", 8, LDR_ECORRUPT,
         "on_hand out of range", 72, 0, 0},
        {"reserved above lines", 89, I64_3, 8, LDR_ECORRUPT,
         "entry records 3 reserved, its reservations hold 2", 72, 0, 0},
        {"reserved below lines", 89, I64_1, 8, LDR_ECORRUPT,
         "reservations hold more of store \"s1\" sku \"A-1\"", 220, 0, 0},
        {"reserved zero", 89, I64_0, 8, LDR_ECORRUPT, "whose entry records nothing reserved", 220,
         0, 0},
        {"version zero", 97, I64_0, 8, LDR_ECORRUPT, "version 0", 72, 0, 0},
        {"nlots huge", 105, "\xff\xff\xff\xff", 4, LDR_ECORRUPT, "lots cannot fit", 105, 0, 0},
        {"nlots more", 105, "\3", 1, LDR_ECORRUPT, NULL, 0, 0, 0},
        {"lot id", 111 + 1, "!", 1, LDR_ECORRUPT, "entry for \"A-1\": lot id not valid", 109, 0, 0},
        {"lot id twice", 131 + 1, "1", 1, LDR_ECORRUPT, "lot id used twice", 129, 0, 0},
        {"lot quantity", 113, I64_0, 8, LDR_ECORRUPT, "lot quantity out of range", 109, 0, 0},
        {"lot order", 141, I64_99, 8, LDR_ECORRUPT, "first-expired-first-out", 129, 0, 0},
        {"second entry", 149, "\0", 1, LDR_OK, NULL, 0, 0, 0}, /* s1/B-2: fine by itself */
        {"duplicate entry", 155, "A-1", 3, LDR_ECORRUPT,
         "second entry for store \"s1\" sku \"A-1\"", 149, 149, 0},
        {"owner NUL", 208 + 1, "\0", 1, LDR_ECORRUPT, "owner not valid", 206, 0, 0},
        {"owner UTF-8", 208, "\xc3", 1, LDR_ECORRUPT, "owner not valid", 206, 0, 0},
        {"nlines zero", 218, "\0", 1, LDR_ECORRUPT, "0 lines", 218, 0, 0},
        {"line store", 220, "\1", 1, LDR_ECORRUPT, "whose entry records nothing reserved", 220, 0,
         0},
        {"line quantity", 229, I64_0, 8, LDR_ECORRUPT, "quantity out of range", 229, 0, 0},
        {"line sku unknown", 226 + 2, "9", 1, LDR_ENOENT, "sku \"A-9\" is not in the catalog", 224,
         0, 0},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        const mutation_t *c = &cases[i];
        uint8_t b[265];
        memcpy(b, orig, len);
        memcpy(b + c->off, c->bytes, c->n);
        if (c->off2 != 0)
            b[c->off2] = c->byte2;
        reseal(b, len);
        err[0] = '\0';
        int rc = decode(b, len, cat, err);
        cr_expect_eq(rc, c->want, "%s: %s (%s)", c->name, ldr_status_name(rc), err);
        if (c->msg != NULL) {
            char at[32];
            snprintf(at, sizeof(at), "offset %zu: ", c->at);
            cr_expect(strstr(err, c->msg) != NULL && strncmp(err, at, strlen(at)) == 0,
                      "%s: \"%s\"", c->name, err);
        }
    }

    /* checked before the checksum: another format version, not a snapshot at all */
    uint8_t b[265];
    memcpy(b, orig, len);
    b[8] = 7;
    cr_assert_eq(decode(b, len, cat, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "offset 8: format version 7") != NULL, "%s", err);
    memcpy(b, orig, len);
    b[7] = '2';
    cr_assert_eq(decode(b, len, cat, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "bad magic") != NULL, "%s", err);
    free(orig);
    ldr_catalog_free(cat);
}

/* Any byte of the small snapshot set to any of a few values, checksum recomputed: never a crash
 * (the ASan build checks memory), and whatever loads writes back and loads again alike. */
Test(snapshot, resealed_mutations_never_crash)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    size_t len;
    uint8_t *orig = small_snapshot(cat, &len);
    static const uint8_t values[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, '1', 'A'};
    uint32_t loaded = 0;
    for (size_t off = 0; off < len - 16; off++)
        for (size_t v = 0; v < sizeof(values); v++) {
            uint8_t b[265];
            memcpy(b, orig, len);
            b[off] = values[v];
            reseal(b, len);
            char err[LDR_SNAPSHOT_ERR_MAX] = "";
            ldr_state_t s = new_state(cat);
            int rc = ldr_snapshot_decode(b, len, cat, &s, NULL, err, sizeof(err));
            cr_assert(rc == LDR_OK || rc == LDR_ECORRUPT || rc == LDR_ENOENT, "byte %zu = %u: %s",
                      off, values[v], ldr_status_name(rc));
            cr_assert(rc == LDR_OK || err[0] != '\0');
            if (rc == LDR_OK) {
                loaded++;
                size_t n2;
                uint8_t *again = snapshot_bytes(&s, 1, &n2);
                ldr_state_t t = new_state(cat);
                cr_assert_eq(ldr_snapshot_decode(again, n2, cat, &t, NULL, err, sizeof(err)),
                             LDR_OK, "byte %zu = %u: %s", off, values[v], err);
                assert_same(&s, &t);
                free_state(&t);
                free(again);
            }
            free_state(&s);
        }
    cr_log_info("%u of %zu resealed mutations loaded (times, versions, quantities)", loaded,
                (len - 16) * sizeof(values));
    cr_assert_gt(loaded, 0);
    free(orig);
    ldr_catalog_free(cat);
}

Test(snapshot, a_sku_missing_from_the_catalog_is_enoent)
{
    ldr_catalog_t *cat = make_catalog(false, NULL), *fewer = make_catalog(false, "\"D-4\"");
    ldr_state_t s = new_state(cat), t;
    build_rich(&s);
    write_file(&s, "snap-0000000000000005.snap", 5, 0);
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(read_file("snap-0000000000000005.snap", fewer, &t, NULL, err), LDR_ENOENT);
    cr_assert(strstr(err, "sku \"D-4\" is not in the catalog") != NULL, "%s", err);
    cr_assert(strstr(err, "snap-0000000000000005.snap: offset ") != NULL, "%s", err);
    free_state(&t);
    free_state(&s);
    ldr_catalog_free(fewer);
    ldr_catalog_free(cat);
}

Test(snapshot, reader_refusals_outside_the_bytes)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat), t;
    build_rich(&s);
    write_file(&s, "snap-0000000000000008.snap", 7, 0); /* renamed to the wrong LSN */
    char err[LDR_SNAPSHOT_ERR_MAX];
    cr_assert_eq(read_file("snap-0000000000000008.snap", cat, &t, NULL, err), LDR_ECORRUPT);
    cr_assert(strstr(err, "offset 16: the file name says LSN 8, the snapshot holds LSN 7") != NULL,
              "%s", err);
    free_state(&t);

    errno = 0;
    cr_assert_eq(read_file("missing.snap", cat, &t, NULL, err), LDR_EIO);
    cr_assert_eq(errno, ENOENT);
    cr_assert(strstr(err, "missing.snap: open: ") != NULL, "%s", err);
    free_state(&t);
    cr_assert_eq(read_file("", cat, &t, NULL, err), LDR_EIO, "a directory: %s", err);
    free_state(&t);

    /* into a state that is not empty */
    write_file(&s, "ok.snap", 7, 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/ok.snap", dir);
    cr_assert_eq(ldr_snapshot_read(path, cat, &s, NULL, err, sizeof(err)), LDR_EINVAL);
    free_state(&s);
    ldr_catalog_free(cat);
}

Test(snapshot, write_errors_keep_errno)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat);
    build_rich(&s);
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        errno = 0;
        cr_assert_eq(ldr_snapshot_write(fd, &s, 1, 0, NULL), LDR_EIO);
        cr_assert_eq(errno, ENOSPC);
        close(fd);
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/ro", dir);
    fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    errno = 0;
    cr_assert_eq(ldr_snapshot_write(fd, &s, 1, 0, NULL), LDR_EIO);
    cr_assert_eq(errno, EBADF);
    close(fd);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(ldr_snapshot_write(p[1], &s, 1, 0, NULL), LDR_EIO);
    cr_assert_eq(errno, EPIPE);
    close(p[1]);
    free_state(&s);
    ldr_catalog_free(cat);
}

/* ---- names ---- */

Test(snapshot, names_format_and_parse)
{
    char buf[LDR_SNAPSHOT_FILE_MAX];
    uint64_t lsns[] = {0, 1, 0x29, 0xdeadbeefcafe, UINT64_MAX};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(lsns); i++) {
        uint64_t back = 12345;
        cr_assert_eq(ldr_snapshot_name(buf, sizeof(buf), lsns[i]), LDR_OK);
        cr_assert_eq(strlen(buf), 26);
        cr_assert(ldr_snapshot_parse_name(buf, &back), "%s", buf);
        cr_assert_eq(back, lsns[i]);
    }
    ldr_snapshot_name(buf, sizeof(buf), 0x29);
    cr_assert_str_eq(buf, "snap-0000000000000029.snap");
    cr_assert_eq(ldr_snapshot_name(buf, 26, 1), LDR_ERANGE);
    cr_assert_eq(ldr_snapshot_name(buf, 27, 1), LDR_OK);
    static const char *const bad[] = {
        "snap-0000000000000029.snap.tmp", "snap-000000000000029.snap",
        "snap-00000000000000029.snap",    "snap-000000000000002A.snap",
        "snap-000000000000002g.snap",     "snap-0000000000000029.snp",
        "wal-0000000000000029.log",       "Snap-0000000000000029.snap",
        "snap-0x00000000000029.snap",     "",
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad); i++) {
        uint64_t v;
        cr_assert_not(ldr_snapshot_parse_name(bad[i], &v), "%s", bad[i]);
    }
}

static void touch(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
}

Test(snapshot, find_newest_takes_the_highest_lsn_and_ignores_junk)
{
    uint64_t lsn = 99;
    char path[512];
    cr_assert_eq(ldr_snapshot_find_newest(dir, &lsn, path, sizeof(path)), LDR_ENOENT, "empty");
    touch("snap-0000000000000005.snap");
    touch("snap-00000000000000a0.snap");
    touch("snap-0000000000000010.snap");
    touch("snap-00000000000000ff.snap.tmp");
    touch("snap-00000000000000FF.snap");
    touch("snap-junk.snap");
    touch("wal-0000000000000100.log");
    touch("notes.txt");
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/older", dir);
    mkdir(sub, 0700);
    cr_assert_eq(ldr_snapshot_find_newest(dir, &lsn, path, sizeof(path)), LDR_OK);
    cr_assert_eq(lsn, 0xa0);
    char want[512];
    snprintf(want, sizeof(want), "%s/snap-00000000000000a0.snap", dir);
    cr_assert_str_eq(path, want);
    cr_assert_eq(ldr_snapshot_find_newest(dir, &lsn, path, 10), LDR_ERANGE);

    uint64_t *v;
    uint32_t n;
    cr_assert_eq(ldr_snapshot_list(dir, &v, &n), LDR_OK);
    cr_assert_eq(n, 3);
    cr_assert(v[0] == 0xa0 && v[1] == 0x10 && v[2] == 5);
    ldr_free(v);
    cr_assert_eq(ldr_snapshot_list(sub, &v, &n), LDR_OK);
    cr_assert(n == 0 && v == NULL);
    snprintf(sub, sizeof(sub), "%s/absent", dir);
    cr_assert_eq(ldr_snapshot_find_newest(sub, &lsn, path, sizeof(path)), LDR_ENOENT);
}

/* ---- the restore APIs ---- */

Test(snapshot, restore_entry_installs_exactly_or_refuses)
{
    ldr_stock_t *st = ldr_stock_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    ldr_lot_t lots[40];
    memset(lots, 0, sizeof(lots));
    for (uint32_t i = 0; i < 40; i++) {
        snprintf(lots[i].id, sizeof(lots[i].id), "LOT-%02u", i);
        lots[i].quantity = 1;
        lots[i].expires_at = i < 30 ? 1000 + i : LDR_NO_EXPIRY;
    }
    ldr_stock_entry_t e = {.on_hand = 40, .reserved = 50, .version = 77, .nlots = 40, .lots = lots};
    cr_assert_null(ldr_stock_entry_check(&e, NULL), "reserved > on_hand is allowed");
    cr_assert_eq(ldr_stock_restore_entry(st, s, 3, &e), LDR_OK);
    const ldr_stock_entry_t *got = ldr_stock_get(st, s, 3);
    cr_assert(got != NULL && got->on_hand == 40 && got->reserved == 50 && got->version == 77 &&
              got->nlots == 40 && got->lots != lots && strcmp(got->lots[39].id, "LOT-39") == 0);
    cr_assert_eq(ldr_stock_restore_entry(st, s, 3, &e), LDR_EEXIST);
    cr_assert_eq(ldr_stock_restore_entry(st, s + 1, 4, &e), LDR_EINVAL, "unknown store");
    cr_assert_eq(ldr_stock_restore_entry(st, s, LDR_DOC_MAX, &e), LDR_EINVAL);
    /* the restored entry takes further changes like any other */
    cr_assert_eq(ldr_stock_receive(st, s, 3, "LOT-05", 6, 2, 1005), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 3)->version, 78);
    cr_assert_eq(ldr_stock_get(st, s, 3)->lots[5].quantity, 3);

    uint32_t bad;
    ldr_stock_entry_t x = e;
    x.version = 0;
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad),
                     "version 0 (an entry that was never written)");
    x = e, x.on_hand = 39;
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad), "on_hand is not the sum of the lots");
    cr_assert_eq(bad, UINT32_MAX);
    x = e, x.reserved = -1;
    cr_assert_not_null(ldr_stock_entry_check(&x, &bad));
    memcpy(lots[37].id, "LOT-12", 7); /* 40 lots: the sorted comparison */
    cr_assert_str_eq(ldr_stock_entry_check(&e, &bad), "lot id used twice");
    cr_assert_eq(bad, 37);
    memcpy(lots[37].id, "LOT-37", 7);
    x = e, x.nlots = 3, x.on_hand = 3; /* 3 lots: the pairwise comparison */
    memcpy(lots[2].id, "LOT-01", 7);
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad), "lot id used twice");
    cr_assert_eq(bad, 2);
    memcpy(lots[2].id, "LOT-02", 7);
    memset(lots[0].id, 'x', sizeof(lots[0].id)); /* no NUL */
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad), "lot id not valid");
    cr_assert_eq(bad, 0);
    memcpy(lots[0].id, "LOT-00", 7);
    lots[2].expires_at = 999;
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad), "lots not in first-expired-first-out order");
    cr_assert_eq(bad, 2);
    lots[2].expires_at = 1002;
    lots[1].quantity = 0, lots[2].quantity = 2;
    cr_assert_str_eq(ldr_stock_entry_check(&x, &bad), "lot quantity out of range");
    cr_assert_eq(bad, 1);
    lots[1].quantity = 1, lots[2].quantity = 1;
    cr_assert_null(ldr_stock_entry_check(&x, &bad));
    cr_assert_eq(ldr_stock_restore_entry(st, s, 0, &(ldr_stock_entry_t){.version = 1}), LDR_OK,
                 "an entry with no lots");
    ldr_stock_free(st);
}

Test(snapshot, restore_reservation_leaves_stock_alone)
{
    ldr_stock_t *st = ldr_stock_new();
    ldr_reservations_t *rs = ldr_reservations_new();
    uint32_t s = ldr_stock_store_put(st, "default", 7);
    ldr_lot_t lot = {"L1", 10, LDR_NO_EXPIRY};
    cr_assert_eq(ldr_stock_restore_entry(st, s, 2, &(ldr_stock_entry_t){10, 4, 9, 1, 1, &lot}),
                 LDR_OK);
    ldr_reserve_line_t lines[] = {{s, 2, 3}, {s, 2, 1}};
    cr_assert_eq(ldr_reservations_restore(rs, "cart-1", 6, 500, lines, 2), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 2)->reserved, 4, "restore must not hold again");
    cr_assert_eq(ldr_stock_get(st, s, 2)->version, 9);
    const ldr_reservation_t *r = ldr_reservations_find(rs, "cart-1", 6);
    cr_assert(r != NULL && r->expires_at == 500 && r->nlines == 2 && r->lines[1].quantity == 1);
    cr_assert_eq(ldr_reservations_restore(rs, "cart-1", 6, 500, lines, 2), LDR_EEXIST);
    cr_assert_eq(ldr_reservations_restore(rs, "", 0, 500, lines, 2), LDR_EINVAL);
    cr_assert_eq(ldr_reservations_restore(rs, "a\0b", 3, 500, lines, 2), LDR_EINVAL);
    cr_assert_eq(ldr_reservations_restore(rs, "cart-2", 6, 500, lines, 0), LDR_EINVAL);
    lines[0].quantity = 0;
    cr_assert_eq(ldr_reservations_restore(rs, "cart-2", 6, 500, lines, 2), LDR_EINVAL);
    /* and it ends like any reservation: releasing gives the 4 back */
    cr_assert_eq(ldr_reservations_release(rs, st, "cart-1", 6), LDR_OK);
    cr_assert_eq(ldr_stock_get(st, s, 2)->reserved, 0);
    cr_assert_eq(ldr_reservations_count(rs), 0);
    ldr_reservations_free(rs);
    ldr_stock_free(st);
}

/* The products section: what the log changed comes back; a bad entry is corruption. */
Test(snapshot, products_the_log_changed_are_kept_and_checked)
{
    ldr_catalog_t *cat = make_catalog(false, NULL);
    ldr_state_t s = new_state(cat);
    static const char prod[] =
        "{\"sku\":\"N-7\",\"name\":{\"en\":\"Snapshot kept\"},\"category\":\"x/y\",\"price\":7}";
    apply(&s, (ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT, .product = S(prod)}, 1, LDR_OK);
    receive(&s, S("s1"), S("N-7"), S("L1"), 3, LDR_NO_EXPIRY);
    apply(&s, (ldr_cmd_t){.type = LDR_CMD_PRODUCT_DEL, .sku = S("N-7")}, 2, LDR_OK);
    size_t len;
    uint8_t *b = snapshot_bytes(&s, 5, &len);
    free_state(&s);
    /* onto a catalog without it: the deleted product is known again, with its stock */
    ldr_catalog_t *fresh = make_catalog(false, NULL);
    char err[256] = "";
    ldr_state_t t = new_state(fresh);
    cr_assert_eq(ldr_snapshot_decode(b, len, fresh, &t, NULL, err, sizeof(err)), LDR_OK, "%s", err);
    uint32_t doc;
    cr_assert_null(ldr_catalog_find(fresh, "N-7", 3, NULL));
    cr_assert_not_null(ldr_catalog_lookup(fresh, "N-7", 3, &doc));
    cr_assert_eq(ldr_stock_get(t.stock, 0, doc)->on_hand, 3);
    free_state(&t);
    ldr_catalog_free(fresh);
    /* a kind that is neither live nor deleted, and a product that does not parse */
    uint8_t *at = memmem(b, len, "{\"sku\":\"N-7\"", 12);
    cr_assert_not_null(at);
    size_t kind = (size_t)(at - b) - 4;
    cr_assert_eq(b[kind], 2, "the product was deleted");
    b[kind] = 3;
    reseal(b, len);
    fresh = make_catalog(false, NULL);
    t = new_state(fresh);
    cr_assert_eq(ldr_snapshot_decode(b, len, fresh, &t, NULL, err, sizeof(err)), LDR_ECORRUPT);
    cr_assert(strstr(err, "product 0: kind 3") != NULL, "%s", err);
    free_state(&t);
    ldr_catalog_free(fresh);
    b[kind] = 1;
    at[0] = '[';
    reseal(b, len);
    fresh = make_catalog(false, NULL);
    t = new_state(fresh);
    cr_assert_eq(ldr_snapshot_decode(b, len, fresh, &t, NULL, err, sizeof(err)), LDR_ECORRUPT);
    cr_assert(strstr(err, "product 0: ") != NULL, "%s", err);
    free_state(&t);
    ldr_catalog_free(fresh);
    free(b);
    ldr_catalog_free(cat);
}
