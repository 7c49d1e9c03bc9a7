"""``/api/profiles/{profile_id}/…``: *Relations et autorisations*, a contact's details, and *Mes
dossiers autorisés*."""

from __future__ import annotations

from typing import Any

from ..access import ProfileAccess, require_profile, require_user
from ..extensions import Blueprint
from ..routes import profile_read
from ..schemas import LangArgs
from . import dossiers, lists, service
from .schemas import (
    AuthorizationArgs,
    AuthorizationPageSchema,
    AuthorizedDossiersSchema,
    ContactDetailSchema,
    ContactPageSchema,
    ListArgs,
    RelationPageSchema,
)

blp = Blueprint(
    "profiles",
    __name__,
    url_prefix="/api/profiles",
    description="Mon organisation › Relations et autorisations",
)

NO_PROFILE = "Le compte n'est pas lié à ce profil (ou n'y a plus de relation active)."
NO_AUTHORITY = (
    "Réservé aux personnes responsables, administratrices ou dirigeantes de l'organisation"
    " (pas aux agents)."
)


def _for_managers(rule: str, *, args: Any, answer: Any, not_found: str = NO_PROFILE) -> Any:
    """A read of the organisation that only the persons who manage it may make (403 else)."""
    return profile_read(
        blp, rule, args=args, answer=answer, forbidden=NO_AUTHORITY, not_found=not_found
    )


def _managed(profile_id: int) -> ProfileAccess:
    """The caller's access to ``profile_id``, which they must manage (404 / 403 otherwise)."""
    return require_profile(require_user().id, profile_id, manage=True)


@_for_managers("/<int:profile_id>/contacts", args=ListArgs, answer=ContactPageSchema)
def contacts(args: dict[str, Any], profile_id: int) -> Any:
    """Contacts de l'organisation (tels que propagés)."""
    return lists.contacts(_managed(profile_id).organisation_id, **args)


NO_CONTACT = (
    NO_PROFILE + " Ou le contact n'est pas (encore) un contact de l'organisation dans la liste."
)


@_for_managers(
    "/<int:profile_id>/contacts/<int:contact_id>",
    args=LangArgs,
    answer=ContactDetailSchema,
    not_found=NO_CONTACT,
)
def contact(args: dict[str, Any], profile_id: int, contact_id: int) -> Any:
    """Un contact de l'organisation (tel que propagé), avec ses demandes en cours.

    Guide, étape 3.6 : « Cliquez sur chaque profil et validez l'exactitude des informations
    affichées. » Noms, numéro de client, courriel, langue de communication, chaque téléphone
    (son ``id`` est celui que nomme « Modifier les informations… »), les relations avec
    l'organisation (dates et *Actif*, comme la liste des contacts) et les sujets que le contact
    détient par elles. La date de naissance n'est montrée qu'aux personnes qui gèrent
    l'organisation (sinon ``null`` et ``birth_date_masked``). ``pending_requests`` : les
    demandes en cours qui nomment ce contact, celles que l'appelant peut lire dans « Mes
    demandes ». Mêmes règles d'accès que la liste des contacts : 404 sans accès au profil ou
    pour un contact que la liste ne montre pas (autre organisation, inconnu, pas encore
    propagé), 403 sans autorité.
    """
    return service.contact_detail(_managed(profile_id), contact_id, lang=args["lang"])


@_for_managers("/<int:profile_id>/relations", args=ListArgs, answer=RelationPageSchema)
def relations(args: dict[str, Any], profile_id: int) -> Any:
    """Relations de l'organisation (telles que propagées)."""
    return lists.relations(_managed(profile_id).organisation_id, **args)


@_for_managers(
    "/<int:profile_id>/authorizations", args=AuthorizationArgs, answer=AuthorizationPageSchema
)
def authorizations(args: dict[str, Any], profile_id: int) -> Any:
    """Autorisations : les sujets de l'organisation d'abord; filtre par contact."""
    return lists.authorizations(
        _managed(profile_id).organisation_id,
        contact_id=args.get("contact_id"),
        page=args["page"],
        per_page=args["per_page"],
        lang=args["lang"],
    )


@profile_read(
    blp,
    "/<int:profile_id>/authorized-dossiers",
    args=LangArgs,
    answer=AuthorizedDossiersSchema,
    forbidden="Réservé aux comptes des organisations (pas aux agents).",
    not_found=NO_PROFILE,
)
def authorized_dossiers(args: dict[str, Any], profile_id: int) -> Any:
    """Mes dossiers autorisés, avec les services non offerts en phase 1."""
    access = require_profile(require_user().id, profile_id)
    return dossiers.authorized_dossiers(access.contact_id, access.organisation_id, args["lang"])
