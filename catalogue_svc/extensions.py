"""Extension objects, created here and bound to the app in ``create_app``."""

from __future__ import annotations

import http
from typing import Any, ClassVar

from apispec import BasePlugin
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from .schemas import ProblemSchema
from .web import MAX_JSON_DEPTH, MAX_NUMBER_DIGITS

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# The ``security`` of the operations: anonymous calls that change something (CSRF token only),
# calls that need a session and change something, and reads that need a session.
ANONYMOUS: list[dict[str, list[str]]] = [{"csrfToken": []}]
LOGGED_IN: list[dict[str, list[str]]] = [{"sessionCookie": [], "csrfToken": []}]
READ: list[dict[str, list[str]]] = [{"sessionCookie": []}]

NOT_LOGGED_IN = "Non connecté, ou session terminée."
CSRF_REFUSED = "Jeton CSRF (en-tête X-CSRF-Token) manquant ou invalide."
TOO_LARGE = "Le corps de la requête dépasse la taille permise."
MALFORMED = (
    "Le corps de la requête n'est pas du JSON valide, est imbriqué sur plus de "
    f"{MAX_JSON_DEPTH} niveaux ou contient un nombre de plus de {MAX_NUMBER_DIGITS} chiffres."
)
STATE_CHANGING = frozenset({"post", "put", "patch", "delete"})


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


class _CommonAnswers(BasePlugin):  # type: ignore[misc]
    """Document the answers that hooks and parsers give whatever the view: 401 where a session
    is needed, 403 when the CSRF token is missing (every state-changing call), 400 for a body
    that is not JSON (or that ``web`` refuses to parse) and 413 for a too large one."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not (path or "").startswith("/api/"):
            return
        for method, operation in (operations or {}).items():
            if method not in STATE_CHANGING | {"get"}:
                continue
            responses = operation.setdefault("responses", {})
            security = operation.get("security") or []
            if security and all("sessionCookie" in item for item in security):
                _add(responses, "401", NOT_LOGGED_IN)
            if method in STATE_CHANGING:
                _add(responses, "403", CSRF_REFUSED)
            if "requestBody" in operation:
                _add(responses, "400", MALFORMED)
                _add(responses, "413", TOO_LARGE)


def _add(responses: dict[Any, Any], code: str, description: str) -> None:
    """Document ``code`` unless the view already does (its description is the precise one)."""
    if code not in {str(key) for key in responses}:
        responses[code] = _problem(description)


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api whose errors use the service's one problem+json shape, in the answers
    and in the OpenAPI document."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec_kwargs = dict(kwargs.pop("spec_kwargs", None) or {})
        spec_kwargs.setdefault("extra_plugins", [_CommonAnswers()])
        super().__init__(*args, spec_kwargs=spec_kwargs, **kwargs)

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors import _http_exception

        return _http_exception(error)

    def _register_responses(self) -> None:
        """The named responses (``DEFAULT_ERROR``, ``UNPROCESSABLE_ENTITY``…) as flask-smorest
        lays them out, but as problem details with their real media type."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {
            "description": "Réponse d'erreur (problem details)",
            "schema": self.ERROR_SCHEMA,
        }
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


api = Api()


class _StrictParser(FlaskParser):  # type: ignore[misc]
    """Every location honours the schema's own ``unknown`` (RAISE): an unknown query argument or
    body field is a 422 naming it, never silently dropped."""

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = dict.fromkeys(  # type: ignore[misc]
        FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION
    )


class Blueprint(_Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint with the strict parser; every API blueprint uses it."""

    ARGUMENTS_PARSER = _StrictParser()

    def alt_response(
        self,
        status_code: int,
        response: Any = None,
        *,
        schema: Any = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """An alternative answer; an error without a schema is documented as problem details."""
        if response is None and schema is None and int(status_code) >= 400:
            schema, content_type = ProblemSchema, content_type or PROBLEM_JSON
        return super().alt_response(
            status_code, response, schema=schema, content_type=content_type, **kwargs
        )

    def answers(
        self, status_code: int, schema: type[Schema] | Schema, *, description: str | None = None
    ) -> Any:
        """Document the success answer of a view whose service already builds its JSON.

        Unlike ``response``, the body is not dumped again through marshmallow (about 10 ms for a
        page of 200 rows); tests/integration/test_fuzz_api.py checks every answer against it.
        """
        return self.alt_response(status_code, schema=schema, description=description, success=True)
