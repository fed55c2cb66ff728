"""The per-topic filters of fetchAndLock, as SQL on both dialects.

``processVariables`` is an equality filter on the process-variable projection
(``process_instance.variables``, JSON).  It is evaluated in SQL, before anything is
locked, so a topic with thousands of open tasks of which few match is never scanned in
Python: ``jsonb`` equality on PostgreSQL; ``json_type``/``json_extract`` on SQLite.  One
difference remains: on SQLite, object and array values compare as text, so their keys
must come in the same order as stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, cast, exists, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from ..errors import InvalidInput
from ..store.models import Deployment, ExternalTaskRow, ProcessDefinition, ProcessInstance, UtcDateTime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TopicRequest:
    """One entry of fetchAndLock's ``topics``; None means "no such filter"."""

    topic_name: str
    lock_duration_ms: int
    variables: Sequence[str] | None = None  # None: all variables
    local_variables: bool = False  # only the task's local variables
    business_key: str | None = None
    definition_ids: Sequence[str] | None = None
    definition_keys: Sequence[str] | None = None
    version_tag: str | None = None
    tenant_ids: Sequence[str] | None = None
    without_tenant_id: bool = False
    process_variables: dict[str, Any] = field(default_factory=dict)
    include_extension_properties: bool = False

    def __post_init__(self) -> None:
        for name in self.process_variables:
            # The name becomes a JSON path on SQLite: keep it a plain label on every dialect.
            if not isinstance(name, str) or not name or '"' in name or "\\" in name:
                raise InvalidInput(
                    "processVariables names must be non-empty and contain no quote or backslash"
                )


def topic_condition(topic: TopicRequest, dialect: str) -> ColumnElement[bool]:
    """The rows of ``topic`` that pass its filters (claimability and visibility are separate)."""
    row = ExternalTaskRow
    conditions: list[ColumnElement[bool]] = [row.topic == topic.topic_name]
    if topic.business_key is not None:
        conditions.append(row.business_key == topic.business_key)
    if topic.definition_ids is not None:
        conditions.append(row.definition_id.in_(topic.definition_ids))
    if topic.definition_keys is not None:
        conditions.append(row.process_key.in_(topic.definition_keys))
    if topic.version_tag is not None:
        conditions.append(
            row.definition_id.in_(
                select(ProcessDefinition.id).where(ProcessDefinition.version_tag == topic.version_tag)
            )
        )
    tenants: list[ColumnElement[bool]] = []
    if topic.tenant_ids is not None:
        tenants.append(Deployment.tenant_id.in_(topic.tenant_ids))
    if topic.without_tenant_id:
        tenants.append(Deployment.tenant_id.is_(None))
    if tenants:  # the tenant is the deployment's: the projection row does not carry it
        conditions.append(
            row.definition_id.in_(
                select(ProcessDefinition.id)
                .join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
                .where(or_(*tenants))
            )
        )
    if topic.process_variables:
        equalities = [_variable_equals(dialect, n, v) for n, v in topic.process_variables.items()]
        conditions.append(exists().where(ProcessInstance.id == row.instance_id, *equalities))
    return and_(*conditions)


def availability() -> Any:
    """MIN over rows of when each becomes claimable: the later of lock expiry and retry delay."""
    lock, retry = ExternalTaskRow.lock_expires_at, ExternalTaskRow.retry_at
    moment = case(
        (and_(lock.is_(None), retry.is_(None)), literal(_EPOCH, UtcDateTime())),
        (retry.is_(None), lock),
        (lock.is_(None), retry),
        (lock > retry, lock),
        else_=retry,
    )
    return type_coerce(func.min(moment), UtcDateTime())


def _variable_equals(dialect: str, name: str, value: Any) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # jsonb equality is by value: 1 == 1.0, key order is irrelevant, true != 1.
        stored = cast(ProcessInstance.variables, JSONB).op("->")(literal(name))
        return stored == cast(literal(json.dumps(value)), JSONB)
    path = f'$."{name}"'
    kind = func.json_type(ProcessInstance.variables, path)
    stored = func.json_extract(ProcessInstance.variables, path)
    if value is None:
        return kind == "null"
    if isinstance(value, bool):  # before int: bool is an int in Python, not in JSON
        return kind == ("true" if value else "false")
    if isinstance(value, int | float):
        return and_(kind.in_(("integer", "real")), stored == value)
    if isinstance(value, str):
        return and_(kind == "text", stored == value)
    return and_(kind.in_(("object", "array")), func.json(stored) == func.json(json.dumps(value)))
