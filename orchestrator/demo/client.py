"""A JSON-over-HTTP client on the standard library, as an agency's own system could write it.

The product must not depend on the (dev-only) Camunda client, so the demo speaks the
external-task API with ``urllib.request`` and ``json`` only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_TIMEOUT = 10.0


class ServerUnreachable(Exception):
    """No answer at the URL (nothing listening, wrong host)."""


class ApiError(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class Client:
    """Calls under ``base`` with one bearer token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {base!r}")
        self.base = base.rstrip("/")
        self.token = token

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        return self.call("GET", f"{path}{query}", timeout=timeout)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        return self.call("POST", path, body, headers=headers, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """The decoded JSON answer (None for an empty one); ``ApiError`` for a 4xx or 5xx."""
        data = None if body is None else json.dumps(body).encode()
        # The scheme was checked in __init__: http(s) only, never file: or custom ones.
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, _detail(error.read())) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            raise ServerUnreachable(f"{self.base}: {getattr(error, 'reason', error)}") from None
        return json.loads(payload) if payload else None


def _detail(payload: bytes) -> str:
    """The problem's ``detail`` (or Camunda's ``message``), else the start of the body."""
    try:
        body = json.loads(payload)
    except ValueError:
        return payload[:200].decode(errors="replace")
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("message") or body.get("title") or body)
    return str(body)[:200]
