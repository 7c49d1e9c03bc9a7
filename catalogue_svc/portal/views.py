"""``/`` (the portal's single page) and ``/portal/<path>`` (its static assets).

Every answer carries a strict Content-Security-Policy: scripts, styles, images and API calls
come from this origin only, and nothing inline runs (all JavaScript is in ``app.js``, all CSS in
``app.css``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# Explicit types: the system's mimetypes tables differ from one machine to another, and a module
# script is refused unless it comes with a JavaScript type.
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

blp = Blueprint("portal", __name__)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@blp.route("/")
def index() -> Response:
    """The portal's single page (the screens are drawn by ``app.js`` from the URL's hash)."""
    response = send_from_directory(STATIC, "index.html", mimetype="text/html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return _secure(response)


@blp.route("/portal/<path:filename>")
def asset(filename: str) -> Response:
    """A static asset of the portal (404 for anything outside ``static/``)."""
    mimetype = TYPES.get(Path(filename).suffix.lower())
    response = send_from_directory(STATIC, filename, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return _secure(response)
