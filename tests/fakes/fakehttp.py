"""What the provider emulators in tests/fakes/ share: a threaded loopback server that prints
where it listens ("listening on http://127.0.0.1:PORT", the line the tests read), serves until
SIGTERM or SIGINT (exit 0), and keeps quiet about clients that hang up."""
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, JSON answers with a Content-Length, no request log, and the test
    hooks: GET /_calls lists state["calls"], POST /_reset calls reset(), under lock."""
    protocol_version = "HTTP/1.1"
    content_type = "application/json"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def test_hook(self, method, path, lock, state, reset, answer, not_found):
        """Answers /_calls and /_reset, each answer made by answer(status, obj) (not_found: the
        (status, body) for another method there); returns whether it did."""
        if (method, path) == ("GET", "/_calls"):
            with lock:
                reply = answer(200, {"calls": list(state["calls"])})
        elif (method, path) == ("POST", "/_reset"):
            with lock:
                reset()
            reply = answer(200, {})
        elif path in ("/_calls", "/_reset"):
            reply = not_found
        else:
            return False
        self.reply(*reply)
        return True


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-answer is not worth a traceback


def serve(port, handler, on_bound=None):
    """Binds 127.0.0.1:port (0: a free one), calls on_bound(base_url), announces, serves."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    server = Server(("127.0.0.1", port), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    if on_bound is not None:
        on_bound(base)
    print(f"listening on {base}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
