"""*Modifier les informations d'une organisation* (catalogue Profil › Dossier client).

The guide shows the tile only (among the popular items); the fields are the organisation's own
columns: name, language of communication, email address and phone number (territory, country
code, number 999 999-9999, extension). Unlike a contact's, an organisation's email is changed here:
it is no account's login. Only the values given change; at least one is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from . import messages
from .base import FORM_LEVEL, BuildOptions, ErrorCollector, Field, Submission
from .changeset import Operation, UpdateOrganisation
from .common import (
    CATEGORY_DOSSIER_CLIENT,
    PHONE_FIELDS,
    check_phone,
    format_phone,
    language_change,
    normalise_phone,
    profile_form,
)
from .fields import ORGANISATION_NAME_MAX
from .profile import ProfileView
from .values import Email, Name

SLUG = "update-organisation"

_CHANGEABLE = ("name", "language", "email", "phone")


def rules(submitted: Submission, errors: ErrorCollector) -> None:
    """At least one value to change."""
    if not any(submitted.given(name) for name in _CHANGEABLE):
        errors.add(FORM_LEVEL, messages.NOTHING_TO_CHANGE)


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
    Field(
        "name",
        "text",
        "Nom de l'organisation",
        "Organisation name",
        current_value_source="organisation.name",
        # The import's rule for an organisation's name (200 characters, no CR/LF nor invisible
        # character): applied without an agent, the name is quoted in every email of the firm.
        value=partial(Name, max_length=ORGANISATION_NAME_MAX),
    ),
    language_change("organisation.language"),
    Field(
        "email",
        "text",
        "Adresse courriel de l'organisation",
        "Organisation email address",
        current_value_source="organisation.email",
        value=Email,
    ),
    Field(
        "phone",
        "group",
        "Numéro de téléphone de l'organisation",
        "Organisation phone number",
        # An organisation's phone: a contact's without the type.
        fields=tuple(f for f in PHONE_FIELDS if f.name != "type"),
        rules=check_phone,
        finish=normalise_phone,
        current_value_source="organisation.phone",
    ),
)

FORM = profile_form(
    SLUG,
    CATEGORY_DOSSIER_CLIENT,
    title=("Modifier les informations d'une organisation", "Change an organisation's information"),
    description=(
        "Ce formulaire permet de mettre à jour le nom, la langue de communication, l'adresse "
        "courriel et le numéro de téléphone de votre organisation.",
        "This form updates your organisation's name, language of communication, email address "
        "and phone number.",
    ),
    fields=FIELDS,
    rules=rules,
    popular=True,
    build=build,
    view_parts=frozenset(),
)
