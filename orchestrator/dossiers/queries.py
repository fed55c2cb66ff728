"""Reading dossiers: one by code, filtered keyset pages, its transitions.

Who sees what (a dossier another agency cannot see answers 404, as if it did not exist):
an administrator and a desk without an agency see every dossier; an agency (its desk or its
system) sees the dossiers it received and those handed over to it at some step.  Only the
receiving agency's desk (or an administrator) acts on a dossier.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..access import Principal, Scope
from ..engine import Engine
from ..errors import NotFound
from ..services.paging import Page, check_limit, page_of, seek
from ..store.models import Event
from .models import Dossier, DossierSupplement

DossierKey = tuple[dt.datetime, str]


@dataclass(frozen=True)
class DossierFilter:
    state: str | None = None
    national_status: int | None = None
    agency: str | None = None  # the receiving agency
    procedure: str | None = None  # process key or maTTHC


def find(session: Session, code: str, principal: Principal) -> Dossier:
    """The dossier with this code if the principal may see it, else ``NotFound``."""
    dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
    if dossier is None or not _can_read(session, dossier, principal):
        raise NotFound("no dossier has this code")
    return dossier


def find_for_action(engine: Engine, code: str, principal: Principal) -> Dossier:
    """The dossier if the principal may act on it (the receiving agency's desk, or an admin)."""
    with engine.db.read() as session:
        dossier = find(session, code, principal)
    if not (principal.is_admin or principal.agency in (None, dossier.agency)):
        raise NotFound("no dossier has this code")
    return dossier


def get_dossier(engine: Engine, code: str, principal: Principal) -> dict[str, Any]:
    with engine.db.read() as session:
        dossier = find(session, code, principal)
        return view(session, dossier)


def view(session: Session, dossier: Dossier) -> dict[str, Any]:
    supplements = session.scalars(
        select(DossierSupplement)
        .where(DossierSupplement.dossier_id == dossier.id)
        .order_by(DossierSupplement.id)
    )
    return {
        **summary(dossier),
        "instance_id": dossier.instance_id,
        "applicant": dossier.applicant,
        "documents": dossier.documents,
        "return_method": dossier.return_method,
        "outcome_reason": dossier.outcome_reason,
        "supplements": [
            {
                "requested_at": item.requested_at,
                "requested_by": item.requested_by,
                "reason": item.reason,
                "items": item.items,
                "received_at": item.received_at,
                "due_before": item.due_before,
                "due_after": item.due_after,
            }
            for item in supplements
        ],
    }


def summary(dossier: Dossier) -> dict[str, Any]:
    """What a list shows: no applicant data beyond what the desk needs to recognise it."""
    return {
        "code": dossier.code,
        "process_key": dossier.process_key,
        "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name,
        "agency": dossier.agency,
        "channel": dossier.channel,
        "state": dossier.state,
        "national_status": dossier.national_status,
        "received_at": dossier.received_at,
        "appointment_at": dossier.appointment_at,
        "reappointment_at": dossier.reappointment_at,
        "finished_at": dossier.finished_at,
        "returned_at": dossier.returned_at,
        "ended_at": dossier.ended_at,
        "outcome": dossier.outcome,
    }


def list_dossiers(
    engine: Engine, filters: DossierFilter, principal: Principal, *, after: DossierKey | None, limit: int
) -> Page[dict[str, Any]]:
    """Newest received first; an agency's desk sees the dossiers it received."""
    limit = check_limit(limit)
    query = select(Dossier)
    if not principal.is_admin and principal.agency is not None:
        query = query.where(Dossier.agency == principal.agency)
    if filters.state is not None:
        query = query.where(Dossier.state == filters.state)
    if filters.national_status is not None:
        query = query.where(Dossier.national_status == filters.national_status)
    if filters.agency is not None:
        query = query.where(Dossier.agency == filters.agency)
    if filters.procedure is not None:
        query = query.where(
            or_(Dossier.process_key == filters.procedure, Dossier.procedure_code == filters.procedure)
        )
    query = seek(query, Dossier.received_at, Dossier.id, after, limit, newest_first=True)
    with engine.db.read() as session:
        rows = list(session.scalars(query))
    return page_of(rows, limit, lambda row: (row.received_at, row.id), summary)


def dossier_history(
    engine: Engine, code: str, principal: Principal, *, after: int | None, limit: int
) -> Page[Event]:
    """The dossier's transitions (``dossier.*`` events) in the order they happened."""
    limit = check_limit(limit)
    with engine.db.read() as session:
        dossier = find(session, code, principal)
        query = select(Event).where(Event.instance_id == dossier.instance_id, Event.type.like("dossier.%"))
        if after is not None:
            query = query.where(Event.id > after)
        rows = list(session.scalars(query.order_by(Event.id).limit(limit + 1)))
    return page_of(rows, limit, lambda row: (row.id,), lambda row: row)


def _can_read(session: Session, dossier: Dossier, principal: Principal) -> bool:
    if principal.is_admin or principal.agency == dossier.agency:
        return True
    if principal.agency is None:
        return principal.allows(Scope.DESK)
    # Hand-overs are few per dossier and their agency sits in JSON: compare in Python, not per dialect.
    events = session.scalars(
        select(Event.data).where(Event.instance_id == dossier.instance_id, Event.type == "handed_over")
    )
    return any((data or {}).get("agency") == principal.agency for data in events)
