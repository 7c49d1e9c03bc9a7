"""Schemas shared by several domains: pagination and problem details."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """A schema that refuses unknown fields (server-owned fields included)."""

    class Meta:
        unknown = RAISE


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
