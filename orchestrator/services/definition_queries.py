"""The procedure catalogue: the newest version of each process key, a keyset page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..engine import Engine
from ..store.models import ProcessDefinition
from .paging import Page, check_limit, page_of


@dataclass(frozen=True)
class DefinitionSummary:
    """A definition without its XML and parsed spec (the two large columns)."""

    id: str
    key: str
    version: int
    name: str | None
    version_tag: str | None
    resource_name: str
    deployed_at: datetime


def latest_definitions(
    engine: Engine, *, after: str | None = None, limit: int = 50
) -> Page[DefinitionSummary]:
    """The newest version of every process key, ordered by key, starting after the key ``after``."""
    limit = check_limit(limit)
    newest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
    if after is not None:
        newest = newest.where(ProcessDefinition.key > after)
    newest_sub = newest.group_by(ProcessDefinition.key).subquery()
    query = (
        select(
            ProcessDefinition.id,
            ProcessDefinition.key,
            ProcessDefinition.version,
            ProcessDefinition.name,
            ProcessDefinition.version_tag,
            ProcessDefinition.resource_name,
            ProcessDefinition.deployed_at,
        )
        .join(
            newest_sub,
            (ProcessDefinition.key == newest_sub.c.key) & (ProcessDefinition.version == newest_sub.c.version),
        )
        .order_by(ProcessDefinition.key)
        .limit(limit + 1)
    )
    with engine.db.read() as session:
        rows = list(session.execute(query))
    return page_of(rows, limit, lambda row: (row.key,), lambda row: DefinitionSummary(**row._mapping))
