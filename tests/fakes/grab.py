#!/usr/bin/env python3
"""A small local emulator of the part of GrabExpress's partner Delivery API that larder uses.

Run: python3 tests/fakes/grab.py [--port N] [--key K]   (K default grab-test-key)
Binds 127.0.0.1 (port 0: a free one), prints "listening on http://127.0.0.1:PORT", serves until
SIGTERM/SIGINT. Standard library only; state in memory. Every request needs
"Authorization: Bearer K" (else 401).
  POST /v1/deliveries/quotes  {serviceType, packages, origin{address}, destination{address}}
       → 200 {"quotes":[{"service":{"type"},"currency":{"code":"VND"},"amount":22000}]}
  POST /v1/deliveries  {merchantOrderID, serviceType, paymentMethod, packages (a list),
       origin{address}, destination{address}, recipient{firstName, phone (84…), smsEnabled},
       sender{firstName, phone}, schedule?} → 200 {deliveryID "GRAB-N", merchantOrderID, status
       "ALLOCATING", quote{amount 22000}, trackingURL}; the same merchantOrderID again answers
       the same delivery (a cancelled one too); a missing field is 400 {"message"}.
  DELETE /v1/deliveries/{deliveryID} → 204 (status CANCELED), 404 unknown
  GET /v1/deliveries/{deliveryID} → 200 the delivery, 404 unknown
Test hooks: see courier.py (/_mode, /_bookings, /_calls, /_reset); the refusal is 400
{"message":"destination outside the service area"}.
Webhooks are the test's to send (signed with HMAC-SHA256 in X-Grab-Signature, as larder expects).
"""
import argparse
import re

import courier
from courier import LOCK, STATE, answer

KEY = "grab-test-key"


def book(body):
    need = ("merchantOrderID", "serviceType", "paymentMethod")
    if not isinstance(body, dict) or any(not isinstance(body.get(k), str) for k in need) or \
            not isinstance(body.get("packages"), list) or \
            not isinstance(body.get("destination", {}).get("address"), str) or \
            not str(body.get("recipient", {}).get("phone", "")).startswith("84"):
        return answer(400, {"message": "invalid request"})
    ref = body["merchantOrderID"]
    with LOCK:
        d = STATE["bookings"].get(ref)
        if d is None:
            STATE["seq"] += 1
            d = {"deliveryID": f"GRAB-{STATE['seq']}", "merchantOrderID": ref,
                 "status": "ALLOCATING", "quote": {"amount": 22000},
                 "trackingURL": f"https://express.grab.example/track/{STATE['seq']}"}
            STATE["bookings"][ref] = d
        return answer(200, d)


def find(delivery_id):
    for d in STATE["bookings"].values():
        if d["deliveryID"] == delivery_id:
            return d
    return None


class Handler(courier.Handler):
    server_version = "fake-grab"
    auth_header = "Authorization"
    refusal = answer(400, {"message": "destination outside the service area"})

    def route(self, method, path, body):
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return answer(401, {"message": "unauthorized"})
        if (method, path) == ("POST", "/v1/deliveries/quotes"):
            return answer(200, {"quotes": [{"service": {"type": "INSTANT"},
                                            "currency": {"code": "VND"}, "amount": 22000}]})
        if (method, path) == ("POST", "/v1/deliveries"):
            return book(body)
        m = re.fullmatch(r"/v1/deliveries/([^/]+)", path)
        if m and method in ("GET", "DELETE"):
            with LOCK:
                d = find(m.group(1))
                if d is None:
                    return answer(404, {"message": "not found"})
                if method == "GET":
                    return answer(200, d)
                d["status"] = "CANCELED"
                return 204, b""
        return answer(404, {"message": "not found"})


def main():
    global KEY
    parser = argparse.ArgumentParser(description="Local GrabExpress API emulator for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=KEY)
    args = parser.parse_args()
    KEY = args.key
    courier.serve(args.port, Handler)


if __name__ == "__main__":
    main()
