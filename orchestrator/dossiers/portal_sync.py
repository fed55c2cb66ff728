"""The outbox towards the National Public Service Portal (Cổng Dịch vụ công quốc gia).

Each national status change of a dossier adds one ``portal_sync`` row in the transaction of
that change, numbered per dossier (``seq``), and one ``portal.sync`` job.  The runner POSTs
outside any transaction and in ``seq`` order: before its own row it sends every earlier
unsent row of the dossier, so a later change never overtakes an earlier one.  The row being
sent is leased to one worker; a failure is recorded on the row (``failed``, ``last_error``)
and raised, so the job queue retries with backoff and finally dead-letters it.  Without a
configured ``portal_url`` rows are marked ``skipped``: visible, never retried.

Dates use the portal's ``yyyyMMddHHmmss`` in Vietnam time (e.g. ``20261122143000``): the
format of the portal's dossier sync service as OpenCPS and provincial systems send it; a
14-digit local time cannot be misread across time zones because the portal has only one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..calendar import VN_TZ
from ..clock import utcnow
from ..config import Settings
from ..store.models import Job
from ..store.queue import enqueue
from .models import Dossier, DossierSupplement, PortalSync

if TYPE_CHECKING:  # the engine calls into this package: no import cycle at run time
    from ..engine import Engine

JOB_KIND = "portal.sync"
UNSENT = ("pending", "failed")
CHANNEL_CODES = {"in_person": 1, "online": 2, "post": 3}
LEASE_MARGIN = dt.timedelta(seconds=30)
# With the queue's backoff (2**n s, at most 5 min) about 40 minutes of outage before a dead letter.
MAX_ATTEMPTS = 12


class PortalSyncError(RuntimeError):
    """The portal did not accept a change (yet): the job is retried with backoff."""


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
    enqueue(
        session,
        JOB_KIND,
        {"dossier_id": dossier.id, "seq": dossier.sync_seq},
        now=now,
        dedupe_key=f"{JOB_KIND}:{dossier.id}:{dossier.sync_seq}",
        max_attempts=MAX_ATTEMPTS,
    )


@dataclass(frozen=True)
class _Claimed:
    row_id: int
    payload: dict[str, Any]


def run_portal_sync(engine: Engine, job: Job) -> None:
    """The ``portal.sync`` runner: send the dossier's unsent changes up to the job's own, in order."""
    dossier_id, seq = str(job.payload["dossier_id"]), int(job.payload["seq"])
    owner = f"{job.lease_owner}:{job.id}"
    settings = engine.settings
    while (claimed := _claim_next(engine, settings, dossier_id, seq, owner)) is not None:
        error = _post(settings, claimed.payload)
        _record(engine, claimed.row_id, owner, error)
        if error is not None:
            raise PortalSyncError(error)


def _claim_next(engine: Engine, settings: Settings, dossier_id: str, seq: int, owner: str) -> _Claimed | None:
    """Lease the dossier's earliest unsent row, or None once the job's own row is settled."""
    now = utcnow()
    with engine.db.write() as session:
        query = (
            select(PortalSync)
            .where(PortalSync.dossier_id == dossier_id, PortalSync.status.in_(UNSENT), PortalSync.seq <= seq)
            .order_by(PortalSync.seq)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        unsent = list(session.scalars(query))
        if not unsent:
            return None
        if settings.portal_url is None:
            for row in unsent:
                row.status, row.last_error = "skipped", "no portal_url configured"
            return None
        head = unsent[0]
        if head.lease_owner not in (None, owner) and head.lease_expires_at and head.lease_expires_at > now:
            # Imported here: the worker imports the engine, which imports this package.
            from ..worker import RetryLater

            raise RetryLater(
                "an earlier change of this dossier is being sent by another worker",
                delay=head.lease_expires_at - now,
            )
        head.lease_owner = owner
        head.lease_expires_at = now + dt.timedelta(seconds=settings.portal_timeout_seconds) + LEASE_MARGIN
        head.attempts += 1
        return _Claimed(head.id, dict(head.payload))


def _post(settings: Settings, payload: dict[str, Any]) -> str | None:
    """POST one change; None when the portal accepted it, else why not (no dossier data)."""
    url = settings.portal_url or ""
    if not url.startswith(("http://", "https://")):
        return "portal_url must be an http:// or https:// address"
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", **_authorization(settings)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.portal_timeout_seconds) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as error:
        return f"the portal answered HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"the portal could not be reached: {type(reason).__name__}"
    return None


def _authorization(settings: Settings) -> dict[str, str]:
    if not settings.portal_token:
        return {}
    if settings.portal_auth == "basic":
        return {"Authorization": "Basic " + base64.b64encode(settings.portal_token.encode()).decode()}
    return {"Authorization": f"Bearer {settings.portal_token}"}


def _record(engine: Engine, row_id: int, owner: str, error: str | None) -> None:
    now = utcnow()
    with engine.db.write() as session:
        row = session.get(PortalSync, row_id)
        if row is None:
            return
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
        elif row.status != "sent":  # another worker may have sent it after our lease expired
            row.status, row.last_error = "failed", error
        if row.lease_owner == owner:
            row.lease_owner = row.lease_expires_at = None
