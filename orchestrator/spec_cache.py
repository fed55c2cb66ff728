"""Parsed specs by definition id: restored once per process from the stored spec, then reused.

Specs are immutable once deployed, so the cache never needs invalidation; it is bounded
so a server with thousands of versions does not keep them all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from .bpmn.serializer import StateSerializer
from .errors import NotFound
from .store.db import Database
from .store.models import ProcessDefinition


@dataclass(frozen=True)
class LoadedSpec:
    definition_id: str
    key: str
    spec: Any
    subprocess_specs: dict[str, Any]
    properties: dict[str, str] = field(default_factory=dict)  # the process's camunda:properties


class SpecCache:
    def __init__(self, db: Database, serializers: Any, capacity: int = 256) -> None:
        self._db = db
        self._serializers = serializers  # callable returning this thread's StateSerializer
        self._capacity = capacity
        self._entries: OrderedDict[str, LoadedSpec] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition_id: str) -> LoadedSpec:
        with self._lock:
            loaded = self._entries.get(definition_id)
            if loaded is not None:
                self._entries.move_to_end(definition_id)
                return loaded
        loaded = self._load(definition_id)
        with self._lock:
            self._entries[definition_id] = loaded
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return loaded

    def put(
        self,
        definition_id: str,
        key: str,
        spec: Any,
        subprocess_specs: dict[str, Any],
        properties: dict[str, str],
    ) -> None:
        """Seed the cache right after a deployment parsed the spec anyway."""
        with self._lock:
            self._entries[definition_id] = LoadedSpec(definition_id, key, spec, subprocess_specs, properties)

    def _load(self, definition_id: str) -> LoadedSpec:
        with self._db.read() as session:
            row = session.execute(
                select(
                    ProcessDefinition.key, ProcessDefinition.spec_state, ProcessDefinition.properties
                ).where(ProcessDefinition.id == definition_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"process definition '{definition_id}' does not exist")
        serializer: StateSerializer = self._serializers()
        spec, subprocess_specs = serializer.restore_specs(row.spec_state)
        properties = (row.properties or {}).get("properties") or {}
        return LoadedSpec(definition_id, row.key, spec, subprocess_specs, properties)
