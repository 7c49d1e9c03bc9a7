"""``/api/profiles/{profile_id}/…``: *Relations et autorisations*, a contact's details, and *Mes
dossiers autorisés*."""

from __future__ import annotations

from typing import Any

from ..access import require_profile, require_user
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


@profile_read(
    blp,
    "/<int:profile_id>/contacts",
    args=ListArgs,
    answer=ContactPageSchema,
    forbidden=NO_AUTHORITY,
    not_found=NO_PROFILE,
)
def contacts(args: dict[str, Any], profile_id: int) -> Any:
    """Contacts de l'organisation (tels que propagés)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.contacts(access.organisation_id, **args)


NO_CONTACT = (
    NO_PROFILE + " Ou le contact n'est pas (encore) un contact de l'organisation dans la liste."
)


@profile_read(
    blp,
    "/<int:profile_id>/contacts/<int:contact_id>",
    args=LangArgs,
    answer=ContactDetailSchema,
    forbidden=NO_AUTHORITY,
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
    access = require_profile(require_user().id, profile_id, manage=True)
    return service.contact_detail(access, contact_id, lang=args["lang"])


@profile_read(
    blp,
    "/<int:profile_id>/relations",
    args=ListArgs,
    answer=RelationPageSchema,
    forbidden=NO_AUTHORITY,
    not_found=NO_PROFILE,
)
def relations(args: dict[str, Any], profile_id: int) -> Any:
    """Relations de l'organisation (telles que propagées)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.relations(access.organisation_id, **args)


@profile_read(
    blp,
    "/<int:profile_id>/authorizations",
    args=AuthorizationArgs,
    answer=AuthorizationPageSchema,
    forbidden=NO_AUTHORITY,
    not_found=NO_PROFILE,
)
def authorizations(args: dict[str, Any], profile_id: int) -> Any:
    """Autorisations : les sujets de l'organisation d'abord; filtre par contact."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.authorizations(
        access.organisation_id,
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
