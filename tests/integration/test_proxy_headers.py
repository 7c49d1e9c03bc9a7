"""Behind a reverse proxy: X-Forwarded-* believed only from the configured number of hops."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue_svc.audit import AuditEvent
from catalogue_svc.db import db
from tests.accounts_helpers import anonymous_client, create_account

WRONG = "Mauvais-Mot-2-Passe"
PROXY = "10.0.0.5"  # the balancer: every request reaches the service from it


def _from_balancer(app, forwarded_for: str, **headers: str):
    client = anonymous_client(app)
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    for name, value in headers.items():
        client.environ_base[f"HTTP_{name.upper().replace('-', '_')}"] = value
    return client


def _login_statuses(app, email: str, addresses: list[str]) -> list[int]:
    return [
        _from_balancer(app, address)
        .post("/api/session", json={"email": email, "password": WRONG})
        .status_code
        for address in addresses
    ]


def test_forged_forwarded_for_is_ignored_by_default(make_app):
    """With no trusted proxy, a forged X-Forwarded-For does not buy a fresh per-address limit."""
    app = make_app(CATALOGUE_RATELIMITS={"login-ip": (2, 3600)})
    account = create_account(app)

    statuses = _login_statuses(app, account.email, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])

    assert statuses == [401, 401, 429]


def test_trusted_proxy_gives_each_client_its_own_limit(make_app):
    """Behind one trusted proxy, the per-address limit counts each forwarded client apart."""
    app = make_app(CATALOGUE_TRUSTED_PROXIES=1, CATALOGUE_RATELIMITS={"login-ip": (2, 3600)})
    account = create_account(app)

    apart = _login_statuses(app, account.email, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    same = _login_statuses(app, account.email, ["198.51.100.9"] * 3)

    assert apart == [401, 401, 401]
    assert same == [401, 401, 429]


def test_trusted_proxy_takes_the_address_its_own_hop_appended(make_app):
    """A client's own X-Forwarded-For entry is not believed: only the one the proxy appended."""
    app = make_app(CATALOGUE_TRUSTED_PROXIES=1, CATALOGUE_RATELIMITS={"login-ip": (2, 3600)})
    account = create_account(app)

    statuses = _login_statuses(
        app, account.email, [f"203.0.113.{n}, 198.51.100.4" for n in range(1, 4)]
    )

    assert statuses == [401, 401, 429]


@pytest.mark.parametrize(("hops", "recorded"), [(0, PROXY), (1, "198.51.100.7")])
def test_audit_records_the_client_behind_a_trusted_proxy(make_app, hops, recorded):
    """audit.ip is the balancer's address unless the proxy is trusted, then the client's."""
    app = make_app(CATALOGUE_TRUSTED_PROXIES=hops)
    account = create_account(app)

    _from_balancer(app, "198.51.100.7").post(
        "/api/session", json={"email": account.email, "password": WRONG}
    )

    with app.app_context():
        ips = set(db.session.scalars(select(AuditEvent.ip).where(AuditEvent.ip.is_not(None))))
    assert ips == {recorded}


@pytest.mark.parametrize(("hops", "hsts"), [(0, False), (1, True)])
def test_https_at_the_proxy_is_believed_only_when_trusted(make_app, hops, hsts):
    """X-Forwarded-Proto: https turns HSTS on only from a trusted proxy."""
    app = make_app(CATALOGUE_TRUSTED_PROXIES=hops)

    response = _from_balancer(app, "198.51.100.7", **{"X-Forwarded-Proto": "https"}).get(
        "/api/session"
    )

    assert ("Strict-Transport-Security" in response.headers) is hsts
