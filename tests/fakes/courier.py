"""What the courier emulators (grab.py, viettelpost.py) share: bookings kept by the merchant's
order reference (a repeated booking answers the one that exists), the test hooks of fakehttp's
JsonHandler, and answer modes a test sets with POST /_mode {"mode", "times"?}:
  ok       answer normally (the default)
  down     503 with a JSON error body (no booking is made)
  slow     sleep 2 s, then answer normally
  garbage  200 with a truncated JSON body (no booking is made)
  refuse   the provider's refusal (4xx or error:true), no booking made
`times` (default: until the next /_mode) counts the requests it applies to; then back to ok.
GET /_bookings lists the bookings (reference, id, status). The hooks need no credentials."""
import json
import threading
import time
from urllib.parse import urlsplit

import fakehttp

LOCK = threading.Lock()
STATE = {}


def reset():
    STATE.update(calls=[], bookings={}, mode="ok", times=-1, seq=0)


def answer(status, obj):
    return status, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def take_mode():
    """The mode for this request (under LOCK), counting it down."""
    mode = STATE["mode"]
    if STATE["times"] > 0:
        STATE["times"] -= 1
        if STATE["times"] == 0:
            STATE["mode"], STATE["times"] = "ok", -1
    return mode


class Handler(fakehttp.JsonHandler):
    """Subclasses set `route(method, path, body, headers)` → (status, bytes) (called under no
    lock) and `refusal` (status, bytes)."""

    def handle_any(self):
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.command
        if self.test_hook(method, path, LOCK, STATE, reset, answer, answer(404, {})):
            return
        if (method, path) == ("POST", "/_mode"):
            req = json.loads(raw or b"{}")
            with LOCK:
                STATE["mode"], STATE["times"] = req.get("mode", "ok"), int(req.get("times", -1))
            return self.reply(*answer(200, {}))
        if (method, path) == ("GET", "/_bookings"):
            with LOCK:
                return self.reply(*answer(200, {"bookings": list(STATE["bookings"].values())}))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with LOCK:
            STATE["calls"].append({"method": method, "path": path, "body": body,
                                   "auth": self.headers.get(self.auth_header)})
            mode = take_mode()
        if mode == "down":
            return self.reply(*answer(503, {"message": "service unavailable"}))
        if mode == "garbage":
            return self.reply(200, b'{"deliveryID":"GR', ())
        if mode == "refuse":
            return self.reply(*self.refusal)
        if mode == "slow":
            time.sleep(2)
        self.reply(*self.route(method, path, body))

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def serve(port, handler):
    reset()
    fakehttp.serve(port, handler)
