"""SQLAlchemy 2 typed models: the tables of ARCHITECTURE.md §5 that the core needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every dialect (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProcessDefinition(Base):
    """One version of one executable process; the parsed spec is stored once, here."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<key>:<version>:<hash8>", Camunda-like
    key: Mapped[str] = mapped_column(String(150), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    version_tag: Mapped[str | None] = mapped_column(String(64))
    resource_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    spec_state: Mapped[bytes] = mapped_column(LargeBinary)  # gzip JSON of spec + called specs
    serializer_version: Mapped[str] = mapped_column(String(32))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # process-level extensions
    start_message: Mapped[str | None] = mapped_column(String(255), index=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployment.id"))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_created", "created_at", "id"),  # keyset pages of the dossier list
        Index(
            "ix_process_instance_next_timer",
            "next_timer_at",
            sqlite_where=text("next_timer_at IS NOT NULL"),
            postgresql_where=text("next_timer_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(150), index=True)
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running | completed | cancelled | error
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic counter, bumped per step
    state: Mapped[bytes] = mapped_column(LargeBinary)  # gzip JSON, spec by reference
    serializer_version: Mapped[str] = mapped_column(String(32))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # projection for reads
    current_activities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    next_timer_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    last_event_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # set while status is suspended


class ExternalTaskRow(Base):
    """Projection of STARTED external tasks: the table agencies and handlers poll."""

    __tablename__ = "external_task"
    __table_args__ = (
        Index("ix_external_task_fetch", "topic", "lock_expires_at", "priority", "created_at"),
        Index("ix_external_task_agency", "agency", "created_at", "id"),  # an agency's open tasks, paged
        # fetchAndLock: an agency's claimable tasks of a topic in priority and age order.
        Index(
            "ix_external_task_claim",
            "agency",
            "topic",
            "priority",
            "created_at",
            postgresql_where=text("NOT handled_in_process AND NOT incident AND NOT suspended"),
            sqlite_where=text("handled_in_process = 0 AND incident = 0 AND suspended = 0"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    definition_id: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(150))
    business_key: Mapped[str | None] = mapped_column(String(255))
    activity_id: Mapped[str] = mapped_column(String(255))
    activity_name: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    handled_in_process: Mapped[bool] = mapped_column(Boolean, default=False)
    agency: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lock_owner: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retries: Mapped[int | None] = mapped_column(Integer)
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error_message: Mapped[str | None] = mapped_column(String(666))
    error_details: Mapped[str | None] = mapped_column(Text)
    incident: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    local_variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How often a worker's lock ran out before it completed: past a limit, an incident (admin).
    lock_expiries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UserTaskRow(Base):
    """Projection of READY user tasks."""

    __tablename__ = "user_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    candidate_groups: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Job(Base):
    """Outbox and work queue: claimed with SKIP LOCKED, deduplicated while queued."""

    __tablename__ = "job"
    __table_args__ = (
        Index(
            "ux_job_dedupe_open",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index(
            "ix_job_runnable",
            "run_at",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        Index(
            "ix_job_leased",
            "lease_expires_at",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | dead
    run_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Event(Base):
    """Append-only history, hash-chained per instance so tampering shows."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_instance", "instance_id", "id"),)  # one dossier's history, in order

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Agency(Base):
    """An agency (cơ quan): data, not code. Agencies form a tree (commune, province, ministry)."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("agency.code"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # e.g. "{agency}-{yymmdd}-{seq:4}"; NULL: the default pattern (orchestrator/dossiers/codes.py)
    dossier_code_pattern: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))  # where its deadline warnings are e-mailed


class ApiClient(Base):
    """A bearer token holder. Only a SHA-256 of the token is stored; the token is shown once."""

    __tablename__ = "api_client"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agency.code"), index=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))  # lets an operator recognise a token
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TopicAgency(Base):
    """Which agency owns a topic, for steps whose diagram names no ``agency`` property."""

    __tablename__ = "topic_agency"

    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agency.code"))


class IdempotencyRecord(Base):
    """A replayable answer to a request sent with ``Idempotency-Key``, per client."""

    __tablename__ = "idempotency_record"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Deadline(Base):
    """A statutory clock: one per dossier (the appointment) and one per budgeted step (a leg)."""

    __tablename__ = "deadline"
    __table_args__ = (
        Index(
            "ix_deadline_warn_running",
            "warn_at",
            sqlite_where=text("state = 'running'"),
            postgresql_where=text("state = 'running'"),
        ),
        Index(
            "ix_deadline_due_open",
            "due_at",
            sqlite_where=text("state IN ('running', 'warned')"),
            postgresql_where=text("state IN ('running', 'warned')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(8))  # dossier | step
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    activity_id: Mapped[str | None] = mapped_column(String(255))
    activity_name: Mapped[str | None] = mapped_column(String(255))
    agency: Mapped[str | None] = mapped_column(String(64), index=True)
    budget: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())  # start of counting
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # shifted by pauses; None while paused
    original_due_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the appointment: never overwritten
    rescheduled_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the one re-appointment
    reappointed_by: Mapped[str | None] = mapped_column(String(64))
    reappointment_reason: Mapped[str | None] = mapped_column(Text)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pauses: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[start, end|null, reason], ...]
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # running | paused | warned | overdue | met
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(8))  # early | on_time | late
    # An admin's extension of a step: working time added after the statutory due (the latest who/why).
    extension_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extended_by: Mapped[str | None] = mapped_column(String(255))
    extension_reason: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """A notice (receipt, supplement request, result, apology, deadline warning or overdue escalation).

    What is sent to whom is in ``notification_delivery`` (``orchestrator/notify``).
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    deadline_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    kind: Mapped[str] = mapped_column(String(32))  # orchestrator/notify/recipients.py NOTICE_KINDS
    agency: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
