"""*Modifier l'adresse d'un individu autorisé ou d'un contact* (catalogue Profil › Dossier client).

The guide shows the tile only; the fields are the usual postal address (street, unit, city,
province — QC by default —, postal code checked as Canadian ``A1A 1A1``, country — CA —) and the
declaration. Like the other modification of a contact, the contact receives a confirmation email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import messages
from .base import BuildOptions, ErrorCollector, Field, FormDefinition
from .changeset import NotifyContact, Operation, UpdateContactAddress
from .common import (
    CATALOGUE_PROFIL,
    CATEGORY_DOSSIER_CLIENT,
    DECLARATION_EN,
    DECLARATION_FR,
    address_description,
    attestation_description,
    placement,
    profile_description,
)
from .profile import ProfileView
from .update_contact import TEMPLATE

SLUG = "update-contact-address"


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The new address (when it differs) and the confirmation email."""
    errors = ErrorCollector()
    contact_id = variables["contact_id"]
    contact = view.contacts.get(contact_id)
    if contact is None:
        errors.add("contact_id", messages.CONTACT_NOT_IN_PROFILE)
        errors.raise_if_any()
    assert contact is not None  # for the type checker: raise_if_any raised otherwise
    address = dict(variables["address"])
    if contact.address is not None and dict(contact.address) == address:
        return []
    operations: list[Operation] = [UpdateContactAddress(contact_id=contact_id, address=address)]
    if contact.email:
        operations.append(
            NotifyContact(
                contact=contact_id,
                template=TEMPLATE,
                params={
                    "organisation_id": view.organisation.id,
                    "organisation_name": view.organisation.name,
                    "changes": ["address"],
                    "linking_credentials": False,
                },
            )
        )
    return operations


FIELDS = (
    profile_description(),
    Field(
        "contact_id",
        "contact",
        "Individu autorisé ou contact dans ce profil",
        "Authorized individual or contact in this profile",
        required=True,
        choices_source="profile.contacts",
    ),
    address_description("contact.address"),
    attestation_description("attestation", DECLARATION_FR, DECLARATION_EN),
)

FORM = FormDefinition(
    slug=SLUG,
    version=1,
    **placement(CATALOGUE_PROFIL, CATEGORY_DOSSIER_CLIENT),
    title_fr="Modifier l'adresse d'un individu autorisé ou d'un contact",
    title_en="Change the address of an authorized individual or a contact",
    description_fr=(
        "Ce formulaire permet de mettre à jour l'adresse d'un individu autorisé ou d'un contact."
    ),
    description_en="This form updates the address of an authorized individual or a contact.",
    fields=FIELDS,
    validation_rule="never",
    requires_authority=True,
    popular=False,
    build=build,
    view_parts=frozenset({"contacts"}),
)
