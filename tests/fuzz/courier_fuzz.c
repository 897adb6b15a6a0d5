/*
 * Fuzz target for the delivery adapters' parsers (libFuzzer: `make fuzz`): the webhook checks and
 * the answer readers of shell/adapters/grab.c and viettelpost.c, through delivery.c.
 *
 * The input is one selector byte, a header line, a newline, and a body.  Whatever they are,
 * nothing may crash, and:
 *  - a Grab webhook passes the signature check exactly when the header is the lowercase hex
 *    HMAC-SHA256 of the body under the secret, computed here independently; the body signed here
 *    always passes it; what a passing webhook yields is a booking id (ldr_delivery_id_ok), a
 *    NUL-terminated order and a known delivery status;
 *  - a ViettelPost webhook passes exactly when its TOKEN (read here with jansson) is the secret;
 *  - any answer body under any status (the selector picks it) reads to a known result; a booking
 *    is OK only from a 2xx with a valid booking id, which it returns; a 5xx is never OK.
 *
 * tests/unit/shell/courier_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LDR_FUZZ_LINKED /* the fuzz build links common/, engine/, index/ only: bring these in */
#include "../../shell/adapters/delivery.c"
#include "../../shell/adapters/delivery_fake.c"
#include "../../shell/adapters/grab.c"
#include "../../shell/adapters/viettelpost.c"
#else
#include "../../shell/adapters/delivery.h"
#endif

#define LDR_FUZZ_NAME "courier_fuzz"
#include "fuzz.h"

#define FZ_GRAB_SECRET "fz-grab-secret"
#define FZ_VTP_TOKEN   "fz-vtp-token"

static ldr_courier_t fz_grab = {.kind = LDR_COURIER_GRAB,
                                .name = "grab",
                                .webhook_secret = FZ_GRAB_SECRET},
                     fz_vtp = {.kind = LDR_COURIER_VIETTELPOST,
                               .name = "viettelpost",
                               .webhook_secret = FZ_VTP_TOKEN};

static void fz_event_ok(const ldr_delivery_event_t *ev, const char *who)
{
    FZ_CHECK(ldr_delivery_id_ok(ev->tracking), "%s: a bad booking id passed", who);
    FZ_CHECK(memchr(ev->order, 0, sizeof(ev->order)) != NULL, "%s: order not terminated", who);
    FZ_CHECK(memchr(ev->said, 0, sizeof(ev->said)) != NULL, "%s: status not terminated", who);
    FZ_CHECK(ev->status >= 0 && ev->status <= LDR_DELIVERY_FAILED, "%s: status %d", who,
             ev->status);
}

static void fz_grab_hook(const char *h, size_t hlen, const char *body, size_t blen)
{
    char hex[65];
    ldr_delivery_hmac_hex(FZ_GRAB_SECRET, body, blen, hex);
    bool right = hlen == 64 && memcmp(h, hex, 64) == 0;
    ldr_delivery_event_t ev;
    int rc = ldr_courier_webhook(&fz_grab, hlen ? h : NULL, hlen, body, blen, &ev);
    FZ_CHECK(rc == LDR_OK || rc == LDR_EAUTH || rc == LDR_EPARSE, "grab: status %d", rc);
    FZ_CHECK((rc != LDR_EAUTH) == right, "grab: status %d with a %s signature", rc,
             right ? "right" : "wrong");
    if (rc == LDR_OK)
        fz_event_ok(&ev, "grab");
    /* signed here: never refused for its signature, and read the same */
    int again = ldr_courier_webhook(&fz_grab, hex, 64, body, blen, &ev);
    FZ_CHECK(again != LDR_EAUTH, "grab: a body signed with the secret was refused");
    FZ_CHECK(!right || again == rc, "grab: the same webhook read twice differently");
    hex[0] = hex[0] == '0' ? '1' : '0';
    FZ_CHECK(ldr_courier_webhook(&fz_grab, hex, 64, body, blen, &ev) == LDR_EAUTH,
             "grab: a flipped digit passed");
}

static void fz_vtp_hook(const char *body, size_t blen)
{
    json_t *j = json_loadb(body, blen, 0, NULL);
    const char *token = json_string_value(json_object_get(j, "TOKEN"));
    bool right = token != NULL && strcmp(token, FZ_VTP_TOKEN) == 0;
    json_decref(j);
    ldr_delivery_event_t ev;
    int rc = ldr_courier_webhook(&fz_vtp, NULL, 0, body, blen, &ev);
    FZ_CHECK(rc == LDR_OK || rc == LDR_EAUTH || rc == LDR_EPARSE, "viettelpost: status %d", rc);
    FZ_CHECK((rc != LDR_EAUTH) == right, "viettelpost: status %d with a %s token", rc,
             right ? "right" : "wrong");
    if (rc == LDR_OK)
        fz_event_ok(&ev, "viettelpost");
}

static void fz_answers(uint8_t sel, const char *body, size_t blen)
{
    static const long statuses[] = {200, 201, 204, 400, 401, 404, 409, 500, 503, 429};
    ldr_http_call_t c = {.outcome = LDR_HTTP_OK, .status = statuses[sel % 10]};
    ldr_buf_append(&c.response, body, blen);
    ldr_courier_t *ks[] = {&fz_grab, &fz_vtp};
    for (int k = 0; k < 2; k++)
        for (int op = LDR_DLV_QUOTE; op <= LDR_DLV_TRACK; op++) {
            ldr_delivery_answer_t a;
            ldr_courier_answer(ks[k], op, &c, &a);
            FZ_CHECK(a.result >= LDR_DLV_OK && a.result <= LDR_DLV_UNAVAILABLE,
                     "%s op %d: result %d", ks[k]->name, op, a.result);
            FZ_CHECK(memchr(a.detail, 0, sizeof(a.detail)) != NULL, "detail not terminated");
            FZ_CHECK(a.result != LDR_DLV_OK || c.status < 500, "%s op %d: OK from HTTP %ld",
                     ks[k]->name, op, c.status);
            if (op == LDR_DLV_BOOK && a.result == LDR_DLV_OK)
                FZ_CHECK(c.status >= 200 && c.status < 300 && ldr_delivery_id_ok(a.tracking),
                         "%s: booked from HTTP %ld without a valid id", ks[k]->name, c.status);
            if (a.status != 0)
                FZ_CHECK(a.status >= LDR_DELIVERY_BOOKING_FAILED && a.status <= LDR_DELIVERY_FAILED,
                         "%s: track status %d", ks[k]->name, a.status);
        }
    ldr_buf_free(&c.response);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init)
        init = sodium_init() >= 0;
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    const char *p = (const char *)data + 1, *nl = memchr(p, '\n', size - 1);
    size_t hlen = nl ? (size_t)(nl - p) : 0;
    const char *body = nl ? nl + 1 : p;
    size_t blen = nl ? size - 1 - hlen - 1 : size - 1;
    fz_grab_hook(p, hlen, body, blen);
    fz_vtp_hook(body, blen);
    fz_answers(sel, body, blen);
    return 0;
}
