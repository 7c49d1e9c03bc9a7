"""``/api/profiles/{profile_id}/exports/…``: the lists and the firm's requests, downloaded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, stream_with_context

from ..access import require_profile, require_user
from ..accounts.sessions import account_required
from ..extensions import READ, Blueprint
from ..requests.reads import RequestFilters
from ..routes import View, compose
from . import service
from .schemas import ExportArgs, RequestExportArgs

blp = Blueprint(
    "exports", __name__, url_prefix="/api/profiles", description="Exportations des listes"
)

NO_PROFILE = "Le compte n'est pas lié à ce profil (ou n'y a plus de relation active)."
NO_AUTHORITY = (
    "Réservé aux personnes responsables, administratrices ou dirigeantes de l'organisation"
    " (pas aux agents)."
)
BINARY = {"type": "string", "format": "binary"}
ANSWER = {
    "description": "Le fichier, en pièce jointe, écrit au fil de la lecture",
    "content": {
        "text/csv": {"schema": BINARY},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    },
}


def _download(kind: str, fmt: str, items: Iterator[dict[str, Any]], name: str) -> Response:
    """The streamed answer: CSV or JSON, always an attachment."""
    if fmt == "json":
        chunks, mimetype, extension = service.as_json(items), "application/json", "json"
    else:
        chunks, mimetype, extension = service.as_csv(kind, items), "text/csv", "csv"
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    if mimetype == "text/csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _list_export(kind: str, profile_id: int, args: dict[str, Any]) -> Response:
    access = require_profile(require_user().id, profile_id, manage=True)
    produce = getattr(service, kind)
    items = produce(access.organisation_id, args["lang"])
    return _download(kind, args["format"], items, f"{kind}-{profile_id}")


def _list_export_route(kind: str) -> Callable[[View], View]:
    """The route of one list's export: ``…/exports/{kind}``, for the firm's authorities, the
    same query and the same answers for every list."""
    return compose(
        blp.route(f"/<int:profile_id>/exports/{kind}"),
        account_required,
        blp.doc(security=READ, responses={"200": ANSWER}),
        blp.arguments(ExportArgs, location="query"),
        blp.alt_response(403, description=NO_AUTHORITY),
        blp.alt_response(404, description=NO_PROFILE),
    )


@_list_export_route("contacts")
def export_contacts(args: dict[str, Any], profile_id: int) -> Any:
    """Exporter les contacts de l'organisation (CSV ou JSON)."""
    return _list_export("contacts", profile_id, args)


@_list_export_route("relations")
def export_relations(args: dict[str, Any], profile_id: int) -> Any:
    """Exporter les relations de l'organisation (CSV ou JSON)."""
    return _list_export("relations", profile_id, args)


@_list_export_route("authorizations")
def export_authorizations(args: dict[str, Any], profile_id: int) -> Any:
    """Exporter les autorisations de l'organisation, toutes (CSV ou JSON)."""
    return _list_export("authorizations", profile_id, args)


@blp.route("/<int:profile_id>/exports/requests")
@account_required
@blp.doc(security=READ, responses={"200": ANSWER})
@blp.arguments(RequestExportArgs, location="query")
@blp.alt_response(403, description="Réservé aux comptes des organisations (pas aux agents).")
@blp.alt_response(404, description=NO_PROFILE)
def export_requests(args: dict[str, Any], profile_id: int) -> Any:
    """Exporter les demandes du profil (celles que « Mes demandes » montre), mêmes filtres."""
    access = require_profile(require_user().id, profile_id)
    fmt = args.pop("format")
    items = service.requests(access, RequestFilters(**args))
    return _download("requests", fmt, items, f"demandes-{profile_id}")
