"""A local stand-in for the National Public Service Portal: records every POST, can fail the first N."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakePortal:
    url: str
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted payloads, in order
    authorizations: list[str | None] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def statuses(self, code: str) -> list[int]:
        return [p["TrangThaiHoSo"] for p in self.received if p["MaHoSo"] == code]


@contextmanager
def fake_portal(fail_first: int = 0) -> Iterator[FakePortal]:
    portal = FakePortal(url="", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with portal.lock:
                portal.attempts += 1
                portal.authorizations.append(self.headers.get("Authorization"))
                failing = portal.attempts <= portal.fail_first
                if not failing:
                    portal.received.append(body)
            self.send_response(503 if failing else 200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error_code": "0"}' if not failing else b'{"error": "busy"}')

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    portal.url = f"http://127.0.0.1:{server.server_address[1]}/dongbo/hoso"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield portal
    finally:
        server.shutdown()
        server.server_close()
