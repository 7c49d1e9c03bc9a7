"""Operational endpoints and the one error shape."""

from __future__ import annotations

import re


def test_healthz_answers_ok(client):
    """/healthz says the process is up."""
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_checks_database_and_queue(client):
    """/readyz reports each dependency."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "queue": "ok"}


def test_unknown_route_is_a_french_problem(client):
    """An unknown URL answers 404 as problem details in French."""
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert set(response.json) >= {"type", "title", "status", "detail", "errors"}
    assert response.json["title"] == "Ressource introuvable"


def test_openapi_document_is_served(client):
    """The OpenAPI document is at /api/openapi.json."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.")
    assert "/healthz" in response.json["paths"]


def test_request_id_is_echoed(client):
    """A safe X-Request-Id is echoed back; an unsafe one is replaced."""
    assert (
        client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"]
        == "abc-123"
    )
    replaced = client.get("/healthz", headers={"X-Request-Id": "a b;<script>"})
    assert replaced.headers["X-Request-Id"] != "a b;<script>"
    assert len(replaced.headers["X-Request-Id"]) == 16


def test_metrics_show_the_outbox_backlog(app, client):
    """/metrics reports pending outbox messages by topic, in Prometheus text."""
    from catalogue_svc import queue
    from catalogue_svc.db import db

    queue.emit("email.send", {"email_id": 0})
    db.session.commit()
    line = re.compile(
        r'catalogue_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)'
    )

    def healthz_count() -> float:
        found = line.search(client.get("/metrics").get_data(as_text=True))
        return float(found.group(1)) if found else 0.0

    before = healthz_count()  # the process's counters: earlier tests' calls count too
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'catalogue_outbox_pending{topic="email.send"} 1' in text
    assert healthz_count() == before + 1


def test_oversized_body_is_refused_with_413(client):
    """A body over MAX_CONTENT_LENGTH answers 413 in the problem shape."""
    from tests.accounts_helpers import anonymous_client

    response = anonymous_client(client.application).post(
        "/api/accounts", data="x" * (300 * 1024), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json["title"] == "Requête trop volumineuse"


def test_malformed_json_is_a_clear_error(client):
    """Broken JSON is a 4xx problem, never a 500."""
    from tests.accounts_helpers import anonymous_client

    anonymous = anonymous_client(client.application)
    response = anonymous.post("/api/accounts", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
