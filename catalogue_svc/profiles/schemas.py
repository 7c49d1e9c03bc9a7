"""HTTP schemas of *Relations et autorisations* and *Mes dossiers autorisés*.

The lists are built as JSON by ``lists`` (one query each, no second pass through marshmallow):
the response schemas document them, and tests/integration/test_fuzz_api.py checks every answer
against them.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..schemas import PageArgs, StrictSchema

LANG = validate.OneOf(["fr", "en"])
DATE = {"format": "date"}


class ListArgs(PageArgs):
    lang = fields.String(load_default="fr", validate=LANG)


class AuthorizationArgs(ListArgs):
    contact_id = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Seulement les autorisations de ce contact de l'organisation"},
    )


class LangArgs(StrictSchema):
    lang = fields.String(load_default="fr", validate=LANG)


class OrganisationRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    client_number = fields.String(required=True)


class NamedRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ContactRowSchema(Schema):
    """One row of *Contacts de l'organisation*."""

    contact_id = fields.Integer(required=True)
    relation_id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    relation = fields.String(required=True)
    relation_label = fields.String(required=True)
    start_date = fields.String(required=True, metadata=DATE)
    end_date = fields.String(
        required=True, metadata={**DATE, "description": "9999-12-31 : sans fin"}
    )
    actif = fields.Boolean(required=True)


class RelationRowSchema(Schema):
    """One row of *Relations de l'organisation*."""

    relation_id = fields.Integer(required=True)
    organisation = fields.Nested(OrganisationRefSchema, required=True)
    type = fields.String(required=True)
    type_label = fields.String(required=True)
    related_organisation = fields.Nested(OrganisationRefSchema, required=True)
    start_date = fields.String(required=True, metadata=DATE)
    end_date = fields.String(required=True, metadata=DATE)
    actif = fields.Boolean(required=True)


class AuthorizationRowSchema(Schema):
    """One row of *Autorisations*."""

    grant_id = fields.Integer(required=True)
    subject = fields.String(required=True, metadata={"description": "Sujet - organisation"})
    subject_code = fields.String(required=True)
    right = fields.String(required=True)
    right_label = fields.String(required=True)
    organisation = fields.Nested(NamedRefSchema, required=True)
    related_organisation = fields.Nested(NamedRefSchema, required=True, allow_none=True)
    contact = fields.Nested(NamedRefSchema, required=True, allow_none=True)
    function = fields.String(required=True, allow_none=True)
    actif = fields.Boolean(required=True)


class _Page(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ContactPageSchema(_Page):
    items = fields.List(fields.Nested(ContactRowSchema), required=True)


class RelationPageSchema(_Page):
    items = fields.List(fields.Nested(RelationRowSchema), required=True)


class AuthorizationPageSchema(_Page):
    items = fields.List(fields.Nested(AuthorizationRowSchema), required=True)
    total_exact = fields.Boolean(
        required=True, metadata={"description": "Faux : total est un minimum (plus de 10 000)"}
    )


class DossierSubjectSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    right = fields.String(required=True)
    right_label = fields.String(required=True)
    available = fields.Boolean(required=True)
    note = fields.String(required=True, allow_none=True)


class DossierSchema(Schema):
    organisation = fields.Nested(OrganisationRefSchema, required=True)
    subjects = fields.List(fields.Nested(DossierSubjectSchema), required=True)


class ServiceSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class AuthorizedDossiersSchema(Schema):
    """*Mes dossiers autorisés*."""

    items = fields.List(fields.Nested(DossierSchema), required=True)
    unavailable_services = fields.List(fields.Nested(ServiceSchema), required=True)
    note = fields.String(required=True)
