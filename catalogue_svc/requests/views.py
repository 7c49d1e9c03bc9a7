"""The catalogue, submissions and *Mes demandes*."""

from __future__ import annotations

import re
from typing import Any

from flask import request as http_request

from forms import registry

from ..access import require_any, require_profile, require_user
from ..clock import now
from ..errors import NotFound, ValidationFailed
from ..extensions import Blueprint
from ..profiles.snapshot import profile_view
from . import service
from .schemas import (
    CommentSchema,
    DescribeArgs,
    LangArgs,
    RequestListArgs,
    SubmitSchema,
)

blp = Blueprint("requests", __name__, url_prefix="/api", description="Catalogue et demandes")

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _name(account: Any) -> str:
    return f"{account.first_name} {account.last_name}"


@blp.route("/catalogue")
@blp.arguments(LangArgs, location="query")
def catalogue(args: dict[str, Any]) -> Any:
    """Les catalogues, leurs catégories et leurs formulaires."""
    require_any()
    return {"catalogues": registry.catalogue(args["lang"])}


@blp.route("/catalogue/items/<slug>")
@blp.arguments(DescribeArgs, location="query")
def describe(args: dict[str, Any], slug: str) -> Any:
    """Un formulaire : champs, types, choix (remplis selon le profil), valeurs par défaut."""
    account = require_any()
    form = service.form_or_404(slug)
    view = None
    if args.get("profile_id") is not None:
        access = require_profile(account.id, args["profile_id"])
        view = profile_view(access.organisation.id)
    return form.to_description(args["lang"], today=now().date(), view=view)


@blp.route("/profiles/<int:profile_id>/requests", methods=["POST"])
@blp.arguments(SubmitSchema)
@blp.response(202)
def submit(data: dict[str, Any], profile_id: int) -> Any:
    """Soumettre un formulaire : la demande est créée et suivie dans « Mes demandes »."""
    account = require_user()
    key = http_request.headers.get("Idempotency-Key")
    if key is not None and not _KEY.match(key):
        raise ValidationFailed(
            errors={
                "Idempotency-Key": ["Doit compter de 1 à 200 caractères imprimables, sans espace."]
            }
        )
    status, body = service.submit(
        account_id=account.id,
        account_name=_name(account),
        profile_id=profile_id,
        item=data["item"],
        variables=data["variables"],
        idempotency_key=key,
    )
    return body, status


@blp.route("/profiles/<int:profile_id>/requests")
@blp.arguments(RequestListArgs, location="query")
def list_requests(args: dict[str, Any], profile_id: int) -> Any:
    """« Mes demandes » : les demandes du profil, les plus récentes d'abord."""
    account = require_user()
    access = require_profile(account.id, profile_id)
    return service.list_for_profile(
        access, state=args.get("state"), page=args["page"], per_page=args["per_page"]
    )


@blp.route("/requests/<number>")
def get_request(number: str) -> Any:
    """Une demande : variables, état, historique, commentaires, moment de visibilité."""
    account = require_any()
    if len(number) > 20:
        raise NotFound()
    req, for_agent = service.get_for_account(number, account.id, role=account.role)
    return service.detail(req, for_agent=for_agent)


@blp.route("/requests/<number>/cancel", methods=["POST"])
def cancel(number: str) -> Any:
    """Annuler sa demande avant son approbation."""
    account = require_user()
    return service.cancel(number, account.id, _name(account))


@blp.route("/requests/<number>/comments", methods=["POST"])
@blp.arguments(CommentSchema)
@blp.response(201)
def comment(data: dict[str, Any], number: str) -> Any:
    """Ajouter un commentaire (demandeur ou agent)."""
    account = require_any()
    return service.add_comment(
        number, account.id, _name(account), account.role, data["body"], data["internal"]
    )
