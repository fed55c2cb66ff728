"""Admin: notice deliveries (failures visible, dead ones requeued) and webhook subscriptions."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from orchestrator.access import Scope
from orchestrator.clock import utcnow
from orchestrator.notify import admin
from orchestrator.notify.recipients import NOTICE_KINDS

from .blueprint import ApiBlueprint, engine
from .pagination import decode_cursor, page_body
from .schemas import PageQuerySchema, StrictSchema

blp = ApiBlueprint("notifications_admin", __name__, description="Notice delivery: e-mail and webhooks")
DELIVERIES = "deliveries"
KINDS = sorted(NOTICE_KINDS)


class DeliveryQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(admin.DELIVERY_STATES))
    kind = fields.String(validate=validate.OneOf(KINDS))


class DeliverySchema(Schema):
    id = fields.Integer()
    notification_id = fields.Integer(data_key="notificationId")
    kind = fields.String(metadata={"description": "the notice kind"})
    channel = fields.String(metadata={"description": "email | webhook"})
    target = fields.String(metadata={"description": "the e-mail address, or the webhook subscription id"})
    state = fields.String(metadata={"description": "pending | sent | failed | dead | skipped"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(data_key="nextAttemptAt", allow_none=True)
    last_error = fields.String(data_key="lastError", allow_none=True)
    created_at = fields.DateTime(data_key="createdAt")
    sent_at = fields.DateTime(data_key="sentAt", allow_none=True)


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(data_key="nextCursor", allow_none=True)


class WebhookInputSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(max=2000))
    kinds = fields.List(
        fields.String(validate=validate.OneOf(KINDS)), required=True, validate=validate.Length(1)
    )
    agency = fields.String(load_default=None, allow_none=True)


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    kinds = fields.List(fields.String())
    agency = fields.String(allow_none=True)
    created_at = fields.DateTime(data_key="createdAt")


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "shown once: the HMAC-SHA256 key of the signatures"})


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))


@blp.route("/deliveries")
@blp.secured(Scope.ADMIN)
@blp.arguments(DeliveryQuerySchema, location="query", unknown=RAISE)
@blp.response(200, DeliveryPageSchema)
def deliveries(query: dict[str, Any]) -> dict[str, Any]:
    """Deliveries newest first; ``state=dead`` lists what gave up after every retry."""
    before = decode_cursor(DELIVERIES, query.get("cursor"), (int,))
    page = admin.list_deliveries(
        engine().db,
        state=query.get("state"),
        kind=query.get("kind"),
        before=before[0] if before else None,
        limit=query["limit"],
    )
    return page_body(DELIVERIES, page)


@blp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.response(200, DeliverySchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "the delivery is not dead or skipped")
def retry_delivery(delivery_id: int) -> dict[str, Any]:
    """Requeue a dead (or skipped) delivery for a fresh series of attempts."""
    return admin.requeue_delivery(engine().db, delivery_id, now=utcnow())


@blp.route("/webhooks")
@blp.secured(Scope.ADMIN)
@blp.response(200, WebhookListSchema)
def webhooks() -> dict[str, Any]:
    """Active webhook subscriptions (secrets are never listed)."""
    return {"items": admin.list_subscriptions(engine().db)}


@blp.route("/webhooks", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.arguments(WebhookInputSchema)
@blp.response(201, NewWebhookSchema)
def add_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Subscribe a URL to notice kinds; the answer carries the signing secret, this once."""
    view, secret = admin.create_subscription(
        engine().db, url=body["url"], kinds=body["kinds"], agency=body["agency"], now=utcnow()
    )
    return {**view, "secret": secret}


@blp.route("/webhooks/<subscription_id>", methods=["DELETE"])
@blp.secured(Scope.ADMIN)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def remove_webhook(subscription_id: str) -> None:
    """Stop sending to this subscription; its queued deliveries are recorded as skipped."""
    admin.remove_subscription(engine().db, subscription_id)
