/*
 * Stock table.  Each store owns a dense array of entries indexed by doc id, grown on demand, so a
 * store with stock for every SKU of a 50,000-SKU catalog costs 50,000 entries of 40 bytes.  Lots
 * stay sorted by expiry with insertion sort: a SKU rarely holds more than a handful of lots.
 */
#include "larder/stock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl_internal.h"

typedef struct ldr__store {
    ldr_stock_entry_t *entries;
    uint32_t nentries;
} ldr__store_t;

struct ldr_stock {
    ldr_intern_t store_ids;
    ldr__store_t *stores;
    uint32_t capstores;
};

ldr_stock_t *ldr_stock_new(void)
{
    ldr_stock_t *st = ldr_calloc(1, sizeof(*st));
    ldr_intern_init(&st->store_ids);
    return st;
}

void ldr_stock_free(ldr_stock_t *st)
{
    if (st == NULL)
        return;
    for (uint32_t s = 0; s < ldr_intern_count(&st->store_ids); s++) {
        for (uint32_t d = 0; d < st->stores[s].nentries; d++)
            ldr_free(st->stores[s].entries[d].lots);
        ldr_free(st->stores[s].entries);
    }
    ldr_free(st->stores);
    ldr_intern_free(&st->store_ids);
    ldr_free(st);
}

const ldr_intern_t *ldr_stock_stores(const ldr_stock_t *st)
{
    return &st->store_ids;
}

bool ldr_store_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > LDR_STORE_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_'))
            return false;
    return true;
}

uint32_t ldr_stock_store_find(const ldr_stock_t *st, const char *id, size_t len)
{
    return ldr_intern_find(&st->store_ids, id, len);
}

uint32_t ldr_stock_store_put(ldr_stock_t *st, const char *id, size_t len)
{
    uint32_t s = ldr_intern_put(&st->store_ids, id, len);
    if (s >= st->capstores) {
        uint32_t cap = st->capstores ? st->capstores * 2 : 8;
        st->stores = ldr_realloc(st->stores, cap * sizeof(*st->stores));
        memset(st->stores + st->capstores, 0, (cap - st->capstores) * sizeof(*st->stores));
        st->capstores = cap;
    }
    return s;
}

const ldr_stock_entry_t *ldr_stock_get(const ldr_stock_t *st, uint32_t store, uint32_t doc)
{
    if (store >= ldr_intern_count(&st->store_ids) || doc >= st->stores[store].nentries)
        return NULL;
    const ldr_stock_entry_t *e = &st->stores[store].entries[doc];
    return e->version == 0 ? NULL : e;
}

bool ldr_stock_doc_in_range(const ldr_stock_t *st, uint32_t store, uint32_t doc)
{
    return store < ldr_intern_count(&st->store_ids) && doc < st->stores[store].nentries;
}

static ldr_stock_entry_t *ldr__entry(ldr_stock_t *st, uint32_t store, uint32_t doc)
{
    ldr__store_t *s = &st->stores[store];
    if (doc >= s->nentries) {
        size_t n = s->nentries ? s->nentries : 1024; /* doc < LDR_DOC_MAX: no overflow */
        while (n <= doc)
            n *= 2;
        s->entries = ldr_realloc(s->entries, n * sizeof(*s->entries));
        memset(s->entries + s->nentries, 0, (n - s->nentries) * sizeof(*s->entries));
        s->nentries = (uint32_t)n;
    }
    return &s->entries[doc];
}

int ldr_stock_receive(ldr_stock_t *st, uint32_t store, uint32_t doc, const char *lot, size_t lotlen,
                      int64_t quantity, int64_t expires_at)
{
    if (store >= ldr_intern_count(&st->store_ids) || doc >= LDR_DOC_MAX || lotlen == 0 ||
        lotlen > LDR_LOT_ID_MAX)
        return LDR_EINVAL;
    if (quantity <= 0 || quantity > LDR_QUANTITY_MAX)
        return LDR_ERANGE;
    ldr_stock_entry_t *e = ldr__entry(st, store, doc);
    if (e->on_hand + quantity > LDR_QUANTITY_MAX)
        return LDR_ERANGE;
    for (uint32_t i = 0; i < e->nlots; i++) {
        ldr_lot_t *l = &e->lots[i];
        if (strlen(l->id) == lotlen && memcmp(l->id, lot, lotlen) == 0) {
            if (l->expires_at != expires_at)
                return LDR_EEXIST;
            l->quantity += quantity;
            e->on_hand += quantity;
            e->version++;
            return LDR_OK;
        }
    }
    if (e->nlots == e->caplots) {
        e->caplots = e->caplots ? e->caplots * 2 : 2;
        e->lots = ldr_realloc(e->lots, e->caplots * sizeof(*e->lots));
    }
    uint32_t i = e->nlots++;
    /* insertion keeps FEFO order; equal expiries keep arrival order */
    while (i > 0 && e->lots[i - 1].expires_at > expires_at) {
        e->lots[i] = e->lots[i - 1];
        i--;
    }
    ldr_lot_t *l = &e->lots[i];
    memcpy(l->id, lot, lotlen);
    l->id[lotlen] = '\0';
    l->quantity = quantity;
    l->expires_at = expires_at;
    e->on_hand += quantity;
    e->version++;
    return LDR_OK;
}

enum { S_SKU, S_STORE, S_LOT, S_QUANTITY, S_EXPIRES_AT, S_NKEYS };
static const ldr__json_key_t ldr__stock_keys[S_NKEYS] = {LDR__KEY("sku"), LDR__KEY("store"),
                                                         LDR__KEY("lot"), LDR__KEY("quantity"),
                                                         LDR__KEY("expires_at")};

typedef struct ldr__stock_load {
    ldr_stock_t *st;
    const ldr_catalog_t *cat;
    ldr__jsonl_scratch_t scratch; /* tokens and unescaped strings, reused by every line */
} ldr__stock_load_t;

bool ldr_lot_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > LDR_LOT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

static int ldr__stock_line(void *arg, const char *line, size_t len, ldr_error_t *err)
{
    ldr__stock_load_t *ld = arg;
    ldr__json_line_t ln;
    uint32_t f[S_NKEYS];
    ldr_str_t sku, store, lot, expires;
    int64_t quantity, expires_at = LDR_NO_EXPIRY;
    uint32_t doc;
    if (ldr__json_object(&ld->scratch, line, len, &ln, err) != LDR_OK ||
        ldr__json_fields(&ln, 0, NULL, ldr__stock_keys, S_NKEYS, f, err) != LDR_OK ||
        ldr__json_str(&ln, f[S_SKU], "sku", true, LDR_SKU_MAX, &sku, err) != LDR_OK ||
        ldr__json_str(&ln, f[S_STORE], "store", true, LDR_STORE_ID_MAX, &store, err) != LDR_OK ||
        ldr__json_str(&ln, f[S_LOT], "lot", true, LDR_LOT_ID_MAX, &lot, err) != LDR_OK ||
        ldr__json_int(&ln, f[S_QUANTITY], "quantity", true, 1, LDR_QUANTITY_MAX, &quantity, NULL,
                      err) != LDR_OK ||
        ldr__json_str(&ln, f[S_EXPIRES_AT], "expires_at", false, 64, &expires, err) != LDR_OK)
        return LDR_EPARSE;
    if (!ldr_store_id_valid(store.ptr, store.len))
        return ldr__json_error(err, "store", "not a valid store id (1-64 of a-z 0-9 _ -)");
    if (!ldr_lot_id_valid(lot.ptr, lot.len))
        return ldr__json_error(err, "lot", "not a valid lot id (1-32 of A-Z a-z 0-9 . _ -)");
    if (expires.ptr != NULL && ldr_time_parse_rfc3339(expires.ptr, expires.len, &expires_at))
        return ldr__json_error(err, "expires_at",
                               "expected an RFC 3339 time like 2026-11-25T09:00:00Z");
    if (ldr_catalog_find(ld->cat, sku.ptr, sku.len, &doc) == NULL)
        return ldr__json_error(err, "sku", "unknown sku \"%.*s\"", (int)sku.len, sku.ptr);
    uint32_t s = ldr_stock_store_put(ld->st, store.ptr, store.len);
    int rc = ldr_stock_receive(ld->st, s, doc, lot.ptr, lot.len, quantity, expires_at);
    if (rc == LDR_EEXIST)
        ldr__json_error(err, "expires_at", "lot \"%.*s\" was already received with another expiry",
                        (int)lot.len, lot.ptr);
    else if (rc != LDR_OK)
        ldr__json_error(err, "quantity", "on hand would exceed %lld", LDR_QUANTITY_MAX);
    return rc;
}

int ldr_stock_load_jsonl(ldr_stock_t *st, const ldr_catalog_t *cat, const char *buf, size_t len,
                         ldr_reject_cb reject, void *ctx, ldr_load_result_t *result)
{
    ldr__stock_load_t ld = {.st = st, .cat = cat};
    int rc = ldr__jsonl_each(buf, len, ldr__stock_line, &ld, reject, ctx, result);
    ldr__jsonl_scratch_free(&ld.scratch);
    return rc;
}

/* ---- restoring ---- */

static int ldr__lot_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(const ldr_lot_t *const *)a)->id, (*(const ldr_lot_t *const *)b)->id);
}

/* True when two lots share an id; *dup gets the later one's index.  A handful of lots (the usual
 * case) is compared pairwise; many are sorted, so a hostile snapshot cannot make this quadratic. */
static bool ldr__lot_ids_repeat(const ldr_lot_t *lots, uint32_t n, uint32_t *dup)
{
    const ldr_lot_t **sorted = n > 16 ? ldr_try_malloc(n * sizeof(*sorted)) : NULL;
    if (sorted == NULL) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t k = 0; k < i; k++)
                if (strcmp(lots[i].id, lots[k].id) == 0) {
                    *dup = i;
                    return true;
                }
        return false;
    }
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = &lots[i];
    qsort(sorted, n, sizeof(*sorted), ldr__lot_ptr_cmp);
    bool repeat = false;
    for (uint32_t i = 1; i < n && !repeat; i++)
        if (strcmp(sorted[i]->id, sorted[i - 1]->id) == 0) {
            repeat = true;
            *dup = (uint32_t)((sorted[i] > sorted[i - 1] ? sorted[i] : sorted[i - 1]) - lots);
        }
    ldr_free(sorted);
    return repeat;
}

const char *ldr_stock_entry_check(const ldr_stock_entry_t *e, uint32_t *bad_lot)
{
    uint32_t bad = UINT32_MAX;
    const char *why = NULL;
    int64_t sum = 0;
    if (e->version == 0)
        why = "version 0 (an entry that was never written)";
    else if (e->on_hand < 0 || e->on_hand > LDR_QUANTITY_MAX)
        why = "on_hand out of range";
    else if (e->reserved < 0 || e->reserved > LDR_QUANTITY_MAX)
        why = "reserved out of range";
    else if (e->nlots > 0 && e->lots == NULL)
        why = "lots missing";
    for (uint32_t i = 0; why == NULL && i < e->nlots; i++) {
        const ldr_lot_t *l = &e->lots[i];
        bad = i;
        if (!ldr_lot_id_valid(l->id, strnlen(l->id, sizeof(l->id)))) /* no NUL: too long */
            why = "lot id not valid";
        else if (l->quantity <= 0 || l->quantity > LDR_QUANTITY_MAX)
            why = "lot quantity out of range";
        else if (i > 0 && l->expires_at < e->lots[i - 1].expires_at)
            why = "lots not in first-expired-first-out order";
        else if ((sum += l->quantity) > LDR_QUANTITY_MAX)
            why = "lots add up to more than the largest on_hand";
    }
    if (why == NULL) {
        bad = UINT32_MAX;
        if (sum != e->on_hand)
            why = "on_hand is not the sum of the lots";
        else if (ldr__lot_ids_repeat(e->lots, e->nlots, &bad))
            why = "lot id used twice";
    }
    if (bad_lot != NULL)
        *bad_lot = why == NULL ? UINT32_MAX : bad;
    return why;
}

int ldr_stock_restore_entry(ldr_stock_t *st, uint32_t store, uint32_t doc,
                            const ldr_stock_entry_t *e)
{
    if (store >= ldr_intern_count(&st->store_ids) || doc >= LDR_DOC_MAX ||
        ldr_stock_entry_check(e, NULL) != NULL)
        return LDR_EINVAL;
    if (ldr_stock_get(st, store, doc) != NULL)
        return LDR_EEXIST;
    ldr_stock_entry_t *d = ldr__entry(st, store, doc);
    if (e->nlots > d->caplots) { /* an unwritten entry is all zeros; keep any array it has */
        ldr_free(d->lots);
        d->lots = ldr_malloc(e->nlots * sizeof(*d->lots));
        d->caplots = e->nlots;
    }
    if (e->nlots > 0)
        memcpy(d->lots, e->lots, e->nlots * sizeof(*d->lots));
    d->nlots = e->nlots;
    d->on_hand = e->on_hand;
    d->reserved = e->reserved;
    d->version = e->version;
    return LDR_OK;
}
