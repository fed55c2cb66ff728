"""A local stand-in for the National Public Service Portal: records every POST, can fail the first N."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .http_recorder import Posted, recording_server


@dataclass
class FakePortal:
    url: str = ""
    fail_first: int = 0  # answer 503 to this many attempts (a test may change it: the portal recovers)
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted payloads, in order
    authorizations: list[str | None] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def statuses(self, code: str) -> list[int]:
        return [p["TrangThaiHoSo"] for p in self.received if p["MaHoSo"] == code]

    def answer(self, posted: Posted) -> int:
        with self.lock:
            self.attempts += 1
            self.authorizations.append(posted.headers.get("Authorization"))
            if self.attempts <= self.fail_first:
                return 503
            self.received.append(json.loads(posted.body or b"{}"))
            return 200


@contextmanager
def fake_portal(fail_first: int = 0) -> Iterator[FakePortal]:
    portal = FakePortal(fail_first=fail_first)
    with recording_server(portal.answer, "/dongbo/hoso") as url:
        portal.url = url
        yield portal
