"""``/api/profiles/{profile_id}/…``: *Relations et autorisations* and *Mes dossiers autorisés*."""

from __future__ import annotations

from typing import Any

from ..access import require_profile, require_user
from ..accounts.sessions import account_required
from ..extensions import READ, Blueprint
from . import lists
from .schemas import (
    AuthorizationArgs,
    AuthorizationPageSchema,
    AuthorizedDossiersSchema,
    ContactPageSchema,
    LangArgs,
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


@blp.route("/<int:profile_id>/contacts")
@account_required
@blp.doc(security=READ)
@blp.arguments(ListArgs, location="query")
@blp.answers(200, ContactPageSchema)
@blp.alt_response(403, description=NO_AUTHORITY)
@blp.alt_response(404, description=NO_PROFILE)
def contacts(args: dict[str, Any], profile_id: int) -> Any:
    """Contacts de l'organisation (tels que propagés)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.contacts(access.organisation_id, **args)


@blp.route("/<int:profile_id>/relations")
@account_required
@blp.doc(security=READ)
@blp.arguments(ListArgs, location="query")
@blp.answers(200, RelationPageSchema)
@blp.alt_response(403, description=NO_AUTHORITY)
@blp.alt_response(404, description=NO_PROFILE)
def relations(args: dict[str, Any], profile_id: int) -> Any:
    """Relations de l'organisation (telles que propagées)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.relations(access.organisation_id, **args)


@blp.route("/<int:profile_id>/authorizations")
@account_required
@blp.doc(security=READ)
@blp.arguments(AuthorizationArgs, location="query")
@blp.answers(200, AuthorizationPageSchema)
@blp.alt_response(403, description=NO_AUTHORITY)
@blp.alt_response(404, description=NO_PROFILE)
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


@blp.route("/<int:profile_id>/authorized-dossiers")
@account_required
@blp.doc(security=READ)
@blp.arguments(LangArgs, location="query")
@blp.answers(200, AuthorizedDossiersSchema)
@blp.alt_response(403, description="Réservé aux comptes des organisations (pas aux agents).")
@blp.alt_response(404, description=NO_PROFILE)
def authorized_dossiers(args: dict[str, Any], profile_id: int) -> Any:
    """Mes dossiers autorisés, avec les services non offerts en phase 1."""
    access = require_profile(require_user().id, profile_id)
    return lists.authorized_dossiers(access.contact_id, access.organisation_id, args["lang"])
