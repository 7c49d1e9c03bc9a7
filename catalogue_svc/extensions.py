"""Extension objects, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import Any

from flask_smorest import Api as _Api
from werkzeug.exceptions import HTTPException


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api whose errors use the service's one problem+json shape."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        from .errors import _http_exception

        return _http_exception(error)


api = Api()
