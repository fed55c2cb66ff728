"""marshmallow schemas of /api/v1: what each call reads and answers, and what OpenAPI shows.

Output schemas dump service objects directly (``InstanceView``, ORM rows); ``data_key``
gives the camelCase JSON names.  Input schemas refuse unknown fields, so a misspelt field
is a 400 rather than silently ignored.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from orchestrator.services.cancellation import MAX_REASON_LENGTH
from orchestrator.services.idempotency import MAX_KEY_LENGTH
from orchestrator.services.instance_queries import STATUSES
from orchestrator.services.paging import MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE = 50
_DATE_TIME = {"format": "date-time"}


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# -- errors ------------------------------------------------------------------------------


class ProblemIssueSchema(Schema):
    in_ = fields.String(data_key="in", metadata={"description": "body, query, header or path"})
    field = fields.String(allow_none=True, metadata={"description": "dotted name; null: the whole part"})
    detail = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details (``application/problem+json``); never carries dossier data."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Nested(ProblemIssueSchema), metadata={"description": "invalid fields (400)"})


# -- paging ------------------------------------------------------------------------------


class PageQuerySchema(StrictSchema):
    cursor = fields.String(
        validate=validate.Length(max=512),
        metadata={"description": "opaque: the nextCursor of the previous page"},
    )
    limit = fields.Integer(load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(1, MAX_PAGE_SIZE))


def _page_of(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "next_cursor": fields.String(
                data_key="nextCursor",
                allow_none=True,
                metadata={"description": "pass as `cursor` for the next page; null on the last page"},
            ),
        },
        name=name,
    )


# -- process definitions -----------------------------------------------------------------


class DefinitionSchema(Schema):
    id = fields.String()
    key = fields.String()
    version = fields.Integer()
    name = fields.String(allow_none=True)
    version_tag = fields.String(data_key="versionTag", allow_none=True)
    resource_name = fields.String(data_key="resource")
    deployed_at = fields.DateTime(data_key="deployedAt")


class DefinitionDetailSchema(DefinitionSchema):
    properties = fields.Dict(metadata={"description": "process-level extension properties"})
    deployment_id = fields.String(data_key="deploymentId")


class DefinitionQuerySchema(StrictSchema):
    version = fields.Integer(validate=validate.Range(min=1), metadata={"description": "default: the newest"})


DefinitionPageSchema = _page_of(DefinitionSchema, "DefinitionPage")


# -- process instances (dossiers) --------------------------------------------------------


class ActivitySchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    type = fields.String()
    state = fields.String()
    task_id = fields.String(data_key="taskId")


class InstanceSchema(Schema):
    id = fields.String()
    definition_id = fields.String(data_key="definitionId")
    process_key = fields.String(data_key="processKey")
    business_key = fields.String(data_key="businessKey", allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    version = fields.Integer(metadata={"description": "optimistic version: send it as If-Match"})
    variables = fields.Dict()
    current_activities = fields.List(fields.Nested(ActivitySchema), data_key="currentActivities")
    next_timer_at = fields.String(data_key="nextTimerAt", allow_none=True, metadata=_DATE_TIME)
    created_at = fields.String(data_key="createdAt", metadata=_DATE_TIME)
    ended_at = fields.String(data_key="endedAt", allow_none=True, metadata=_DATE_TIME)


InstancePageSchema = _page_of(InstanceSchema, "InstancePage")


class InstanceListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    procedure = fields.String(metadata={"description": "process key"})
    agency = fields.String(metadata={"description": "dossiers with an open external task of this agency"})
    business_key = fields.String(data_key="businessKey")


class StartRequestSchema(StrictSchema):
    business_key = fields.String(data_key="businessKey", allow_none=True, validate=validate.Length(max=255))
    variables = fields.Dict(keys=fields.String(), allow_none=True)


class CompleteRequestSchema(StrictSchema):
    variables = fields.Dict(keys=fields.String(), allow_none=True)
    expected_version = fields.Integer(
        data_key="expectedVersion",
        allow_none=True,
        metadata={"description": "alternative to the If-Match header"},
    )


class CancelRequestSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON_LENGTH))


class IdempotencyHeaderSchema(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Length(min=1, max=MAX_KEY_LENGTH),
        metadata={"description": "retrying with the same key and body replays the first answer"},
    )


class IfMatchHeaderSchema(Schema):
    if_match = fields.String(
        data_key="If-Match", metadata={"description": "the instance version the change expects"}
    )


class EventSchema(Schema):
    type = fields.String()
    activity_id = fields.String(data_key="activityId", allow_none=True)
    task_id = fields.String(data_key="taskId", allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.DateTime()
    data = fields.Dict()


EventPageSchema = _page_of(EventSchema, "EventPage")


# -- agencies ----------------------------------------------------------------------------


class AgencyTaskSchema(Schema):
    """An open external task as its agency sees it in a list (variables come with fetchAndLock)."""

    id = fields.String()
    instance_id = fields.String(data_key="instanceId")
    definition_id = fields.String(data_key="definitionId")
    process_key = fields.String(data_key="processKey")
    business_key = fields.String(data_key="businessKey", allow_none=True)
    activity_id = fields.String(data_key="activityId")
    activity_name = fields.String(data_key="activityName", allow_none=True)
    topic = fields.String()
    priority = fields.Integer()
    created_at = fields.DateTime(data_key="createdAt")
    lock_owner = fields.String(data_key="lockOwner", allow_none=True)
    lock_expires_at = fields.DateTime(data_key="lockExpiresAt", allow_none=True)
    retries = fields.Integer(allow_none=True)
    error_message = fields.String(data_key="errorMessage", allow_none=True)
    incident = fields.Boolean()
    suspended = fields.Boolean()
    handled_in_process = fields.Boolean(data_key="handledInProcess")


AgencyTaskPageSchema = _page_of(AgencyTaskSchema, "AgencyTaskPage")
