"""Extension objects, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api whose errors use the service's one problem+json shape."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors import _http_exception

        return _http_exception(error)


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
