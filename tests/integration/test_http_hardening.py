"""HTTP-wide guards: ids beyond 64 bits, deeply nested JSON, security headers, private metrics."""

from __future__ import annotations

import logging

import pytest

from catalogue_svc.config import ConfigError, load_settings
from tests.accounts_helpers import anonymous_client, login_client
from tests.integration.test_requests_flow import ADD_NEW, state_of, submit

HUGE = 2**31  # one past the largest id an INTEGER column holds on PostgreSQL
HUGER = 99999999999999999999
INVALID_ID = "Doit être un identifiant valide (nombre entier positif)."
TOO_DEEP = "Le corps de la requête est imbriqué trop profondément"


def _no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


# ------------------------------------------------------------------ ids beyond 64 bits


@pytest.mark.parametrize("profile_id", [HUGE, HUGER])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/profiles/{id}/contacts"),
        ("get", "/api/profiles/{id}/relations"),
        ("get", "/api/profiles/{id}/authorizations"),
        ("get", "/api/profiles/{id}/authorized-dossiers"),
        ("get", "/api/profiles/{id}/requests"),
        ("post", "/api/profiles/{id}/requests"),
        ("delete", "/api/profiles/{id}/link"),
    ],
)
def test_path_id_beyond_64_bits_is_not_found(
    app, firm, responsable, caplog, method, path, profile_id
):
    """A profile id too large for the database is a 404 problem, with no traceback logged."""
    kwargs = {"json": {"item": "update-contact", "variables": {}}} if method == "post" else {}
    response = getattr(responsable, method)(path.format(id=profile_id), **kwargs)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Ressource introuvable"
    _no_error_logged(caplog)


@pytest.mark.parametrize("contact_id", [HUGE, HUGER, 0, -1])
def test_query_id_beyond_range_is_refused_naming_the_argument(
    app, firm, responsable, caplog, contact_id
):
    """``?contact_id=`` out of 1..2**31-1 is a 422 naming contact_id, with the French message."""
    response = responsable.get(
        f"/api/profiles/{firm.firm}/authorizations", query_string={"contact_id": contact_id}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"contact_id": [INVALID_ID]}
    _no_error_logged(caplog)


def test_describe_profile_id_beyond_64_bits_is_refused(app, firm, responsable, caplog):
    """``?profile_id=`` of a form's description is range-checked too."""
    response = responsable.get(
        "/api/catalogue/items/update-contact", query_string={"profile_id": HUGE}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"profile_id": [INVALID_ID]}
    _no_error_logged(caplog)


@pytest.mark.parametrize(
    "item, variables, field",
    [
        ("update-contact", {"contact_id": HUGE}, "variables.contact_id"),
        ("update-contact", {"contact_id": HUGER}, "variables.contact_id"),
        ("remove-relation", {"contact_id": 1, "relation_ids": [HUGE]}, "variables.relation_ids.0"),
    ],
)
def test_form_variable_id_beyond_64_bits_is_refused(
    app, firm, responsable, caplog, item, variables, field
):
    """An id in the form's variables (alone or in a list) beyond 64 bits is a 422 on that field."""
    response = submit(responsable, firm, item, variables)
    assert response.status_code == 422, response.json
    assert INVALID_ID in response.json["errors"][field]
    _no_error_logged(caplog)


@pytest.mark.parametrize("value", [str(HUGE), "Infinity"])
def test_merge_contact_id_beyond_64_bits_is_refused(
    app, firm, responsable, run_jobs, caplog, value
):
    """The agent's ``merge_with_contact_id`` beyond 64 bits is a 422, the request unchanged."""
    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    agent = login_client(app, role="agent")
    response = agent.post(
        f"/api/agent/requests/{number}/approve",
        data=f'{{"merge_with_contact_id": {value}}}',
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"merge_with_contact_id": [INVALID_ID]}
    assert state_of(number) == "submitted"
    _no_error_logged(caplog)


def test_openapi_documents_the_id_range(client):
    """Path and query ids are documented as integers from 1 to 2**31-1."""
    path = client.get("/api/openapi.json").json["paths"][
        "/api/profiles/{profile_id}/authorizations"
    ]
    params = {p["name"]: p for p in path.get("parameters", []) + path["get"]["parameters"]}
    for name in ("profile_id", "contact_id"):
        schema = params[name]["schema"]
        assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, HUGE - 1)


# ------------------------------------------------------------------ nesting depth


@pytest.mark.parametrize("body", ["[" * 1000, '{"a":' * 1000, "[" * 1000 + "]" * 1000])
def test_deeply_nested_json_is_refused_with_400(app, caplog, body):
    """JSON nested beyond 32 levels is a French 400 problem before parsing, nothing logged."""
    anonymous = anonymous_client(app)
    response = anonymous.post("/api/accounts", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"].startswith(TOO_DEEP)
    _no_error_logged(caplog)


def test_number_too_long_for_python_is_refused_with_400(app, caplog):
    """A 5,000-digit number (Python will not convert it) is a French 400, not a 500."""
    anonymous = anonymous_client(app)
    response = anonymous.post(
        "/api/accounts", data='{"email": ' + "1" * 5000 + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["detail"].startswith("Le corps de la requête contient un nombre trop long")
    _no_error_logged(caplog)


def test_brackets_inside_strings_do_not_count_as_nesting(app):
    """A string full of brackets is ordinary data: the call goes on to the usual validation."""
    anonymous = anonymous_client(app)
    response = anonymous.post("/api/accounts", json={"email": "[{" * 500})
    assert response.status_code == 422


def test_nested_form_body_is_still_accepted(app, firm, responsable):
    """A real form with nested objects and lists is accepted as before."""
    response = submit(responsable, firm, "add-relation", ADD_NEW)
    assert response.status_code == 202, response.json


# ------------------------------------------------------------------ headers


@pytest.mark.parametrize("path", ["/healthz", "/api/nope", "/api/openapi.json"])
def test_every_answer_says_nosniff(client, path):
    """X-Content-Type-Options: nosniff on API JSON and errors, as on the portal's pages."""
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_nosniff_on_a_refused_deep_body(app):
    """Even the answer refusing a body carries nosniff."""
    response = anonymous_client(app).post(
        "/api/accounts", data="[" * 100, content_type="application/json"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(client):
    """Strict-Transport-Security is sent over HTTPS, not over plain HTTP."""
    secure = client.get("/healthz", base_url="https://catalogue.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


# ------------------------------------------------------------------ /metrics


@pytest.mark.parametrize(
    "environ, headers",
    [
        ({"REMOTE_ADDR": "203.0.113.7"}, {}),
        ({"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "203.0.113.7"}),
    ],
)
def test_metrics_are_not_public_by_default(client, environ, headers):
    """From elsewhere, or through a proxy on the same machine, /metrics is a 404 problem."""
    response = client.get("/metrics", environ_base=environ, headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_metrics_token_opens_them_to_its_bearer_only(make_app):
    """With CATALOGUE_METRICS_TOKEN set, only ``Authorization: Bearer <token>`` reads /metrics."""
    token = "m" * 32
    client = make_app(CATALOGUE_METRICS_TOKEN=token).test_client()
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    good = client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert client.get("/metrics", environ_base=remote, headers=headers).status_code == 404
    local = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 404


def test_short_metrics_token_stops_the_start():
    """A guessable CATALOGUE_METRICS_TOKEN (under 32 characters) is refused, naming it."""
    with pytest.raises(ConfigError, match="CATALOGUE_METRICS_TOKEN"):
        load_settings({"CATALOGUE_METRICS_TOKEN": "court"})
