"""What the documents print about one dossier, read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..access import Principal
from ..deadlines.evaluation import control_sheet
from ..dossiers.models import Dossier, DossierSupplement
from ..dossiers.queries import find
from ..store.db import Database
from ..store.models import Agency, ApiClient, Deadline, Event

CLIENT_ACTOR_PREFIX = "client:"  # how the native API records its callers in history


@dataclass(frozen=True)
class DossierFacts:
    dossier: Dossier
    clocks: list[Deadline]  # the dossier's clock first, then the legs in hand-over order
    supplements: list[DossierSupplement]  # oldest first
    events: list[Event]  # the instance's history, oldest first
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


def load_facts(db: Database, code: str, principal: Principal) -> DossierFacts:
    """Everything the documents need about the dossier ``code``.

    NotFound when there is none or the principal may not read it (``dossiers.queries.find``:
    the same rule as the dossier itself, so a code cannot be probed through its documents).
    """
    with db.read() as session:
        dossier = find(session, code, principal)
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
        agency_names=agency_names,
        client_names=client_names,
    )
