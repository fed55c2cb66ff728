"""Who receives a notice: the applicant, the agency, and the webhooks subscribed to its kind."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.dossiers.models import Dossier
from orchestrator.store.models import Agency, Notification

from .models import WebhookSubscription

# The notices the applicant reads (the receipt, the supplement request, the result, the apology)
# and those the agencies act on (their own clocks).
APPLICANT_KINDS = frozenset({"receipt", "supplement_request", "result_ready", "reappointment"})
AGENCY_KINDS = frozenset({"deadline_warning", "deadline_overdue"})
NOTICE_KINDS = APPLICANT_KINDS | AGENCY_KINDS


@dataclass(frozen=True)
class Recipient:
    channel: str  # email | webhook
    target: str  # an e-mail address, or a webhook subscription id


def recipients_of(session: Session, notification: Notification, dossier: Dossier | None) -> list[Recipient]:
    """Every (channel, target) the notice goes to, without duplicates, in a stable order."""
    found: list[Recipient] = []
    address = _address_for(session, notification, dossier)
    if address:
        found.append(Recipient("email", address))
    found += [
        Recipient("webhook", sub.id) for sub in subscribers(session, notification.kind, notification.agency)
    ]
    return list(dict.fromkeys(found))


def subscribers(session: Session, kind: str, agency: str | None) -> list[WebhookSubscription]:
    """Active subscriptions to ``kind`` for this agency (a subscription without agency takes all)."""
    active = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    )
    # Subscriptions are a handful of rows: the JSON kinds list is filtered here, the same on every dialect.
    return [sub for sub in active if kind in sub.kinds and sub.agency in (None, agency)]


def dossier_of(session: Session, instance_id: str) -> Dossier | None:
    return session.scalars(select(Dossier).where(Dossier.instance_id == instance_id)).first()


def _address_for(session: Session, notification: Notification, dossier: Dossier | None) -> str | None:
    if notification.kind in APPLICANT_KINDS:
        email = (dossier.applicant or {}).get("email") if dossier is not None else None
        return _mailbox(email)
    if notification.kind in AGENCY_KINDS and notification.agency:
        agency = session.get(Agency, notification.agency)
        return _mailbox(agency.email) if agency is not None else None
    return None


def _mailbox(address: object) -> str | None:
    """A bare ``user@domain`` address, or None: a display name, a space or a line break is not sent to."""
    if not isinstance(address, str):
        return None
    address = address.strip()
    plain = address.isprintable() and not any(char.isspace() for char in address)
    return address if plain and "@" in address and parseaddr(address)[1] == address else None
