"""Marshmallow schemas of one row of each section of a dossiers file (docs/import-format.md).

They check each row on its own (types, formats, required fields, dates in order); the service
checks what needs the whole file or the database (references, duplicates). The format of each value
(client numbers, names, emails, phones, postal codes, no control character in any text) is the
forms' own rule, from ``forms.fields``: what the import stores, a form accepts typed again.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from forms import messages
from forms.fields import (
    ORGANISATION_NAME_MAX,
    check_country_code,
    check_extension,
    normalise_phone_number,
    normalise_postal_code,
)

from ..db import END_OF_TIME
from ..profiles.models import (
    ContactRelationType,
    OrganisationKind,
    OrganisationRelationType,
    Right,
)
from .schema_fields import (
    CANADA,
    LANGUAGES,
    NORTH_AMERICA,
    REF,
    EmailText,
    Name,
    StrictBoolean,
    Text,
    _birth_date,
    _check_period,
    _client_number,
    _field_error,
    _not_too_early,
    _one_of,
    _optional_text,
    _required_text,
)


class _Row(Schema):
    """A row of a section. Unknown fields are errors: a typo must not silently drop data.

    Rules across fields go in :meth:`check`, clean-ups after loading in :meth:`finish`, so that
    :class:`FastLoader` runs them too.
    """

    def check(self, data: dict[str, Any]) -> None:
        """Rules across fields; raise ValidationError."""

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        """The loaded row, cleaned up."""
        return data

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        self.check(data)

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.finish(data)


class AddressSchema(_Row):
    """A postal address."""

    street = _required_text(200)
    city = _required_text(100)
    province = _optional_text(60)
    postal_code = _optional_text(12)
    country = _optional_text(60)

    def check(self, data: dict[str, Any]) -> None:
        postal, country = data.get("postal_code"), data.get("country")
        if postal is not None and (country is None or country.lower() in CANADA):
            try:
                normalise_postal_code(postal)
            except ValidationError as exc:
                raise ValidationError(list(exc.messages), "postal_code") from None

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        postal, country = data.get("postal_code"), data.get("country")
        if postal is not None and (country is None or country.lower() in CANADA):
            data["postal_code"] = normalise_postal_code(postal)
        return {key: value for key, value in data.items() if value is not None}


class PhoneSchema(_Row):
    """A phone number (type, territory, country code, number, extension)."""

    type = _required_text(30)
    territory = Text(
        load_default=NORTH_AMERICA,
        validate=validate.Length(min=1, max=60, error="Doit compter de 1 à 60 caractères."),
    )
    country_code = Text(load_default="+1")
    number = _required_text(30)
    extension = _optional_text(10)

    def check(self, data: dict[str, Any]) -> None:
        """The forms' phone rules (``forms.fields``), every problem at once."""
        errors: dict[str, list[str]] = {}
        code = data.get("country_code")
        if code is not None:
            try:
                check_country_code(code)
            except ValidationError as exc:
                _field_error(errors, "country_code", exc)
            north_america = data.get("territory") == NORTH_AMERICA
            if "country_code" not in errors and north_america and code != "+1":
                errors["country_code"] = [messages.PHONE_TERRITORY_CODE]
        number = data.get("number")
        if number is not None and "country_code" not in errors:
            try:
                normalise_phone_number(number, code or "")
            except ValidationError as exc:
                _field_error(errors, "number", exc)
        if data.get("extension") is not None:
            try:
                check_extension(data["extension"])
            except ValidationError as exc:
                _field_error(errors, "extension", exc)
        if errors:
            raise ValidationError(errors)

    def finish(self, data: dict[str, Any]) -> dict[str, Any]:
        data["number"] = normalise_phone_number(data["number"], data["country_code"])
        return data


class OrganisationSchema(_Row):
    """An organisation: employer, accounting firm or payroll service."""

    client_number = _client_number()
    name = Name(ORGANISATION_NAME_MAX)
    kind = Text(required=True, validate=_one_of([k.value for k in OrganisationKind]))
    language = Text(load_default="fr", validate=_one_of(LANGUAGES))
    email = EmailText()
    phone = _optional_text(40)
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)


class ContactSchema(_Row):
    """A person; ``ref`` is the export's key for it."""

    ref = Text(required=True, validate=REF)
    client_number = _client_number(required=False)
    first_name = Name()
    last_name = Name()
    birth_date = fields.Date(load_default=None, allow_none=True, validate=_birth_date)
    language = Text(load_default="fr", validate=_one_of(LANGUAGES))
    email = EmailText()
    phones = fields.List(fields.Nested(PhoneSchema), load_default=list)
    address = fields.Nested(AddressSchema, load_default=None, allow_none=True)
    send_linking_credentials = StrictBoolean(load_default=False)
    linking_organisation = _client_number(required=False)

    def check(self, data: dict[str, Any]) -> None:
        if not data.get("send_linking_credentials"):
            return
        errors: dict[str, list[str]] = {}
        if not data.get("email"):
            errors["email"] = [
                "Obligatoire quand send_linking_credentials est vrai : le courriel explicatif "
                "est envoyé à cette adresse."
            ]
        if not data.get("linking_organisation"):
            errors["linking_organisation"] = [
                "Obligatoire quand send_linking_credentials est vrai : le numéro de client de "
                "l'organisation dont le dossier sera lié."
            ]
        if errors:
            raise ValidationError(errors)


class ContactRelationSchema(_Row):
    """A contact's relation to an organisation."""

    contact = Text(required=True, validate=REF)
    organisation = _client_number()
    type = Text(required=True, validate=_one_of([t.value for t in ContactRelationType]))
    start_date = fields.Date(required=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)


class OrganisationRelationSchema(_Row):
    """``organisation`` *a comme firme comptable ou serv. de paie* ``related_organisation``."""

    organisation = _client_number()
    related_organisation = _client_number()
    type = Text(
        load_default=OrganisationRelationType.ACCOUNTING_FIRM.value,
        validate=_one_of([t.value for t in OrganisationRelationType]),
    )
    start_date = fields.Date(required=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)
        if data.get("organisation") and data.get("organisation") == data.get(
            "related_organisation"
        ):
            raise ValidationError(
                "Une organisation ne peut pas être en relation avec elle-même.",
                "related_organisation",
            )


class RelationRefSchema(_Row):
    """Which of the holder contact's relations a grant goes through."""

    organisation = _client_number(required=False)
    type = Text(required=True, validate=_one_of([t.value for t in ContactRelationType]))
    start_date = fields.Date(load_default=None, allow_none=True)


class HolderSchema(_Row):
    """Who holds a grant: an organisation, or a contact through one of its relations."""

    organisation = _client_number(required=False)
    contact = Text(load_default=None, allow_none=True, validate=REF)
    relation = fields.Nested(RelationRefSchema, load_default=None, allow_none=True)

    def check(self, data: dict[str, Any]) -> None:
        organisation, contact = data.get("organisation"), data.get("contact")
        if (organisation is None) == (contact is None):
            raise ValidationError(
                "Indiquez soit « organisation » (numéro de client), soit « contact » (référence)."
            )
        if contact is not None and data.get("relation") is None:
            raise ValidationError(
                "Obligatoire quand le détenteur est un contact : la relation par laquelle il "
                "détient le sujet.",
                "relation",
            )
        if organisation is not None and data.get("relation") is not None:
            raise ValidationError(
                "Sans objet quand le détenteur est une organisation (la relation entre "
                "organisations est déduite).",
                "relation",
            )


class GrantSchema(_Row):
    """A right on one subject of one organisation's dossier."""

    subject = _required_text(60)
    owner = _client_number()
    right = Text(required=True, validate=_one_of([r.value for r in Right]))
    holder = fields.Nested(HolderSchema, required=True)
    start_date = fields.Date(load_default=None, allow_none=True, validate=_not_too_early)
    end_date = fields.Date(load_default=lambda: END_OF_TIME)
    active = StrictBoolean(load_default=True)

    def check(self, data: dict[str, Any]) -> None:
        _check_period(data)


class LegacyCredentialSchema(_Row):
    """The old site's username and password (in clear in the file, hashed on import)."""

    username = _required_text(120)
    # Not stripped: a password is compared byte for byte.
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=256, error="Doit compter de 1 à 256 caractères."),
    )
    contact = Text(required=True, validate=REF)
    organisation = _client_number()


SECTIONS: dict[str, type[_Row]] = {
    "organisations": OrganisationSchema,
    "contacts": ContactSchema,
    "contact_relations": ContactRelationSchema,
    "organisation_relations": OrganisationRelationSchema,
    "grants": GrantSchema,
    "legacy_credentials": LegacyCredentialSchema,
}

# Documentation keys a file may carry at the top level besides the sections.
TOP_LEVEL_EXTRAS = ("version", "description")
