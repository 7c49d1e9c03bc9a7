"""HTTP schemas of the agents' calls."""

from __future__ import annotations

from marshmallow import fields, validate

from ..requests.schemas import RequestSummarySchema
from ..schemas import Id, PageArgs, StrictSchema


class QueueArgs(PageArgs):
    state = fields.String(
        load_default="agent_validation", validate=validate.OneOf(["agent_validation"])
    )
    form = fields.String(validate=validate.Length(max=80))
    claimed = fields.Boolean()


class ApproveSchema(StrictSchema):
    merge_with_contact_id = Id(allow_none=True, load_default=None)


class RejectSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class QueueItemSchema(RequestSummarySchema):
    """A request waiting for an agent."""

    age_seconds = fields.Integer(required=True)
    claimed_by_account_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "L'agent qui l'a prise en charge"}
    )
    candidates = fields.Integer(required=True, metadata={"description": "Doublons possibles"})


class QueuePageSchema(StrictSchema):
    """The validation queue, oldest first."""

    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
