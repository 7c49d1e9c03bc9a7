"""Sessions: login, who am I, logout, cookie flags, timeouts, CSRF and the caller helpers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue_svc.accounts.models import AccountSession
from catalogue_svc.accounts.sessions import agent_required, require_account
from catalogue_svc.audit import AuditEvent
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import (
    CSRF_ENVIRON,
    DEFAULT_PASSWORD,
    anonymous_client,
    create_account,
    link_account,
    login_client,
    make_profile,
)

COOKIE = "catalogue_session"


def session_cookie(response) -> dict[str, str | None]:
    """The attributes of the session cookie set by ``response`` (lower-case names)."""
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    name_value, *attributes = (part.strip() for part in header.split(";"))
    parsed: dict[str, str | None] = {"value": name_value.split("=", 1)[1]}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value or None
    return parsed


def log_in(client, email: str, password: str = DEFAULT_PASSWORD):
    """POST /api/session, then send the new CSRF token on later calls."""
    answer = client.post("/api/session", json={"email": email, "password": password})
    if answer.status_code == 200:
        client.environ_base[CSRF_ENVIRON] = answer.json["csrf_token"]
    return answer


def cookie_value(client) -> str:
    """The session cookie the client holds now."""
    return client.get_cookie(COOKIE).value


def replay(app, token: str, csrf: str):
    """A fresh client presenting an old cookie and CSRF token."""
    client = app.test_client()
    client.set_cookie(COOKIE, token)
    client.environ_base[CSRF_ENVIRON] = csrf
    return client


def test_who_am_i_before_login_gives_an_anonymous_csrf_token(app):
    """Anonymous callers get a CSRF token bound to a new cookie, and no account."""
    client = app.test_client()

    answer = client.get("/api/session")

    assert answer.status_code == 200
    assert answer.json["authenticated"] is False and answer.json["account"] is None
    assert len(answer.json["csrf_token"]) >= 32
    assert session_cookie(answer)["value"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_who_am_i_after_login_names_the_account(app):
    """Logged in, who-am-I gives the account, its linked profile count and the CSRF token."""
    account = create_account(app, first_name="Aline", last_name="Roy", role="agent")
    organisation_id, contact_id = make_profile(app)
    link_account(app, account.id, contact_id=contact_id, organisation_id=organisation_id)
    client = anonymous_client(app)

    login = log_in(client, account.email)
    who = client.get("/api/session").json

    assert who == login.json
    assert who["authenticated"] is True
    assert who["account"] == {
        "id": account.id,
        "email": account.email,
        "first_name": "Aline",
        "last_name": "Roy",
        "role": "agent",
        "language": "fr",
    }
    assert who["linked_profiles"] == 1


@pytest.mark.parametrize("mode", ["default", "redis"])
def test_session_cookie_flags(make_app, redis_server, mode):
    """The cookie is HttpOnly, SameSite=Lax, path /, and Secure unless in the embedded mode."""
    app = (
        make_app()
        if mode == "default"
        else make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="manual")
    )
    account = create_account(app)
    client = anonymous_client(app)

    flags = session_cookie(
        client.post("/api/session", json={"email": account.email, "password": DEFAULT_PASSWORD})
    )

    assert "httponly" in flags and flags["samesite"] == "Lax" and flags["path"] == "/"
    assert ("secure" in flags) is (not app.config["CATALOGUE_SETTINGS"].embedded)
    assert "expires" not in flags and "max-age" not in flags  # ends with the browser


def test_login_issues_a_new_session_id(app):
    """Login replaces the anonymous cookie; a second login replaces and ends the first session."""
    account = create_account(app)
    client = anonymous_client(app)
    anonymous = cookie_value(client)

    log_in(client, account.email)
    first, first_csrf = cookie_value(client), client.environ_base[CSRF_ENVIRON]
    log_in(client, account.email)
    second = cookie_value(client)

    assert len({anonymous, first, second}) == 3
    assert replay(app, first, first_csrf).get("/api/profiles").status_code == 401
    assert client.get("/api/profiles").status_code == 200


def test_session_id_is_stored_hashed(app):
    """The database keeps the SHA-256 of the cookie's token, never the token."""
    client = login_client(app)
    token = cookie_value(client)

    ids = db.session.scalars(select(AccountSession.id)).all()

    assert token not in ids
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in ids


def test_logout_revokes_the_session_server_side(app):
    """After logout the old cookie, replayed with its CSRF token, gets 401 everywhere."""
    client = login_client(app)
    token, csrf = cookie_value(client), client.environ_base[CSRF_ENVIRON]

    out = client.delete("/api/session")

    assert out.status_code == 204
    assert session_cookie(out)["max-age"] == "0"
    old = replay(app, token, csrf)
    assert old.get("/api/profiles").status_code == 401
    assert old.delete("/api/session").status_code == 401
    assert old.get("/api/session").json["authenticated"] is False


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("token", ["missing", "wrong", "anonymous"])
def test_state_changing_call_without_the_csrf_token_is_refused(app, method, token):
    """Every unsafe method under /api/ needs the session's CSRF token, else 403 (audited)."""
    client = login_client(app)
    if token == "missing":
        del client.environ_base[CSRF_ENVIRON]
    elif token == "wrong":
        client.environ_base[CSRF_ENVIRON] = "x" * 43
    else:
        client.environ_base[CSRF_ENVIRON] = anonymous_client(app).environ_base[CSRF_ENVIRON]

    answer = getattr(client, method)("/api/session", json={})

    assert answer.status_code == 403
    assert answer.mimetype == "application/problem+json"
    assert "CSRF" in answer.json["detail"]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "csrf.rejected"))


def test_anonymous_call_without_a_csrf_token_is_refused(app):
    """A sign-up without a cookie and token (a cross-site form post) gets 403."""
    answer = app.test_client().post("/api/accounts", json={})

    assert answer.status_code == 403


def test_idle_session_ends(make_app):
    """A session unused for longer than the idle timeout gets 401."""
    app = make_app(CATALOGUE_SESSION_IDLE="120")
    client = login_client(app)

    clock.advance(121)

    answer = client.get("/api/profiles")
    assert answer.status_code == 401
    assert answer.json["detail"] == "Votre session a pris fin. Connectez-vous de nouveau."


def test_activity_keeps_the_session_alive(make_app):
    """Requests within the idle timeout keep the session going."""
    app = make_app(CATALOGUE_SESSION_IDLE="120")
    client = login_client(app)

    statuses = []
    for _ in range(4):
        clock.advance(100)
        statuses.append(client.get("/api/profiles").status_code)

    assert statuses == [200] * 4


def test_absolute_timeout_ends_an_active_session(make_app):
    """Even a busy session ends at the absolute timeout."""
    app = make_app(CATALOGUE_SESSION_IDLE="120", CATALOGUE_SESSION_ABSOLUTE="600")
    client = login_client(app)

    statuses = []
    for _ in range(7):
        clock.advance(100)
        statuses.append(client.get("/api/profiles").status_code)

    assert statuses == [200] * 5 + [401] * 2


def test_require_agent_sorts_callers(make_app):
    """``agent_required`` answers 401 to anonymous callers, 403 to users, and lets agents in."""
    app = make_app()

    @agent_required
    def agents_only() -> dict[str, int]:
        return {"id": require_account().id}

    app.add_url_rule("/api/test-agents-only", view_func=agents_only, methods=["GET"])

    assert app.test_client().get("/api/test-agents-only").status_code == 401
    assert login_client(app).get("/api/test-agents-only").status_code == 403
    agent = login_client(app, role="agent")
    assert agent.get("/api/test-agents-only").json == {"id": agent.account.id}
