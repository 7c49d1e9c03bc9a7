"""*Modifier une adresse* (catalogue Profil › Dossier client): the organisation's own address.

The guide shows the tile only (among the popular items); the fields are the usual postal address
(street, unit, city, province — QC by default —, postal code checked as Canadian ``A1A 1A1``,
country — CA —) and the declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import BuildOptions, FormDefinition
from .changeset import Operation, UpdateOrganisationAddress
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


FIELDS = (
    profile_description(),
    address_description("organisation.address"),
    attestation_description("attestation", DECLARATION_FR, DECLARATION_EN),
)

FORM = FormDefinition(
    slug=SLUG,
    version=1,
    **placement(CATALOGUE_PROFIL, CATEGORY_DOSSIER_CLIENT),
    title_fr="Modifier une adresse",
    title_en="Change an address",
    description_fr="Ce formulaire permet de mettre à jour l'adresse de votre organisation.",
    description_en="This form updates your organisation's address.",
    fields=FIELDS,
    validation_rule="never",
    requires_authority=True,
    popular=True,
    build=build,
    view_parts=frozenset(),
)
