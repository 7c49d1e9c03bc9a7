"""HTTP schemas of the catalogue and requests."""

from __future__ import annotations

from marshmallow import fields, validate

from ..schemas import PageArgs, StrictSchema

STATES = [
    "submitted",
    "duplicate_check",
    "agent_validation",
    "approved",
    "applied",
    "rejected",
    "cancelled",
    "failed",
]


class SubmitSchema(StrictSchema):
    item = fields.String(required=True, validate=validate.Length(min=1, max=80))
    variables = fields.Dict(required=True, keys=fields.String())


class RequestListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(STATES))


class CommentSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    internal = fields.Boolean(load_default=False)


class DescribeArgs(StrictSchema):
    profile_id = fields.Integer()
    lang = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class LangArgs(StrictSchema):
    lang = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class RequestSummarySchema(StrictSchema):
    number = fields.String()
    item = fields.String()
    title = fields.String()
    state = fields.String()
    state_label = fields.String()
    profile_id = fields.Integer()
    submitted_at = fields.String()
    submitted_by = fields.String()
    applied_at = fields.String(allow_none=True)
    visible_at = fields.String(allow_none=True)
