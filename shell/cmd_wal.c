/*
 * `larder wal check DIR` and `larder wal dump DIR`: read a write-ahead log without changing it.
 *
 * check verifies every record (length, LSN continuity, checksum) and prints a summary; a torn tail
 * is reported, not an error (the server cuts it at the next start).  dump prints each record as a
 * JSON line.  Exit status: 0 when the log is sound, 1 on corruption or an I/O error, 2 on bad
 * usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "larder/buf.h"
#include "larder/command.h"
#include "larder/wal.h"
#include "outbox.h"

static const char ldr__wal_usage[] =
    "usage: larder wal check DIR\n"
    "       larder wal dump DIR [--from LSN]\n"
    "\n"
    "Reads the write-ahead log segments (wal-*.log) in DIR without changing them.\n"
    "\n"
    "  check       verify every record (length, sequence, XXH3 checksum); print a summary.\n"
    "              A torn tail (the last write cut short by a crash) is reported, not an\n"
    "              error: the server truncates it when it next starts.\n"
    "  dump        print every record as a JSON line:\n"
    "              {\"lsn\",\"time\",\"type\",\"len\",\"payload\"} (payload in hex), plus\n"
    "              \"command\" with the decoded fields for engine commands and \"events\",\n"
    "              the messages the Kafka relay publishes for it, {\"topic\",\"key\",\"value\"}\n"
    "              (value: the event's JSON, see docs/events/; an order's lines as asked:\n"
    "              the server's relay adds the substitutes it held)\n"
    "  --from LSN  dump from this sequence number on\n"
    "\n"
    "exit status: 0 sound, 1 corrupt or unreadable (the message names file and offset),\n"
    "2 bad usage.\n";

static void ldr__json_field(ldr_buf_t *b, const char *key, ldr_str_t v)
{
    ldr_buf_putc(b, ',');
    ldr_buf_json_key(b, key);
    ldr_buf_json_sv(b, v);
}

typedef struct ldr__events {
    ldr_buf_t *b;
    uint32_t n;
} ldr__events_t;

/* One message of a record, as the outbox relay publishes it. */
static void ldr__json_message(void *ctx, const ldr_outbox_msg_t *m)
{
    ldr__events_t *e = ctx;
    ldr_buf_printf(e->b, "%s{\"topic\":\"%s\",\"key\":", e->n++ ? "," : "",
                   ldr_topic_default_names[m->topic]);
    ldr_buf_json_sv(e->b, m->key);
    ldr_buf_puts(e->b, ",\"value\":");
    ldr_buf_append(e->b, m->value.ptr, m->value.len);
    ldr_buf_putc(e->b, '}');
}

/* The decoded command as a JSON object, or nothing when the payload is not one. */
static void ldr__json_command(ldr_buf_t *b, const ldr_wal_record_t *rec)
{
    static const char *const names[] = {"",
                                        "receive",
                                        "adjust",
                                        "set",
                                        "reserve",
                                        "commit",
                                        "release",
                                        "tick",
                                        "user_add",
                                        "cart_set",
                                        "product_put",
                                        "product_delete",
                                        "order_place",
                                        "order_paid",
                                        "order_cancel",
                                        "order_status",
                                        "order_refund",
                                        "delivery"};
    ldr_cmd_t c;
    static ldr_cmd_line_t lines[LDR_RESERVE_LINES_MAX];
    if (rec->type >= LDR_ARRAY_SIZE(names) ||
        ldr_cmd_decode(rec->type, rec->data, rec->len, &c, lines) != LDR_OK)
        return;
    ldr_buf_printf(b, ",\"command\":{\"name\":\"%s\"", names[rec->type]);
    switch (c.type) {
    case LDR_CMD_RECEIVE:
    case LDR_CMD_ADJUST:
    case LDR_CMD_SET:
        ldr__json_field(b, "store", c.store);
        ldr__json_field(b, "sku", c.sku);
        if (c.type == LDR_CMD_RECEIVE)
            ldr__json_field(b, "lot", c.lot);
        else
            ldr__json_field(b, "reason", c.reason);
        ldr_buf_printf(b, ",\"quantity\":%lld", (long long)c.quantity);
        if (c.type == LDR_CMD_RECEIVE && c.expires_at != LDR_NO_EXPIRY) {
            ldr_buf_puts(b, ",\"expires_at\":");
            ldr_buf_json_time(b, c.expires_at);
        }
        break;
    case LDR_CMD_RESERVE:
        ldr__json_field(b, "owner", c.owner);
        ldr_buf_puts(b, ",\"expires_at\":");
        ldr_buf_json_time(b, c.expires_at);
        ldr_buf_puts(b, ",\"lines\":[");
        for (uint32_t i = 0; i < c.nlines; i++) {
            ldr_buf_puts(b, i ? ",{\"store\":" : "{\"store\":");
            ldr_buf_json_sv(b, c.lines[i].store);
            ldr__json_field(b, "sku", c.lines[i].sku);
            ldr_buf_printf(b, ",\"quantity\":%lld}", (long long)c.lines[i].quantity);
        }
        ldr_buf_putc(b, ']');
        break;
    case LDR_CMD_COMMIT:
    case LDR_CMD_RELEASE:
        ldr__json_field(b, "owner", c.owner);
        break;
    case LDR_CMD_USER_ADD: /* the password hash stays in the payload only */
        ldr__json_field(b, "id", c.owner);
        ldr__json_field(b, "email", c.email);
        ldr__json_field(b, "name", c.name);
        ldr__json_field(b, "locale", c.locale);
        ldr_buf_printf(b, ",\"role\":%u", (unsigned)c.role);
        break;
    case LDR_CMD_CART_SET:
        ldr__json_field(b, "owner", c.owner);
        ldr__json_field(b, "sku", c.sku);
        ldr_buf_printf(b, ",\"quantity\":%lld,\"substitution_allowed\":%s", (long long)c.quantity,
                       c.substitution_allowed ? "true" : "false");
        if (c.replacement.len > 0)
            ldr__json_field(b, "replacement", c.replacement);
        break;
    case LDR_CMD_PRODUCT_PUT: /* logged as rendered: valid JSON */
        ldr_buf_puts(b, ",\"product\":");
        ldr_buf_append(b, c.product.ptr, c.product.len);
        break;
    case LDR_CMD_PRODUCT_DEL:
        ldr__json_field(b, "sku", c.sku);
        break;
    case LDR_CMD_ORDER_PLACE:
        ldr__json_field(b, "order", c.order);
        ldr__json_field(b, "owner", c.owner);
        ldr__json_field(b, "store", c.store);
        ldr__json_field(b, "slot", c.slot);
        ldr_buf_puts(b, ",\"pay_by\":");
        ldr_buf_json_time(b, c.expires_at);
        ldr_buf_puts(b, ",\"lines\":[");
        for (uint32_t i = 0; i < c.nlines; i++) {
            ldr_buf_puts(b, i ? ",{\"sku\":" : "{\"sku\":");
            ldr_buf_json_sv(b, c.lines[i].sku);
            ldr_buf_printf(b, ",\"quantity\":%lld,\"unit_price\":%lld}",
                           (long long)c.lines[i].quantity, (long long)c.lines[i].price);
        }
        ldr_buf_putc(b, ']');
        if (c.courier.len > 0) { /* the address stays in the payload only (personal data) */
            ldr__json_field(b, "courier", c.courier);
            ldr__json_field(b, "city", c.address.city);
        }
        break;
    case LDR_CMD_DELIVERY:
        ldr__json_field(b, "order", c.order);
        ldr_buf_printf(b, ",\"status\":\"%s\"", ldr_delivery_status_name(c.role));
        if (c.tracking.len > 0)
            ldr__json_field(b, "tracking_id", c.tracking);
        if (c.reason.len > 0)
            ldr__json_field(b, "note", c.reason);
        break;
    case LDR_CMD_ORDER_STATUS:
        ldr__json_field(b, "order", c.order);
        ldr_buf_printf(b, ",\"status\":\"%s\"", ldr_order_status_name(c.role));
        break;
    case LDR_CMD_ORDER_PAID:
    case LDR_CMD_ORDER_CANCEL:
    case LDR_CMD_ORDER_REFUND:
        ldr__json_field(b, "order", c.order);
        if (c.reason.len > 0)
            ldr__json_field(b, "reason", c.reason);
        if (c.pay_ref.len > 0)
            ldr__json_field(b, "payment_reference", c.pay_ref);
        break;
    }
    ldr_buf_puts(b, "},\"events\":[");
    ldr__events_t ev = {b, 0};
    ldr_outbox_render(NULL, rec, ldr__json_message, &ev);
    ldr_buf_putc(b, ']');
}

typedef struct ldr__dump {
    ldr_buf_t out;
} ldr__dump_t;

static int ldr__dump_record(void *ctx, const ldr_wal_record_t *rec)
{
    static const char hex[] = "0123456789abcdef";
    ldr__dump_t *d = ctx;
    char when[32];
    int64_t secs = rec->time / 1000000000, ns = rec->time % 1000000000;
    if (ns < 0)
        ns += 1000000000, secs--;
    size_t n = ldr_time_format_rfc3339(secs, when);
    ldr_buf_printf(&d->out,
                   "{\"lsn\":%llu,\"time\":\"%.*s.%09lldZ\",\"type\":%u,\"len\":%u,\"payload\":\"",
                   (unsigned long long)rec->lsn, (int)n - 1, when, (long long)ns,
                   (unsigned)rec->type, (unsigned)rec->len);
    const unsigned char *p = rec->data;
    char *o = ldr_buf_reserve(&d->out, (size_t)rec->len * 2);
    for (uint32_t i = 0; i < rec->len; i++)
        o[2 * i] = hex[p[i] >> 4], o[2 * i + 1] = hex[p[i] & 15];
    d->out.len += (size_t)rec->len * 2;
    ldr_buf_putc(&d->out, '"');
    ldr__json_command(&d->out, rec);
    ldr_buf_puts(&d->out, "}\n");
    if (d->out.len >= 1 << 16) {
        if (ldr_buf_write(&d->out, stdout) != LDR_OK)
            return LDR_EIO;
        ldr_buf_reset(&d->out);
    }
    return LDR_OK;
}

int ldr_cmd_wal(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(ldr__wal_usage, stdout);
        return 0;
    }
    bool dump = argc >= 2 && strcmp(argv[1], "dump") == 0;
    bool check = argc >= 2 && strcmp(argv[1], "check") == 0;
    uint64_t from = 0;
    if (!dump && !check) {
        fprintf(stderr, "larder wal: expected check or dump\n\n%s", ldr__wal_usage);
        return 2;
    }
    if (argc < 3 || argv[2][0] == '-') {
        fprintf(stderr, "larder wal %s: missing DIR\nRun `larder wal --help` for usage.\n",
                argv[1]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        char *end;
        if (dump && strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            errno = 0;
            from = strtoull(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || argv[i][0] < '0' || argv[i][0] > '9') {
                fprintf(stderr, "larder wal dump: --from wants an LSN, not \"%s\"\n", argv[i]);
                return 2;
            }
            continue;
        }
        fprintf(stderr,
                "larder wal %s: unexpected argument \"%s\"\nRun `larder wal --help` for usage.\n",
                argv[1], argv[i]);
        return 2;
    }
    ldr_wal_recovery_t report;
    ldr__dump_t d = {LDR_BUF_INIT};
    int rc = ldr_wal_replay(argv[2], from, dump ? ldr__dump_record : NULL, &d, &report);
    if (dump && ldr_buf_write(&d.out, stdout) != LDR_OK)
        rc = LDR_EIO;
    ldr_buf_free(&d.out);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder wal %s: %s: %s\n", argv[1], argv[2],
                report.message[0] ? report.message : ldr_strerror(rc));
        return 1;
    }
    if (report.torn)
        fprintf(stderr,
                "larder wal %s: %s: torn tail in %s at offset %llu (%llu bytes); the server "
                "truncates it at its next start\n",
                argv[1], argv[2], report.torn_file, (unsigned long long)report.torn_offset,
                (unsigned long long)report.torn_bytes);
    if (check)
        printf("larder wal check: %s: ok: %u segments, records %llu..%llu\n", argv[2],
               report.segments, (unsigned long long)report.first_lsn,
               (unsigned long long)report.last_lsn);
    return 0;
}
