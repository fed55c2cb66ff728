"""The ``portal.sync`` job: POST a dossier's unsent changes to the national portal, in order.

The runner POSTs outside any transaction: before its own row it sends every earlier unsent
row of the dossier (dead ones included), so a later change never overtakes an earlier one.
The row being sent is leased to one worker.  A refusal is recorded on the row (``failed``,
``last_error``) and the job retries after ``RETRY_DELAYS``: backing off to hourly, a portal
outage of up to ``HORIZON`` (about a day) loses nothing.  After the last attempt the row is
``dead``: listed for administrators, resent by them or by the dossier's next change.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..clock import utcnow
from ..config import Settings
from ..engine import Engine
from ..store.models import Job
from ..worker import RetryLater
from .models import PortalSync
from .portal_sync import MAX_ATTEMPTS, UNSENT

LEASE_MARGIN = dt.timedelta(seconds=30)
# After the 1st, 2nd, ... failed attempt; the last delay repeats up to MAX_ATTEMPTS.
RETRY_DELAYS = tuple(dt.timedelta(minutes=minutes) for minutes in (0.5, 1, 2, 5, 10, 20, 40, 60))


def retry_delay(attempt: int) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempt`` (from 1)."""
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]


HORIZON = sum((retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)), dt.timedelta())
"""From the first attempt to the last: how long the portal may be down before a change is dead."""


class PortalSyncError(RetryLater):
    """The portal did not accept a change (yet): the job is retried after ``retry_delay``."""


@dataclass(frozen=True)
class _Claimed:
    row_id: int
    payload: dict[str, Any]


def run_portal_sync(engine: Engine, job: Job) -> None:
    """Send the dossier's unsent changes up to the job's own, in order."""
    dossier_id, seq = str(job.payload["dossier_id"]), int(job.payload["seq"])
    owner = f"{job.lease_owner}:{job.id}"
    settings = engine.settings
    while (claimed := _claim_next(engine, settings, dossier_id, seq, owner)) is not None:
        error = _post(settings, claimed.payload)
        last_attempt = job.attempts >= job.max_attempts
        _record(engine, claimed.row_id, owner, error, give_up=last_attempt)
        if error is not None:
            raise PortalSyncError(error, delay=retry_delay(job.attempts))


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


def _record(engine: Engine, row_id: int, owner: str, error: str | None, *, give_up: bool) -> None:
    now = utcnow()
    with engine.db.write() as session:
        row = session.get(PortalSync, row_id)
        if row is None:
            return
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
        elif row.status != "sent":  # another worker may have sent it after our lease expired
            row.status, row.last_error = ("dead" if give_up else "failed"), error
        if row.lease_owner == owner:
            row.lease_owner = row.lease_expires_at = None
