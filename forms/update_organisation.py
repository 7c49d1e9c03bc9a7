"""*Modifier les informations d'une organisation* (catalogue Profil › Dossier client).

The guide shows the tile only (among the popular items); the fields are the organisation's own
columns: name, language of communication, email address and phone number (territory, country
code, number 999 999-9999, extension). Unlike a contact's, an organisation's email is changed here:
it is no account's login. Only the values given change; at least one is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from . import messages
from .base import BuildOptions, Field, FormDefinition
from .changeset import Operation, UpdateOrganisation
from .common import (
    CATALOGUE_PROFIL,
    CATEGORY_DOSSIER_CLIENT,
    DECLARATION_EN,
    DECLARATION_FR,
    LANGUAGES,
    PHONE_FIELDS,
    BaseSchema,
    Email,
    Name,
    PhoneSchema,
    attestation_description,
    attestation_field,
    choices_of,
    format_phone,
    id_field,
    language_field,
    placement,
    present,
    profile_description,
)
from .fields import ORGANISATION_NAME_MAX
from .profile import ProfileView

SLUG = "update-organisation"

_CHANGEABLE = ("name", "language", "email", "phone")


class OrganisationPhoneSchema(PhoneSchema):
    """An organisation's phone: a contact's without the type."""

    class Meta(PhoneSchema.Meta):
        exclude = ("type",)


class UpdateOrganisationSchema(BaseSchema):
    """The variables of the form."""

    profile_id = id_field()
    # The import's rule for an organisation's name (200 characters, no CR/LF nor invisible
    # character): applied without an agent, the name is quoted in every email of the firm.
    name = Name(max_length=ORGANISATION_NAME_MAX, allow_none=True, load_default=None)
    language = language_field(allow_none=True, load_default=None)
    email = Email(allow_none=True, load_default=None)
    phone = fields.Nested(OrganisationPhoneSchema, allow_none=True, load_default=None)
    attestation = attestation_field()

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _check(self, data: Mapping[str, Any], original_data: Mapping[str, Any], **_: Any) -> None:
        if not any(present(original_data, name) for name in _CHANGEABLE):
            raise ValidationError({"_schema": [messages.NOTHING_TO_CHANGE]})


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The columns given (the name only when it differs)."""
    changes: dict[str, Any] = {}
    name = variables.get("name")
    if name is not None and name != view.organisation.name:
        changes["name"] = name
    for key in ("language", "email"):
        if variables.get(key) is not None:
            changes[key] = variables[key]
    if variables.get("phone") is not None:
        changes["phone"] = format_phone(variables["phone"])
    if not changes:
        return []
    return [UpdateOrganisation(organisation_id=view.organisation.id, changes=changes)]


FIELDS = (
    profile_description(),
    Field(
        "name",
        "text",
        "Nom de l'organisation",
        "Organisation name",
        current_value_source="organisation.name",
    ),
    Field(
        "language",
        "choice",
        "Langue de communication",
        "Language of communication",
        choices=choices_of(LANGUAGES),
        current_value_source="organisation.language",
        help_fr="« - Aucun - » (aucune valeur) conserve la valeur actuelle.",
        help_en="“- None -” (no value) keeps the current value.",
    ),
    Field(
        "email",
        "text",
        "Adresse courriel de l'organisation",
        "Organisation email address",
        current_value_source="organisation.email",
    ),
    Field(
        "phone",
        "group",
        "Numéro de téléphone de l'organisation",
        "Organisation phone number",
        fields=tuple(f for f in PHONE_FIELDS if f.name != "type"),
        current_value_source="organisation.phone",
    ),
    attestation_description("attestation", DECLARATION_FR, DECLARATION_EN),
)

FORM = FormDefinition(
    slug=SLUG,
    version=1,
    **placement(CATALOGUE_PROFIL, CATEGORY_DOSSIER_CLIENT),
    title_fr="Modifier les informations d'une organisation",
    title_en="Change an organisation's information",
    description_fr=(
        "Ce formulaire permet de mettre à jour le nom, la langue de communication, l'adresse "
        "courriel et le numéro de téléphone de votre organisation."
    ),
    description_en=(
        "This form updates your organisation's name, language of communication, email address "
        "and phone number."
    ),
    fields=FIELDS,
    schema=UpdateOrganisationSchema,
    validation_rule="never",
    requires_authority=True,
    popular=True,
    build=build,
    view_parts=frozenset(),
)
