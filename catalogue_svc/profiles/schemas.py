"""HTTP schemas of *Relations et autorisations* and *Mes dossiers autorisés*.

The lists are built as JSON by ``lists`` (one query each, no second pass through marshmallow):
the response schemas document them, and tests/integration/test_fuzz_api.py checks every answer
against them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from ..schemas import Id, PageArgs, lang_arg

DATE = {"format": "date"}


class ListArgs(PageArgs):
    lang = lang_arg()


class AuthorizationArgs(ListArgs):
    contact_id = Id(
        metadata={"description": "Seulement les autorisations de ce contact de l'organisation"},
    )


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


class PhoneSchema(Schema):
    """One phone number of a contact."""

    id = fields.Integer(
        required=True,
        metadata={"description": "Ce que « Modifier les informations… » nomme (phones.id)"},
    )
    type = fields.String(required=True, metadata={"description": "cellulaire, bureau…"})
    type_label = fields.String(required=True)
    territory = fields.String(required=True, metadata={"description": "Amérique du Nord…"})
    country_code = fields.String(required=True, metadata={"description": "+1"})
    number = fields.String(required=True, metadata={"description": "999 999-9999"})
    extension = fields.String(required=True, allow_none=True)


class ContactRelationSchema(Schema):
    """One relation of the contact with the organisation, as propagated."""

    relation_id = fields.Integer(required=True)
    type = fields.String(required=True)
    type_label = fields.String(required=True)
    start_date = fields.String(required=True, metadata=DATE)
    end_date = fields.String(
        required=True, metadata={**DATE, "description": "9999-12-31 : sans fin"}
    )
    actif = fields.Boolean(required=True)


class HeldSubjectSchema(Schema):
    """A subject the contact holds through one of their relations with the organisation."""

    grant_id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    right = fields.String(required=True)
    right_label = fields.String(required=True)
    organisation = fields.Nested(
        OrganisationRefSchema,
        required=True,
        metadata={"description": "L'organisation propriétaire du dossier"},
    )
    actif = fields.Boolean(required=True)


class PendingRequestSchema(Schema):
    """A pending request about the contact (Mes demandes)."""

    number = fields.String(required=True)
    item = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    submitted_at = fields.String(required=True, metadata={"format": "date-time"})


class ContactDetailSchema(Schema):
    """A contact of the organisation: identity, communication details, relations, subjects."""

    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    name = fields.String(required=True)
    client_number = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, metadata={"description": "fr ou en"})
    language_label = fields.String(required=True)
    birth_date = fields.String(
        required=True,
        allow_none=True,
        metadata={**DATE, "description": "null quand birth_date_masked"},
    )
    birth_date_masked = fields.Boolean(
        required=True,
        metadata={
            "description": "Vrai : la date de naissance est réservée aux personnes qui gèrent "
            "l'organisation"
        },
    )
    phones = fields.List(fields.Nested(PhoneSchema), required=True)
    relations = fields.List(fields.Nested(ContactRelationSchema), required=True)
    subjects = fields.List(fields.Nested(HeldSubjectSchema), required=True)
    pending_requests = fields.List(fields.Nested(PendingRequestSchema), required=True)
