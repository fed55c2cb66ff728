"""Append-only events, hash-chained per instance (each hash covers the previous one).

Events are written with one Core ``INSERT`` (executemany) per call, not through the ORM's
unit of work: a step appends several, and nothing reads them back inside the step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import Event, ProcessInstance

_HASHED = ("instance_id", "type", "activity_id", "task_id", "actor", "at", "data", "prev_hash")


def _digest(row: dict[str, Any]) -> str:
    payload = {
        "instance": row["instance_id"],
        "type": row["type"],
        "activity": row["activity_id"],
        "task": row["task_id"],
        "actor": row["actor"],
        "at": row["at"].isoformat(),
        "data": row["data"],
        "prev": row["prev_hash"],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def append_events(
    session: Session,
    instance: ProcessInstance,
    entries: Sequence[tuple[str, dict[str, Any]]],
    *,
    at: datetime,
    actor: str | None = None,
) -> None:
    """Append ``(type, fields)`` entries in order; ``fields`` may name ``activity_id``,
    ``task_id``, ``data`` and an ``actor`` that overrides the default one."""
    rows = []
    previous = instance.last_event_hash
    for type_, fields in entries:
        row = {
            "instance_id": instance.id,
            "type": type_,
            "activity_id": fields.get("activity_id"),
            "task_id": fields.get("task_id"),
            "actor": fields.get("actor", actor),
            "at": at,
            "data": fields.get("data") or {},
            "prev_hash": previous,
        }
        row["hash"] = previous = _digest(row)
        rows.append(row)
    if rows:
        session.connection().execute(insert(Event), rows)
        instance.last_event_hash = previous


def append_event(
    session: Session,
    instance: ProcessInstance,
    type_: str,
    *,
    at: datetime,
    activity_id: str | None = None,
    task_id: str | None = None,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    fields = {"activity_id": activity_id, "task_id": task_id, "actor": actor, "data": data}
    append_events(session, instance, [(type_, fields)], at=at)


def verify_chain(events: list[Event]) -> bool:
    """True when every event's hash matches its content and links to the one before."""
    previous: str | None = None
    for event in events:
        row = {column: getattr(event, column) for column in _HASHED}
        if event.prev_hash != previous or event.hash != _digest(row):
            return False
        previous = event.hash
    return True
