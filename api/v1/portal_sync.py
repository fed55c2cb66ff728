"""The national portal sync: where a dossier's stands, the changes given up on, an admin's resend."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from orchestrator.access import Scope
from orchestrator.clock import utcnow
from orchestrator.dossiers import portal_status, portal_sync, queries

from ..auth import current_principal
from .blueprint import ApiBlueprint, engine
from .dossiers import readable
from .pagination import decode_cursor, page_body
from .schemas import PageQuerySchema

blp = ApiBlueprint("portal_sync", __name__, description="Sync with the National Public Service Portal")
CHANGES = "portal-sync-changes"


class SyncChangeSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer(metadata={"description": "order of the change within its dossier"})
    national_status = fields.Integer(data_key="nationalStatus")
    status = fields.String(metadata={"description": "pending | failed | dead | sent | skipped"})
    attempts = fields.Integer()
    created_at = fields.DateTime(data_key="createdAt")
    sent_at = fields.DateTime(data_key="sentAt", allow_none=True)
    last_error = fields.String(data_key="lastError", allow_none=True)


class SyncStatusSchema(Schema):
    code = fields.String()
    national_status = fields.Integer(data_key="nationalStatus")
    last_sent_status = fields.Integer(data_key="lastSentStatus", allow_none=True)
    last_sent_at = fields.DateTime(data_key="lastSentAt", allow_none=True)
    pending = fields.Integer(metadata={"description": "changes not yet accepted by the portal"})
    failed = fields.Integer(metadata={"description": "refused at least once, still retried"})
    dead = fields.Integer(metadata={"description": "refused for about a day: resent by an admin"})
    skipped = fields.Integer(metadata={"description": "kept unsent: no portal URL was configured"})
    last_error = fields.String(data_key="lastError", allow_none=True)
    changes = fields.List(fields.Nested(SyncChangeSchema))


class DossierChangeSchema(SyncChangeSchema):
    code = fields.String(data_key="dossierCode")


class ChangePageSchema(Schema):
    items = fields.List(fields.Nested(DossierChangeSchema))
    next_cursor = fields.String(data_key="nextCursor", allow_none=True)


class ChangeQuerySchema(PageQuerySchema):
    status = fields.String(load_default="dead", validate=validate.OneOf(portal_sync.UNSENT))


@blp.route("/dossiers/<code>/portal-sync")
@readable(blp)
@blp.response(200, SyncStatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
def dossier_sync(code: str) -> dict[str, Any]:
    """Where the dossier's sync with the National Public Service Portal stands."""
    return portal_status.sync_status(engine(), code, current_principal())


@blp.route("/dossiers/<code>/portal-sync/retry", methods=["POST"])
@blp.secured(Scope.ADMIN)
@blp.response(200, SyncStatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.problem(409, "no change of this dossier is dead")
def resend(code: str) -> dict[str, Any]:
    """Resend the dossier's dead changes, in order, with a fresh day of retries."""
    with engine().db.read() as session:
        dossier = queries.find(session, code, current_principal())
    portal_sync.resend_dead(engine().db, dossier.id, now=utcnow())
    return portal_status.sync_status(engine(), code, current_principal())


@blp.route("/portal-sync")
@blp.secured(Scope.ADMIN)
@blp.arguments(ChangeQuerySchema, location="query", unknown=RAISE)
@blp.response(200, ChangePageSchema)
def unsent(query: dict[str, Any]) -> dict[str, Any]:
    """Changes of every dossier not yet accepted by the portal, newest first (default: the dead ones)."""
    before = decode_cursor(CHANGES, query.get("cursor"), (int,))
    page = portal_status.unsent_changes(
        engine(), status=query["status"], before=before[0] if before else None, limit=query["limit"]
    )
    return page_body(CHANGES, page)
