"""No password, code or session token reaches a log line, an audit row or any table (S11)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from catalogue_svc.db import db
from catalogue_svc.linking.models import LegacyCredential
from catalogue_svc.linking.service import issue
from catalogue_svc.logs import JsonFormatter
from catalogue_svc.passwords import hash_password
from tests.accounts_helpers import CSRF_ENVIRON, anonymous_client, code_from_mail, make_profile

PASSWORD = "Lune-Boreale-Quai-42"
WRONG_PASSWORD = "Presque-Le-Bon-Mot-De-Passe"
LEGACY_PASSWORD = "vieux-mdp-2019-secret"
# The SMTP sink of the tests logs what it receives: it is the recipient, not the service.
RECIPIENT_LOGGERS = ("mail.log",)


def test_no_secret_reaches_logs_audit_rows_or_tables(app, mailbox, run_jobs, caplog):
    """The whole flow at DEBUG: none of its passwords, codes or tokens is logged or stored."""
    caplog.set_level(logging.DEBUG)
    organisation_id, contact_id = make_profile(app)
    employer_id, member_id = make_profile(
        app, relation="membre_personnel", kind="employer", organisation_name="ENTREPRISE SHAW INC."
    )
    db.session.add(
        LegacyCredential(
            username="ancien.user",
            contact_id=member_id,
            organisation_id=employer_id,
            password_hash=hash_password(LEGACY_PASSWORD),
        )
    )
    credential, linking_code = issue(contact_id=contact_id, organisation_id=organisation_id)
    db.session.commit()
    secrets = {PASSWORD, WRONG_PASSWORD, LEGACY_PASSWORD, linking_code}
    email = "secret.flow@exemple.test"

    client = anonymous_client(app)
    secrets |= {client.get_cookie("catalogue_session").value, client.environ_base[CSRF_ENVIRON]}
    sign_up = {"email": email, "password": PASSWORD, "password_confirmation": PASSWORD}
    for first_name in ("Line\nFORGED", "Line"):
        client.post(
            "/api/accounts",
            json={**sign_up, "first_name": first_name, "last_name": "Roy", "terms_accepted": True},
        )
    run_jobs()
    code = code_from_mail(mailbox, email)
    secrets.add(code)
    client.post(
        "/api/accounts/verify", json={"email": email, "code": f"{(int(code) + 1) % 10**6:06d}"}
    )
    client.post("/api/accounts/verify", json={"email": email, "code": code})
    client.post("/api/session", json={"email": email, "password": WRONG_PASSWORD})
    login = client.post("/api/session", json={"email": email, "password": PASSWORD})
    client.environ_base[CSRF_ENVIRON] = login.json["csrf_token"]
    secrets |= {login.json["csrf_token"], client.get_cookie("catalogue_session").value}
    client.post("/api/links", json={"identifier": credential.identifier, "code": "MAUVAISCOD"})
    assert (
        client.post(
            "/api/links", json={"identifier": credential.identifier, "code": linking_code}
        ).status_code
        == 201
    )
    secrets.add(client.get_cookie("catalogue_session").value)
    client.post("/api/links/legacy", json={"username": "ancien.user", "password": WRONG_PASSWORD})
    assert (
        client.post(
            "/api/links/legacy", json={"username": "ancien.user", "password": LEGACY_PASSWORD}
        ).status_code
        == 201
    )
    secrets.add(client.get_cookie("catalogue_session").value)
    assert client.delete("/api/session").status_code == 204
    run_jobs()

    formatter = JsonFormatter()
    lines = [
        formatter.format(r) for r in caplog.records if not r.name.startswith(RECIPIENT_LOGGERS)
    ]
    assert any('"action": "linking.redeem"' in line for line in lines)  # the logs were captured
    assert all("\n" not in line for line in lines)
    leaks = [(s, line) for line in lines for s in secrets if s in line]
    assert leaks == []
    stored = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            stored.append((table.name, repr(tuple(row))))
    assert any(name == "audit_events" for name, _ in stored)
    not_secret_at_rest = {login.json["csrf_token"]}  # kept in its session row, by design
    leaks = [(s, name) for name, text in stored for s in secrets - not_secret_at_rest if s in text]
    assert leaks == []
