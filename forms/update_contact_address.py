"""*Modifier l'adresse d'un individu autorisé ou d'un contact* (catalogue Profil › Dossier client).

The guide shows the tile only; the fields are the usual postal address (street, unit, city,
province — QC by default —, postal code checked as Canadian ``A1A 1A1``, country — CA —) and the
declaration. Like the other modification of a contact, the contact receives a confirmation email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import BuildOptions
from .changeset import Operation, UpdateContactAddress
from .common import CATEGORY_DOSSIER_CLIENT, address_description, profile_form
from .profile import ProfileView
from .update_contact import CONTACT_FIELD, confirmation, contact_of

SLUG = "update-contact-address"


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The new address (when it differs) and the confirmation email."""
    contact = contact_of(variables, view)
    address = dict(variables["address"])
    if contact.address is not None and dict(contact.address) == address:
        return []
    return [
        UpdateContactAddress(contact_id=contact.id, address=address),
        *confirmation(view, contact, ["address"], linking_credentials=False),
    ]


FORM = profile_form(
    SLUG,
    CATEGORY_DOSSIER_CLIENT,
    title=(
        "Modifier l'adresse d'un individu autorisé ou d'un contact",
        "Change the address of an authorized individual or a contact",
    ),
    description=(
        "Ce formulaire permet de mettre à jour l'adresse d'un individu autorisé ou d'un contact.",
        "This form updates the address of an authorized individual or a contact.",
    ),
    fields=(CONTACT_FIELD, address_description("contact.address")),
    popular=False,
    build=build,
    view_parts=frozenset({"contacts"}),
)
