/*
 * GET /v1/delivery/slots?store=…&date=YYYY-MM-DD: a store's same-day delivery windows for one day.
 *
 * Stores keep Vietnam time (UTC+7, no daylight saving).  A day has two-hour windows from 08:00 to
 * 20:00 local time, each with LDR_SLOT_CAPACITY deliveries; a window closes for booking
 * LDR_SLOT_CUTOFF before it starts (it is then listed with nothing remaining).  A same-day
 * checkout holds a place in its window atomically with the stock (ORDER_PLACE), and `remaining`
 * counts the places orders not cancelled hold.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

#define LDR__UTC_OFFSET (7 * 3600)
#define LDR__FIRST_HOUR 8
#define LDR__LAST_HOUR  20
#define LDR__WINDOW     LDR_SLOT_SECONDS
#define LDR__CUTOFF     (60 * 60)
#define LDR__DAYS_AHEAD 14
#define LDR__CAPACITY   LDR_SLOT_CAPACITY

int ldr_slot_window(h2o_iovec_t store, const char *id, size_t len, int64_t *start)
{
    /* "<store>-YYYYMMDD-HH00" */
    if (len != store.len + 14 || memcmp(id, store.base, store.len) != 0 || id[store.len] != '-' ||
        id[store.len + 9] != '-' || memcmp(id + len - 2, "00", 2) != 0)
        return LDR_EINVAL;
    const char *d = id + store.len + 1;
    char ts[32];
    int hour = 0;
    for (int i = 0; i < 8; i++)
        if (d[i] < '0' || d[i] > '9')
            return LDR_EINVAL;
    if (d[9] < '0' || d[9] > '9' || d[10] < '0' || d[10] > '9')
        return LDR_EINVAL;
    hour = (d[9] - '0') * 10 + (d[10] - '0');
    int64_t day;
    snprintf(ts, sizeof(ts), "%.4s-%.2s-%.2sT00:00:00Z", d, d + 4, d + 6);
    if (ldr_time_parse_rfc3339(ts, strlen(ts), &day) != LDR_OK || hour < LDR__FIRST_HOUR ||
        hour >= LDR__LAST_HOUR || (hour - LDR__FIRST_HOUR) % (LDR__WINDOW / 3600) != 0)
        return LDR_EINVAL;
    *start = day + hour * 3600 - LDR__UTC_OFFSET;
    return LDR_OK;
}

int ldr_slot_check(h2o_iovec_t store, const char *id, size_t len, int64_t now, int64_t *start)
{
    if (ldr_slot_window(store, id, len, start) != LDR_OK)
        return LDR_EINVAL;
    int64_t day = (*start + LDR__UTC_OFFSET) / 86400 * 86400;
    int64_t today = (now + LDR__UTC_OFFSET) / 86400 * 86400;
    if (day < today || day > today + LDR__DAYS_AHEAD * 86400)
        return LDR_EINVAL;
    return now < *start - LDR__CUTOFF ? LDR_OK : LDR_ERANGE;
}

int ldr_route_slots(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_query_param_t params[4];
    size_t n;
    const char *bad;
    if (ldr_http_not_ready(h, req))
        return 0;
    if (ldr_query_parse(req, params, 4, &n, &bad) != LDR_OK)
        return ldr_http_bad_param(req, "query", bad);
    h2o_iovec_t store = h2o_iovec_init(H2O_STRLIT("default")), date = {NULL, 0};
    for (size_t i = 0; i < n; i++) {
        if (h2o_memis(params[i].key.base, params[i].key.len, H2O_STRLIT("store")))
            store = params[i].value;
        else if (h2o_memis(params[i].key.base, params[i].key.len, H2O_STRLIT("date")))
            date = params[i].value;
        else
            return ldr_http_bad_param(req, params[i].key.base, "unknown parameter");
    }
    if (!ldr_store_id_valid(store.base, store.len))
        return ldr_http_bad_param(req, "store", "not a store id (1-64 of a-z 0-9 _ -)");
    char ts[32];
    int64_t day; /* 00:00 of the date, UTC */
    if (date.base == NULL)
        return ldr_http_bad_param(req, "date", "required: the day, YYYY-MM-DD");
    snprintf(ts, sizeof(ts), "%.10sT00:00:00Z", date.base);
    if (date.len != 10 || ldr_time_parse_rfc3339(ts, strlen(ts), &day) != LDR_OK)
        return ldr_http_bad_param(req, "date", "expected YYYY-MM-DD");
    int64_t now = (int64_t)time(NULL), today = (now + LDR__UTC_OFFSET) / 86400 * 86400;
    if (day < today || day > today + LDR__DAYS_AHEAD * 86400)
        return ldr_http_bad_param(req, "date", "from today to 14 days ahead (Vietnam time)");
    uint32_t held[(LDR__LAST_HOUR - LDR__FIRST_HOUR) * 3600 / LDR__WINDOW];
    char id[LDR_SLOT_ID_MAX + 1];
    ldr_app_read_begin(h->app);
    bool known = ldr_stock_store_find(ldr_app_stock(h->app), store.base, store.len) != UINT32_MAX;
    const ldr_orders_t *orders = ldr_engine_state(h->app->engine)->orders;
    for (int hour = LDR__FIRST_HOUR, k = 0; hour < LDR__LAST_HOUR; hour += LDR__WINDOW / 3600) {
        int idlen = snprintf(id, sizeof(id), "%.*s-%.4s%.2s%.2s-%02d00", (int)store.len, store.base,
                             date.base, date.base + 5, date.base + 8, hour);
        held[k++] = orders != NULL ? ldr_orders_slot_held(orders, id, (size_t)idlen) : 0;
    }
    ldr_app_read_end(h->app);
    if (!known)
        return ldr_http_not_found(req, "store", store, "no such store");
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"store\":");
    ldr_buf_json_str(&b, store.base, store.len);
    ldr_buf_puts(&b, ",\"date\":");
    ldr_buf_json_str(&b, date.base, date.len);
    ldr_buf_puts(&b, ",\"slots\":[");
    for (int hour = LDR__FIRST_HOUR, k = 0; hour < LDR__LAST_HOUR;
         hour += LDR__WINDOW / 3600, k++) {
        int64_t start = day + hour * 3600 - LDR__UTC_OFFSET, end = start + LDR__WINDOW;
        bool open = now < start - LDR__CUTOFF;
        ldr_buf_puts(&b, hour == LDR__FIRST_HOUR ? "{\"id\":\"" : ",{\"id\":\"");
        ldr_buf_append(&b, store.base, store.len);
        ldr_buf_printf(&b, "-%.4s%.2s%.2s-%02d00\",\"start\":", date.base, date.base + 5,
                       date.base + 8, hour);
        ldr_buf_json_time(&b, start);
        ldr_buf_puts(&b, ",\"end\":");
        ldr_buf_json_time(&b, end);
        int left = held[k] >= LDR__CAPACITY ? 0 : LDR__CAPACITY - (int)held[k];
        ldr_buf_printf(&b, ",\"capacity\":%d,\"remaining\":%d}", LDR__CAPACITY, open ? left : 0);
    }
    ldr_buf_puts(&b, "]}\n");
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}
