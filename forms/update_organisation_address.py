"""*Modifier une adresse* (catalogue Profil › Dossier client): the organisation's own address.

The guide shows the tile only (among the popular items); the fields are the usual postal address
(street, unit, city, province — QC by default —, postal code checked as Canadian ``A1A 1A1``,
country — CA —) and the declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import BuildOptions
from .changeset import Operation, UpdateOrganisationAddress
from .common import CATEGORY_DOSSIER_CLIENT, address_description, profile_form
from .profile import ProfileView

SLUG = "update-organisation-address"


def build(
    variables: Mapping[str, Any], view: ProfileView, options: BuildOptions
) -> list[Operation]:
    """The organisation's new address."""
    return [
        UpdateOrganisationAddress(
            organisation_id=view.organisation.id, address=dict(variables["address"])
        )
    ]


FORM = profile_form(
    SLUG,
    CATEGORY_DOSSIER_CLIENT,
    title=("Modifier une adresse", "Change an address"),
    description=(
        "Ce formulaire permet de mettre à jour l'adresse de votre organisation.",
        "This form updates your organisation's address.",
    ),
    fields=(address_description("organisation.address"),),
    popular=True,
    build=build,
    view_parts=frozenset(),
)
