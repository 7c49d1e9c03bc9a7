"""``/api/profiles/{profile_id}/…``: *Relations et autorisations* and *Mes dossiers autorisés*."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from ..access import require_profile, require_user
from ..extensions import Blueprint
from ..schemas import PageArgs, StrictSchema
from . import lists

blp = Blueprint(
    "profiles",
    __name__,
    url_prefix="/api/profiles",
    description="Mon organisation › Relations et autorisations",
)


class ListArgs(PageArgs):
    lang = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class AuthorizationArgs(ListArgs):
    contact_id = fields.Integer(validate=validate.Range(min=1))


class LangArgs(StrictSchema):
    lang = fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


@blp.route("/<int:profile_id>/contacts")
@blp.arguments(ListArgs, location="query")
def contacts(args: dict[str, Any], profile_id: int) -> Any:
    """Contacts de l'organisation (tels que propagés)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.contacts(access.organisation.id, **args)


@blp.route("/<int:profile_id>/relations")
@blp.arguments(ListArgs, location="query")
def relations(args: dict[str, Any], profile_id: int) -> Any:
    """Relations de l'organisation (telles que propagées)."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.relations(access.organisation.id, **args)


@blp.route("/<int:profile_id>/authorizations")
@blp.arguments(AuthorizationArgs, location="query")
def authorizations(args: dict[str, Any], profile_id: int) -> Any:
    """Autorisations : les sujets de l'organisation d'abord; filtre par contact."""
    access = require_profile(require_user().id, profile_id, manage=True)
    return lists.authorizations(
        access.organisation.id,
        contact_id=args.get("contact_id"),
        page=args["page"],
        per_page=args["per_page"],
        lang=args["lang"],
    )


@blp.route("/<int:profile_id>/authorized-dossiers")
@blp.arguments(LangArgs, location="query")
def authorized_dossiers(args: dict[str, Any], profile_id: int) -> Any:
    """Mes dossiers autorisés, avec les services non offerts en phase 1."""
    access = require_profile(require_user().id, profile_id)
    return lists.authorized_dossiers(access.contact_id, access.organisation.id, args["lang"])
