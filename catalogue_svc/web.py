"""HTTP-wide guards: path ids that fit the database, JSON bodies the parser survives, and the
headers every answer carries.

Each guard answers in the one problem shape before any view runs, so no input of this kind can
reach the database driver or the JSON parser and end as a 500 with a traceback in the log.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map, ValidationError

from forms.common import MAX_ID

from .errors import problem

# A nesting depth no body of the API comes near (a form is 4 or 5 levels deep): deeper, Python's
# recursive JSON parser needs one stack frame per level and, at about 1,000, raises RecursionError.
MAX_JSON_DEPTH = 32
# Python refuses to turn more than 4,300 digits into an int (ValueError, not a JSONDecodeError);
# no number the API reads needs more than 20.
MAX_NUMBER_DIGITS = 100

TOO_DEEP = (
    f"Le corps de la requête est imbriqué trop profondément : au plus {MAX_JSON_DEPTH} niveaux "
    "de crochets et d'accolades sont permis."
)
NUMBER_TOO_LONG = (
    f"Le corps de la requête contient un nombre trop long : au plus {MAX_NUMBER_DIGITS} chiffres "
    "sont permis."
)
HSTS = "max-age=31536000; includeSubDomains"

# A JSON string, escapes included; an unterminated one runs to the end (linear: no backtracking).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DELTA = [0] * 256
for _byte in b"[{":
    _DELTA[_byte] = 1
for _byte in b"]}":
    _DELTA[_byte] = -1
_LONG_NUMBER = re.compile(rb"[0-9]{%d}" % (MAX_NUMBER_DIGITS + 1))


class IdConverter(IntegerConverter):
    """The ``int`` of every route: an id from 1 to 2**31-1. Any other is a 404 like an unknown id,
    never a value the database driver cannot bind."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            # Not werkzeug's "no match": where the same path has a rule for another method (GET
            # and POST /api/profiles/<id>/requests), the matcher would answer 405.
            raise NotFound() from None


def _depth(stripped: bytes) -> int:
    brackets = stripped.translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def json_refusal(body: bytes) -> str | None:
    """Why the JSON parser must not be given ``body``, or None: a cheap scan of the raw bytes
    (brackets and digits inside strings do not count)."""
    stripped = _STRING.sub(b"", body)
    if _depth(stripped) > MAX_JSON_DEPTH:
        return TOO_DEEP
    if _LONG_NUMBER.search(stripped):
        return NUMBER_TOO_LONG
    return None


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is this machine's (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def trust_proxies(app: Flask) -> None:
    """Believe the ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Port`` of the
    ``CATALOGUE_TRUSTED_PROXIES`` proxies in front of the service (werkzeug's ProxyFix).

    Zero (the default) believes none: anyone can send these headers, and a forged
    ``X-Forwarded-For`` would give each attempt a fresh per-address rate limit and write what it
    likes in the audit. Behind N proxies, the N-th address from the right of the header is the
    client the outermost proxy saw, so ``request.remote_addr`` (the rate limits, ``audit.ip``) and
    ``request.is_secure`` (HSTS) are the client's. The emails' links never come from the request:
    they are built on ``CATALOGUE_BASE_URL``, so a forged ``Host`` cannot point them elsewhere.
    """
    hops = app.config["CATALOGUE_SETTINGS"].trusted_proxies
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def init_app(app: Flask) -> None:
    """Bound path ids, refuse JSON bodies the parser cannot survive, add the security headers.

    Called before the blueprints are registered (the converter is read when a rule is added) and
    after the metrics' timer (a refused body is still counted).
    """
    app.url_map.converters["int"] = IdConverter
    trust_proxies(app)

    @app.before_request
    def _refuse_unparseable_json() -> Response | None:
        if not request.is_json:
            return None
        # MAX_CONTENT_LENGTH bounds this read (413 past it).
        reason = json_refusal(request.get_data(cache=True))
        return problem(400, reason) if reason else None

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # Every answer, JSON and problems included: a browser never guesses another type.
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Only over HTTPS (behind a proxy, once ProxyFix trusts its X-Forwarded-Proto): sent over
        # plain HTTP the header is ignored by browsers, and a test server would pin itself.
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
