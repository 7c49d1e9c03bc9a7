"""Extension objects, created here and bound to the app in ``create_app``."""

from __future__ import annotations

import contextlib
import http
import re
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from apispec import BasePlugin
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
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
    that is not JSON (or that ``web`` refuses to parse) and 413 for a too large one; the
    ``Retry-After`` header of every 429; and an ``operationId`` (method and path, camel case)
    on every operation that has none, for client generators."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method in STATE_CHANGING | {"get", "head", "options"}:
                operation.setdefault("operationId", operation_id(method, path or ""))
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
            body = operation.get("requestBody")
            if isinstance(body, dict):
                for media in body.get("content", {}).values():
                    if "example" not in media and "examples" not in media:
                        media["example"] = self._example(media.get("schema") or {}, 0)
            for code, response in responses.items():
                if str(code) == "429" and isinstance(response, dict):
                    response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER

    def init_spec(self, spec: Any) -> None:
        self.spec = spec

    def _example(self, schema: Any, depth: int) -> Any:
        """An example body built from the schema: each required property (all when none is)
        with a value of its type, its enum's first value or its own example."""
        if hasattr(schema, "fields") or isinstance(schema, type):  # a marshmallow schema
            from apispec.ext.marshmallow import MarshmallowPlugin

            plugin = next(p for p in self.spec.plugins if isinstance(p, MarshmallowPlugin))
            schema = plugin.converter.schema2jsonschema(schema)  # type: ignore[union-attr]
        if isinstance(schema, dict) and "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec.components.schemas.get(name, {})
            if hasattr(schema, "fields") or isinstance(schema, type):
                return self._example(schema, depth)
        if not isinstance(schema, dict) or depth > 4:
            return None
        for key in ("example", "default"):
            if key in schema:
                return schema[key]
        if schema.get("enum"):
            return schema["enum"][0]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        props = schema.get("properties")
        if kind == "object" or props is not None:
            wanted = schema.get("required") or list(props or {})
            example = {n: self._example((props or {}).get(n, {}), depth + 1) for n in wanted}
            return {n: NAMED_EXAMPLES.get(n, v) if v == "texte" else v for n, v in example.items()}
        if kind == "array":
            return [self._example(schema.get("items", {}), depth + 1)]
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        fmt = schema.get("format")
        return {
            "email": "marie.tremblay@example.org",
            "date": "2026-01-15",
            "date-time": "2026-01-15T10:00:00Z",
            "password": "un mot de passe long et unique",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }.get(fmt or "", "texte")


# Plain strings named like these get a value of their kind in the examples.
NAMED_EXAMPLES = {
    "email": "marie.tremblay@example.org",
    "password": "un mot de passe long et unique",
    "password_confirmation": "un mot de passe long et unique",
    "current_password": "mon ancien mot de passe",
    "new_password": "un mot de passe long et unique",
    "code": "123456",
    "first_name": "Marie",
    "last_name": "Tremblay",
}

RETRY_AFTER = {
    "description": "Secondes à attendre avant de réessayer.",
    "schema": {"type": "integer", "minimum": 1},
}


def operation_id(method: str, path: str) -> str:
    """``post /api/requests/{number}/cancel`` -> ``postRequestsByNumberCancel``."""
    words = [method.lower()]
    for part in path.removeprefix("/api/").split("/"):
        if not part:
            continue
        if part.startswith("{"):
            words += ["by", part.strip("{}")]
        else:
            words.append(part)
    tokens = [t for w in words for t in re.split(r"[^A-Za-z0-9]+", w) if t]
    return tokens[0] + "".join(t[:1].upper() + t[1:] for t in tokens[1:])


def _add(responses: dict[Any, Any], code: str, description: str) -> None:
    """Document ``code`` unless the view already does (its description is the precise one)."""
    if code not in {str(key) for key in responses}:
        responses[code] = _problem(description)


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api whose errors use the service's one problem+json shape, in the answers
    and in the OpenAPI document."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._undocumented: list[Callable[[], None]] = []
        self._describe_lock = threading.RLock()
        self._describing = False
        spec_kwargs = dict(kwargs.pop("spec_kwargs", None) or {})
        spec_kwargs.setdefault("extra_plugins", [_CommonAnswers()])
        super().__init__(*args, spec_kwargs=spec_kwargs, **kwargs)

    # The OpenAPI document is written when first read (``/api/openapi.json``, ``flask openapi``),
    # not while the app is built: describing every view is three quarters of ``create_app``'s
    # time (about 100 ms), which each gunicorn worker, each RQ worker and each test paid for a
    # document most of them never serve. Registering a blueprint still routes its views at once;
    # only their description waits, in registration order.

    @property
    def spec(self) -> Any:
        """The app's OpenAPI document (an ``APISpec``), completed with what is still pending."""
        if self._undocumented:
            with self._describe_lock:  # two first readers at once: one writes, both see it whole
                if not self._describing:  # a description reading the document: as it stands
                    self._describing = True
                    try:
                        while self._undocumented:  # in registration order
                            self._undocumented.pop(0)()
                    finally:
                        self._describing = False
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value
        self._undocumented = []

    def describe(self, describe: Callable[[Any], None]) -> None:
        """Have ``describe(spec)`` add to the document when it is first read."""
        self._undocumented.append(lambda: describe(self._spec))

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """Route ``blp``'s views now; describe them in the document when it is first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        app, spec = self._app, self._spec

        def describe() -> None:
            blp.register_views_in_doc(self, app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})

        self._undocumented.append(describe)

    def init_app(self, app: Any, *, spec_kwargs: Any = None) -> None:
        """Bind to ``app``; the document's ``info.version`` is the package's version, and each
        problem ``type`` URL answers with its page (``problem_types``)."""
        from importlib.metadata import PackageNotFoundError, version

        from . import problem_types

        with contextlib.suppress(PackageNotFoundError):  # a tree never installed: keep "1.0"
            app.config["API_VERSION"] = version("catalogue_svc")
        super().init_app(app, spec_kwargs=spec_kwargs)
        problem_types.init_app(app)

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors import _http_exception

        return _http_exception(error)

    def _register_responses(self) -> None:
        """The named responses (``DEFAULT_ERROR``, ``UNPROCESSABLE_ENTITY``…) as flask-smorest
        lays them out, but as problem details with their real media type (written when the
        document is first read, like the views)."""
        self._undocumented.append(self._describe_responses)

    def _register_etag_headers(self) -> None:
        self._undocumented.append(super()._register_etag_headers)

    def _register_pagination_header(self) -> None:
        self._undocumented.append(super()._register_pagination_header)

    def _describe_responses(self) -> None:
        spec = self._spec
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not 100 <= status < 200 and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, spec, PROBLEM_JSON)
            spec.components.response(status.name, response, lazy=True)
        response = {
            "description": "Réponse d'erreur (problem details)",
            "schema": self.ERROR_SCHEMA,
        }
        prepare_response(response, spec, PROBLEM_JSON)
        spec.components.response("DEFAULT_ERROR", response, lazy=True)


api = Api()


class _StrictParser(FlaskParser):  # type: ignore[misc]
    """Every location honours the schema's own ``unknown`` (RAISE): an unknown query argument or
    body field is a 422 naming it, never silently dropped."""

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = dict.fromkeys(  # type: ignore[misc]
        FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION
    )

    def load_querystring(self, req: Any, schema: Schema) -> Any:
        """The query arguments; a ``lang`` the call leaves out comes from ``Accept-Language``
        (its best match among ``fr`` and ``en``), as if given as ``?lang=``."""
        if "lang" in schema.fields and "lang" not in req.args:
            best = req.accept_languages.best_match(["fr", "en"])
            if best:
                args = MultiDict(req.args)
                args["lang"] = best
                return self._makeproxy(args, schema)
        return super().load_querystring(req, schema)


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
