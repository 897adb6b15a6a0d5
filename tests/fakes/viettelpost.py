#!/usr/bin/env python3
"""A small local emulator of the part of ViettelPost's partner API v2 that larder uses.

Run: python3 tests/fakes/viettelpost.py [--port N] [--token T]   (T default vtp-test-token)
Binds 127.0.0.1 (port 0: a free one), prints "listening on http://127.0.0.1:PORT", serves until
SIGTERM/SIGINT. Standard library only; state in memory. Every request needs the header
"Token: T" (else 401). Answers are {"status","error","message","data"}.
  POST /v2/order/getPrice → data {"MONEY_TOTAL": 30000}
  POST /v2/order/createOrder {ORDER_NUMBER (the merchant's), SENDER_FULLNAME, SENDER_ADDRESS,
       SENDER_PHONE, RECEIVER_FULLNAME, RECEIVER_ADDRESS, RECEIVER_PHONE (0…), PRODUCT_NAME,
       PRODUCT_PRICE, PRODUCT_WEIGHT, ORDER_PAYMENT, ORDER_SERVICE, MONEY_COLLECTION}
       → data {ORDER_NUMBER "VTPnnnnnnnnnn" (the tracking code), MONEY_TOTAL 30000, …}; the same
       merchant ORDER_NUMBER again answers the same order; a missing field is error:true.
  POST /v2/order/UpdateOrder {TYPE 4, ORDER_NUMBER (the tracking code), NOTE} → cancelled;
       again: error:true "Order already cancelled"; unknown: error:true "Order not found".
Test hooks: see courier.py (/_mode, /_bookings, /_calls, /_reset); the refusal is 200 with
error:true "Receiver address is not served".
Webhooks are the test's to send ({"DATA":{…},"TOKEN":…}, as larder expects).
"""
import argparse

import courier
from courier import LOCK, STATE, answer

TOKEN = "vtp-test-token"
NEEDED = ("ORDER_NUMBER", "SENDER_FULLNAME", "SENDER_ADDRESS", "SENDER_PHONE",
          "RECEIVER_FULLNAME", "RECEIVER_ADDRESS", "RECEIVER_PHONE", "PRODUCT_NAME")


def ok(data):
    return answer(200, {"status": 200, "error": False, "message": "OK", "data": data})


def refused(message):
    return answer(200, {"status": 204, "error": True, "message": message, "data": None})


class Handler(courier.Handler):
    server_version = "fake-viettelpost"
    auth_header = "Token"
    refusal = refused("Receiver address is not served")

    def route(self, method, path, body):
        if self.headers.get("Token") != TOKEN:
            return answer(401, {"status": 401, "error": True, "message": "Token invalid"})
        if method != "POST" or not isinstance(body, dict):
            return refused("Invalid request")
        if path == "/v2/order/getPrice":
            return ok({"MONEY_TOTAL": 30000})
        if path == "/v2/order/createOrder":
            if any(not isinstance(body.get(k), str) or not body[k] for k in NEEDED) or \
                    not body["RECEIVER_PHONE"].startswith("0"):
                return refused("Invalid order")
            ref = body["ORDER_NUMBER"]
            with LOCK:
                b = STATE["bookings"].get(ref)
                if b is None:
                    STATE["seq"] += 1
                    b = {"ORDER_NUMBER": f"VTP{1000000000 + STATE['seq']}", "reference": ref,
                         "status": "created", "MONEY_TOTAL": 30000}
                    STATE["bookings"][ref] = b
                return ok({"ORDER_NUMBER": b["ORDER_NUMBER"], "MONEY_COLLECTION": 0,
                           "MONEY_TOTAL": b["MONEY_TOTAL"], "EXCHANGE_WEIGHT": 1000})
        if path == "/v2/order/UpdateOrder":
            with LOCK:
                found = [b for b in STATE["bookings"].values()
                         if b["ORDER_NUMBER"] == body.get("ORDER_NUMBER")]
                if not found:
                    return refused("Order not found")
                if body.get("TYPE") != 4:
                    return refused("Unsupported TYPE")
                if found[0]["status"] == "cancelled":
                    return refused("Order already cancelled")
                found[0]["status"] = "cancelled"
                return ok(None)
        return refused("Unknown API")


def main():
    global TOKEN
    parser = argparse.ArgumentParser(description="Local ViettelPost API emulator for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    TOKEN = args.token
    courier.serve(args.port, Handler)


if __name__ == "__main__":
    main()
