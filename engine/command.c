/*
 * Engine commands: the binary codec (the WAL payload; the format is in include/larder/command.h)
 * and the deterministic apply over the stock table and the reservations.
 */
#include "larder/command.h"

#include <string.h>

#include "larder/intern.h"

/* ---- encoding ---- */

static void ldr__put_u16(ldr_buf_t *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    ldr_buf_append(b, x, 2);
}

static void ldr__put_i64(ldr_buf_t *b, int64_t v)
{
    unsigned char x[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(u >> (8 * i));
    ldr_buf_append(b, x, 8);
}

static void ldr__put_str(ldr_buf_t *b, ldr_str_t s)
{
    ldr__put_u16(b, (uint16_t)s.len);
    ldr_buf_append(b, s.ptr, s.len);
}

static void ldr__put_u32(ldr_buf_t *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    ldr_buf_append(b, x, 4);
}

static void ldr__put_lines(ldr_buf_t *b, const ldr_cmd_line_t *lines, uint32_t n)
{
    ldr__put_u16(b, (uint16_t)n);
    for (uint32_t i = 0; i < n; i++) {
        ldr__put_str(b, lines[i].store), ldr__put_str(b, lines[i].sku);
        ldr__put_i64(b, lines[i].quantity);
    }
}

static bool ldr__text_ok(ldr_str_t s, uint32_t max)
{
    return s.len == 0 ||
           (s.len <= max && ldr_utf8_valid(s.ptr, s.len) && memchr(s.ptr, '\0', s.len) == NULL);
}

static bool ldr__owner_ok(ldr_str_t s)
{
    return s.len > 0 && s.len <= LDR_OWNER_MAX && ldr__text_ok(s, LDR_OWNER_MAX);
}

static bool ldr__item_ok(ldr_str_t store, ldr_str_t sku)
{
    return ldr_store_id_valid(store.ptr, store.len) && ldr_sku_valid(sku.ptr, sku.len);
}

static bool ldr__lines_ok(const ldr_cmd_line_t *lines, uint32_t n)
{
    if (n > LDR_RESERVE_LINES_MAX)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!ldr__item_ok(lines[i].store, lines[i].sku) || lines[i].quantity <= 0 ||
            lines[i].quantity > LDR_QUANTITY_MAX)
            return false;
    return true;
}

/* libsodium's Argon2id string: "$argon2id$" and visible ASCII, at most LDR_USER_HASH_MAX */
static bool ldr__hash_ok(ldr_str_t h)
{
    if (h.len < 10 || h.len > LDR_USER_HASH_MAX || memcmp(h.ptr, "$argon2id$", 10) != 0)
        return false;
    for (size_t i = 0; i < h.len; i++)
        if (h.ptr[i] <= 0x20 || h.ptr[i] >= 0x7f)
            return false;
    return true;
}

static bool ldr__idem_ok(const ldr_cmd_t *c)
{
    return c->idem_key.len == 0 ||
           (c->idem_key.len <= LDR_IDEM_KEY_MAX && ldr__text_ok(c->idem_key, LDR_IDEM_KEY_MAX));
}

/* The checks decode makes, so encode never writes what decode refuses. */
static bool ldr__order_id_ok(ldr_str_t s)
{
    if (s.len < 5 || s.len > LDR_ORDER_ID_MAX || memcmp(s.ptr, "ord-", 4) != 0)
        return false;
    for (size_t i = 4; i < s.len; i++)
        if (!((s.ptr[i] >= '0' && s.ptr[i] <= '9') || (s.ptr[i] >= 'a' && s.ptr[i] <= 'z')))
            return false;
    return true;
}

/* A line's substitutes: only for a line that allows them, each a valid SKU, at most
 * LDR_ORDER_ALTS_MAX, comma-separated. */
static bool ldr__alts_ok(ldr_str_t alts, bool allowed)
{
    if (alts.len == 0)
        return true;
    if (!allowed)
        return false;
    uint32_t n = 0;
    for (size_t i = 0; i <= alts.len; n++) {
        const char *comma = memchr(alts.ptr + i, ',', alts.len - i);
        size_t end = comma ? (size_t)(comma - alts.ptr) : alts.len;
        if (n == LDR_ORDER_ALTS_MAX || !ldr_sku_valid(alts.ptr + i, end - i))
            return false;
        i = end + 1;
    }
    return true;
}

/* A delivery address's phone in national form: 0 and 9 or 10 digits. */
static bool ldr__phone_ok(ldr_str_t p)
{
    if (p.len < 10 || p.len > LDR_ADDR_PHONE_MAX || p.ptr[0] != '0')
        return false;
    for (size_t i = 0; i < p.len; i++)
        if (p.ptr[i] < '0' || p.ptr[i] > '9')
            return false;
    return true;
}

/* ORDER_PLACE's delivery section: none at all, or a courier with a whole address (only for a
 * same-day order, which has a slot). */
static bool ldr__delivery_ok(const ldr_cmd_t *c)
{
    if (c->courier.len == 0)
        return c->address.name.len == 0 && c->address.phone.len == 0 && c->address.line1.len == 0 &&
               c->address.ward.len == 0 && c->address.district.len == 0 && c->address.city.len == 0;
    return c->slot.len > 0 && c->courier.len <= LDR_COURIER_MAX &&
           ldr__text_ok(c->courier, LDR_COURIER_MAX) && c->address.name.len > 0 &&
           ldr__text_ok(c->address.name, LDR_ADDR_NAME_MAX) && ldr__phone_ok(c->address.phone) &&
           c->address.line1.len > 0 && ldr__text_ok(c->address.line1, LDR_ADDR_LINE_MAX) &&
           ldr__text_ok(c->address.ward, LDR_ADDR_PART_MAX) && c->address.district.len > 0 &&
           ldr__text_ok(c->address.district, LDR_ADDR_PART_MAX) && c->address.city.len > 0 &&
           ldr__text_ok(c->address.city, LDR_ADDR_PART_MAX);
}

static bool ldr__cmd_ok(const ldr_cmd_t *c)
{
    if (c->idem_key.len > 0 && c->type != LDR_CMD_RECEIVE && c->type != LDR_CMD_ADJUST &&
        c->type != LDR_CMD_SET && c->type != LDR_CMD_ORDER_PLACE && c->type != LDR_CMD_ORDER_REFUND)
        return false;
    if (!ldr__idem_ok(c))
        return false;
    switch (c->type) {
    case LDR_CMD_RECEIVE:
        return ldr__item_ok(c->store, c->sku) && ldr_lot_id_valid(c->lot.ptr, c->lot.len) &&
               c->quantity > 0 && c->quantity <= LDR_QUANTITY_MAX;
    case LDR_CMD_ADJUST:
        return ldr__item_ok(c->store, c->sku) && ldr__text_ok(c->reason, LDR_REASON_MAX) &&
               c->quantity >= -LDR_QUANTITY_MAX && c->quantity <= LDR_QUANTITY_MAX;
    case LDR_CMD_SET:
        return ldr__item_ok(c->store, c->sku) && ldr__text_ok(c->reason, LDR_REASON_MAX) &&
               c->quantity >= 0 && c->quantity <= LDR_QUANTITY_MAX;
    case LDR_CMD_RESERVE:
        return ldr__owner_ok(c->owner) && c->nlines > 0 && ldr__lines_ok(c->lines, c->nlines);
    case LDR_CMD_COMMIT:
    case LDR_CMD_RELEASE:
        return ldr__owner_ok(c->owner) &&
               (!c->has_effects || (c->nlines > 0 && ldr__lines_ok(c->lines, c->nlines) &&
                                    c->shortfall >= 0 && c->shortfall <= LDR_QUANTITY_MAX));
    case LDR_CMD_TICK:
        return true; /* its effects are checked where they are read */
    case LDR_CMD_CART_SET:
        /* a replacement is another product, and only where substitution is allowed */
        return ldr_user_id_valid(c->owner.ptr, c->owner.len) &&
               ldr_sku_valid(c->sku.ptr, c->sku.len) && c->quantity >= 0 &&
               c->quantity <= LDR_CART_QUANTITY_MAX &&
               (c->replacement.len == 0 ||
                (c->substitution_allowed && ldr_sku_valid(c->replacement.ptr, c->replacement.len) &&
                 !ldr_str_eq(c->replacement, c->sku.ptr, c->sku.len)));
    case LDR_CMD_PRODUCT_PUT:
        /* the product itself is checked when it applies: a bad one is refused, never logged */
        return c->product.len >= 2 && c->product.len <= LDR_PRODUCT_JSON_MAX;
    case LDR_CMD_PRODUCT_DEL:
        return ldr_sku_valid(c->sku.ptr, c->sku.len);
    case LDR_CMD_ORDER_PLACE:
        if (!ldr__order_id_ok(c->order) || !ldr_user_id_valid(c->owner.ptr, c->owner.len) ||
            !ldr_store_id_valid(c->store.ptr, c->store.len) || c->slot.len > LDR_SLOT_ID_MAX ||
            !ldr__text_ok(c->slot, LDR_SLOT_ID_MAX) || c->quantity < 0 ||
            c->quantity > UINT16_MAX || c->nlines == 0 || c->nlines > LDR_ORDER_LINES_MAX ||
            c->provider.len == 0 || c->provider.len > 15 || !ldr__text_ok(c->provider, 15) ||
            c->pay_token.len > LDR_PAY_TOKEN_MAX ||
            !ldr__text_ok(c->pay_token, LDR_PAY_TOKEN_MAX) || !ldr__delivery_ok(c))
            return false;
        for (uint32_t i = 0; i < c->nlines; i++)
            if (!ldr_sku_valid(c->lines[i].sku.ptr, c->lines[i].sku.len) ||
                c->lines[i].quantity <= 0 || c->lines[i].quantity > LDR_CART_QUANTITY_MAX ||
                c->lines[i].price < 0 || c->lines[i].price > LDR_ORDER_PRICE_MAX ||
                !ldr__alts_ok(c->lines[i].alts, (c->substitute[i / 8] >> (i % 8)) & 1))
                return false;
        return true;
    case LDR_CMD_ORDER_PAID:
        return ldr__order_id_ok(c->order) && c->pay_ref.len <= LDR_PAY_REF_MAX &&
               ldr__text_ok(c->pay_ref, LDR_PAY_REF_MAX);
    case LDR_CMD_ORDER_CANCEL:
    case LDR_CMD_ORDER_REFUND:
        return ldr__order_id_ok(c->order) && ldr__text_ok(c->reason, 64);
    case LDR_CMD_ORDER_STATUS:
        return ldr__order_id_ok(c->order) && c->role >= LDR_ORDER_PICKING &&
               c->role <= LDR_ORDER_DELIVERED;
    case LDR_CMD_DELIVERY:
        return ldr__order_id_ok(c->order) && c->role >= LDR_DELIVERY_BOOKING_FAILED &&
               c->role <= LDR_DELIVERY_FAILED &&
               (c->role == LDR_DELIVERY_BOOKED) == (c->tracking.len > 0) &&
               ldr__text_ok(c->tracking, LDR_TRACKING_MAX) && ldr__text_ok(c->reason, 64);
    case LDR_CMD_USER_ADD:
        return ldr_user_id_valid(c->owner.ptr, c->owner.len) &&
               ldr_email_valid(c->email.ptr, c->email.len) && c->name.len > 0 &&
               ldr__text_ok(c->name, LDR_USER_NAME_MAX) &&
               (ldr_str_eq(c->locale, "vi", 2) || ldr_str_eq(c->locale, "en", 2)) && c->role >= 1 &&
               c->role <= 3 && ldr__hash_ok(c->password_hash);
    }
    return false;
}

static void ldr__put_request(ldr_buf_t *out, const ldr_cmd_t *c)
{
    if (c->idem_key.len == 0)
        return;
    ldr__put_str(out, c->idem_key);
    ldr__put_i64(out, (int64_t)c->idem_fingerprint);
}

int ldr_cmd_encode(const ldr_cmd_t *c, ldr_buf_t *out)
{
    if (!ldr__cmd_ok(c))
        return LDR_EINVAL;
    switch (c->type) {
    case LDR_CMD_RECEIVE:
        ldr__put_str(out, c->store), ldr__put_str(out, c->sku), ldr__put_str(out, c->lot);
        ldr__put_i64(out, c->quantity), ldr__put_i64(out, c->expires_at);
        ldr__put_request(out, c);
        break;
    case LDR_CMD_ADJUST:
    case LDR_CMD_SET:
        ldr__put_str(out, c->store), ldr__put_str(out, c->sku), ldr__put_str(out, c->reason);
        ldr__put_i64(out, c->quantity);
        ldr__put_request(out, c);
        break;
    case LDR_CMD_RESERVE:
        ldr__put_str(out, c->owner), ldr__put_i64(out, c->expires_at);
        ldr__put_lines(out, c->lines, c->nlines);
        break;
    case LDR_CMD_COMMIT:
    case LDR_CMD_RELEASE:
        ldr__put_str(out, c->owner);
        if (c->has_effects) {
            ldr__put_lines(out, c->lines, c->nlines);
            if (c->type == LDR_CMD_COMMIT)
                ldr__put_i64(out, c->shortfall);
        }
        break;
    case LDR_CMD_TICK:
        if (c->has_effects)
            ldr_buf_append(out, c->effects.ptr, c->effects.len);
        break;
    case LDR_CMD_CART_SET:
        ldr__put_str(out, c->owner), ldr__put_str(out, c->sku), ldr__put_i64(out, c->quantity);
        ldr__put_u16(out, c->substitution_allowed ? 1 : 0);
        if (c->replacement.len > 0) /* absent from records older than replacements */
            ldr__put_str(out, c->replacement);
        break;
    case LDR_CMD_PRODUCT_PUT:
        ldr__put_str(out, c->product);
        break;
    case LDR_CMD_PRODUCT_DEL:
        ldr__put_str(out, c->sku);
        break;
    case LDR_CMD_ORDER_PLACE:
        ldr__put_str(out, c->order), ldr__put_str(out, c->owner), ldr__put_str(out, c->store);
        ldr__put_str(out, c->slot), ldr__put_i64(out, c->quantity);
        ldr__put_i64(out, c->expires_at), ldr__put_str(out, c->provider);
        ldr__put_str(out, c->pay_token);
        ldr__put_u16(out, (uint16_t)c->nlines);
        for (uint32_t i = 0; i < c->nlines; i++) {
            ldr__put_str(out, c->lines[i].sku);
            ldr__put_i64(out, c->lines[i].quantity), ldr__put_i64(out, c->lines[i].price);
            ldr__put_u16(out, (c->substitute[i / 8] >> (i % 8)) & 1);
            ldr__put_str(out, c->lines[i].alts);
        }
        ldr__put_request(out, c);
        if (c->courier.len > 0) {
            if (c->idem_key.len == 0)
                ldr__put_u16(out, 0); /* no request: an empty key keeps the place */
            ldr__put_str(out, c->courier), ldr__put_str(out, c->address.name);
            ldr__put_str(out, c->address.phone), ldr__put_str(out, c->address.line1);
            ldr__put_str(out, c->address.ward), ldr__put_str(out, c->address.district);
            ldr__put_str(out, c->address.city);
        }
        break;
    case LDR_CMD_ORDER_PAID:
        ldr__put_str(out, c->order);
        if (c->pay_ref.len > 0) /* absent from records older than payment references */
            ldr__put_str(out, c->pay_ref);
        break;
    case LDR_CMD_ORDER_CANCEL:
        ldr__put_str(out, c->order), ldr__put_str(out, c->reason);
        break;
    case LDR_CMD_ORDER_REFUND:
        ldr__put_str(out, c->order), ldr__put_str(out, c->reason);
        ldr__put_request(out, c);
        break;
    case LDR_CMD_ORDER_STATUS:
        ldr__put_str(out, c->order), ldr__put_u16(out, c->role);
        break;
    case LDR_CMD_DELIVERY:
        ldr__put_str(out, c->order), ldr__put_u16(out, c->role);
        ldr__put_str(out, c->tracking), ldr__put_str(out, c->reason);
        break;
    case LDR_CMD_USER_ADD:
        ldr__put_str(out, c->owner), ldr__put_str(out, c->email), ldr__put_str(out, c->name);
        ldr__put_str(out, c->locale), ldr__put_u16(out, c->role);
        ldr__put_str(out, c->password_hash);
        break;
    }
    return LDR_OK;
}

/* ---- decoding ---- */

typedef struct ldr__reader {
    const unsigned char *p, *end;
    bool bad;
} ldr__reader_t;

static uint16_t ldr__get_u16(ldr__reader_t *r)
{
    if (r->end - r->p < 2) {
        r->bad = true;
        return 0;
    }
    uint16_t v = (uint16_t)(r->p[0] | r->p[1] << 8);
    r->p += 2;
    return v;
}

static int64_t ldr__get_i64(ldr__reader_t *r)
{
    if (r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | r->p[i];
    r->p += 8;
    return (int64_t)u;
}

static ldr_str_t ldr__get_str(ldr__reader_t *r)
{
    uint16_t n = ldr__get_u16(r);
    if (r->bad || r->end - r->p < n) {
        r->bad = true;
        return (ldr_str_t){"", 0};
    }
    ldr_str_t s = {(const char *)r->p, n};
    r->p += n;
    return s;
}

static uint32_t ldr__get_u32(ldr__reader_t *r)
{
    if (r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static bool ldr__get_lines(ldr__reader_t *r, ldr_cmd_t *c, ldr_cmd_line_t *lines)
{
    c->nlines = ldr__get_u16(r);
    if (c->nlines > LDR_RESERVE_LINES_MAX)
        return false;
    for (uint32_t i = 0; i < c->nlines && !r->bad; i++) {
        lines[i].store = ldr__get_str(r), lines[i].sku = ldr__get_str(r);
        lines[i].quantity = ldr__get_i64(r);
    }
    c->lines = lines;
    return !r->bad;
}

/*
 * Reads a TICK's effects, checking every field, and (with cb) hands each expiry to cb as an
 * event.  Returns false when the bytes are not well-formed effects; consumes them all.
 */
static bool ldr__tick_walk(ldr__reader_t *r, ldr_event_cb cb, void *ctx, ldr_cmd_line_t *lines)
{
    uint32_t nlots = ldr__get_u32(r);
    for (uint32_t i = 0; i < nlots && !r->bad; i++) {
        ldr_event_t ev = {.name = "LotExpired"};
        ev.store = ldr__get_str(r), ev.sku = ldr__get_str(r), ev.lot = ldr__get_str(r);
        ev.quantity = ldr__get_i64(r), ev.expires_at = ldr__get_i64(r);
        if (r->bad || !ldr__item_ok(ev.store, ev.sku) ||
            !ldr_lot_id_valid(ev.lot.ptr, ev.lot.len) || ev.quantity <= 0 ||
            ev.quantity > LDR_QUANTITY_MAX)
            return false;
        if (cb != NULL)
            cb(ctx, &ev);
    }
    uint32_t nres = ldr__get_u32(r);
    for (uint32_t i = 0; i < nres && !r->bad; i++) {
        ldr_cmd_t c = {.type = LDR_CMD_RELEASE, .has_effects = true};
        c.owner = ldr__get_str(r);
        if (!ldr__get_lines(r, &c, lines) || !ldr__cmd_ok(&c))
            return false;
        if (cb != NULL) {
            ldr_event_t ev = {.name = "ReservationExpired",
                              .owner = c.owner,
                              .expires_at = LDR_NO_EXPIRY,
                              .nlines = c.nlines,
                              .lines = lines};
            cb(ctx, &ev);
        }
    }
    return !r->bad && r->p == r->end;
}

/* The optional request section: present when bytes remain; a present key is never empty. */
static void ldr__get_request(ldr__reader_t *r, ldr_cmd_t *c)
{
    if (r->bad || r->p == r->end)
        return;
    c->idem_key = ldr__get_str(r);
    c->idem_fingerprint = (uint64_t)ldr__get_i64(r);
    if (c->idem_key.len == 0)
        r->bad = true;
}

int ldr_cmd_decode(uint16_t type, const void *data, size_t len, ldr_cmd_t *c, ldr_cmd_line_t *lines)
{
    ldr__reader_t r = {data, (const unsigned char *)data + len, false};
    memset(c, 0, sizeof(*c));
    c->type = type;
    switch (type) {
    case LDR_CMD_RECEIVE:
        c->store = ldr__get_str(&r), c->sku = ldr__get_str(&r), c->lot = ldr__get_str(&r);
        c->quantity = ldr__get_i64(&r), c->expires_at = ldr__get_i64(&r);
        ldr__get_request(&r, c);
        break;
    case LDR_CMD_ADJUST:
    case LDR_CMD_SET:
        c->store = ldr__get_str(&r), c->sku = ldr__get_str(&r), c->reason = ldr__get_str(&r);
        c->quantity = ldr__get_i64(&r);
        ldr__get_request(&r, c);
        break;
    case LDR_CMD_RESERVE:
        c->owner = ldr__get_str(&r), c->expires_at = ldr__get_i64(&r);
        if (!ldr__get_lines(&r, c, lines))
            return LDR_EPARSE;
        break;
    case LDR_CMD_COMMIT:
    case LDR_CMD_RELEASE:
        c->owner = ldr__get_str(&r);
        if (r.p < r.end) {
            c->has_effects = true;
            if (!ldr__get_lines(&r, c, lines))
                return LDR_EPARSE;
            if (type == LDR_CMD_COMMIT)
                c->shortfall = ldr__get_i64(&r);
        }
        break;
    case LDR_CMD_CART_SET: {
        c->owner = ldr__get_str(&r), c->sku = ldr__get_str(&r), c->quantity = ldr__get_i64(&r);
        uint16_t flag = ldr__get_u16(&r);
        if (flag > 1)
            return LDR_EPARSE;
        c->substitution_allowed = flag == 1;
        if (r.p < r.end) {
            c->replacement = ldr__get_str(&r);
            if (c->replacement.len == 0) /* written only when there is one: one encoding */
                return LDR_EPARSE;
        }
        break;
    }
    case LDR_CMD_PRODUCT_PUT:
        c->product = ldr__get_str(&r);
        break;
    case LDR_CMD_PRODUCT_DEL:
        c->sku = ldr__get_str(&r);
        break;
    case LDR_CMD_ORDER_PLACE:
        c->order = ldr__get_str(&r), c->owner = ldr__get_str(&r), c->store = ldr__get_str(&r);
        c->slot = ldr__get_str(&r), c->quantity = ldr__get_i64(&r);
        c->expires_at = ldr__get_i64(&r), c->provider = ldr__get_str(&r);
        c->pay_token = ldr__get_str(&r);
        c->nlines = ldr__get_u16(&r);
        if (c->nlines > LDR_ORDER_LINES_MAX)
            return LDR_EPARSE;
        for (uint32_t i = 0; i < c->nlines && !r.bad; i++) {
            lines[i].store = c->store, lines[i].sku = ldr__get_str(&r);
            lines[i].quantity = ldr__get_i64(&r), lines[i].price = ldr__get_i64(&r);
            uint16_t sub = ldr__get_u16(&r);
            if (sub > 1)
                return LDR_EPARSE;
            c->substitute[i / 8] |= (uint8_t)(sub << (i % 8));
            lines[i].alts = ldr__get_str(&r);
        }
        c->lines = lines;
        if (!r.bad && r.p < r.end) {
            c->idem_key = ldr__get_str(&r);
            if (c->idem_key.len > 0)
                c->idem_fingerprint = (uint64_t)ldr__get_i64(&r);
            else if (r.p == r.end) /* an empty key only keeps the place of a delivery section */
                return LDR_EPARSE;
        }
        if (!r.bad && r.p < r.end) {
            c->courier = ldr__get_str(&r), c->address.name = ldr__get_str(&r);
            c->address.phone = ldr__get_str(&r), c->address.line1 = ldr__get_str(&r);
            c->address.ward = ldr__get_str(&r), c->address.district = ldr__get_str(&r);
            c->address.city = ldr__get_str(&r);
            if (c->courier.len == 0) /* written only when there is one: one encoding */
                return LDR_EPARSE;
        }
        break;
    case LDR_CMD_ORDER_PAID:
        c->order = ldr__get_str(&r);
        if (r.p < r.end) {
            c->pay_ref = ldr__get_str(&r);
            if (c->pay_ref.len == 0) /* written only when there is one: one encoding */
                return LDR_EPARSE;
        }
        break;
    case LDR_CMD_ORDER_CANCEL:
        c->order = ldr__get_str(&r), c->reason = ldr__get_str(&r);
        break;
    case LDR_CMD_ORDER_REFUND:
        c->order = ldr__get_str(&r), c->reason = ldr__get_str(&r);
        ldr__get_request(&r, c);
        break;
    case LDR_CMD_ORDER_STATUS:
        c->order = ldr__get_str(&r), c->role = ldr__get_u16(&r);
        break;
    case LDR_CMD_DELIVERY:
        c->order = ldr__get_str(&r), c->role = ldr__get_u16(&r);
        c->tracking = ldr__get_str(&r), c->reason = ldr__get_str(&r);
        break;
    case LDR_CMD_USER_ADD:
        c->owner = ldr__get_str(&r), c->email = ldr__get_str(&r), c->name = ldr__get_str(&r);
        c->locale = ldr__get_str(&r), c->role = ldr__get_u16(&r);
        c->password_hash = ldr__get_str(&r);
        break;
    case LDR_CMD_TICK:
        if (r.p < r.end) {
            c->has_effects = true;
            c->effects = (ldr_str_t){(const char *)r.p, (size_t)(r.end - r.p)};
            if (!ldr__tick_walk(&r, NULL, NULL, lines))
                return LDR_EPARSE;
        }
        break;
    default:
        return LDR_EPARSE;
    }
    if (r.bad || r.p != r.end || !ldr__cmd_ok(c))
        return LDR_EPARSE;
    return LDR_OK;
}

/* ---- apply ---- */

/* The (store, doc) of an item; LDR_ENOENT when the SKU is unknown.  A store is created on first
 * mention only when `create` (receiving into a new store opens it). */
static int ldr__resolve(ldr_state_t *s, ldr_str_t store, ldr_str_t sku, bool create,
                        uint32_t *store_id, uint32_t *doc)
{
    if (ldr_catalog_lookup(s->catalog, sku.ptr, sku.len, doc) == NULL)
        return LDR_ENOENT;
    *store_id = create ? ldr_stock_store_put(s->stock, store.ptr, store.len)
                       : ldr_stock_store_find(s->stock, store.ptr, store.len);
    return *store_id == UINT32_MAX ? LDR_ENOENT : LDR_OK;
}

/* Where a TICK writes its effects (out may be NULL: nothing is written). */
typedef struct ldr__tick_sink {
    ldr_state_t *s;
    ldr_buf_t *out;
    int64_t now;
} ldr__tick_sink_t;

static void ldr__patch_u32(ldr_buf_t *b, size_t at, uint32_t v)
{
    unsigned char *p = (unsigned char *)b->base + at;
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
}

static void ldr__expired_lot(void *ctx, uint32_t store, uint32_t doc, const ldr_lot_t *lot)
{
    ldr__tick_sink_t *t = ctx;
    if (t->out == NULL)
        return;
    ldr__put_str(t->out, ldr_intern_str(ldr_stock_stores(t->s->stock), store));
    ldr__put_str(t->out, ldr_catalog_record(t->s->catalog, doc)->sku);
    ldr__put_str(t->out, (ldr_str_t){lot->id, strlen(lot->id)});
    ldr__put_i64(t->out, lot->quantity), ldr__put_i64(t->out, lot->expires_at);
}

/* A reservation's lines as the log names them: store ids and SKUs, not in-memory ids. */
static void ldr__put_reservation_lines(ldr_buf_t *b, const ldr_state_t *s,
                                       const ldr_reservation_t *held)
{
    ldr__put_u16(b, (uint16_t)held->nlines);
    for (uint32_t i = 0; i < held->nlines; i++) {
        ldr__put_str(b, ldr_intern_str(ldr_stock_stores(s->stock), held->lines[i].store));
        ldr__put_str(b, ldr_catalog_record(s->catalog, held->lines[i].doc)->sku);
        ldr__put_i64(b, held->lines[i].quantity);
    }
}

/* A hold that expired: logged with the tick, and an order still waiting for its payment is
 * cancelled (its deadline was the hold's expiry). */
static void ldr__expired_hold(void *ctx, const ldr_reservation_t *held)
{
    ldr__tick_sink_t *t = ctx;
    size_t len = strlen(held->owner);
    if (t->out != NULL) {
        ldr__put_str(t->out, (ldr_str_t){held->owner, len});
        ldr__put_reservation_lines(t->out, t->s, held);
    }
    const ldr_order_t *o = t->s->orders ? ldr_orders_find(t->s->orders, held->owner, len) : NULL;
    if (o != NULL && o->status == LDR_ORDER_PENDING_PAYMENT)
        ldr_orders_set_status(t->s->orders, held->owner, len, LDR_ORDER_CANCELLED,
                              "payment_timeout", 15, t->now);
}

/* Copies a checked string into a zeroed buffer that has room for it (an empty one may have no
 * pointer at all). */
static void ldr__copy(char *dst, ldr_str_t s)
{
    if (s.len > 0)
        memcpy(dst, s.ptr, s.len);
}

/* What of doc is free at store for line i: its availability less what the lines before i
 * (as they will be held) take of it. */
static int64_t ldr__free_stock(const ldr_state_t *s, uint32_t store,
                               const ldr_reserve_line_t *lines, uint32_t i, uint32_t doc)
{
    int64_t free_ = ldr_stock_available(ldr_stock_get(s->stock, store, doc));
    for (uint32_t j = 0; j < i; j++)
        if (lines[j].doc == doc)
            free_ -= lines[j].quantity;
    return free_;
}

/* ORDER_PLACE: every line held or none, a place in the delivery window, the order, and the
 * ordered lines out of the customer's cart. */
static int ldr__order_place(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res)
{
    if (s->orders == NULL)
        return LDR_EINVAL;
    if (ldr_orders_find(s->orders, c->order.ptr, c->order.len) != NULL ||
        ldr_reservations_find(s->reservations, c->order.ptr, c->order.len) != NULL)
        return LDR_EEXIST;
    uint32_t store = ldr_stock_store_find(s->stock, c->store.ptr, c->store.len);
    if (store == UINT32_MAX)
        return LDR_ENOENT;
    ldr_reserve_line_t lines[LDR_ORDER_LINES_MAX];
    for (uint32_t i = 0; i < c->nlines; i++) {
        lines[i] = (ldr_reserve_line_t){store, 0, c->lines[i].quantity};
        if (ldr_catalog_lookup(s->catalog, c->lines[i].sku.ptr, c->lines[i].sku.len,
                               &lines[i].doc) == NULL)
            res->short_idx[res->nshort++] = i; /* unknown: nothing of it can be held */
    }
    if (res->nshort > 0)
        return LDR_ESHORT;
    if (c->slot.len > 0 &&
        ldr_orders_slot_held(s->orders, c->slot.ptr, c->slot.len) >= (uint64_t)c->quantity)
        return LDR_EFULL;
    /* a short line that allows it takes the first of its substitutes that has enough */
    uint32_t alt_doc[LDR_ORDER_LINES_MAX];
    for (uint32_t i = 0; i < c->nlines; i++) {
        alt_doc[i] = UINT32_MAX;
        if (c->lines[i].alts.len == 0 ||
            ldr__free_stock(s, store, lines, i, lines[i].doc) >= lines[i].quantity)
            continue;
        ldr_str_t alts = c->lines[i].alts;
        for (size_t at = 0; at <= alts.len && alt_doc[i] == UINT32_MAX;) {
            const char *comma = memchr(alts.ptr + at, ',', alts.len - at);
            size_t end = comma ? (size_t)(comma - alts.ptr) : alts.len;
            uint32_t doc;
            if (ldr_catalog_lookup(s->catalog, alts.ptr + at, end - at, &doc) != NULL &&
                ldr__free_stock(s, store, lines, i, doc) >= lines[i].quantity)
                alt_doc[i] = doc, lines[i].doc = doc;
            at = end + 1;
        }
    }
    int rc = ldr_reservations_reserve(s->reservations, s->stock, c->order.ptr, c->order.len, lines,
                                      c->nlines, c->expires_at, res->short_idx, &res->nshort);
    if (rc != LDR_OK)
        return rc;
    ldr_order_t *o = ldr_calloc(1, sizeof(*o) + c->nlines * sizeof(o->lines[0]));
    ldr__copy(o->id, c->order);
    ldr__copy(o->owner, c->owner);
    ldr__copy(o->store, c->store);
    ldr__copy(o->slot, c->slot);
    ldr__copy(o->provider, c->provider);
    ldr__copy(o->pay_token, c->pay_token);
    if (c->courier.len > 0) {
        ldr__copy(o->courier, c->courier);
        ldr__copy(o->address.name, c->address.name);
        ldr__copy(o->address.phone, c->address.phone);
        ldr__copy(o->address.line1, c->address.line1);
        ldr__copy(o->address.ward, c->address.ward);
        ldr__copy(o->address.district, c->address.district);
        ldr__copy(o->address.city, c->address.city);
        o->delivery = LDR_DELIVERY_PENDING;
    }
    o->status = LDR_ORDER_PENDING_PAYMENT;
    o->created_at = now, o->pay_by = c->expires_at;
    o->events[o->nevents++] = (ldr_order_event_t){LDR_ORDER_PENDING_PAYMENT, now};
    o->nlines = c->nlines;
    for (uint32_t i = 0; i < c->nlines; i++) {
        ldr__copy(o->lines[i].sku, c->lines[i].sku);
        o->lines[i].quantity = (int32_t)c->lines[i].quantity;
        o->lines[i].unit_price = c->lines[i].price;
        o->lines[i].substitution_allowed = (c->substitute[i / 8] >> (i % 8)) & 1;
        if (alt_doc[i] != UINT32_MAX) {
            ldr_str_t by = ldr_catalog_record(s->catalog, alt_doc[i])->sku;
            memcpy(o->lines[i].substituted_by, by.ptr, by.len);
        }
        o->total += c->lines[i].quantity * c->lines[i].price;
    }
    ldr_orders_add(s->orders, o);
    ldr_free(o);
    for (uint32_t i = 0; s->carts != NULL && i < c->nlines; i++)
        ldr_carts_set(s->carts, c->owner.ptr, c->owner.len, c->lines[i].sku.ptr,
                      c->lines[i].sku.len, 0, false, NULL, 0); /* not in the cart: nothing */
    return LDR_OK;
}

/* ORDER_PAID, ORDER_CANCEL, ORDER_STATUS and ORDER_REFUND: the moves the status machine allows;
 * LDR_ECONFLICT for any other. */
static int ldr__order_move(ldr_state_t *s, const ldr_cmd_t *c, int64_t now)
{
    const ldr_order_t *o =
        s->orders != NULL ? ldr_orders_find(s->orders, c->order.ptr, c->order.len) : NULL;
    if (o == NULL)
        return LDR_ENOENT;
    if (c->type == LDR_CMD_ORDER_PAID) {
        if (o->status != LDR_ORDER_PENDING_PAYMENT)
            return LDR_ECONFLICT;
        /* paid: the goods stay held until they are picked */
        ldr_reservations_set_expiry(s->reservations, c->order.ptr, c->order.len, LDR_NO_EXPIRY);
        ldr_orders_set_pay_ref(s->orders, c->order.ptr, c->order.len, c->pay_ref.ptr,
                               c->pay_ref.len);
        return ldr_orders_set_status(s->orders, c->order.ptr, c->order.len, LDR_ORDER_PAID, "", 0,
                                     now);
    }
    if (c->type == LDR_CMD_ORDER_STATUS) {
        /* fulfilment: paid → picking (the held goods leave stock, FEFO) → ready for pickup or
         * out for delivery (as the order was placed) → delivered */
        int to = c->role, from = o->status;
        bool ok =
            (from == LDR_ORDER_PAID && to == LDR_ORDER_PICKING) ||
            (from == LDR_ORDER_PICKING && to == LDR_ORDER_READY_FOR_PICKUP && o->slot[0] == '\0') ||
            (from == LDR_ORDER_PICKING && to == LDR_ORDER_OUT_FOR_DELIVERY && o->slot[0] != '\0') ||
            ((from == LDR_ORDER_READY_FOR_PICKUP || from == LDR_ORDER_OUT_FOR_DELIVERY) &&
             to == LDR_ORDER_DELIVERED);
        if (!ok)
            return LDR_ECONFLICT;
        if (to == LDR_ORDER_PICKING) {
            int64_t shortfall;
            ldr_reservations_commit(s->reservations, s->stock, c->order.ptr, c->order.len,
                                    &shortfall);
        }
        return ldr_orders_set_status(s->orders, c->order.ptr, c->order.len, to, o->reason,
                                     strlen(o->reason), now);
    }
    if (c->type == LDR_CMD_ORDER_REFUND) {
        /* whatever was paid: before picking the goods are still held and go back; after it they
         * left stock (what comes back is received again by hand, checked, not assumed) */
        if (o->status < LDR_ORDER_PAID || o->status > LDR_ORDER_DELIVERED)
            return LDR_ECONFLICT;
        if (o->status == LDR_ORDER_PAID)
            ldr_reservations_release(s->reservations, s->stock, c->order.ptr, c->order.len);
        return ldr_orders_set_status(s->orders, c->order.ptr, c->order.len, LDR_ORDER_REFUNDED,
                                     c->reason.ptr, c->reason.len, now);
    }
    if (o->status != LDR_ORDER_PENDING_PAYMENT && o->status != LDR_ORDER_PAID)
        return LDR_ECONFLICT;
    ldr_reservations_release(s->reservations, s->stock, c->order.ptr, c->order.len);
    return ldr_orders_set_status(s->orders, c->order.ptr, c->order.len, LDR_ORDER_CANCELLED,
                                 c->reason.ptr, c->reason.len, now);
}

/*
 * DELIVERY: the booking's moves.  A booking is recorded whatever the order's status (a courier
 * booked for an order cancelled meanwhile is then cancelled too); a failed booking only before
 * one succeeded; the courier's progress only once booked.  LDR_ECONFLICT for any other move (a
 * repeated webhook, a late answer), LDR_EINVAL for an order without a courier.
 */
static int ldr__delivery(ldr_state_t *s, const ldr_cmd_t *c)
{
    const ldr_order_t *o =
        s->orders != NULL ? ldr_orders_find(s->orders, c->order.ptr, c->order.len) : NULL;
    if (o == NULL)
        return LDR_ENOENT;
    if (o->courier[0] == '\0')
        return LDR_EINVAL;
    int from = o->delivery, to = c->role;
    bool unbooked = from == LDR_DELIVERY_PENDING || from == LDR_DELIVERY_BOOKING_FAILED,
         live = from == LDR_DELIVERY_BOOKED || from == LDR_DELIVERY_IN_TRANSIT;
    bool ok = to == LDR_DELIVERY_BOOKING_FAILED ? from == LDR_DELIVERY_PENDING
              : to == LDR_DELIVERY_BOOKED       ? unbooked
              : to == LDR_DELIVERY_IN_TRANSIT   ? from == LDR_DELIVERY_BOOKED
                                                : live; /* delivered, cancelled, failed */
    if (!ok)
        return LDR_ECONFLICT;
    return ldr_orders_set_delivery(s->orders, c->order.ptr, c->order.len, to, c->tracking.ptr,
                                   c->tracking.len, c->reason.ptr, c->reason.len);
}

/* PRODUCT_PUT: the product as sent, unless the catalog already says exactly that. */
static int ldr__product_put(ldr_state_t *s, const ldr_cmd_t *c, ldr_cmd_result_t *res)
{
    if (s->catalog_fixed) {
        res->noop = true;
        return LDR_OK;
    }
    ldr_product_input_t in;
    ldr_error_t err;
    if (ldr_product_parse(c->product.ptr, c->product.len, &in, &err) != LDR_OK)
        return LDR_EINVAL;
    uint32_t doc;
    const ldr_product_t *p = ldr_catalog_find(s->catalog, in.p.sku.ptr, in.p.sku.len, NULL);
    int rc = LDR_OK;
    res->created = p == NULL;
    if (p != NULL && ldr_catalog_same(s->catalog, p, &in))
        res->noop = true;
    else if ((rc = ldr_catalog_upsert(s->catalog, &in, &doc)) == LDR_OK)
        ldr_catalog_set_logged(s->catalog, doc);
    ldr_product_input_clear(&in);
    return rc;
}

int ldr_cmd_apply(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res)
{
    return ldr_cmd_apply_logged(s, c, now, res, NULL);
}

int ldr_cmd_apply_logged(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res,
                         ldr_buf_t *effects)
{
    uint32_t store, doc;
    int rc;
    res->nshort = 0, res->shortfall = 0, res->expired = 0, res->replayed = false;
    res->noop = false, res->created = false;
    if (c->idem_key.len > 0 && s->idem != NULL) {
        const ldr_idem_entry_t *seen =
            ldr_idem_find(s->idem, c->idem_key.ptr, c->idem_key.len, now);
        if (seen != NULL) {
            /* answered before: the same request is a replay, another one a conflict */
            res->replayed = seen->fingerprint == c->idem_fingerprint;
            return res->status = res->replayed ? LDR_OK : LDR_ECONFLICT;
        }
    }
    switch (c->type) {
    case LDR_CMD_RECEIVE:
        if (ldr_catalog_lookup(s->catalog, c->sku.ptr, c->sku.len, NULL) == NULL) {
            rc = LDR_ENOENT; /* checked before the store is created: a refusal changes nothing */
            break;
        }
        rc = ldr__resolve(s, c->store, c->sku, true, &store, &doc);
        if (rc == LDR_OK)
            rc = ldr_stock_receive(s->stock, store, doc, c->lot.ptr, c->lot.len, c->quantity,
                                   c->expires_at);
        break;
    case LDR_CMD_ADJUST:
    case LDR_CMD_SET:
        rc = ldr__resolve(s, c->store, c->sku, false, &store, &doc);
        if (rc == LDR_OK)
            rc = c->type == LDR_CMD_ADJUST ? ldr_stock_adjust(s->stock, store, doc, c->quantity)
                                           : ldr_stock_set(s->stock, store, doc, c->quantity);
        break;
    case LDR_CMD_RESERVE: {
        ldr_reserve_line_t lines[LDR_RESERVE_LINES_MAX];
        rc = LDR_OK;
        for (uint32_t i = 0; i < c->nlines; i++) {
            lines[i].quantity = c->lines[i].quantity;
            if (ldr__resolve(s, c->lines[i].store, c->lines[i].sku, false, &lines[i].store,
                             &lines[i].doc) != LDR_OK) {
                res->short_idx[res->nshort++] = i; /* unknown: nothing of it can be held */
                rc = LDR_ESHORT;
            }
        }
        if (rc == LDR_OK)
            rc = ldr_reservations_reserve(s->reservations, s->stock, c->owner.ptr, c->owner.len,
                                          lines, c->nlines, c->expires_at, res->short_idx,
                                          &res->nshort);
        break;
    }
    case LDR_CMD_COMMIT:
    case LDR_CMD_RELEASE: {
        size_t mark = effects != NULL ? effects->len : 0;
        const ldr_reservation_t *held =
            ldr_reservations_find(s->reservations, c->owner.ptr, c->owner.len);
        if (held != NULL && effects != NULL)
            ldr__put_reservation_lines(effects, s, held);
        rc = c->type == LDR_CMD_COMMIT
                 ? ldr_reservations_commit(s->reservations, s->stock, c->owner.ptr, c->owner.len,
                                           &res->shortfall)
                 : ldr_reservations_release(s->reservations, s->stock, c->owner.ptr, c->owner.len);
        if (effects != NULL && rc != LDR_OK)
            effects->len = mark; /* refused: no effects */
        else if (effects != NULL && c->type == LDR_CMD_COMMIT)
            ldr__put_i64(effects, res->shortfall);
        break;
    }
    case LDR_CMD_TICK: {
        ldr__tick_sink_t t = {s, effects, now};
        size_t at = 0;
        if (t.out != NULL) {
            at = t.out->len;
            ldr__put_u32(t.out, 0); /* the count, patched below */
        }
        uint64_t lots = ldr_stock_expire(s->stock, now, ldr__expired_lot, &t);
        if (t.out != NULL) {
            ldr__patch_u32(t.out, at, (uint32_t)lots);
            at = t.out->len;
            ldr__put_u32(t.out, 0);
        }
        uint32_t holds =
            ldr_reservations_expire(s->reservations, s->stock, now, ldr__expired_hold, &t);
        if (t.out != NULL)
            ldr__patch_u32(t.out, at, holds);
        res->expired = lots + holds;
        if (s->idem != NULL)
            ldr_idem_purge(s->idem, now); /* lookups ignore expired keys: no effect on replay */
        rc = LDR_OK;
        break;
    }
    case LDR_CMD_CART_SET:
        if (s->carts == NULL) {
            rc = LDR_EINVAL;
        } else if (c->quantity > 0 &&
                   ldr_catalog_lookup(s->catalog, c->sku.ptr, c->sku.len, NULL) == NULL) {
            rc = LDR_ENOENT;
        } else {
            rc = ldr_carts_set(s->carts, c->owner.ptr, c->owner.len, c->sku.ptr, c->sku.len,
                               (int32_t)c->quantity, c->substitution_allowed, c->replacement.ptr,
                               c->replacement.len);
            if (rc == LDR_ENOENT && c->quantity == 0) /* removing what is not there: fine */
                rc = LDR_OK, res->noop = true;
        }
        break;
    case LDR_CMD_PRODUCT_PUT:
        rc = ldr__product_put(s, c, res);
        break;
    case LDR_CMD_ORDER_PLACE:
        rc = ldr__order_place(s, c, now, res);
        break;
    case LDR_CMD_ORDER_PAID:
    case LDR_CMD_ORDER_CANCEL:
    case LDR_CMD_ORDER_STATUS:
    case LDR_CMD_ORDER_REFUND:
        rc = ldr__order_move(s, c, now);
        break;
    case LDR_CMD_DELIVERY:
        rc = ldr__delivery(s, c);
        break;
    case LDR_CMD_PRODUCT_DEL: {
        uint32_t d;
        if (s->catalog_fixed) {
            rc = LDR_OK, res->noop = true;
        } else if (ldr_catalog_delete(s->catalog, c->sku.ptr, c->sku.len, &d) != LDR_OK) {
            rc = LDR_OK, res->noop = true; /* no such live product: nothing to delete */
        } else {
            ldr_catalog_set_logged(s->catalog, d);
            rc = LDR_OK;
        }
        break;
    }
    case LDR_CMD_USER_ADD: {
        if (s->users == NULL) {
            rc = LDR_EINVAL;
            break;
        }
        ldr_user_t u = {.role = (uint8_t)c->role, .created_at = now};
        memcpy(u.id, c->owner.ptr, c->owner.len);
        memcpy(u.email, c->email.ptr, c->email.len);
        memcpy(u.name, c->name.ptr, c->name.len);
        memcpy(u.locale, c->locale.ptr, 2);
        memcpy(u.hash, c->password_hash.ptr, c->password_hash.len);
        rc = ldr_users_add(s->users, &u);
        break;
    }
    default:
        rc = LDR_EINVAL;
    }
    if (rc == LDR_OK && c->idem_key.len > 0 && s->idem != NULL)
        ldr_idem_put(s->idem, c->idem_key.ptr, c->idem_key.len, c->idem_fingerprint, now);
    res->status = rc;
    return rc;
}

/* ---- events ---- */

typedef struct ldr__count {
    ldr_event_cb cb;
    void *ctx;
    uint32_t *n;
} ldr__count_t;

static void ldr__count_event(void *ctx, const ldr_event_t *ev)
{
    ldr__count_t *k = ctx;
    (*k->n)++;
    k->cb(k->ctx, ev);
}

/* The "sku" of a logged product (its first member: PRODUCT_PUT logs the rendered form). */
static ldr_str_t ldr__product_sku(ldr_str_t json)
{
    static const char lead[] = "{\"sku\":\"";
    size_t n = sizeof(lead) - 1;
    if (json.len <= n || memcmp(json.ptr, lead, n) != 0)
        return (ldr_str_t){NULL, 0};
    const char *end = memchr(json.ptr + n, '"', json.len - n);
    return end == NULL ? (ldr_str_t){NULL, 0}
                       : (ldr_str_t){json.ptr + n, (size_t)(end - json.ptr - n)};
}

uint32_t ldr_cmd_events(const ldr_cmd_t *c, ldr_cmd_line_t *lines, ldr_event_cb cb, void *ctx)
{
    ldr_event_t ev = {.store = c->store,
                      .sku = c->sku,
                      .lot = c->lot,
                      .owner = c->owner,
                      .reason = c->reason,
                      .expires_at = LDR_NO_EXPIRY,
                      .nlines = c->nlines,
                      .lines = c->lines};
    switch (c->type) {
    case LDR_CMD_RECEIVE:
        ev.name = "StockReceived", ev.quantity = c->quantity, ev.expires_at = c->expires_at;
        break;
    case LDR_CMD_ADJUST:
    case LDR_CMD_SET:
        ev.name = "StockAdjusted", ev.quantity = c->quantity, ev.set = c->type == LDR_CMD_SET;
        break;
    case LDR_CMD_RESERVE:
        ev.name = "StockReserved", ev.expires_at = c->expires_at;
        break;
    case LDR_CMD_COMMIT:
        ev.name = "StockCommitted", ev.shortfall = c->shortfall;
        break;
    case LDR_CMD_RELEASE:
        ev.name = "StockReleased";
        break;
    case LDR_CMD_USER_ADD:
        ev =
            (ldr_event_t){.name = "UserRegistered", .owner = c->owner, .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_PRODUCT_PUT:
        ev = (ldr_event_t){.name = "ProductUpserted", .expires_at = LDR_NO_EXPIRY};
        ev.sku = ldr__product_sku(c->product);
        break;
    case LDR_CMD_PRODUCT_DEL:
        ev = (ldr_event_t){.name = "ProductDeleted", .sku = c->sku, .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_ORDER_PLACE:
        ev.name = "OrderPlaced", ev.order = c->order, ev.expires_at = c->expires_at;
        break;
    case LDR_CMD_ORDER_PAID:
        ev = (ldr_event_t){.name = "OrderPaid", .order = c->order, .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_ORDER_STATUS:
        ev = (ldr_event_t){.name = c->role == LDR_ORDER_PICKING            ? "OrderPicking"
                                   : c->role == LDR_ORDER_READY_FOR_PICKUP ? "OrderReadyForPickup"
                                   : c->role == LDR_ORDER_OUT_FOR_DELIVERY ? "OrderOutForDelivery"
                                                                           : "OrderDelivered",
                           .order = c->order,
                           .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_ORDER_CANCEL:
        ev = (ldr_event_t){.name = "OrderCancelled",
                           .order = c->order,
                           .reason = c->reason,
                           .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_ORDER_REFUND:
        ev = (ldr_event_t){.name = "OrderRefunded",
                           .order = c->order,
                           .reason = c->reason,
                           .expires_at = LDR_NO_EXPIRY};
        break;
    case LDR_CMD_DELIVERY: {
        static const char *const names[] = {[LDR_DELIVERY_BOOKING_FAILED] = "DeliveryBookingFailed",
                                            [LDR_DELIVERY_BOOKED] = "DeliveryBooked",
                                            [LDR_DELIVERY_IN_TRANSIT] = "DeliveryInTransit",
                                            [LDR_DELIVERY_DELIVERED] = "DeliveryDelivered",
                                            [LDR_DELIVERY_CANCELLED] = "DeliveryCancelled",
                                            [LDR_DELIVERY_FAILED] = "DeliveryFailed"};
        ev = (ldr_event_t){.name = names[c->role],
                           .order = c->order,
                           .tracking = c->tracking,
                           .reason = c->reason,
                           .expires_at = LDR_NO_EXPIRY};
        break;
    }
    case LDR_CMD_TICK: {
        if (!c->has_effects)
            return 0;
        uint32_t n = 0;
        ldr__count_t k = {cb, ctx, &n};
        ldr__reader_t r = {(const unsigned char *)c->effects.ptr,
                           (const unsigned char *)c->effects.ptr + c->effects.len, false};
        ldr__tick_walk(&r, ldr__count_event, &k, lines);
        return n;
    }
    default:
        return 0;
    }
    cb(ctx, &ev);
    return 1;
}

/* ---- state hash ---- */

typedef struct ldr__hash_ctx {
    const ldr_state_t *s;
    uint64_t sum;
} ldr__hash_ctx_t;

/* Entries and reservations are hashed one by one and summed, so the order of tables does not
 * matter: two states hash alike when they hold the same things. */
static void ldr__hash_reservation(void *ctx, const ldr_reservation_t *res)
{
    ldr__hash_ctx_t *h = ctx;
    const ldr_intern_t *stores = ldr_stock_stores(h->s->stock);
    uint64_t v = ldr_hash(res->owner, strlen(res->owner)) ^ (uint64_t)res->expires_at;
    for (uint32_t i = 0; i < res->nlines; i++) {
        ldr_str_t store = ldr_intern_str(stores, res->lines[i].store);
        ldr_str_t sku = ldr_catalog_record(h->s->catalog, res->lines[i].doc)->sku;
        v = v * 31 + (ldr_hash(store.ptr, store.len) ^ ldr_hash(sku.ptr, sku.len) * 7 ^
                      (uint64_t)res->lines[i].quantity);
    }
    h->sum += ldr_hash(&v, sizeof(v));
}

uint64_t ldr_state_hash(const ldr_state_t *s)
{
    ldr__hash_ctx_t h = {s, 0};
    const ldr_intern_t *stores = ldr_stock_stores(s->stock);
    for (uint32_t st = 0; st < ldr_intern_count(stores); st++) {
        ldr_str_t store = ldr_intern_str(stores, st);
        for (uint32_t doc = 0; ldr_stock_doc_in_range(s->stock, st, doc); doc++) {
            const ldr_stock_entry_t *e = ldr_stock_get(s->stock, st, doc);
            if (e == NULL)
                continue;
            ldr_str_t sku = ldr_catalog_record(s->catalog, doc)->sku;
            uint64_t v[4] = {ldr_hash(store.ptr, store.len), ldr_hash(sku.ptr, sku.len),
                             (uint64_t)e->on_hand, (uint64_t)e->reserved};
            uint64_t x = ldr_hash(v, sizeof(v));
            for (uint32_t l = 0; l < e->nlots; l++)
                x = x * 31 + (ldr_hash(e->lots[l].id, strlen(e->lots[l].id)) ^
                              (uint64_t)e->lots[l].quantity ^ (uint64_t)e->lots[l].expires_at);
            h.sum += ldr_hash(&x, sizeof(x));
        }
    }
    ldr_reservations_each(s->reservations, ldr__hash_reservation, &h);
    return h.sum;
}
