"""Opaque cursors: the sort key of the last row seen, as base64url JSON tagged with its list.

Clients must pass ``nextCursor`` back unchanged.  The tag makes a cursor from one list
useless in another; a tampered cursor is a 400, and at worst seeks elsewhere in the same
list the caller may read anyway, so it is not signed.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from orchestrator.errors import InvalidInput
from orchestrator.services.paging import Page


def encode_cursor(kind: str, key: tuple[Any, ...] | None) -> str | None:
    """The cursor continuing after ``key`` in the list ``kind`` (None: no further page)."""
    if key is None:
        return None
    values = [v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"k": kind, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, shape: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The key in ``cursor``, its parts converted to ``shape``; InvalidInput if it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        values = payload["v"]
        if payload["k"] != kind or len(values) != len(shape):
            raise ValueError("another list's cursor")
        return tuple(_convert(value, type_) for value, type_ in zip(values, shape, strict=True))
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise InvalidInput("the cursor is not valid: pass nextCursor back unchanged") from error


def _convert(value: Any, type_: type) -> Any:
    if type_ is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive cursor time")
        return parsed
    if type(value) is not type_:  # bool is an int, but never a key here
        raise TypeError(f"expected {type_.__name__}")
    return value


def page_body(kind: str, page: Page[Any]) -> dict[str, Any]:
    """The JSON body of a page, for a ``{items, nextCursor}`` page schema."""
    return {"items": page.items, "next_cursor": encode_cursor(kind, page.next_after)}
