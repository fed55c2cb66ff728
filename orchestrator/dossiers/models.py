"""Tables of the dossier (hồ sơ) on the project's ``Base``; the migration lives in store/ (0003).

One ``dossier`` per process instance, created in the transaction that starts the instance.
``appointment_at`` is the dossier deadline's ``original_due_at`` and is never overwritten;
``reappointment_at`` is the one re-appointment.  ``dossier_sequence`` is the atomic per-agency
daily counter behind dossier codes.  ``portal_sync`` is the outbox towards the National Public
Service Portal: one row per national status change, sent in ``seq`` order per dossier.  Its
partial index holds the unsent rows only: a dossier's backlog and the admins' list of dead
changes stay cheap however many changes were sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.store.models import Base, BigId, UtcDateTime


class Dossier(Base):
    """A citizen's dossier: the business face of one process instance."""

    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_received", "received_at", "id"),  # keyset pages of the dossier list
        Index("ix_dossier_agency_received", "agency", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    lookup_code: Mapped[str] = mapped_column(String(8))
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), unique=True
    )
    process_key: Mapped[str] = mapped_column(String(150), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64), index=True)  # maTTHC
    procedure_name: Mapped[str | None] = mapped_column(String(500))
    agency: Mapped[str] = mapped_column(String(64))  # the receiving agency
    channel: Mapped[str] = mapped_column(String(16))  # in_person | online | post
    applicant: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(32), index=True)  # states.DossierState
    national_status: Mapped[int] = mapped_column(Integer, index=True)  # 1-10, DOMAIN.md
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    appointment_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reappointment_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    returned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    return_method: Mapped[str | None] = mapped_column(String(16))  # desk | post | electronic
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # result | refused | withdrawn | stopped
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    # Counters that spare a step its queries: supplement requests so far, last portal outbox seq.
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    sync_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DossierSupplement(Base):
    """One request to supplement (form 02) and, once it arrives, the applicant's supplement."""

    __tablename__ = "dossier_supplement"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    requested_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    due_before: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # portal NgayHenTraTruoc
    due_after: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # portal NgayHenTraMoi


class DossierSequence(Base):
    """The last dossier number handed out by an agency on a (Vietnam-time) day."""

    __tablename__ = "dossier_sequence"

    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class PortalSync(Base):
    """Outbox row: one national status change of one dossier, to send to the national portal."""

    __tablename__ = "portal_sync"
    __table_args__ = (
        UniqueConstraint("dossier_id", "seq"),
        Index(
            "ix_portal_sync_unsent",
            "dossier_id",
            "seq",
            sqlite_where=text("status IN ('pending', 'failed', 'dead')"),
            postgresql_where=text("status IN ('pending', 'failed', 'dead')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # order of changes within the dossier
    national_status: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | failed | sent | skipped | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A worker sending this row holds it until then (the POST runs outside any transaction).
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


DOSSIER_TABLES = [
    Dossier.__table__,
    DossierSupplement.__table__,
    DossierSequence.__table__,
    PortalSync.__table__,
]
