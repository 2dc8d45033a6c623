"""A real webhook receiver for tests: an HTTP server in a thread on 127.0.0.1 that keeps every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    answered: int


@dataclass
class Receiver:
    """What arrived, and the plan: the first `failures` attempts of each webhook-id get 500, later ones 200."""

    port: int = 0
    failures: int = 0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, message_id: str) -> int:
        seen = sum(1 for r in self.requests if r.headers.get("webhook-id") == message_id)
        return 500 if seen < self.failures else 200

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """The requests once at least `count` arrived; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.requests)} webhook request(s) arrived, not {count}: {self.requests}")


@contextmanager
def receiver(failures: int = 0) -> Iterator[Receiver]:
    """A running receiver on a free port of 127.0.0.1."""
    state = Receiver(failures=failures)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                status = state.answer(headers.get("webhook-id", ""))
                state.requests.append(Received(self.path, headers, body, time.monotonic(), status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
