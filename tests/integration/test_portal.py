"""The thin portal: its page and assets, their security headers, and its agreement with the API.

The portal is static (``catalogue_svc/portal/static``) and talks only to the JSON API, so the
checks here are about what is served and about ``app.js`` itself: every ``/api/…`` path it names
(and the method it calls it with) must exist in the OpenAPI document, and it never builds markup
from strings. The screens themselves are walked by ``bench/portal_screenshots.py`` in a real
browser when one is installed.
"""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "catalogue_svc" / "portal" / "static"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
APP_JS = (STATIC / "app.js").read_text(encoding="utf-8")

# Every screen of the guide reaches the API through these calls; losing one means a screen broke.
SCREENS_NEED = {
    ("GET", "/api/session"),
    ("POST", "/api/session"),
    ("DELETE", "/api/session"),
    ("POST", "/api/accounts"),
    ("POST", "/api/accounts/verify"),
    ("POST", "/api/accounts/verify/resend"),
    ("POST", "/api/password-reset"),
    ("POST", "/api/password-reset/confirm"),
    ("POST", "/api/links"),
    ("POST", "/api/links/legacy"),
    ("GET", "/api/profiles"),
    ("GET", "/api/profiles/{profile_id}/contacts"),
    ("GET", "/api/profiles/{profile_id}/relations"),
    ("GET", "/api/profiles/{profile_id}/authorizations"),
    ("GET", "/api/profiles/{profile_id}/authorized-dossiers"),
    ("GET", "/api/catalogue"),
    ("GET", "/api/catalogue/items/{slug}"),
    ("POST", "/api/profiles/{profile_id}/requests"),
    ("GET", "/api/profiles/{profile_id}/requests"),
    ("GET", "/api/requests/{number}"),
    ("POST", "/api/requests/{number}/cancel"),
    ("POST", "/api/requests/{number}/comments"),
    ("GET", "/api/account"),
    ("PATCH", "/api/account"),
    ("POST", "/api/account/password"),
    ("POST", "/api/account/email"),
    ("POST", "/api/account/email/confirm"),
    ("DELETE", "/api/profiles/{profile_id}/link"),
    ("GET", "/api/agent/queue"),
    ("POST", "/api/agent/requests/{number}/claim"),
    ("POST", "/api/agent/requests/{number}/approve"),
    ("POST", "/api/agent/requests/{number}/reject"),
}


class _Page(HTMLParser):
    """The tags of the page, with their attributes and the text inside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.inline:
            self._open = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline[self._open].append(data)


def _page(text: str) -> _Page:
    parser = _Page()
    parser.feed(text)
    return parser


def _segments(path: str) -> list[str | None]:
    """``/api/profiles/{profile_id}/contacts`` → ['api', 'profiles', None, 'contacts']."""
    return [
        None if (s.startswith("{") and s.endswith("}")) else s for s in path.strip("/").split("/")
    ]


def _js_path(literal: str) -> str:
    """A JS literal as an OpenAPI-like template: ``${…}`` is a parameter, the query is dropped."""
    path = re.sub(r"\$\{[^}]*\}", "{param}", literal)
    return path.split("?", 1)[0]


def _find(doc_paths: dict[str, Any], literal: str) -> str | None:
    """The document's path a literal names (a parameter only where the document has one)."""
    wanted = _segments(_js_path(literal))
    for path in doc_paths:
        if _segments(path) == wanted:
            return path
    return None


@pytest.fixture()
def openapi(client: Any) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.get_json())


def test_the_page_is_served_with_a_strict_csp_and_no_inline_code(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    page = _page(response.get_data(as_text=True))
    assert page.inline == {"script": [], "style": []}, "inline code is refused by the CSP"
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "/portal/app.js"}]
    for tag, attrs in page.tags:
        assert "style" not in attrs, f"<{tag} style=…> is refused by the CSP"
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an inline handler"
    sheets = [a["href"] for t, a in page.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert sheets == ["/portal/app.css"]
    assert ("html", {"lang": "fr"}) in page.tags


def test_the_ids_app_js_looks_up_are_in_the_page(client: Any) -> None:
    ids = {a["id"] for _, a in _page(client.get("/").get_data(as_text=True)).tags if a.get("id")}
    wanted = set(re.findall(r'getElementById\("([^"]+)"\)', APP_JS))
    assert wanted and wanted <= ids


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("index.html", "text/html"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_the_assets_are_served_with_their_types_and_the_csp(
    client: Any, name: str, mimetype: str
) -> None:
    response = client.get(f"/portal/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == (STATIC / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/portal/nope.js", "/portal/../api.py", "/portal/%2e%2e/api.py", "/portal/..%2fapi.py"],
)
def test_nothing_outside_the_static_folder_is_served(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_portal_is_not_in_the_openapi_document(openapi: dict[str, Any]) -> None:
    assert "/" not in openapi["paths"]
    assert not [p for p in openapi["paths"] if p.startswith("/portal")]


def test_every_api_path_in_app_js_is_in_the_openapi_document(openapi: dict[str, Any]) -> None:
    literals = set(re.findall(r"""(?:"|'|`)(/api/[^"'`\s]*)(?:"|'|`)""", APP_JS))
    assert len(literals) >= 25, literals
    unknown = sorted(lit for lit in literals if _find(openapi["paths"], lit) is None)
    assert unknown == [], f"app.js calls paths the API does not have: {unknown}"


def test_every_api_call_in_app_js_uses_a_method_the_document_has(openapi: dict[str, Any]) -> None:
    calls = re.findall(r"""api\(\s*"([A-Z]+)"\s*,\s*(["'`])(/api/.*?)\2""", APP_JS, flags=re.DOTALL)
    assert len(calls) >= 30
    used: set[tuple[str, str]] = set()
    wrong = []
    for method, _, literal in calls:
        path = _find(openapi["paths"], literal)
        if path is None or method.lower() not in openapi["paths"][path]:
            wrong.append(f"{method} {literal}")
        else:
            used.add((method, path))
    # fetch() is called directly only for GET /api/session (before any token exists).
    direct = re.findall(r"""fetch\(\s*(["'`])(/api/[^"'`]*)\1""", APP_JS)
    assert [lit for _, lit in direct] == ["/api/session"]
    used.add(("GET", "/api/session"))
    assert wrong == []
    assert sorted(SCREENS_NEED - used) == []


def test_app_js_never_builds_markup_from_strings() -> None:
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert forbidden not in APP_JS, forbidden
    assert not re.search(r"\beval\(|new Function\(", APP_JS)
    assert "localStorage" not in APP_JS and "sessionStorage" not in APP_JS
    # State-changing calls go through api(), which adds the CSRF token and same-origin cookies.
    assert 'credentials: "same-origin"' in APP_JS
    assert '"X-CSRF-Token"' in APP_JS
    assert '"Idempotency-Key"' in APP_JS


def test_nothing_is_fetched_from_another_origin() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://", text), f"{path.name} names another origin"
        assert "@import" not in text


def test_the_static_files_are_package_data() -> None:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["catalogue_svc"]
    assert "portal/static/*" in patterns
    # The pattern is not recursive: the assets stay in one flat folder.
    assert all(p.is_file() for p in STATIC.iterdir())
