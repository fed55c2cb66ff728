"""The ``notify.deliver`` job: send one delivery outside any transaction, then record what happened.

Reading and recording are two short transactions around the network call, so a slow mail
server never holds a database lock.  The job's lease is the claim: one worker sends a given
delivery at a time.  A crash between sending and recording resends it on the next attempt,
which is why webhooks carry the delivery id (receivers de-duplicate on it).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from orchestrator.clock import utcnow
from orchestrator.store.models import Job, Notification
from orchestrator.worker import RetryLater

from .email import Mail, MailNotConfigured, send_mail
from .models import NotificationDelivery, WebhookSubscription
from .recipients import dossier_of
from .webhooks import Hook, WebhookFailed, post_hook

if TYPE_CHECKING:
    from orchestrator.engine import Engine

# After the 1st, 2nd, ... failed attempt; the last delay repeats if a job allows more attempts.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
OPEN_STATES = ("pending", "failed")


class NothingToSend(Exception):
    """The delivery cannot be sent and retrying will not help (no SMTP server, subscription removed)."""


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends, read before the network call."""

    delivery_id: int
    mail: Mail | None = None
    hook: Hook | None = None
    unsendable: str | None = None


def run_delivery(engine: Engine, job: Job) -> None:
    """Send the delivery named by the job; raising ``RetryLater`` makes the queue back off."""
    delivery_id = int(job.payload["delivery_id"])
    with engine.db.read() as session:
        outgoing = _outgoing(session, delivery_id)
    if outgoing is None:
        return  # sent, skipped or dead meanwhile: nothing is left to do
    try:
        _send(engine, outgoing)
    except NothingToSend as reason:
        _record(engine, delivery_id, state="skipped", error=str(reason))
        return
    except Exception as error:  # whatever failed this attempt (refusal, timeout, bad address), admins see it
        message = _describe(error)
        delay = RETRY_DELAYS[min(job.attempts, len(RETRY_DELAYS)) - 1]
        if job.attempts >= job.max_attempts:
            _record(engine, delivery_id, state="dead", error=message)
        else:
            _record(engine, delivery_id, state="failed", error=message, retry_in=delay)
        raise RetryLater(f"delivery {delivery_id}: {message}", delay=delay) from error
    _record(engine, delivery_id, state="sent")


def _outgoing(session: Session, delivery_id: int) -> Outgoing | None:
    delivery = session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.state not in OPEN_STATES:
        return None
    notification = session.get(Notification, delivery.notification_id)
    if notification is None:
        return None
    body = notification.message
    subject = notification.subject or notification.kind
    if delivery.channel == "email":
        mail = Mail(to=delivery.target, subject=subject, body=body, delivery_id=delivery.id)
        return Outgoing(delivery.id, mail=mail)
    subscription = session.get(WebhookSubscription, delivery.target)
    if subscription is None or not subscription.active:
        return Outgoing(delivery.id, unsendable="the webhook subscription was removed")
    dossier = dossier_of(session, notification.instance_id)
    payload = {
        "deliveryId": delivery.id,
        "event": notification.kind,
        "notificationId": notification.id,
        "instanceId": notification.instance_id,
        "dossierCode": dossier.code if dossier is not None else None,
        "agency": notification.agency,
        "subject": subject,
        "message": body,
        "createdAt": notification.created_at.isoformat(),
    }
    hook = Hook(subscription.url, subscription.secret, notification.kind, delivery.id, payload)
    return Outgoing(delivery.id, hook=hook)


def _send(engine: Engine, outgoing: Outgoing) -> None:
    timeout = engine.settings.notify_timeout_seconds
    if outgoing.unsendable:
        raise NothingToSend(outgoing.unsendable)
    if outgoing.mail is not None:
        try:
            send_mail(engine.settings, outgoing.mail)
        except MailNotConfigured as missing:
            raise NothingToSend(str(missing)) from None
    elif outgoing.hook is not None:
        post_hook(outgoing.hook, timeout=timeout)


def _record(
    engine: Engine,
    delivery_id: int,
    *,
    state: str,
    error: str | None = None,
    retry_in: timedelta | None = None,
) -> None:
    """One short transaction; a delivery already settled by someone else is left as it is."""
    now = utcnow()
    with engine.db.write() as session:
        changed = session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id == delivery_id, NotificationDelivery.state.in_(OPEN_STATES))
            .values(
                state=state,
                attempts=NotificationDelivery.attempts + (0 if state == "skipped" else 1),
                last_error=error,
                next_attempt_at=now + retry_in if retry_in else None,
                sent_at=now if state == "sent" else None,
            )
        ).rowcount
        if changed and state == "sent":
            _mark_delivered(session, delivery_id, now)


def _mark_delivered(session: Session, delivery_id: int, now: datetime) -> None:
    """The notice counts as delivered once none of its deliveries is still waiting to be sent."""
    notification_id = session.scalar(
        select(NotificationDelivery.notification_id).where(NotificationDelivery.id == delivery_id)
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(NotificationDelivery)
        .where(
            NotificationDelivery.notification_id == notification_id,
            NotificationDelivery.state.in_(OPEN_STATES),
        )
    )
    if not waiting:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.delivered_at.is_(None))
            .values(delivered_at=now)
        )


def _describe(error: Exception) -> str:
    """The channel's answer only (status, SMTP code): never the notice's text."""
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else ""
        return f"SMTP {error.smtp_code} {detail}"[:500]
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return f"SMTP recipient refused ({', '.join(map(str, codes))})"
    if isinstance(error, WebhookFailed):
        return str(error)[:500]
    return f"{type(error).__name__}: {error}"[:500]
