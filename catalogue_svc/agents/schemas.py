"""HTTP schemas of the agents' calls."""

from __future__ import annotations

from marshmallow import fields, validate

from ..schemas import PageArgs, StrictSchema


class QueueArgs(PageArgs):
    state = fields.String(
        load_default="agent_validation", validate=validate.OneOf(["agent_validation"])
    )
    form = fields.String(validate=validate.Length(max=80))
    claimed = fields.Boolean()


class ApproveSchema(StrictSchema):
    merge_with_contact_id = fields.Integer(allow_none=True, load_default=None)


class RejectSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
