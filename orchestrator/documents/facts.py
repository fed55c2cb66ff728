"""What the documents print about one dossier, read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..access import Principal, Scope
from ..deadlines.evaluation import control_sheet
from ..dossiers.models import Dossier, DossierSupplement
from ..errors import NotFound
from ..store.db import Database
from ..store.models import Agency, ApiClient, Deadline, Event, ExternalTaskRow

CLIENT_ACTOR_PREFIX = "client:"  # how the native API records its callers in history


@dataclass(frozen=True)
class DossierFacts:
    dossier: Dossier
    clocks: list[Deadline]  # the dossier's clock first, then the legs in hand-over order
    supplements: list[DossierSupplement]  # oldest first
    events: list[Event]  # the instance's history, oldest first
    open_task_agencies: list[str]  # agencies of the steps open right now
    agency_names: dict[str, str] = field(default_factory=dict)
    client_names: dict[str, str] = field(default_factory=dict)

    @property
    def dossier_clock(self) -> Deadline | None:
        return next((c for c in self.clocks if c.scope == "dossier"), None)

    @property
    def legs(self) -> list[Deadline]:
        return [c for c in self.clocks if c.scope == "step"]

    def agency_name(self, code: str | None) -> str:
        """The agency's name as registered, or its code when it was never registered."""
        return "" if code is None else self.agency_names.get(code, code)

    def actor_name(self, actor: str | None) -> str:
        """A person-readable actor: API clients by their registered name."""
        if actor is None:
            return ""
        if actor.startswith(CLIENT_ACTOR_PREFIX):
            return self.client_names.get(actor.removeprefix(CLIENT_ACTOR_PREFIX), "")
        return actor

    @property
    def handling_agencies(self) -> set[str]:
        """Every agency that received, holds or held a leg of this dossier."""
        return {self.dossier.agency, *self.open_task_agencies} | {c.agency for c in self.clocks if c.agency}

    def readable_by(self, principal: Principal) -> bool:
        """Desk officers and admins read every dossier; an agency only the dossiers it handles."""
        return principal.allows(Scope.DESK) or principal.agency in self.handling_agencies


def load_facts(db: Database, code: str) -> DossierFacts:
    """Everything the documents need about the dossier ``code``; NotFound if there is none."""
    with db.read() as session:
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        if dossier is None:
            raise NotFound("no dossier has this code")
        supplements = list(
            session.scalars(
                select(DossierSupplement)
                .where(DossierSupplement.dossier_id == dossier.id)
                .order_by(DossierSupplement.requested_at, DossierSupplement.id)
            )
        )
        events = list(
            session.scalars(select(Event).where(Event.instance_id == dossier.instance_id).order_by(Event.id))
        )
        open_agencies = list(
            session.scalars(
                select(ExternalTaskRow.agency).where(
                    ExternalTaskRow.instance_id == dossier.instance_id,
                    ExternalTaskRow.agency.is_not(None),
                    ExternalTaskRow.handled_in_process.is_(False),
                )
            )
        )
        # A province registers tens to a few hundred agencies: reading them all is one cheap query.
        agency_names = {code: name for code, name in session.execute(select(Agency.code, Agency.name))}
        client_ids = {
            e.actor.removeprefix(CLIENT_ACTOR_PREFIX)
            for e in events
            if e.actor and e.actor.startswith(CLIENT_ACTOR_PREFIX)
        }
        client_names = {
            client_id: name
            for client_id, name in session.execute(
                select(ApiClient.id, ApiClient.name).where(ApiClient.id.in_(client_ids))
            )
        }
    clocks = control_sheet(db, dossier.instance_id)
    return DossierFacts(
        dossier=dossier,
        clocks=clocks,
        supplements=supplements,
        events=events,
        open_task_agencies=open_agencies,
        agency_names=agency_names,
        client_names=client_names,
    )
