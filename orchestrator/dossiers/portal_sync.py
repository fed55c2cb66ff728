"""The outbox towards the National Public Service Portal (Cổng Dịch vụ công quốc gia).

Each national status change of a dossier (and its one re-appointment) adds one
``portal_sync`` row in the transaction of that change, numbered per dossier (``seq``), and
one ``portal.sync`` job; ``portal_sender`` POSTs the rows in ``seq`` order.

A row is ``pending`` until sent, ``failed`` while retried, ``sent``, ``skipped`` when no
``portal_url`` is configured (visible, never retried) or ``dead`` when the portal refused it
for about a day (``portal_sender.HORIZON``).  A dead row is not lost: the dossier's next
change sends it first, and an administrator resends it with :func:`resend_dead`.

Dates use the portal's ``yyyyMMddHHmmss`` in Vietnam time (e.g. ``20261122143000``): the
format of the portal's dossier sync service as OpenCPS and provincial systems send it; a
14-digit local time cannot be misread across time zones because the portal has only one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from ..calendar import VN_TZ
from ..errors import Conflict
from ..store.db import Database
from ..store.queue import enqueue
from .models import Dossier, DossierSupplement, PortalSync

JOB_KIND = "portal.sync"
UNSENT = ("pending", "failed", "dead")  # what a job sends, oldest first, before its own row
# The literal predicate of ``ix_portal_sync_unsent``: PostgreSQL uses a partial index only for
# a condition it can prove from the query's own text, not from bound values.
UNSENT_CONDITION = text("portal_sync.status IN ('pending', 'failed', 'dead')")
CHANNEL_CODES = {"in_person": 1, "online": 2, "post": 3}
# One first attempt, then backoff to hourly retries (``portal_sender.RETRY_DELAYS``): about 25
# hours of portal outage before a change is dead.
MAX_ATTEMPTS = 32


def portal_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def build_payload(session: Session, dossier: Dossier) -> dict[str, Any]:
    """The dossier as the portal names it, at this change."""
    payload: dict[str, Any] = {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "TenTTHC": dossier.procedure_name,
        "MaCoQuan": dossier.agency,
        "KenhThucHien": CHANNEL_CODES[dossier.channel],
        "TrangThaiHoSo": dossier.national_status,
        "NgayTiepNhan": portal_time(dossier.received_at),
        "NgayHenTra": portal_time(dossier.appointment_at),
        "ChuHoSo": {"HoTen": (dossier.applicant or {}).get("name")},
        "DanhSachHoSoBoSung": [
            {
                "NgayYeuCauBoSung": portal_time(item.requested_at),
                "NgayTiepNhanBoSung": portal_time(item.received_at),
                "NgayHenTraTruoc": portal_time(item.due_before),
                "NgayHenTraMoi": portal_time(item.due_after),
            }
            for item in supplements_of(session, dossier)
        ],
    }
    optional = {
        "NgayHenTraMoi": dossier.reappointment_at,
        "NgayKetThucXuLy": dossier.finished_at,
        "NgayTraKetQua": dossier.returned_at,
    }
    payload.update({name: portal_time(value) for name, value in optional.items() if value is not None})
    return payload


def supplements_of(session: Session, dossier: Dossier) -> list[DossierSupplement]:
    """Stored supplement requests plus any added in this (not yet flushed) step, in order."""
    added = [o for o in session.new if isinstance(o, DossierSupplement) and o.dossier_id == dossier.id]
    if dossier.supplement_count <= len(added):  # most dossiers never need a supplement: no query
        return added
    stored = list(
        session.scalars(
            select(DossierSupplement)
            .where(DossierSupplement.dossier_id == dossier.id)
            .order_by(DossierSupplement.id)
        )
    )
    return stored + [o for o in added if o not in stored]


def queue_change(session: Session, dossier: Dossier, *, now: dt.datetime) -> None:
    """One outbox row for the dossier's current state, and its job; in the caller's transaction."""
    dossier.sync_seq += 1  # every change of a dossier holds its instance's lock: no race on the counter
    session.add(
        PortalSync(
            dossier_id=dossier.id,
            seq=dossier.sync_seq,
            national_status=dossier.national_status,
            payload=build_payload(session, dossier),
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    _enqueue_send(session, dossier.id, dossier.sync_seq, now=now)


def resend_dead(db: Database, dossier_id: str, *, now: dt.datetime) -> int:
    """An administrator's resend: the dossier's dead changes become pending again; returns how many.

    One job sends every unsent change of the dossier up to the last, in order, with a fresh
    day of retries.
    """
    with db.write() as session:
        revived = session.execute(
            update(PortalSync)
            .where(PortalSync.dossier_id == dossier_id, PortalSync.status == "dead")
            .values(status="pending", lease_owner=None, lease_expires_at=None)
        ).rowcount
        if not revived:
            raise Conflict("no change of this dossier is dead: nothing to resend")
        last = session.scalar(
            select(func.max(PortalSync.seq)).where(PortalSync.dossier_id == dossier_id, UNSENT_CONDITION)
        )
        _enqueue_send(session, dossier_id, int(last), now=now)
    return revived


def _enqueue_send(session: Session, dossier_id: str, seq: int, *, now: dt.datetime) -> None:
    enqueue(
        session,
        JOB_KIND,
        {"dossier_id": dossier_id, "seq": seq},
        now=now,
        dedupe_key=f"{JOB_KIND}:{dossier_id}:{seq}",
        max_attempts=MAX_ATTEMPTS,
    )
