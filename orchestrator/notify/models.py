"""Tables of notice delivery: one row per recipient and channel, and the webhook subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrator.store.models import Base, BigId, UtcDateTime


class NotificationDelivery(Base):
    """One notice to one recipient over one channel, sent by a ``notify.deliver`` job."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_state", "state", "id"),)  # the admins' failure list

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(320))  # an e-mail address, or a webhook subscription id
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | dead | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)  # about the channel only, never dossier data
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class WebhookSubscription(Base):
    """An agency system or portal that wants some notice kinds POSTed to it, signed.

    The secret is stored as given, not hashed like API tokens: signing needs the secret
    itself (HMAC-SHA256 is keyed by it), whereas a token only has to be recognised.  It is
    shown once, at creation, and never listed again.
    """

    __tablename__ = "webhook_subscription"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    kinds: Mapped[list[Any]] = mapped_column(JSON, default=list)
    agency: Mapped[str | None] = mapped_column(String(64))  # only notices of this agency; None = all
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
