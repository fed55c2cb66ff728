"""Keyset ("seek") pages: each page ends with the sort key of its last row.

The next page starts strictly after that key, so rows inserted meanwhile never shift or
repeat what a reader has already seen (an OFFSET would).  Callers ask for ``limit + 1``
rows: the extra row only tells whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_

from ..errors import InvalidInput

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and, when more follow, the sort key to continue after."""

    items: list[T]
    next_after: tuple[Any, ...] | None


def check_limit(limit: int) -> int:
    """A page size the database is asked for: 1 to ``MAX_PAGE_SIZE``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return limit


def page_of(
    rows: Sequence[R], limit: int, key: Callable[[R], tuple[Any, ...]], view: Callable[[R], T]
) -> Page[T]:
    """Cut ``limit + 1`` fetched rows into a page; the key of the last kept row continues it."""
    kept = list(rows[:limit])
    more = len(rows) > limit
    return Page([view(row) for row in kept], key(kept[-1]) if more and kept else None)


def seek(
    query: Select[Any],
    when: ColumnElement[Any],
    row_id: ColumnElement[Any],
    after: tuple[Any, Any] | None,
    limit: int,
    *,
    newest_first: bool,
) -> Select[Any]:
    """``query`` ordered by (``when``, ``row_id``), strictly after the key ``after``, ``limit + 1`` rows."""
    if after is not None:
        at, last_id = after
        if newest_first:
            query = query.where(or_(when < at, and_(when == at, row_id < last_id)))
        else:
            query = query.where(or_(when > at, and_(when == at, row_id > last_id)))
    order = (when.desc(), row_id.desc()) if newest_first else (when, row_id)
    return query.order_by(*order).limit(limit + 1)
