"""One local HTTP server for the tests that receive our POSTs (the fake portal, webhook receivers)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Posted:
    """One POST as it arrived: headers and the raw body (signatures are computed over these bytes)."""

    headers: dict[str, str]
    body: bytes


@contextmanager
def recording_server(answer: Callable[[Posted], int], path: str) -> Iterator[str]:
    """Serve on a free loopback port; each POST goes to ``answer``, whose status is sent back.

    Yields the server's URL ending in ``path``.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = answer(Posted(dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: the tests assert on what was received."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
