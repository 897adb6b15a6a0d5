#!/usr/bin/env python3
"""A small local emulator of the part of Stripe's REST API that larder's payment adapter uses.

Run: /usr/bin/python3 tests/fakes/stripe.py [--port N] [--key KEY]
It binds 127.0.0.1 (port 0 = a free one), prints one line "listening on http://127.0.0.1:PORT"
and serves until SIGTERM/SIGINT (exit 0). Standard library only; state lives in memory.

Emulated (requests form-encoded, answers JSON, every /v1/ request needs "Authorization:
Bearer KEY", KEY default sk_test_larder, else 401):
  POST /v1/payment_intents               amount, currency=vnd, payment_method, confirm=true,
                                         capture_method=manual, optional metadata[...]
  POST /v1/payment_intents/{id}/capture  requires_capture -> succeeded
  POST /v1/payment_intents/{id}/cancel   requires_capture|requires_payment_method -> canceled
  POST /v1/refunds                       payment_intent, optional amount; an uncaptured
                                         intent becomes canceled, a captured one is refunded
Idempotency-Key on any POST /v1/: a repeat with the same method, path and body replays the
stored answer (header Idempotent-Replayed: true); another body is 400 idempotency_error;
a repeat while the first is still running is 409 idempotency_error. Answers >= 500 are not
stored, so a retry runs again.

Magic payment methods:
  pm_card_visa            succeeds: status requires_capture
  pm_card_chargeDeclined  402 card_error card_declined (intent left requires_payment_method)
  pm_slow                 sleeps 2 s, then as pm_card_visa
  pm_pause                sleeps 0.5 s, then as pm_card_visa (a client may leave meanwhile)
  pm_malformed            200 with a truncated JSON body
  pm_flaky                503 api_error for the first 2 calls per Idempotency-Key (per
                          process without a key), then as pm_card_visa
  pm_down                 always 500 api_error
  anything else           400 resource_missing

Test hooks (no auth): GET /_calls lists every request received (method, path,
idempotency_key, form) except /_calls and /_reset; POST /_reset forgets everything.
"""
import argparse
import json
import re
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import fakehttp

API_KEY = "sk_test_larder"
LOCK = threading.Lock()
STATE = {}


def reset():
    """Forget all state; the caller holds LOCK (or no thread runs yet)."""
    STATE.update(calls=[], intents={}, refunds={}, idem={}, inflight=set(), flaky={}, pi=0, re=0)


def answer(status, obj):
    return status, json.dumps(obj, separators=(",", ":")).encode()


def error(status, type_, message, **extra):
    return answer(status, {"error": {"type": type_, **extra, "message": message}})


def invalid(param, message, **extra):
    return error(400, "invalid_request_error", message, param=param, **extra)


def missing(param, what, id_):
    return error(404, "invalid_request_error", f"No such {what}: '{id_}'",
                 code="resource_missing", param=param)


def unexpected_state(intent, action):
    return error(400, "invalid_request_error",
                 f"This PaymentIntent could not be {action} because it has a status of "
                 f"{intent['status']}.", code="payment_intent_unexpected_state")


def positive_int(value):
    return value.isascii() and value.isdigit() and int(value) > 0


def new_intent(form, status):
    """Store a new intent; the caller holds LOCK."""
    STATE["pi"] += 1
    metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[") and k.endswith("]")}
    intent = {"id": f"pi_{STATE['pi']}", "object": "payment_intent", "amount": int(form["amount"]),
              "currency": "vnd", "status": status, "capture_method": "manual", "metadata": metadata}
    STATE["intents"][intent["id"]] = intent
    return intent


def create_intent(form, key):
    for param in ("amount", "currency", "payment_method", "confirm", "capture_method"):
        if param not in form:
            return invalid(param, f"Missing required param: {param}.")
    if not positive_int(form["amount"]):
        return invalid("amount", "Invalid positive integer")
    if form["currency"] != "vnd":
        return invalid("currency", "Invalid currency: only vnd is supported here")
    if form["confirm"] != "true":
        return invalid("confirm", "confirm must be true")
    if form["capture_method"] != "manual":
        return invalid("capture_method", "capture_method must be manual")
    pm = form["payment_method"]
    if pm == "pm_down":
        return error(500, "api_error", "down")
    if pm == "pm_malformed":
        return 200, b'{"id": "pi_'
    if pm in ("pm_slow", "pm_pause"):
        time.sleep(2.0 if pm == "pm_slow" else 0.5)  # outside LOCK: others proceed meanwhile
    with LOCK:
        if pm == "pm_flaky":
            STATE["flaky"][key] = STATE["flaky"].get(key, 0) + 1
            if STATE["flaky"][key] <= 2:
                return error(503, "api_error", "temporary")
        if pm == "pm_card_chargeDeclined":
            intent = new_intent(form, "requires_payment_method")
            return error(402, "card_error", "Your card was declined.", code="card_declined",
                         decline_code="generic_decline",
                         payment_intent={k: intent[k] for k in ("id", "object", "status")})
        if pm in ("pm_card_visa", "pm_slow", "pm_pause", "pm_flaky"):
            return answer(200, new_intent(form, "requires_capture"))
    return invalid("payment_method", "No such PaymentMethod", code="resource_missing")


def capture_or_cancel(id_, action):
    with LOCK:
        intent = STATE["intents"].get(id_)
        if intent is None:
            return missing("intent", "payment_intent", id_)
        if action == "capture":
            if intent["status"] != "requires_capture":
                return unexpected_state(intent, "captured")
            intent["status"] = "succeeded"
        else:
            if intent["status"] not in ("requires_capture", "requires_payment_method"):
                return unexpected_state(intent, "canceled")
            intent["status"] = "canceled"
        return answer(200, intent)


def create_refund(form):
    id_ = form.get("payment_intent")
    if not id_:
        return invalid("payment_intent", "Missing required param: payment_intent.")
    with LOCK:
        intent = STATE["intents"].get(id_)
        if intent is None:
            return missing("payment_intent", "payment_intent", id_)
        refunded = any(r["payment_intent"] == id_ for r in STATE["refunds"].values())
        if intent["status"] == "canceled" or refunded:
            return error(400, "invalid_request_error",
                         f"Charge for PaymentIntent {id_} has already been refunded.",
                         code="charge_already_refunded")
        if intent["status"] not in ("requires_capture", "succeeded"):
            return unexpected_state(intent, "refunded")
        amount = form.get("amount", str(intent["amount"]))
        if not positive_int(amount) or int(amount) > intent["amount"]:
            return invalid("amount", "Invalid refund amount")
        if intent["status"] == "requires_capture":
            intent["status"] = "canceled"
        STATE["re"] += 1
        refund = {"id": f"re_{STATE['re']}", "object": "refund", "payment_intent": id_,
                  "amount": int(amount), "status": "succeeded"}
        STATE["refunds"][refund["id"]] = refund
        return answer(200, refund)


def route(method, path, form, key):
    if method == "POST":
        if path == "/v1/payment_intents":
            return create_intent(form, key)
        if path == "/v1/refunds":
            return create_refund(form)
        m = re.fullmatch(r"/v1/payment_intents/([^/]+)/(capture|cancel)", path)
        if m:
            return capture_or_cancel(m.group(1), m.group(2))
    return error(404, "invalid_request_error", "Unrecognized request URL")


class Handler(fakehttp.JsonHandler):
    server_version = "fake-stripe"

    def handle_any(self):
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        method = self.command
        if self.test_hook(method, path, LOCK, STATE, reset, answer,
                          error(404, "invalid_request_error", "Unrecognized request URL")):
            return
        with LOCK:
            STATE["calls"].append({"method": method, "path": path, "idempotency_key": key,
                                   "form": form})
        if not path.startswith("/v1/"):
            return self.reply(*error(404, "invalid_request_error", "Unrecognized request URL"))
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.reply(*error(401, "invalid_request_error", "Invalid API Key provided"))
        if method != "POST" or key is None:
            return self.reply(*route(method, path, form, key))
        fingerprint = (method, path, body)
        with LOCK:
            stored = STATE["idem"].get(key)
            if stored is None and key in STATE["inflight"]:
                result = error(409, "idempotency_error", "There is currently another in-progress "
                               "request using this Idempotent Key. Please try again later.")
            elif stored is not None and stored[0] != fingerprint:
                result = error(400, "idempotency_error", "Keys for idempotent requests can only "
                               "be used with the same parameters they were first used with.")
            else:
                result = None
                if stored is None:
                    STATE["inflight"].add(key)
        if result is not None:
            return self.reply(*result)
        if stored is not None:
            return self.reply(stored[1], stored[2], [("Idempotent-Replayed", "true")])
        status, payload = 500, b'{"error":{"type":"api_error","message":"emulator failure"}}'
        try:
            status, payload = route(method, path, form, key)
        finally:
            with LOCK:
                STATE["inflight"].discard(key)
                if status < 500:
                    STATE["idem"][key] = (fingerprint, status, payload)
        self.reply(status, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    global API_KEY
    parser = argparse.ArgumentParser(description="Local Stripe API emulator for tests.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=API_KEY)
    args = parser.parse_args()
    API_KEY = args.key
    reset()
    fakehttp.serve(args.port, Handler)


if __name__ == "__main__":
    main()
