"""The catalogue, submissions and *Mes demandes*."""

from __future__ import annotations

import re
from typing import Any

from flask import request as http_request

from forms import registry

from ..access import require_any, require_profile, require_user
from ..accounts.sessions import account_required
from ..clock import now
from ..errors import NotFound, ValidationFailed
from ..extensions import LOGGED_IN, READ, Blueprint
from ..profiles.snapshot import profile_view
from ..routes import account_read, profile_read
from ..schemas import LangArgs
from . import service
from .schemas import (
    CatalogueSchema,
    CommentOutSchema,
    CommentSchema,
    DescribeArgs,
    FormDescriptionSchema,
    RequestDetailSchema,
    RequestListArgs,
    RequestPageSchema,
    RequestSummarySchema,
    SubmitSchema,
)

blp = Blueprint("requests", __name__, url_prefix="/api", description="Catalogue et demandes")

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "La même clé et le même contenu redonnent la même demande (clés par compte)",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
}
NO_PROFILE = "Le compte n'est pas lié à ce profil (ou n'y a plus de relation active)."
NO_REQUEST = "Aucune demande de ce numéro n'est accessible à ce compte."
FIRMS_ONLY = "Réservé aux comptes des organisations (pas aux agents)."
# One instance for every submission: given the class, webargs builds a schema per request.
SUBMIT_SCHEMA = SubmitSchema()


def _name(account: Any) -> str:
    return f"{account.first_name} {account.last_name}"


@account_read(blp, "/catalogue", args=LangArgs, answer=CatalogueSchema)
def catalogue(args: dict[str, Any]) -> Any:
    """Les catalogues, leurs catégories et leurs formulaires."""
    require_any()
    return {"catalogues": registry.catalogue(args["lang"])}


@profile_read(
    blp,
    "/catalogue/items/<slug>",
    args=DescribeArgs,
    answer=FormDescriptionSchema,
    forbidden="Le formulaire exige l'autorité sur le dossier du profil.",
    not_found="Formulaire inconnu, ou profil non lié au compte.",
)
def describe(args: dict[str, Any], slug: str) -> Any:
    """Un formulaire : champs, types, choix (remplis selon le profil), valeurs par défaut."""
    account = require_any()
    form = service.form_or_404(slug)
    view = None
    if args.get("profile_id") is not None:
        # The choices list the firm's contacts, relations and grants: only to those who may
        # submit the form, as the lists answer 403 to the others.
        access = require_profile(account.id, args["profile_id"], manage=form.requires_authority)
        view = profile_view(access.organisation_id)
        organisation_id = access.organisation_id
        return form.to_description(
            args["lang"],
            today=now().date(),
            view=view,
            defaults=lambda source: service.form_default(source, organisation_id),
        )
    return form.to_description(args["lang"], today=now().date(), view=view)


@blp.route("/profiles/<int:profile_id>/requests", methods=["POST"])
@account_required
@blp.doc(security=LOGGED_IN, parameters=[IDEMPOTENCY_KEY])
@blp.arguments(SUBMIT_SCHEMA)
@blp.answers(202, RequestSummarySchema, description="Demande reçue (ou rejouée)")
@blp.alt_response(403, description=FIRMS_ONLY + " Ce formulaire exige l'autorité sur le dossier.")
@blp.alt_response(404, description=NO_PROFILE)
@blp.alt_response(
    429,
    description="Trop de codes de liaison envoyés (par membre en 24 heures, ou par heure).",
)
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
    body = service.submit(
        account_id=account.id,
        account_name=_name(account),
        profile_id=profile_id,
        item=data["item"],
        variables=data["variables"],
        idempotency_key=key,
    )
    return body, 202


@profile_read(
    blp,
    "/profiles/<int:profile_id>/requests",
    args=RequestListArgs,
    answer=RequestPageSchema,
    forbidden=FIRMS_ONLY,
    not_found=NO_PROFILE,
)
def list_requests(args: dict[str, Any], profile_id: int) -> Any:
    """« Mes demandes » : les demandes du profil, les plus récentes d'abord.

    Une personne qui gère l'organisation (responsable, administratrice, dirigeante) voit
    toutes les demandes du profil, quel qu'en soit le demandeur (``submitted_by``,
    ``submitted_by_account_id``) ; un membre, les siennes. Filtres : ``state``, ``item``
    (formulaire), ``submitter`` (compte), ``contact`` (contact dont la demande parle),
    ``from`` et ``to`` (jours de soumission, heure de Montréal, inclus). Un filtre invalide :
    422 qui le nomme.
    """
    account = require_user()
    access = require_profile(account.id, profile_id)
    page, per_page = args.pop("page"), args.pop("per_page")
    return service.list_for_profile(
        access, service.RequestFilters(**args), page=page, per_page=per_page
    )


@blp.route("/requests/<number>")
@account_required
@blp.doc(security=READ)
@blp.answers(200, RequestDetailSchema)
@blp.alt_response(404, description=NO_REQUEST)
def get_request(number: str) -> Any:
    """Une demande : variables, état, historique, commentaires, moment de visibilité."""
    account = require_any()
    if len(number) > 20:
        raise NotFound()
    req, for_agent = service.get_for_account(number, account.id, role=account.role)
    return service.detail(req, for_agent=for_agent)


@blp.route("/requests/<number>/cancel", methods=["POST"])
@account_required
@blp.doc(security=LOGGED_IN)
@blp.answers(200, RequestSummarySchema)
@blp.alt_response(403, description="Seul le demandeur annule sa demande (pas un agent).")
@blp.alt_response(404, description=NO_REQUEST)
@blp.alt_response(409, description="La demande n'est plus annulable dans son état.")
def cancel(number: str) -> Any:
    """Annuler sa demande avant son approbation."""
    account = require_user()
    return service.cancel(number=number, account_id=account.id, account_name=_name(account))


@blp.route("/requests/<number>/comments", methods=["POST"])
@account_required
@blp.doc(security=LOGGED_IN)
@blp.arguments(CommentSchema)
@blp.answers(201, CommentOutSchema)
@blp.alt_response(403, description="Un commentaire interne est réservé aux agents.")
@blp.alt_response(404, description=NO_REQUEST)
@blp.alt_response(
    422, description="Une question (asks_answer) vient de l'agent qui a pris la demande en charge."
)
def comment(data: dict[str, Any], number: str) -> Any:
    """Ajouter un commentaire (demandeur ou agent)."""
    account = require_any()
    body = service.add_comment(
        number=number,
        account_id=account.id,
        account_name=_name(account),
        role=account.role,
        body=data["body"],
        internal=data["internal"],
        asks_answer=data["asks_answer"],
    )
    return body, 201
