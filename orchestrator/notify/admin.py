"""What admins do with notices: see failed deliveries, requeue dead ones, manage webhook subscriptions."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.services.paging import Page, check_limit, page_of
from orchestrator.store.db import Database
from orchestrator.store.models import Agency, Notification

from .models import NotificationDelivery, WebhookSubscription
from .outbox import enqueue_delivery
from .recipients import NOTICE_KINDS

DELIVERY_STATES = ("pending", "sent", "failed", "dead", "skipped")
REQUEUEABLE = ("dead", "skipped")  # failed ones are already waiting for their next attempt


def list_deliveries(
    db: Database, *, state: str | None, kind: str | None, before: int | None, limit: int
) -> Page[dict[str, Any]]:
    """Deliveries newest first, by state and notice kind; continues before the id ``before``."""
    if state is not None and state not in DELIVERY_STATES:
        raise InvalidInput(f"state must be one of {', '.join(DELIVERY_STATES)}")
    query = (
        select(NotificationDelivery, Notification.kind)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(check_limit(limit) + 1)
    )
    if state is not None:
        query = query.where(NotificationDelivery.state == state)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if before is not None:
        query = query.where(NotificationDelivery.id < before)
    with db.read() as session:
        rows = session.execute(query).all()
    return page_of(rows, limit, lambda row: (row[0].id,), lambda row: _delivery_view(*row))


def requeue_delivery(db: Database, delivery_id: int, *, now: datetime) -> dict[str, Any]:
    """Give a dead (or skipped) delivery a fresh series of attempts."""
    with db.write() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.state not in REQUEUEABLE:
            raise Conflict(f"only a dead or skipped delivery can be requeued; this one is {delivery.state}")
        delivery.state, delivery.next_attempt_at = "pending", now
        session.flush()
        enqueue_delivery(session, delivery, now=now)
        kind = session.scalar(select(Notification.kind).where(Notification.id == delivery.notification_id))
        return _delivery_view(delivery, kind)


def create_subscription(
    db: Database, *, url: str, kinds: Iterable[str], agency: str | None, now: datetime
) -> tuple[dict[str, Any], str]:
    """A new subscription and its signing secret, which is returned here and never again."""
    wanted = sorted(set(kinds))
    _check_url(url)
    unknown = [kind for kind in wanted if kind not in NOTICE_KINDS]
    if not wanted or unknown:
        raise InvalidInput(f"kinds must be a non-empty subset of {', '.join(sorted(NOTICE_KINDS))}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with db.write() as session:
        if agency is not None and session.get(Agency, agency) is None:
            raise InvalidInput(f"unknown agency '{agency}'")
        subscription = WebhookSubscription(
            id=str(uuid.uuid4()),
            url=url,
            secret=secret,
            kinds=wanted,
            agency=agency,
            active=True,
            created_at=now,
        )
        session.add(subscription)
        session.flush()
        return _subscription_view(subscription), secret


def list_subscriptions(db: Database) -> list[dict[str, Any]]:
    """Active subscriptions, oldest first, without their secrets."""
    with db.read() as session:
        rows = session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        ).all()
        return [_subscription_view(row) for row in rows]


def remove_subscription(db: Database, subscription_id: str) -> None:
    """Deactivate (kept, so past deliveries still name it); its queued deliveries are then skipped."""
    with db.write() as session:
        subscription = session.get(WebhookSubscription, subscription_id)
        if subscription is None or not subscription.active:
            raise NotFound(f"no webhook subscription {subscription_id}")
        subscription.active = False


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("the webhook URL must be an absolute http:// or https:// URL")


def _delivery_view(delivery: NotificationDelivery, kind: str | None) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "notification_id": delivery.notification_id,
        "kind": kind,
        "channel": delivery.channel,
        "target": delivery.target,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "sent_at": delivery.sent_at,
    }


def _subscription_view(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "kinds": list(subscription.kinds),
        "agency": subscription.agency,
        "created_at": subscription.created_at,
    }
