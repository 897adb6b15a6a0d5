#!/usr/bin/env python3
"""A small local emulator of the part of MoMo's payment gateway API v2 that larder's adapter uses.

Run: /usr/bin/python3 tests/fakes/momo.py [--port N] [--partner-code P] [--access-key A]
                                          [--secret-key S]
Defaults P=MOMOLARDER, A=larder-access, S=larder-secret. It binds 127.0.0.1 (port 0 = a free
one), prints one line "listening on http://127.0.0.1:PORT" and serves until SIGTERM/SIGINT
(exit 0). Standard library only; state lives in memory.

Requests and answers are JSON (UTF-8, messages not \\u-escaped). A signature is the lowercase hex
HMAC-SHA256 (key S) of "k1=v1&k2=v2..." over the keys below in that (alphabetical) order,
values as in the JSON: numbers in decimal, strings raw (not URL-encoded).
  POST /v2/gateway/api/create  partnerCode, requestId, amount (int), orderId, orderInfo,
       redirectUrl, ipnUrl, requestType=captureWallet, extraData (may be ""), lang vi|en,
       signature over accessKey amount extraData ipnUrl orderId orderInfo partnerCode
       redirectUrl requestId requestType. Always HTTP 200 (but [down]): resultCode 20 bad format
       (a field missing or mistyped, or not JSON), 13 wrong partnerCode or signature, 22 amount
       not 1000..50000000, 41 orderId already used (by a payment or a refund), else 0 with payUrl
       (http://127.0.0.1:PORT/pay/ID, not served), deeplink momo://pay/ID, qrCodeUrl = payUrl.
       orderInfo containing [slow] sleeps 2 s first; [down] is 503 {"resultCode":99,...};
       [garbage] is 200 with a truncated body (neither creates the order).
  POST /v2/gateway/api/refund  partnerCode, orderId (new), requestId, amount (int), transId
       (int), lang, description (may be ""), signature over accessKey amount description orderId
       partnerCode requestId transId. 20, 13 as above; 22 amount not 1000..50000000; 1080 transId
       not a successful payment's; 1081 more than what remains; else 0 with a new transId.
       A refund orderId already refunded: the same JSON body replays the same answer byte for
       byte, another body is 41 (as is a payment's orderId). Failed refunds are not kept.
IPN (what MoMo sends to ipnUrl): POST JSON partnerCode orderId requestId amount orderInfo
  orderType=momo_wallet transId resultCode (0 | 1006) message payType=qr responseTime extraData
  signature, over accessKey amount extraData message orderId orderInfo orderType partnerCode
  payType requestId responseTime resultCode transId. Sent once (no retries, 10 s timeout).

Test hooks (no signature):
  POST /_pay {"orderId", "result": "success"|"fail", "delay_ms"?: int, "tamper"?: bool,
       "ipn_url"?: str (where to send the IPN instead of the order's ipnUrl: a test server's
       port is known only once it runs)}
       answers 200 {"transId": N} and then (after delay_ms, in a background thread) sends the
       IPN; transIds are 4000000000+n, never reused in a process. The first /_pay settles the
       order (paid or failed); another with the same result sends the same IPN again (a
       redelivery), with the other result it is 409. "tamper" sends a fresh IPN with a wrong
       signature and changes nothing (its transId cannot be refunded). 404 unknown orderId,
       400 a bad body.
  GET /_calls lists every request received (method, path, body: parsed JSON or null) except
       /_calls and /_reset, plus one entry per IPN once answered: method "IPN", path the
       ipnUrl, body the IPN, status the merchant's HTTP status (null and "error" if none).
  POST /_reset forgets everything; IPNs not yet sent are dropped.
Anything else is 404 {"error": "not found"}.
"""
import argparse
import hashlib
import hmac
import json
import threading
import time
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import ProxyHandler, Request, build_opener

import fakehttp

PARTNER, ACCESS, SECRET = "MOMOLARDER", "larder-access", "larder-secret"
BASE = "http://127.0.0.1:0"
LOCK = threading.Lock()
STATE = {"gen": 0, "trans": 4000000000}  # transIds stay unique across /_reset
OK = "Thành công."
CREATE_SIGNED = ("accessKey", "amount", "extraData", "ipnUrl", "orderId", "orderInfo",
                 "partnerCode", "redirectUrl", "requestId", "requestType")
IPN_SIGNED = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType",
              "partnerCode", "payType", "requestId", "responseTime", "resultCode", "transId")
REFUND_SIGNED = ("accessKey", "amount", "description", "orderId", "partnerCode", "requestId",
                 "transId")
OPENER = build_opener(ProxyHandler({}))  # IPNs go straight to loopback, whatever http_proxy says


def reset():
    """Forget all state; the caller holds LOCK (or no thread runs yet)."""
    STATE.update(calls=[], orders={}, refunds={}, paid={}, gen=STATE["gen"] + 1)


def answer(status, obj):
    return status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def now_ms():
    return int(time.time() * 1000)


def sign(keys, fields):
    raw = "&".join(f"{k}={ACCESS if k == 'accessKey' else fields[k]}" for k in keys)
    return hmac.new(SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


def bad_format(body, ints, strs, may_be_empty):
    """True if body is not an object with the int fields and the (non-empty) string fields."""
    if not isinstance(body, dict):
        return True
    if any(type(body.get(k)) is not int for k in ints):
        return True
    return any(type(body.get(k)) is not str or (body[k] == "" and k not in may_be_empty)
               for k in strs)


def authentic(body, keys):
    return body["partnerCode"] == PARTNER and hmac.compare_digest(
        body["signature"].encode(), sign(keys, body).encode())


def echoed(body, keys):
    return {k: body[k] for k in keys if isinstance(body, dict) and k in body}


def created(body, code, message, **urls):
    return answer(200, {**echoed(body, ("partnerCode", "orderId", "requestId", "amount")),
                        "responseTime": now_ms(), "message": message, "resultCode": code, **urls})


def refunded(body, code, message, trans_id=None):
    obj = echoed(body, ("partnerCode", "orderId", "requestId", "amount", "transId"))
    if trans_id is not None:
        obj["transId"] = trans_id
    return answer(200, {**obj, "resultCode": code, "message": message, "responseTime": now_ms()})


def create(body):
    strs = ("partnerCode", "requestId", "orderId", "orderInfo", "redirectUrl", "ipnUrl",
            "requestType", "extraData", "lang", "signature")
    if bad_format(body, ("amount",), strs, ("extraData",)):
        return created(body, 20, "Bad format request")
    if not authentic(body, CREATE_SIGNED):
        return created(body, 13, "Merchant authentication failed")
    if (body["requestType"] != "captureWallet" or body["lang"] not in ("vi", "en")
            or not body["ipnUrl"].startswith(("http://", "https://"))):
        return created(body, 20, "Bad format request")
    if not 1000 <= body["amount"] <= 50000000:
        return created(body, 22, "Amount out of range")
    info, id_ = body["orderInfo"], body["orderId"]
    if "[down]" in info:
        return answer(503, {"resultCode": 99, "message": "Unknown error"})
    if "[garbage]" in info:
        return 200, b'{"resultCode": '
    if "[slow]" in info:
        time.sleep(2.0)  # outside LOCK: others proceed meanwhile
    with LOCK:
        if id_ in STATE["orders"] or id_ in STATE["refunds"]:
            return created(body, 41, "Duplicated orderId")
        STATE["orders"][id_] = {k: body[k] for k in ("amount", "orderInfo", "extraData",
                                                     "requestId", "ipnUrl")}
        STATE["orders"][id_].update(status="created", refunded=0, ipn=None)
    pay_url = f"{BASE}/pay/{id_}"
    return created(body, 0, OK, payUrl=pay_url, deeplink=f"momo://pay/{id_}", qrCodeUrl=pay_url)


def ipn_for(id_, order, success, tamper):
    """A new IPN body for the order; the caller holds LOCK."""
    STATE["trans"] += 1
    ipn = {"partnerCode": PARTNER, "orderId": id_, "requestId": order["requestId"],
           "amount": order["amount"], "orderInfo": order["orderInfo"], "orderType": "momo_wallet",
           "transId": STATE["trans"], "resultCode": 0 if success else 1006,
           "message": OK if success else "Transaction denied by user.", "payType": "qr",
           "responseTime": now_ms(), "extraData": order["extraData"]}
    ipn["signature"] = sign(IPN_SIGNED, ipn)
    if tamper:
        ipn["signature"] = ipn["signature"][:-1] + ("0" if ipn["signature"][-1] != "0" else "1")
    return ipn


def send_ipn(url, ipn, delay_ms, gen, replied):
    replied.wait(5)
    time.sleep(delay_ms / 1000)
    with LOCK:
        if STATE["gen"] != gen:
            return
    entry = {"method": "IPN", "path": url, "body": ipn, "status": None}
    req = Request(url, json.dumps(ipn, ensure_ascii=False, separators=(",", ":")).encode(),
                  {"Content-Type": "application/json; charset=UTF-8"}, method="POST")
    try:
        with OPENER.open(req, timeout=10) as resp:
            resp.read()
            entry["status"] = resp.status
    except HTTPError as e:
        entry["status"] = e.code
        e.close()
    except Exception as e:  # refused, timed out, not HTTP
        entry["error"] = str(getattr(e, "reason", e))
    with LOCK:
        if STATE["gen"] == gen:
            STATE["calls"].append(entry)


def pay(body):
    if (not isinstance(body, dict) or type(body.get("orderId")) is not str
            or body.get("result") not in ("success", "fail")
            or type(body.get("delay_ms", 0)) is not int or body.get("delay_ms", 0) < 0
            or type(body.get("tamper", False)) is not bool
            or type(body.get("ipn_url", "")) is not str):
        return answer(400, {"error": 'expected {"orderId": str, "result": "success"|"fail", '
                                     '"delay_ms"?: int >= 0, "tamper"?: bool}'})
    success = body["result"] == "success"
    with LOCK:
        order = STATE["orders"].get(body["orderId"])
        if order is None:
            return answer(404, {"error": "unknown orderId"})
        if body.get("tamper", False):
            ipn = ipn_for(body["orderId"], order, success, True)
        elif order["status"] == "created":
            ipn = order["ipn"] = ipn_for(body["orderId"], order, success, False)
            order["status"] = "paid" if success else "failed"
            if success:
                STATE["paid"][ipn["transId"]] = body["orderId"]
        elif order["status"] == ("paid" if success else "failed"):
            ipn = order["ipn"]
        else:
            return answer(409, {"error": f"order already {order['status']}"})
        replied = threading.Event()
        thread = threading.Thread(target=send_ipn, daemon=True, args=(
            body.get("ipn_url") or order["ipnUrl"], ipn, body.get("delay_ms", 0), STATE["gen"], replied))
        thread.start()
    return (*answer(200, {"transId": ipn["transId"]}), replied)


def refund(body):
    strs = ("partnerCode", "orderId", "requestId", "lang", "description", "signature")
    if bad_format(body, ("amount", "transId"), strs, ("description",)) or body["lang"] not in (
            "vi", "en"):
        return refunded(body, 20, "Bad format request")
    if not authentic(body, REFUND_SIGNED):
        return refunded(body, 13, "Merchant authentication failed")
    with LOCK:
        done = STATE["refunds"].get(body["orderId"])
        if done is not None:
            return (200, done["answer"]) if done["body"] == body else refunded(
                body, 41, "Duplicated orderId")
        if body["orderId"] in STATE["orders"]:
            return refunded(body, 41, "Duplicated orderId")
        if not 1000 <= body["amount"] <= 50000000:
            return refunded(body, 22, "Amount out of range")
        paid = STATE["paid"].get(body["transId"])
        if paid is None:
            return refunded(body, 1080, "Refund failed: transaction not found")
        order = STATE["orders"][paid]
        if body["amount"] > order["amount"] - order["refunded"]:
            return refunded(body, 1081, "Refund amount exceeds")
        order["refunded"] += body["amount"]
        STATE["trans"] += 1
        status, payload = refunded(body, 0, OK, STATE["trans"])
        STATE["refunds"][body["orderId"]] = {"body": body, "answer": payload}
        return status, payload


def route(method, path, body):
    if method == "POST":
        if path == "/v2/gateway/api/create":
            return create(body)
        if path == "/v2/gateway/api/refund":
            return refund(body)
        if path == "/_pay":
            return pay(body)
    return answer(404, {"error": "not found"})


class Handler(fakehttp.JsonHandler):
    server_version = "fake-momo"
    content_type = "application/json; charset=UTF-8"

    def handle_any(self):
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        method = self.command
        if self.test_hook(method, path, LOCK, STATE, reset, answer,
                          answer(404, {"error": "not found"})):
            return
        with LOCK:
            STATE["calls"].append({"method": method, "path": path, "body": body})
        status, payload, *replied = route(method, path, body)
        try:
            self.reply(status, payload)
        finally:
            for event in replied:
                event.set()  # the IPN leaves after the /_pay answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    global PARTNER, ACCESS, SECRET
    parser = argparse.ArgumentParser(description="Local MoMo payment gateway emulator for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--partner-code", default=PARTNER)
    parser.add_argument("--access-key", default=ACCESS)
    parser.add_argument("--secret-key", default=SECRET)
    args = parser.parse_args()
    PARTNER, ACCESS, SECRET = args.partner_code, args.access_key, args.secret_key
    reset()

    def bound(base):
        global BASE
        BASE = base

    fakehttp.serve(args.port, Handler, bound)


if __name__ == "__main__":
    main()
