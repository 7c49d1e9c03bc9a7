"""HTTP schemas of the catalogue of authorized subjects."""

from __future__ import annotations

from marshmallow import fields

from ..schemas import StrictSchema


class SubjectSchema(StrictSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    category_label = fields.String(required=True)
    description = fields.String(
        required=True, metadata={"description": "Ce que le sujet permet (les services qu'il ouvre)"}
    )
    available_in_delegation = fields.Boolean(
        required=True,
        metadata={"description": "Faux : pas offert par « Mes dossiers autorisés » en phase 1"},
    )


class SubjectListSchema(StrictSchema):
    """Every authorized subject, in the catalogue's order."""

    subjects = fields.List(fields.Nested(SubjectSchema), required=True)
