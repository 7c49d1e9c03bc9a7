"""One error shape for every non-2xx answer: RFC 9457 problem details, French messages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from forms.messages import translate_errors

from .db import db
from .notifications.templates import french_duration

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non permise",
    409: "Conflit",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    429: "Trop de tentatives",
    500: "Erreur interne",
    503: "Service indisponible",
}

# The ``type`` of the problems that no DomainError raises (the same slugs as theirs).
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}

DETAILS = {
    400: "La requête est mal formée.",
    401: "Connectez-vous pour continuer.",
    403: "Vous n'avez pas l'autorisation requise pour cette action.",
    404: "La ressource demandée n'existe pas ou ne vous est pas accessible.",
    405: "Cette méthode n'est pas permise sur cette adresse.",
    413: "La requête dépasse la taille permise.",
    415: "Le corps de la requête doit être du JSON (Content-Type: application/json).",
    422: "Certaines données sont invalides. Corrigez les champs indiqués.",
    429: "Trop de tentatives. Réessayez plus tard.",
    500: "Une erreur inattendue est survenue. Réessayez plus tard.",
    503: "Le service est temporairement indisponible.",
}


class DomainError(Exception):
    """An error a service raises, carrying its HTTP status and its French message."""

    status = 400
    slug = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or DETAILS.get(self.status, "")
        self.errors = errors or {}
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class Unauthorized(DomainError):
    status, slug = 401, "unauthorized"


class Forbidden(DomainError):
    status, slug = 403, "forbidden"


class NotFound(DomainError):
    status, slug = 404, "not-found"


class Conflict(DomainError):
    status, slug = 409, "conflict"


class ValidationFailed(DomainError):
    status, slug = 422, "validation-failed"


class RateLimited(DomainError):
    status, slug = 429, "rate-limited"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(
            detail or f"Trop de tentatives. Réessayez dans {french_duration(retry_after)}.",
            headers={"Retry-After": str(retry_after)},
        )


class Unavailable(DomainError):
    status, slug = 503, "unavailable"


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug or SLUGS.get(status, 'error')}",
        "title": TITLES.get(status, "Erreur"),
        "status": status,
        "detail": detail or DETAILS.get(status, ""),
        "errors": errors or {},
    }
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    errors: dict[str, list[str]] = {}
    data = getattr(exc, "data", None)  # webargs/flask-smorest put validation messages here
    if isinstance(data, dict) and "messages" in data:
        messages = data["messages"]
        # webargs nests by location ("json", "query"); the field names are what users need.
        if isinstance(messages, dict) and set(messages) <= {"json", "query", "headers", "form"}:
            merged: dict[str, Any] = {}
            for part in messages.values():
                if isinstance(part, dict):
                    merged.update(part)
            messages = merged
        # marshmallow names an error about a whole object ``_schema``: people read "the body"
        # (or the object's own path), never that key.
        errors = {
            ("body" if path == "_schema" else path.removesuffix("._schema")): texts
            for path, texts in translate_errors(messages).items()
        }
        if status == 400 and errors:
            status = 422
    headers = dict(getattr(exc, "headers", None) or {})
    if status == 422:
        detail = DETAILS[422]
    elif status in DETAILS:
        detail = DETAILS[status]
    else:
        detail = exc.description or ""
    return problem(status, detail, errors=errors, headers=headers)


def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    return problem(
        exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers, **exc.extra
    )


def _unexpected(exc: Exception) -> Response:
    db.session.rollback()
    log.exception("unhandled error")
    return problem(500)


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into problem details."""
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, _unexpected)
