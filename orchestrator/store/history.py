"""Append-only events, hash-chained per instance (each hash covers the previous one)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import Event, ProcessInstance


def _digest(event: Event) -> str:
    payload = {
        "instance": event.instance_id,
        "type": event.type,
        "activity": event.activity_id,
        "task": event.task_id,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "data": event.data,
        "prev": event.prev_hash,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


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
) -> Event:
    event = Event(
        instance_id=instance.id,
        type=type_,
        activity_id=activity_id,
        task_id=task_id,
        actor=actor,
        at=at,
        data=data or {},
        prev_hash=instance.last_event_hash,
    )
    event.hash = _digest(event)
    session.add(event)
    instance.last_event_hash = event.hash
    return event


def verify_chain(events: list[Event]) -> bool:
    """True when every event's hash matches its content and links to the one before."""
    previous: str | None = None
    for event in events:
        if event.prev_hash != previous or event.hash != _digest(event):
            return False
        previous = event.hash
    return True
