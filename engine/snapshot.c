/*
 * Snapshots.
 *
 * Files.  A snapshot holds the whole engine state (stock entries with their lots, and the live
 * reservations) as of one WAL position, and is named after the LSN of the last record it includes,
 * `snap-<16 lower-case hex digits>.snap`.  Recovery loads the newest snapshot that verifies and
 * replays the WAL from the next LSN; once a snapshot is durably in place, the WAL segments it
 * covers may go (ldr_wal_remove_before).  The writer of the file (the engine) writes it under a
 * ".tmp" name, fsyncs it, renames it into place and fsyncs the directory, so a snapshot name only
 * ever holds a complete file; a crash leaves at worst a stray .tmp that readers ignore.
 *
 * Format.  Every field is little-endian and unaligned; a string is u16 length + bytes (no NUL).
 * Things are named as commands name them (store ids, SKUs, lot ids, owners) and never by doc id,
 * so a snapshot loads onto a catalog loaded in another order.
 *
 *     header, 64 bytes
 *       8 bytes  magic "LDRSNAP1"
 *       u32      format version, 6 (still read: 5, without deliveries; 4, without payment
 *                references either; 3, without cart
 *                replacements either; 2, without orders either; 1, without products either)
 *       u32      flags, 0
 *       u64      lsn            the last WAL record included (0: none)
 *       i64      time_ns        engine time at that record
 *       u32      stores         u32 reservations
 *       u64      entries        u64 lots        u64 lines (reservation lines)
 *     products (version 2), the ones the log changed (ldr_catalog_logged), in doc order:
 *       u32 count, then per product: u16 kind (1 live, 2 deleted), str the product's JSON as
 *       PRODUCT_PUT logs it (a deleted one's last record: its SKU stays known, with its stock)
 *     stores, in store-id order: str id (ldr_store_id_valid, each once)
 *     entries, grouped by store in store order; only entries ever written (version >= 1):
 *       u32 store (index into the stores above), str sku, i64 on_hand, i64 reserved, u64 version,
 *       u32 nlots, then per lot in FEFO order: str id, i64 quantity, i64 expires_at
 *     reservations, in no meaningful order:
 *       str owner, i64 expires_at, u16 nlines (1..200), then per line: u32 store, str sku,
 *       i64 quantity
 *     idempotency keys (larder/idempotency.h), in no meaningful order:
 *       u32 count, then per key: str key (1..LDR_IDEM_KEY_MAX bytes, each once), u64 fingerprint,
 *       i64 time
 *     users (larder/users.h), in the order they were added:
 *       u32 count, then per user: str id, str email, str name, str locale, u16 role,
 *       str password hash, i64 created_at
 *     carts (larder/carts.h), in no meaningful order:
 *       u32 count, then per cart: str owner, u16 nlines (1..200), then per line: str sku,
 *       i64 quantity (1..1000), u16 substitution_allowed (0 or 1), str replacement (version 4;
 *       empty: the best match; else a sku other than the line's, only where substitution is
 *       allowed)
 *     orders (version 3; larder/orders.h), oldest first:
 *       u32 count, then per order: str id, str owner, str store, str slot, str provider,
 *       str payment token, str payment reference (version 5; empty: none),
 *       u16 status, str reason, i64 total, i64 created_at, i64 pay_by, u16 nevents, per event:
 *       u16 status, i64 at; u16 nlines (1..200), per line: str sku, i64 quantity, i64 unit
 *       price, u16 substitution_allowed, str substituted_by (empty: none); then (version 6)
 *       str courier (empty: none, and then the rest is empty and 0 too), str name, str phone,
 *       str line1, str ward, str district, str city, u16 delivery status, str tracking,
 *       str delivery note
 *     trailer, 16 bytes
 *       u64      the file's total length, this trailer included
 *       u64      XXH3-64 (seed 0) of every byte before this field
 *
 * The counts in the header say what a file holds without reading it all; the sections are read by
 * them and checked against them, so every byte is accounted for.  Store ids keep their order, so a
 * loaded state interns them with the same ids as the state that was saved.
 *
 * Reading.  The file is read whole, and its magic, version, length field and checksum are checked
 * before anything is built: bit rot, a truncated copy or a file from elsewhere is refused as a
 * whole.  A file whose checksum verifies was written by us, so the field-by-field checks after it
 * guard against our own bugs and against hostile files (ldr_snapshot_decode is the entry point for
 * a fuzz target): every length is in bounds, identifiers are valid, an entry is one that stock
 * changes could have produced (ldr_stock_entry_check: lots FEFO with distinct ids, on_hand the sum
 * of the lots), no (store, sku) or owner appears twice, every reservation line names a known store
 * and SKU, and each entry's `reserved` is exactly the sum of the reservation lines that hold it.
 * Note that reserved may exceed on_hand: a lot expiry takes held goods away and leaves the hold to
 * the reservation.  Entry versions are restored as they were: clients see them and use them for
 * conditional writes.  An error names the byte offset of the field, entry or line at fault.  A SKU
 * that the catalog no longer has is LDR_ENOENT rather than corruption: the file is fine, the
 * catalog changed.  Products are applied to the catalog as they are read (an older snapshot
 * tried after this one fails only sets them back to what its own log replays forward again).
 *
 * Writing.  The engine snapshots from a fork()ed child, which sees the state frozen as of the fork
 * but may also hold locks that another thread held then: so no locks, plain system calls, and two
 * allocations (the buffer and the XXH3 state; glibc and jemalloc make malloc safe after fork).  The
 * writer walks the state twice, once to count and once to write, through one fixed buffer handed
 * to write(2) whole, and feeds the same bytes to a streaming XXH3.  A failed write or fdatasync is
 * reported with errno intact and never retried; the caller deletes the .tmp file.  Two snapshots of
 * equal states may differ in the order of their reservations (table order), never in what they load
 * to.
 */
#include "larder/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "endian_internal.h"
#include "files_internal.h"
#include "larder/intern.h"

#define LDR__SNAP_MAGIC         "LDRSNAP1"
#define LDR__SNAP_HEADER_BYTES  64
#define LDR__SNAP_TRAILER_BYTES 16
#define LDR__SNAP_NAME_LEN      26 /* "snap-" + 16 hex + ".snap" */

/* The fewest bytes an item can take: what bounds a count before anything is sized by it. */
#define LDR__SNAP_MIN_LOT  (2 + 1 + 8 + 8)
#define LDR__SNAP_MIN_LINE (4 + 2 + 1 + 8)

/* ---- names ---- */

int ldr_snapshot_name(char *buf, size_t size, uint64_t lsn)
{
    if (size < LDR__SNAP_NAME_LEN + 1)
        return LDR_ERANGE;
    snprintf(buf, size, "snap-%016" PRIx64 ".snap", lsn);
    return LDR_OK;
}

bool ldr_snapshot_parse_name(const char *name, uint64_t *lsn)
{
    return ldr__hex_name_parse(name, "snap-", ".snap", lsn);
}

int ldr_snapshot_list(const char *dir, uint64_t **lsns, uint32_t *count)
{
    *lsns = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? LDR_ENOENT : LDR_EIO;
    return ldr__list_numbered(d, ldr_snapshot_parse_name, true, lsns, count);
}

int ldr_snapshot_find_newest(const char *dir, uint64_t *lsn, char *path, size_t size)
{
    uint64_t *v;
    uint32_t n;
    int rc = ldr_snapshot_list(dir, &v, &n);
    if (rc != LDR_OK)
        return rc;
    if (n == 0)
        return LDR_ENOENT;
    *lsn = v[0];
    ldr_free(v);
    char name[LDR_SNAPSHOT_FILE_MAX];
    ldr_snapshot_name(name, sizeof(name), *lsn);
    int len = snprintf(path, size, "%s/%s", dir, name);
    return len < 0 || (size_t)len >= size ? LDR_ERANGE : LDR_OK;
}

/* ---- writing ---- */

typedef struct ldr__writer {
    int fd;
    int rc; /* sticky: the first failure */
    uint8_t *buf;
    size_t len;
    uint64_t total; /* bytes handed to the buffer so far */
    XXH3_state_t *xxh;
    const ldr_state_t *s;
    uint64_t lines; /* counting pass: reservation lines */
} ldr__writer_t;

/* Hands the buffer to write(2), whole (EINTR and short writes are retried); hashes it first. */
static void ldr__w_flush(ldr__writer_t *w, bool hash)
{
    if (w->rc != LDR_OK || w->len == 0)
        return;
    if (hash)
        XXH3_64bits_update(w->xxh, w->buf, w->len);
    const uint8_t *p = w->buf;
    size_t n = w->len;
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO; /* no progress and no reason: do not spin */
            w->rc = LDR_EIO;
            return;
        }
        p += k;
        n -= (size_t)k;
    }
    w->len = 0;
}

/* Room for n (small) bytes at the end of the buffer. */
static uint8_t *ldr__w_room(ldr__writer_t *w, size_t n)
{
    if (LDR_SNAPSHOT_WRITE_BUF - w->len < n)
        ldr__w_flush(w, true);
    if (w->rc != LDR_OK)
        w->len = 0; /* keep going harmlessly; the caller reports the failure */
    uint8_t *p = w->buf + w->len;
    w->len += n;
    w->total += n;
    return p;
}

static void ldr__w_u16(ldr__writer_t *w, uint16_t v)
{
    ldr__put_u16(ldr__w_room(w, 2), v);
}

static void ldr__w_u32(ldr__writer_t *w, uint32_t v)
{
    ldr__put_u32(ldr__w_room(w, 4), v);
}

static void ldr__w_u64(ldr__writer_t *w, uint64_t v)
{
    ldr__put_u64(ldr__w_room(w, 8), v);
}

/* Strings here are identifiers of at most 64 bytes, or products of at most 64 KiB. */
static void ldr__w_str(ldr__writer_t *w, const char *s, size_t len)
{
    uint8_t *p = ldr__w_room(w, 2 + len);
    ldr__put_u16(p, (uint16_t)len);
    memcpy(p + 2, s, len);
}

static void ldr__w_count_lines(void *ctx, const ldr_reservation_t *res)
{
    ((ldr__writer_t *)ctx)->lines += res->nlines;
}

static void ldr__w_reservation(void *ctx, const ldr_reservation_t *res)
{
    ldr__writer_t *w = ctx;
    const ldr_intern_t *stores = ldr_stock_stores(w->s->stock);
    ldr__w_str(w, res->owner, strlen(res->owner));
    ldr__w_u64(w, (uint64_t)res->expires_at);
    ldr__w_u16(w, (uint16_t)res->nlines);
    for (uint32_t i = 0; i < res->nlines; i++) {
        const ldr_reserve_line_t *l = &res->lines[i];
        const ldr_product_t *p = ldr_catalog_record(w->s->catalog, l->doc);
        if (p == NULL || l->store >= ldr_intern_count(stores)) {
            if (w->rc == LDR_OK) {
                w->rc = LDR_EINVAL;
                errno = EINVAL;
            }
            return;
        }
        ldr__w_u32(w, l->store);
        ldr__w_str(w, p->sku.ptr, p->sku.len);
        ldr__w_u64(w, (uint64_t)l->quantity);
    }
}

static void ldr__w_cart(void *ctx, const ldr_cart_t *c)
{
    ldr__writer_t *w = ctx;
    ldr__w_str(w, c->owner, strlen(c->owner));
    ldr__w_u16(w, (uint16_t)c->nlines);
    for (uint32_t i = 0; i < c->nlines; i++) {
        ldr__w_str(w, c->lines[i].sku, strlen(c->lines[i].sku));
        ldr__w_u64(w, (uint64_t)c->lines[i].quantity);
        ldr__w_u16(w, c->lines[i].substitution_allowed ? 1 : 0);
        ldr__w_str(w, c->lines[i].replacement, strlen(c->lines[i].replacement));
    }
}

static void ldr__w_user(void *ctx, const ldr_user_t *u)
{
    ldr__writer_t *w = ctx;
    ldr__w_str(w, u->id, strlen(u->id));
    ldr__w_str(w, u->email, strlen(u->email));
    ldr__w_str(w, u->name, strlen(u->name));
    ldr__w_str(w, u->locale, strlen(u->locale));
    ldr__w_u16(w, u->role);
    ldr__w_str(w, u->hash, strlen(u->hash));
    ldr__w_u64(w, (uint64_t)u->created_at);
}

static void ldr__w_order(void *ctx, const ldr_order_t *o)
{
    ldr__writer_t *w = ctx;
    ldr__w_str(w, o->id, strlen(o->id));
    ldr__w_str(w, o->owner, strlen(o->owner));
    ldr__w_str(w, o->store, strlen(o->store));
    ldr__w_str(w, o->slot, strlen(o->slot));
    ldr__w_str(w, o->provider, strlen(o->provider));
    ldr__w_str(w, o->pay_token, strlen(o->pay_token));
    ldr__w_str(w, o->pay_ref, strlen(o->pay_ref));
    ldr__w_u16(w, o->status);
    ldr__w_str(w, o->reason, strlen(o->reason));
    ldr__w_u64(w, (uint64_t)o->total);
    ldr__w_u64(w, (uint64_t)o->created_at);
    ldr__w_u64(w, (uint64_t)o->pay_by);
    ldr__w_u16(w, (uint16_t)o->nevents);
    for (uint32_t i = 0; i < o->nevents; i++) {
        ldr__w_u16(w, o->events[i].status);
        ldr__w_u64(w, (uint64_t)o->events[i].at);
    }
    ldr__w_u16(w, (uint16_t)o->nlines);
    for (uint32_t i = 0; i < o->nlines; i++) {
        ldr__w_str(w, o->lines[i].sku, strlen(o->lines[i].sku));
        ldr__w_u64(w, (uint64_t)o->lines[i].quantity);
        ldr__w_u64(w, (uint64_t)o->lines[i].unit_price);
        ldr__w_u16(w, o->lines[i].substitution_allowed ? 1 : 0);
        ldr__w_str(w, o->lines[i].substituted_by, strlen(o->lines[i].substituted_by));
    }
    const ldr_order_address_t *a = &o->address;
    const char *strs[] = {o->courier, a->name, a->phone, a->line1, a->ward, a->district, a->city};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        ldr__w_str(w, strs[i], strlen(strs[i]));
    ldr__w_u16(w, o->delivery);
    ldr__w_str(w, o->tracking, strlen(o->tracking));
    ldr__w_str(w, o->delivery_note, strlen(o->delivery_note));
}

static void ldr__w_idem(void *ctx, const ldr_idem_entry_t *e)
{
    ldr__writer_t *w = ctx;
    ldr__w_str(w, e->key, e->key_len);
    ldr__w_u64(w, e->fingerprint);
    ldr__w_u64(w, (uint64_t)e->time);
}

int ldr_snapshot_write(int fd, const ldr_state_t *s, uint64_t lsn, int64_t time_ns,
                       uint64_t *bytes_out)
{
    ldr__writer_t w = {.fd = fd, .s = s};
    const ldr_intern_t *stores = ldr_stock_stores(s->stock);
    uint32_t nstores = ldr_intern_count(stores);

    /* pass 1: the counts of the header */
    uint64_t nentries = 0, nlots = 0;
    for (uint32_t st = 0; st < nstores; st++)
        for (uint32_t doc = 0; ldr_stock_doc_in_range(s->stock, st, doc); doc++) {
            const ldr_stock_entry_t *e = ldr_stock_get(s->stock, st, doc);
            if (e != NULL)
                nentries++, nlots += e->nlots;
        }
    ldr_reservations_each(s->reservations, ldr__w_count_lines, &w);
    uint32_t nproducts = 0, ndocs = ldr_catalog_doc_limit(s->catalog);
    for (uint32_t doc = 0; doc < ndocs; doc++)
        nproducts += ldr_catalog_logged(s->catalog, doc);

    w.buf = ldr_try_malloc(LDR_SNAPSHOT_WRITE_BUF);
    w.xxh = XXH3_createState();
    if (w.buf == NULL || w.xxh == NULL || XXH3_64bits_reset(w.xxh) != XXH_OK) {
        ldr_free(w.buf);
        XXH3_freeState(w.xxh);
        errno = ENOMEM;
        return LDR_ENOMEM;
    }

    /* pass 2: the file */
    memcpy(ldr__w_room(&w, 8), LDR__SNAP_MAGIC, 8);
    ldr__w_u32(&w, LDR_SNAPSHOT_FORMAT);
    ldr__w_u32(&w, 0);
    ldr__w_u64(&w, lsn);
    ldr__w_u64(&w, (uint64_t)time_ns);
    ldr__w_u32(&w, nstores);
    ldr__w_u32(&w, ldr_reservations_count(s->reservations));
    ldr__w_u64(&w, nentries);
    ldr__w_u64(&w, nlots);
    ldr__w_u64(&w, w.lines);
    ldr__w_u32(&w, nproducts);
    ldr_buf_t json = LDR_BUF_INIT;
    for (uint32_t doc = 0; doc < ndocs && w.rc == LDR_OK; doc++) {
        if (!ldr_catalog_logged(s->catalog, doc))
            continue;
        ldr_buf_reset(&json);
        ldr_catalog_product_json(s->catalog, ldr_catalog_record(s->catalog, doc), &json);
        if (json.len > UINT16_MAX) { /* cannot be: see LDR_PRODUCT_JSON_MAX */
            w.rc = LDR_EINVAL;
            errno = EINVAL;
            break;
        }
        ldr__w_u16(&w, ldr_catalog_doc(s->catalog, doc) != NULL ? 1 : 2);
        ldr__w_str(&w, json.base, json.len);
    }
    ldr_buf_free(&json);
    for (uint32_t st = 0; st < nstores; st++) {
        ldr_str_t id = ldr_intern_str(stores, st);
        ldr__w_str(&w, id.ptr, id.len);
    }
    for (uint32_t st = 0; st < nstores && w.rc == LDR_OK; st++)
        for (uint32_t doc = 0; ldr_stock_doc_in_range(s->stock, st, doc); doc++) {
            const ldr_stock_entry_t *e = ldr_stock_get(s->stock, st, doc);
            if (e == NULL)
                continue;
            const ldr_product_t *p = ldr_catalog_record(s->catalog, doc);
            if (p == NULL) {
                w.rc = LDR_EINVAL;
                errno = EINVAL;
                break;
            }
            ldr__w_u32(&w, st);
            ldr__w_str(&w, p->sku.ptr, p->sku.len);
            ldr__w_u64(&w, (uint64_t)e->on_hand);
            ldr__w_u64(&w, (uint64_t)e->reserved);
            ldr__w_u64(&w, e->version);
            ldr__w_u32(&w, e->nlots);
            for (uint32_t i = 0; i < e->nlots; i++) {
                ldr__w_str(&w, e->lots[i].id, strlen(e->lots[i].id));
                ldr__w_u64(&w, (uint64_t)e->lots[i].quantity);
                ldr__w_u64(&w, (uint64_t)e->lots[i].expires_at);
            }
        }
    if (w.rc == LDR_OK)
        ldr_reservations_each(s->reservations, ldr__w_reservation, &w);
    ldr__w_u32(&w, s->idem != NULL ? ldr_idem_count(s->idem) : 0);
    if (w.rc == LDR_OK && s->idem != NULL)
        ldr_idem_each(s->idem, ldr__w_idem, &w);
    ldr__w_u32(&w, s->users != NULL ? ldr_users_count(s->users) : 0);
    if (w.rc == LDR_OK && s->users != NULL)
        ldr_users_each(s->users, ldr__w_user, &w);
    ldr__w_u32(&w, s->carts != NULL ? ldr_carts_count(s->carts) : 0);
    if (w.rc == LDR_OK && s->carts != NULL)
        ldr_carts_each(s->carts, ldr__w_cart, &w);
    ldr__w_u32(&w, s->orders != NULL ? ldr_orders_count(s->orders) : 0);
    if (w.rc == LDR_OK && s->orders != NULL)
        ldr_orders_each(s->orders, ldr__w_order, &w);
    ldr__w_u64(&w, w.total + LDR__SNAP_TRAILER_BYTES);
    ldr__w_flush(&w, true);
    if (w.rc == LDR_OK) {
        ldr__put_u64(w.buf, XXH3_64bits_digest(w.xxh));
        w.len = 8;
        w.total += 8;
        ldr__w_flush(&w, false);
    }
    if (w.rc == LDR_OK && fdatasync(fd) != 0)
        w.rc = LDR_EIO;

    int saved = errno; /* free() need not keep it */
    ldr_free(w.buf);
    XXH3_freeState(w.xxh);
    errno = saved;
    if (w.rc == LDR_OK && bytes_out != NULL)
        *bytes_out = w.total;
    return w.rc;
}

/* ---- reading ---- */

/* (store, doc) → how much the entry records reserved and how much the lines seen so far hold. */
typedef struct ldr__held {
    uint64_t key; /* (store << 32 | doc) + 1; 0: empty */
    int64_t want, got;
    size_t off; /* the entry's offset, for the message */
} ldr__held_t;

typedef struct ldr__reader {
    const uint8_t *p;
    size_t pos, end; /* end: where the trailer starts */
    char *err;
    size_t errlen;
    ldr_state_t *out;
    const ldr_intern_t *stores;
    ldr_lot_t *lots; /* scratch for one entry */
    size_t *lot_off;
    uint32_t caplots;
    uint32_t next_doc; /* the doc an entry most likely names: the one after the last entry's */
    ldr__held_t *held; /* open addressing, mask + 1 slots */
    uint32_t held_mask, nheld;
} ldr__reader_t;

static int ldr__fail(ldr__reader_t *r, int rc, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ldr__fail(ldr__reader_t *r, int rc, size_t off, const char *fmt, ...)
{
    if (r->err == NULL || r->errlen == 0)
        return rc;
    int n = snprintf(r->err, r->errlen, "offset %zu: ", off);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Every read checks that its bytes lie before the trailer. */
static int ldr__need(ldr__reader_t *r, size_t n)
{
    if (r->end - r->pos >= n)
        return LDR_OK;
    return ldr__fail(r, LDR_ECORRUPT, r->pos,
                     "a field runs into the trailer (counts inconsistent)");
}

static int ldr__r_u16(ldr__reader_t *r, uint16_t *v)
{
    int rc = ldr__need(r, 2);
    if (rc == LDR_OK)
        *v = ldr__get_u16(r->p + r->pos), r->pos += 2;
    return rc;
}

static int ldr__r_u32(ldr__reader_t *r, uint32_t *v)
{
    int rc = ldr__need(r, 4);
    if (rc == LDR_OK)
        *v = ldr__get_u32(r->p + r->pos), r->pos += 4;
    return rc;
}

static int ldr__r_u64(ldr__reader_t *r, uint64_t *v)
{
    int rc = ldr__need(r, 8);
    if (rc == LDR_OK)
        *v = ldr__get_u64(r->p + r->pos), r->pos += 8;
    return rc;
}

static int ldr__r_i64(ldr__reader_t *r, int64_t *v)
{
    uint64_t u = 0;
    int rc = ldr__r_u64(r, &u);
    *v = (int64_t)u;
    return rc;
}

static int ldr__r_str(ldr__reader_t *r, ldr_str_t *s)
{
    uint16_t n = 0;
    int rc = ldr__r_u16(r, &n);
    if (rc == LDR_OK && (rc = ldr__need(r, n)) == LDR_OK) {
        s->ptr = (const char *)r->p + r->pos;
        s->len = n;
        r->pos += n;
    }
    return rc;
}

/* A store index and a SKU, as entries and reservation lines name an item.  `guess` is a doc id
 * to try before the catalog's hash table: entries come in doc order, so in the usual case (a
 * catalog loaded as before) the next entry's doc is close to the last one's, and checking it costs
 * a comparison instead of a cache miss.  The SKU decides either way. */
static int ldr__r_item(ldr__reader_t *r, const char *what, uint32_t *store, ldr_str_t *sku,
                       uint32_t guess, uint32_t *doc)
{
    size_t off = r->pos;
    int rc = ldr__r_u32(r, store);
    if (rc != LDR_OK)
        return rc;
    if (*store >= ldr_intern_count(r->stores))
        return ldr__fail(r, LDR_ECORRUPT, off, "%s: store index %" PRIu32 ", there are %" PRIu32,
                         what, *store, ldr_intern_count(r->stores));
    off = r->pos;
    if ((rc = ldr__r_str(r, sku)) != LDR_OK)
        return rc;
    if (!ldr_sku_valid(sku->ptr, sku->len))
        return ldr__fail(r, LDR_ECORRUPT, off, "%s: sku not valid", what);
    const ldr_product_t *p = ldr_catalog_record(r->out->catalog, guess);
    if (p != NULL && ldr_str_eq(p->sku, sku->ptr, sku->len)) {
        *doc = guess;
        return LDR_OK;
    }
    if (ldr_catalog_lookup(r->out->catalog, sku->ptr, sku->len, doc) == NULL)
        return ldr__fail(r, LDR_ENOENT, off, "%s: sku \"%.*s\" is not in the catalog", what,
                         (int)sku->len, sku->ptr);
    return LDR_OK;
}

/* The products section: each one checked, then applied unless the catalog is fixed. */
static int ldr__read_products(ldr__reader_t *r)
{
    uint32_t n = 0;
    size_t off = r->pos;
    int rc = ldr__r_u32(r, &n);
    if (rc == LDR_OK && n > (r->end - r->pos) / 4)
        return ldr__fail(r, LDR_ECORRUPT, off, "%" PRIu32 " products cannot fit", n);
    for (uint32_t i = 0; rc == LDR_OK && i < n; i++) {
        uint16_t kind = 0;
        ldr_str_t json = {NULL, 0};
        off = r->pos;
        if ((rc = ldr__r_u16(r, &kind)) != LDR_OK || (rc = ldr__r_str(r, &json)) != LDR_OK)
            break;
        if (kind != 1 && kind != 2)
            return ldr__fail(r, LDR_ECORRUPT, off, "product %" PRIu32 ": kind %u", i,
                             (unsigned)kind);
        ldr_product_input_t in;
        ldr_error_t perr;
        if (ldr_product_parse(json.ptr, json.len, &in, &perr) != LDR_OK)
            return ldr__fail(r, LDR_ECORRUPT, off, "product %" PRIu32 ": %s", i, perr.message);
        uint32_t doc;
        ldr_catalog_t *cat = r->out->catalog;
        const ldr_product_t *p = ldr_catalog_lookup(cat, in.p.sku.ptr, in.p.sku.len, &doc);
        if (!r->out->catalog_fixed) {
            if (p == NULL || !ldr_catalog_same(cat, p, &in) ||
                (kind == 1 && ldr_catalog_doc(cat, doc) == NULL))
                rc = ldr_catalog_upsert(cat, &in, &doc);
            if (rc == LDR_OK && kind == 2)
                ldr_catalog_delete(cat, in.p.sku.ptr, in.p.sku.len, NULL);
            if (rc == LDR_OK)
                ldr_catalog_set_logged(cat, doc);
            else
                rc = ldr__fail(r, rc, off, "product %" PRIu32 ": %s", i, ldr_strerror(rc));
        }
        ldr_product_input_clear(&in);
    }
    return rc;
}

static ldr__held_t *ldr__held_slot(ldr__held_t *slots, uint32_t mask, uint64_t key)
{
    for (uint32_t i = (uint32_t)ldr_hash(&key, sizeof(key)) & mask;; i = (i + 1) & mask)
        if (slots[i].key == key || slots[i].key == 0)
            return &slots[i];
}

static uint64_t ldr__held_key(uint32_t store, uint32_t doc)
{
    return ((uint64_t)store << 32 | doc) + 1; /* doc < LDR_DOC_MAX: never wraps to 0 */
}

/* Records an entry's reserved quantity; (store, doc) is new (restore refused repeats). */
static void ldr__held_put(ldr__reader_t *r, uint64_t key, int64_t want, size_t off)
{
    if ((r->nheld + 1) * 2 > r->held_mask + 1 || r->held == NULL) {
        uint32_t cap = r->held == NULL ? 64 : (r->held_mask + 1) * 2;
        ldr__held_t *slots = ldr_calloc(cap, sizeof(*slots));
        for (uint32_t i = 0; r->held != NULL && i <= r->held_mask; i++)
            if (r->held[i].key != 0)
                *ldr__held_slot(slots, cap - 1, r->held[i].key) = r->held[i];
        ldr_free(r->held);
        r->held = slots;
        r->held_mask = cap - 1;
    }
    *ldr__held_slot(r->held, r->held_mask, key) = (ldr__held_t){key, want, 0, off};
    r->nheld++;
}

static int ldr__read_stores(ldr__reader_t *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t off = r->pos;
        ldr_str_t id;
        int rc = ldr__r_str(r, &id);
        if (rc != LDR_OK)
            return rc;
        if (!ldr_store_id_valid(id.ptr, id.len))
            return ldr__fail(r, LDR_ECORRUPT, off, "store %" PRIu32 ": id not valid", i);
        if (ldr_stock_store_find(r->out->stock, id.ptr, id.len) != UINT32_MAX)
            return ldr__fail(r, LDR_ECORRUPT, off, "store \"%.*s\" listed twice", (int)id.len,
                             id.ptr);
        ldr_stock_store_put(r->out->stock, id.ptr, id.len); /* gets id i: the table was empty */
    }
    return LDR_OK;
}

static int ldr__read_entry(ldr__reader_t *r, uint32_t *prev_store, uint64_t *nlots_total)
{
    size_t off = r->pos;
    uint32_t store, doc, nlots;
    ldr_str_t sku;
    ldr_stock_entry_t e = {0};
    int rc = ldr__r_item(r, "entry", &store, &sku, r->next_doc, &doc);
    if (rc != LDR_OK)
        return rc;
    if (store < *prev_store)
        return ldr__fail(r, LDR_ECORRUPT, off, "entry: not grouped by store");
    *prev_store = store;
    if ((rc = ldr__r_i64(r, &e.on_hand)) != LDR_OK || (rc = ldr__r_i64(r, &e.reserved)) != LDR_OK ||
        (rc = ldr__r_u64(r, &e.version)) != LDR_OK)
        return rc;
    size_t nlots_off = r->pos;
    if ((rc = ldr__r_u32(r, &nlots)) != LDR_OK)
        return rc;
    if (nlots > (r->end - r->pos) / LDR__SNAP_MIN_LOT)
        return ldr__fail(r, LDR_ECORRUPT, nlots_off, "entry: %" PRIu32 " lots cannot fit", nlots);
    if (nlots > r->caplots) { /* bounded by the file's size, just checked */
        r->caplots = nlots;
        r->lots = ldr_realloc(r->lots, nlots * sizeof(*r->lots));
        r->lot_off = ldr_realloc(r->lot_off, nlots * sizeof(*r->lot_off));
    }
    for (uint32_t i = 0; i < nlots; i++) {
        ldr_lot_t *l = &r->lots[i];
        ldr_str_t id;
        r->lot_off[i] = r->pos;
        if ((rc = ldr__r_str(r, &id)) != LDR_OK)
            return rc;
        if (id.len == 0 || id.len > LDR_LOT_ID_MAX) /* the characters: ldr_stock_entry_check */
            return ldr__fail(r, LDR_ECORRUPT, r->lot_off[i], "lot %" PRIu32 ": id not valid", i);
        memcpy(l->id, id.ptr, id.len);
        l->id[id.len] = '\0';
        if ((rc = ldr__r_i64(r, &l->quantity)) != LDR_OK ||
            (rc = ldr__r_i64(r, &l->expires_at)) != LDR_OK)
            return rc;
    }
    e.nlots = nlots;
    e.lots = r->lots;
    uint32_t bad;
    const char *why = ldr_stock_entry_check(&e, &bad);
    if (why != NULL)
        return ldr__fail(r, LDR_ECORRUPT, bad == UINT32_MAX ? off : r->lot_off[bad],
                         "entry for \"%.*s\": %s", (int)sku.len, sku.ptr, why);
    rc = ldr_stock_restore_entry(r->out->stock, store, doc, &e);
    if (rc == LDR_EEXIST) {
        ldr_str_t sid = ldr_intern_str(r->stores, store);
        return ldr__fail(r, LDR_ECORRUPT, off, "second entry for store \"%.*s\" sku \"%.*s\"",
                         (int)sid.len, sid.ptr, (int)sku.len, sku.ptr);
    }
    if (rc != LDR_OK)
        return ldr__fail(r, LDR_ECORRUPT, off, "entry refused: %s", ldr_strerror(rc));
    if (e.reserved > 0)
        ldr__held_put(r, ldr__held_key(store, doc), e.reserved, off);
    r->next_doc = doc + 1;
    *nlots_total += nlots;
    return LDR_OK;
}

static int ldr__read_reservation(ldr__reader_t *r, uint64_t *nlines_total)
{
    size_t off = r->pos;
    ldr_str_t owner;
    int64_t expires_at;
    uint16_t n;
    ldr_reserve_line_t lines[LDR_RESERVE_LINES_MAX];
    int rc = ldr__r_str(r, &owner);
    if (rc != LDR_OK)
        return rc;
    if (owner.len == 0 || owner.len > LDR_OWNER_MAX || memchr(owner.ptr, '\0', owner.len) ||
        !ldr_utf8_valid(owner.ptr, owner.len))
        return ldr__fail(r, LDR_ECORRUPT, off, "reservation: owner not valid");
    if ((rc = ldr__r_i64(r, &expires_at)) != LDR_OK)
        return rc;
    size_t n_off = r->pos;
    if ((rc = ldr__r_u16(r, &n)) != LDR_OK)
        return rc;
    if (n == 0 || n > LDR_RESERVE_LINES_MAX)
        return ldr__fail(r, LDR_ECORRUPT, n_off, "reservation: %u lines (1..%d)", n,
                         LDR_RESERVE_LINES_MAX);
    for (uint32_t i = 0; i < n; i++) {
        size_t line_off = r->pos;
        ldr_str_t sku;
        ldr_reserve_line_t *l = &lines[i];
        if ((rc = ldr__r_item(r, "reservation line", &l->store, &sku, UINT32_MAX, &l->doc)) !=
            LDR_OK)
            return rc;
        size_t q_off = r->pos;
        if ((rc = ldr__r_i64(r, &l->quantity)) != LDR_OK)
            return rc;
        if (l->quantity <= 0 || l->quantity > LDR_QUANTITY_MAX)
            return ldr__fail(r, LDR_ECORRUPT, q_off, "reservation line: quantity out of range");
        ldr__held_t *h = r->held == NULL ? NULL
                                         : ldr__held_slot(r->held, r->held_mask,
                                                          ldr__held_key(l->store, l->doc));
        ldr_str_t sid = ldr_intern_str(r->stores, l->store);
        if (h == NULL || h->key == 0)
            return ldr__fail(r, LDR_ECORRUPT, line_off,
                             "reservation line holds store \"%.*s\" sku \"%.*s\", whose entry "
                             "records nothing reserved",
                             (int)sid.len, sid.ptr, (int)sku.len, sku.ptr);
        if ((h->got += l->quantity) > h->want)
            return ldr__fail(r, LDR_ECORRUPT, line_off,
                             "reservations hold more of store \"%.*s\" sku \"%.*s\" than the "
                             "%" PRId64 " its entry records reserved",
                             (int)sid.len, sid.ptr, (int)sku.len, sku.ptr, h->want);
    }
    rc = ldr_reservations_restore(r->out->reservations, owner.ptr, owner.len, expires_at, lines, n);
    if (rc == LDR_EEXIST)
        return ldr__fail(r, LDR_ECORRUPT, off, "owner \"%.*s\" holds two reservations",
                         (int)owner.len, owner.ptr);
    if (rc != LDR_OK)
        return ldr__fail(r, LDR_ECORRUPT, off, "reservation refused: %s", ldr_strerror(rc));
    *nlines_total += n;
    return LDR_OK;
}

/* Every entry's reserved must be exactly what the lines hold; the first one (by offset) that
 * differs is reported. */
static int ldr__check_held(ldr__reader_t *r)
{
    const ldr__held_t *worst = NULL;
    for (uint32_t i = 0; r->held != NULL && i <= r->held_mask; i++) {
        const ldr__held_t *h = &r->held[i];
        if (h->key != 0 && h->got != h->want && (worst == NULL || h->off < worst->off))
            worst = h;
    }
    if (worst == NULL)
        return LDR_OK;
    return ldr__fail(r, LDR_ECORRUPT, worst->off,
                     "entry records %" PRId64 " reserved, its reservations hold %" PRId64,
                     worst->want, worst->got);
}

/* The idempotency keys; kept in out->idem when the state has a table. */
static int ldr__read_idem(ldr__reader_t *r)
{
    uint32_t n;
    int rc = ldr__r_u32(r, &n);
    for (uint32_t i = 0; rc == LDR_OK && i < n; i++) {
        size_t off = r->pos;
        ldr_str_t key;
        uint64_t fp, time;
        if ((rc = ldr__r_str(r, &key)) != LDR_OK || (rc = ldr__r_u64(r, &fp)) != LDR_OK ||
            (rc = ldr__r_u64(r, &time)) != LDR_OK)
            break;
        if (key.len == 0 || key.len > LDR_IDEM_KEY_MAX || !ldr_utf8_valid(key.ptr, key.len) ||
            memchr(key.ptr, '\0', key.len) != NULL)
            return ldr__fail(r, LDR_ECORRUPT, off, "idempotency key %" PRIu32 " is not valid", i);
        if (r->out->idem == NULL)
            continue;
        if (ldr_idem_find(r->out->idem, key.ptr, key.len, INT64_MIN / 2) != NULL)
            return ldr__fail(r, LDR_ECORRUPT, off, "idempotency key %" PRIu32 " appears twice", i);
        ldr_idem_put(r->out->idem, key.ptr, key.len, fp, (int64_t)time);
    }
    return rc;
}

/* The users, checked as USER_ADD checks them (through the command codec's rules). */
static int ldr__read_users(ldr__reader_t *r)
{
    uint32_t n;
    int rc = ldr__r_u32(r, &n);
    for (uint32_t i = 0; rc == LDR_OK && i < n; i++) {
        size_t off = r->pos;
        ldr_cmd_t c = {.type = LDR_CMD_USER_ADD};
        uint64_t created;
        if ((rc = ldr__r_str(r, &c.owner)) != LDR_OK || (rc = ldr__r_str(r, &c.email)) != LDR_OK ||
            (rc = ldr__r_str(r, &c.name)) != LDR_OK || (rc = ldr__r_str(r, &c.locale)) != LDR_OK ||
            (rc = ldr__r_u16(r, &c.role)) != LDR_OK ||
            (rc = ldr__r_str(r, &c.password_hash)) != LDR_OK ||
            (rc = ldr__r_u64(r, &created)) != LDR_OK)
            break;
        ldr_buf_t probe = LDR_BUF_INIT; /* the codec's checks are the rules for a user */
        bool ok = ldr_cmd_encode(&c, &probe) == LDR_OK;
        ldr_buf_free(&probe);
        if (!ok)
            return ldr__fail(r, LDR_ECORRUPT, off, "user %" PRIu32 " is not valid", i);
        if (r->out->users == NULL)
            continue;
        ldr_cmd_result_t res;
        if (ldr_cmd_apply(r->out, &c, (int64_t)created, &res) != LDR_OK)
            return ldr__fail(r, LDR_ECORRUPT, off, "user %" PRIu32 " repeats an email or an id", i);
    }
    return rc;
}

/* The carts, line by line through CART_SET's rules (a line may name a SKU the catalog lost: it
 * stays in the cart, and is shown as unavailable). */
/* A string field of a fixed-size buffer: fits, valid UTF-8 text, no NUL. */
static bool ldr__fits(ldr_str_t v, size_t cap)
{
    return v.len < cap && ldr_utf8_valid(v.ptr, v.len) && memchr(v.ptr, '\0', v.len) == NULL;
}

/* An order's courier, address and booking (version 6), checked as ORDER_PLACE and DELIVERY
 * check them. */
static int ldr__read_delivery(ldr__reader_t *r, ldr_order_t *o, size_t off, uint32_t i)
{
    ldr_str_t v[7];
    char *dst[7] = {o->courier,      o->address.name,     o->address.phone, o->address.line1,
                    o->address.ward, o->address.district, o->address.city};
    size_t cap[7] = {sizeof(o->courier),       sizeof(o->address.name), sizeof(o->address.phone),
                     sizeof(o->address.line1), sizeof(o->address.ward), sizeof(o->address.district),
                     sizeof(o->address.city)};
    uint16_t status = 0;
    ldr_str_t tracking, note;
    int rc = LDR_OK;
    for (int k = 0; k < 7 && rc == LDR_OK; k++)
        rc = ldr__r_str(r, &v[k]);
    if (rc != LDR_OK || (rc = ldr__r_u16(r, &status)) != LDR_OK ||
        (rc = ldr__r_str(r, &tracking)) != LDR_OK || (rc = ldr__r_str(r, &note)) != LDR_OK)
        return rc;
    bool ok = ldr_delivery_status_name(status) != NULL &&
              ldr__fits(tracking, sizeof(o->tracking)) &&
              ldr__fits(note, sizeof(o->delivery_note)) &&
              (status >= LDR_DELIVERY_BOOKED) == (tracking.len > 0) &&
              (v[0].len == 0) == (status == LDR_DELIVERY_NONE);
    for (int k = 0; ok && k < 7; k++)
        ok = ldr__fits(v[k], cap[k]) && (v[0].len > 0 || v[k].len == 0);
    if (!ok)
        return ldr__fail(r, LDR_ECORRUPT, off, "order %" PRIu32 ": its delivery is not valid", i);
    for (int k = 0; k < 7; k++)
        if (v[k].len > 0)
            memcpy(dst[k], v[k].ptr, v[k].len);
    o->delivery = (uint8_t)status;
    if (tracking.len > 0)
        memcpy(o->tracking, tracking.ptr, tracking.len);
    if (note.len > 0)
        memcpy(o->delivery_note, note.ptr, note.len);
    return LDR_OK;
}

/* The orders: each one checked, and a pending or paid one must hold its reservation. */
static int ldr__read_orders(ldr__reader_t *r, uint32_t version)
{
    uint32_t n;
    int rc = ldr__r_u32(r, &n);
    ldr_order_t *o = ldr_malloc(sizeof(*o) + LDR_ORDER_LINES_MAX * sizeof(o->lines[0]));
    for (uint32_t i = 0; rc == LDR_OK && i < n; i++) {
        size_t off = r->pos;
        ldr_str_t id = {NULL, 0}, owner = id, store = id, slot = id, reason = id, provider = id,
                  token = id, ref = {"", 0}; /* not in files before version 5 */
        uint16_t status = 0, nev = 0, nlines = 0;
        uint64_t total = 0, created = 0, pay_by = 0;
        memset(o, 0, sizeof(*o));
        if ((rc = ldr__r_str(r, &id)) != LDR_OK || (rc = ldr__r_str(r, &owner)) != LDR_OK ||
            (rc = ldr__r_str(r, &store)) != LDR_OK || (rc = ldr__r_str(r, &slot)) != LDR_OK ||
            (rc = ldr__r_str(r, &provider)) != LDR_OK || (rc = ldr__r_str(r, &token)) != LDR_OK ||
            (version >= 5 && (rc = ldr__r_str(r, &ref)) != LDR_OK) ||
            (rc = ldr__r_u16(r, &status)) != LDR_OK || (rc = ldr__r_str(r, &reason)) != LDR_OK ||
            (rc = ldr__r_u64(r, &total)) != LDR_OK || (rc = ldr__r_u64(r, &created)) != LDR_OK ||
            (rc = ldr__r_u64(r, &pay_by)) != LDR_OK || (rc = ldr__r_u16(r, &nev)) != LDR_OK)
            break;
        if (id.len < 5 || !ldr__fits(id, sizeof(o->id)) || memcmp(id.ptr, "ord-", 4) != 0 ||
            !ldr_user_id_valid(owner.ptr, owner.len) || !ldr_store_id_valid(store.ptr, store.len) ||
            !ldr__fits(slot, sizeof(o->slot)) || ldr_order_status_name(status) == NULL ||
            !ldr__fits(reason, sizeof(o->reason)) || nev == 0 || nev > LDR_ORDER_EVENTS_MAX ||
            provider.len == 0 || !ldr__fits(provider, sizeof(o->provider)) ||
            !ldr__fits(token, sizeof(o->pay_token)) || !ldr__fits(ref, sizeof(o->pay_ref)) ||
            (r->out->orders != NULL && ldr_orders_find(r->out->orders, id.ptr, id.len) != NULL)) {
            rc = ldr__fail(r, LDR_ECORRUPT, off, "order %" PRIu32 " is not valid", i);
            break; /* nothing of it is copied: the lengths are not to be trusted */
        }
        memcpy(o->id, id.ptr, id.len), memcpy(o->owner, owner.ptr, owner.len);
        memcpy(o->store, store.ptr, store.len), memcpy(o->slot, slot.ptr, slot.len);
        memcpy(o->reason, reason.ptr, reason.len), memcpy(o->provider, provider.ptr, provider.len);
        memcpy(o->pay_token, token.ptr, token.len), memcpy(o->pay_ref, ref.ptr, ref.len);
        o->status = (uint8_t)status, o->total = (int64_t)total, o->created_at = (int64_t)created;
        o->pay_by = (int64_t)pay_by, o->nevents = nev;
        for (uint16_t k = 0; rc == LDR_OK && k < nev; k++) {
            uint16_t st = 0;
            uint64_t at = 0;
            if ((rc = ldr__r_u16(r, &st)) == LDR_OK && (rc = ldr__r_u64(r, &at)) == LDR_OK &&
                ldr_order_status_name(st) == NULL)
                rc = ldr__fail(r, LDR_ECORRUPT, off, "order %" PRIu32 ": event %u", i, k);
            o->events[k] = (ldr_order_event_t){(uint8_t)st, (int64_t)at};
        }
        if (rc == LDR_OK && (rc = ldr__r_u16(r, &nlines)) == LDR_OK &&
            (nlines == 0 || nlines > LDR_ORDER_LINES_MAX))
            rc = ldr__fail(r, LDR_ECORRUPT, off, "order %" PRIu32 ": %u lines", i, nlines);
        int64_t sum = 0;
        for (uint16_t k = 0; rc == LDR_OK && k < nlines; k++) {
            size_t loff = r->pos;
            ldr_str_t sku;
            uint64_t q, price;
            uint16_t sub;
            ldr_str_t by = {NULL, 0};
            if ((rc = ldr__r_str(r, &sku)) != LDR_OK || (rc = ldr__r_u64(r, &q)) != LDR_OK ||
                (rc = ldr__r_u64(r, &price)) != LDR_OK || (rc = ldr__r_u16(r, &sub)) != LDR_OK ||
                (rc = ldr__r_str(r, &by)) != LDR_OK)
                break;
            if (!ldr_sku_valid(sku.ptr, sku.len) || q < 1 || q > LDR_CART_QUANTITY_MAX ||
                price > (uint64_t)LDR_ORDER_PRICE_MAX || sub > 1 ||
                (by.len > 0 && (sub == 0 || !ldr_sku_valid(by.ptr, by.len)))) {
                rc = ldr__fail(r, LDR_ECORRUPT, loff, "order %" PRIu32 " line %u is not valid", i,
                               k);
                break;
            }
            memset(&o->lines[k], 0, sizeof(o->lines[k]));
            memcpy(o->lines[k].sku, sku.ptr, sku.len);
            o->lines[k].quantity = (int32_t)q, o->lines[k].unit_price = (int64_t)price;
            o->lines[k].substitution_allowed = sub == 1;
            memcpy(o->lines[k].substituted_by, by.ptr, by.len);
            sum += (int64_t)(q * price);
        }
        if (rc != LDR_OK)
            break;
        o->nlines = nlines;
        if (version >= 6 && (rc = ldr__read_delivery(r, o, off, i)) != LDR_OK)
            break;
        bool holds = o->status == LDR_ORDER_PENDING_PAYMENT || o->status == LDR_ORDER_PAID;
        if (sum != o->total ||
            holds != (ldr_reservations_find(r->out->reservations, o->id, id.len) != NULL))
            rc = ldr__fail(r, LDR_ECORRUPT, off,
                           "order %" PRIu32 ": its total or its stock hold does not agree", i);
        else if (r->out->orders != NULL)
            ldr_orders_add(r->out->orders, o);
    }
    ldr_free(o);
    return rc;
}

static int ldr__read_carts(ldr__reader_t *r, uint32_t version)
{
    uint32_t n;
    int rc = ldr__r_u32(r, &n);
    for (uint32_t i = 0; rc == LDR_OK && i < n; i++) {
        size_t off = r->pos;
        ldr_str_t owner;
        uint16_t nlines;
        if ((rc = ldr__r_str(r, &owner)) != LDR_OK || (rc = ldr__r_u16(r, &nlines)) != LDR_OK)
            break;
        if (nlines == 0 || nlines > LDR_CART_LINES_MAX ||
            !ldr_user_id_valid(owner.ptr, owner.len) ||
            (r->out->carts != NULL && ldr_carts_find(r->out->carts, owner.ptr, owner.len) != NULL))
            return ldr__fail(r, LDR_ECORRUPT, off, "cart %" PRIu32 " is not valid", i);
        for (uint16_t k = 0; rc == LDR_OK && k < nlines; k++) {
            size_t loff = r->pos;
            ldr_str_t sku;
            uint64_t q;
            uint16_t subst;
            ldr_str_t repl = {"", 0};
            if ((rc = ldr__r_str(r, &sku)) != LDR_OK || (rc = ldr__r_u64(r, &q)) != LDR_OK ||
                (rc = ldr__r_u16(r, &subst)) != LDR_OK ||
                (version >= 4 && (rc = ldr__r_str(r, &repl)) != LDR_OK))
                break;
            if (!ldr_sku_valid(sku.ptr, sku.len) || q < 1 || q > LDR_CART_QUANTITY_MAX ||
                subst > 1 ||
                (repl.len > 0 && (subst == 0 || !ldr_sku_valid(repl.ptr, repl.len) ||
                                  ldr_str_eq(repl, sku.ptr, sku.len))))
                return ldr__fail(r, LDR_ECORRUPT, loff, "cart %" PRIu32 " line %u is not valid", i,
                                 (unsigned)k);
            if (r->out->carts == NULL)
                continue;
            const ldr_cart_t *sofar = ldr_carts_find(r->out->carts, owner.ptr, owner.len);
            for (uint32_t x = 0; sofar != NULL && x < sofar->nlines; x++)
                if (strlen(sofar->lines[x].sku) == sku.len &&
                    memcmp(sofar->lines[x].sku, sku.ptr, sku.len) == 0)
                    return ldr__fail(r, LDR_ECORRUPT, loff,
                                     "cart %" PRIu32 " line %u repeats a sku", i, (unsigned)k);
            ldr_carts_set(r->out->carts, owner.ptr, owner.len, sku.ptr, sku.len, (int32_t)q,
                          subst == 1, repl.ptr, repl.len);
        }
    }
    return rc;
}

static int ldr__decode(const uint8_t *p, size_t len, ldr_catalog_t *cat, ldr_state_t *out,
                       ldr_snapshot_info_t *info, const uint64_t *expect_lsn, char *err,
                       size_t errlen)
{
    ldr__reader_t r = {.p = p, .err = err, .errlen = errlen, .out = out};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out->stock == NULL || out->reservations == NULL ||
        ldr_intern_count(ldr_stock_stores(out->stock)) != 0 ||
        ldr_reservations_count(out->reservations) != 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "the state to load into is not new and empty");
        return LDR_EINVAL;
    }
    out->catalog = cat;
    r.stores = ldr_stock_stores(out->stock);

    /* the file as a whole, before anything is built */
    if (len >= 8 && memcmp(p, LDR__SNAP_MAGIC, 8) != 0)
        return ldr__fail(&r, LDR_ECORRUPT, 0, "not a snapshot (bad magic)");
    if (len < LDR__SNAP_HEADER_BYTES + LDR__SNAP_TRAILER_BYTES)
        return ldr__fail(&r, LDR_ECORRUPT, len, "truncated: %zu bytes, a snapshot has at least %d",
                         len, LDR__SNAP_HEADER_BYTES + LDR__SNAP_TRAILER_BYTES);
    uint32_t version = ldr__get_u32(p + 8);
    if (version < 1 || version > LDR_SNAPSHOT_FORMAT)
        return ldr__fail(&r, LDR_ECORRUPT, 8,
                         "format version %" PRIu32 ", this build reads 1 to %d", version,
                         LDR_SNAPSHOT_FORMAT);
    r.end = len - LDR__SNAP_TRAILER_BYTES;
    uint64_t total = ldr__get_u64(p + r.end);
    if (total != len)
        return ldr__fail(&r, LDR_ECORRUPT, r.end,
                         "the trailer says %" PRIu64
                         " bytes, there are %zu (truncated or extended)",
                         total, len);
    if (XXH3_64bits(p, len - 8) != ldr__get_u64(p + len - 8))
        return ldr__fail(&r, LDR_ECORRUPT, len - 8, "checksum mismatch");

    /* the header */
    if (ldr__get_u32(p + 12) != 0)
        return ldr__fail(&r, LDR_ECORRUPT, 12, "unknown flags 0x%" PRIx32, ldr__get_u32(p + 12));
    ldr_snapshot_info_t h = {
        .lsn = ldr__get_u64(p + 16),
        .time_ns = (int64_t)ldr__get_u64(p + 24),
        .stores = ldr__get_u32(p + 32),
        .reservations = ldr__get_u32(p + 36),
        .entries = ldr__get_u64(p + 40),
        .lots = ldr__get_u64(p + 48),
        .lines = ldr__get_u64(p + 56),
        .bytes = len,
    };
    if (expect_lsn != NULL && *expect_lsn != h.lsn)
        return ldr__fail(&r, LDR_ECORRUPT, 16,
                         "the file name says LSN %" PRIu64 ", the snapshot holds LSN %" PRIu64,
                         *expect_lsn, h.lsn);
    r.pos = LDR__SNAP_HEADER_BYTES;

    /* the sections, read by the header's counts */
    uint64_t nlots = 0, nlines = 0;
    uint32_t prev_store = 0;
    int rc = version >= 2 ? ldr__read_products(&r) : LDR_OK;
    if (rc == LDR_OK)
        rc = ldr__read_stores(&r, h.stores);
    for (uint64_t i = 0; rc == LDR_OK && i < h.entries; i++)
        rc = ldr__read_entry(&r, &prev_store, &nlots);
    for (uint32_t i = 0; rc == LDR_OK && i < h.reservations; i++)
        rc = ldr__read_reservation(&r, &nlines);
    if (rc == LDR_OK)
        rc = ldr__read_idem(&r);
    if (rc == LDR_OK)
        rc = ldr__read_users(&r);
    if (rc == LDR_OK)
        rc = ldr__read_carts(&r, version);
    if (rc == LDR_OK && version >= 3)
        rc = ldr__read_orders(&r, version);
    if (rc == LDR_OK && r.pos != r.end)
        rc = ldr__fail(&r, LDR_ECORRUPT, r.pos, "%zu bytes after the last section", r.end - r.pos);
    if (rc == LDR_OK && nlots != h.lots)
        rc = ldr__fail(&r, LDR_ECORRUPT, 48,
                       "the header counts %" PRIu64 " lots, there are %" PRIu64, h.lots, nlots);
    if (rc == LDR_OK && nlines != h.lines)
        rc = ldr__fail(&r, LDR_ECORRUPT, 56,
                       "the header counts %" PRIu64 " reservation lines, there are %" PRIu64,
                       h.lines, nlines);
    if (rc == LDR_OK)
        rc = ldr__check_held(&r);
    ldr_free(r.lots);
    ldr_free(r.lot_off);
    ldr_free(r.held);
    if (rc == LDR_OK && info != NULL)
        *info = h;
    return rc;
}

int ldr_snapshot_decode(const void *data, size_t len, ldr_catalog_t *cat, ldr_state_t *out,
                        ldr_snapshot_info_t *info, char *err, size_t errlen)
{
    return ldr__decode(data, len, cat, out, info, NULL, err, errlen);
}

static int ldr__sys_fail(char *err, size_t errlen, const char *path, const char *what, int e)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    errno = e;
    return LDR_EIO;
}

int ldr_snapshot_read(const char *path, ldr_catalog_t *cat, ldr_state_t *out,
                      ldr_snapshot_info_t *info, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ldr__sys_fail(err, errlen, path, "open", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ldr__sys_fail(err, errlen, path, "stat", e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: not a regular file", path);
        errno = EINVAL;
        return LDR_EIO;
    }
    /* read, not mmap: a file cut short under us must read as truncated, not raise SIGBUS */
    size_t size = (size_t)st.st_size, len = 0;
    uint8_t *buf = ldr_try_malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        close(fd);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %zu bytes: %s", path, size, ldr_strerror(LDR_ENOMEM));
        return LDR_ENOMEM;
    }
    while (len < size) {
        ssize_t k = pread(fd, buf + len, size - len, (off_t)len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            ldr_free(buf);
            close(fd);
            return ldr__sys_fail(err, errlen, path, "read", e);
        }
        if (k == 0)
            break; /* shorter than it was: decode says truncated */
        len += (size_t)k;
    }
    close(fd);

    const char *base = strrchr(path, '/');
    uint64_t named;
    bool has_name = ldr_snapshot_parse_name(base != NULL ? base + 1 : path, &named);
    char why[LDR_SNAPSHOT_ERR_MAX];
    int rc = ldr__decode(buf, len, cat, out, info, has_name ? &named : NULL, why, sizeof(why));
    ldr_free(buf);
    if (rc != LDR_OK && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}
