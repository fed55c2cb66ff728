"""Tokens for API tests: every /api/v1 call needs one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from orchestrator.access import add_agency, create_token
from orchestrator.errors import Conflict
from orchestrator.runtime import Runtime


def auth_headers(
    runtime: Runtime, scopes: Iterable[str] = ("desk",), agency: str | None = None
) -> dict[str, str]:
    """A fresh token with ``scopes`` (creating ``agency`` if needed) as an Authorization header."""
    if agency is not None:
        with contextlib.suppress(Conflict):
            add_agency(runtime.db, agency, f"Agency {agency}")
    _, token = create_token(runtime.db, name=f"test {'+'.join(scopes)}", scopes=list(scopes), agency=agency)
    return {"Authorization": f"Bearer {token}"}


def authenticate(client: Any, runtime: Runtime, scopes: Iterable[str] = ("desk",)) -> Any:
    """Make every request of a Flask test client carry a token with ``scopes``."""
    client.environ_base["HTTP_AUTHORIZATION"] = auth_headers(runtime, scopes)["Authorization"]
    return client
