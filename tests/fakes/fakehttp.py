"""What the provider emulators in tests/fakes/ share: a threaded loopback server that prints
where it listens ("listening on http://127.0.0.1:PORT", the line the tests read), serves until
SIGTERM or SIGINT (exit 0), and keeps quiet about clients that hang up."""
import signal
import sys
from http.server import ThreadingHTTPServer


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
