"""Where the portal sync stands: per dossier (anyone who may read it) and unsent changes (admins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..access import Principal
from ..engine import Engine
from ..errors import InvalidInput
from ..services.paging import Page, check_limit, page_of
from .models import Dossier, PortalSync
from .portal_sync import UNSENT, UNSENT_CONDITION
from .queries import find


def sync_status(engine: Engine, code: str, principal: Principal) -> dict[str, Any]:
    """The dossier's changes: last status sent, what is not sent yet and why (the last error)."""
    with engine.db.read() as session:
        dossier = find(session, code, principal)
        rows = list(
            session.scalars(
                select(PortalSync).where(PortalSync.dossier_id == dossier.id).order_by(PortalSync.seq)
            )
        )
    sent = [row for row in rows if row.status == "sent"]
    errors = [row for row in rows if row.last_error and row.status != "sent"]
    counts = {status: sum(row.status == status for row in rows) for status in (*UNSENT, "skipped")}
    return {
        "code": dossier.code,
        "national_status": dossier.national_status,
        "last_sent_status": sent[-1].national_status if sent else None,
        "last_sent_at": sent[-1].sent_at if sent else None,
        "pending": sum(counts[status] for status in UNSENT),
        "failed": counts["failed"],
        "dead": counts["dead"],
        "skipped": counts["skipped"],
        "last_error": errors[-1].last_error if errors else None,
        "changes": [change_view(row) for row in rows],
    }


def unsent_changes(engine: Engine, *, status: str, before: int | None, limit: int) -> Page[dict[str, Any]]:
    """Unsent changes of every dossier in one state (``dead``: given up on), newest first."""
    if status not in UNSENT:
        raise InvalidInput(f"status must be one of {', '.join(UNSENT)}")
    query = (
        select(PortalSync, Dossier.code)
        .join(Dossier, Dossier.id == PortalSync.dossier_id)
        .where(UNSENT_CONDITION, PortalSync.status == status)
        .order_by(PortalSync.id.desc())
        .limit(check_limit(limit) + 1)
    )
    if before is not None:
        query = query.where(PortalSync.id < before)
    with engine.db.read() as session:
        rows = session.execute(query).all()
    return page_of(rows, limit, lambda row: (row[0].id,), lambda row: {**change_view(row[0]), "code": row[1]})


def change_view(row: PortalSync) -> dict[str, Any]:
    return {
        "id": row.id,
        "seq": row.seq,
        "national_status": row.national_status,
        "status": row.status,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
        "last_error": row.last_error,
    }
