"""Accounts for tests: a confirmed account, a logged-in client with its CSRF header, a link.

    from tests.accounts_helpers import login_client, anonymous_client, link_account

    client = login_client(app)                       # a new confirmed "user"
    agent = login_client(app, role="agent")          # a new agent
    client.account                                   # the Account behind it
    link_account(app, client.account.id, contact_id=…, organisation_id=…)
    client.post("/api/...", json=...)                # X-CSRF-Token is sent automatically

Accounts are made directly (one Argon2 hash per distinct password for the whole run) and the
session is opened server-side, so these helpers cost no rate-limit budget and almost no time.
The HTTP sign-up and login themselves are tested in tests/integration/test_accounts*.py.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient

from catalogue_svc.accounts import service, sessions
from catalogue_svc.accounts.links import link_contact
from catalogue_svc.accounts.models import Account, AccountLink
from catalogue_svc.db import db
from catalogue_svc.passwords import hash_password

DEFAULT_PASSWORD = "Lune-Boreale-Quai-42"
CSRF_ENVIRON = "HTTP_X_CSRF_TOKEN"

_hashes: dict[str, str] = {}
_numbers = itertools.count(1)


@contextlib.contextmanager
def _context(app: Flask) -> Iterator[None]:
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        yield
    else:
        with app.app_context():
            yield


def _hash(password: str) -> str:
    if password not in _hashes:
        _hashes[password] = hash_password(password)
    return _hashes[password]


def new_email(prefix: str = "personne") -> str:
    """A unique address for this test run."""
    return f"{prefix}-{next(_numbers)}@exemple.test"


def create_account(
    app: Flask,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: str = "user",
    first_name: str = "Camille",
    last_name: str = "Tremblay",
    language: str = "fr",
) -> Account:
    """A confirmed account, committed."""
    with _context(app):
        account = service.create_verified_account(
            email=email or new_email(),
            password_hash=_hash(password),
            role=role,
            first_name=first_name,
            last_name=last_name,
            language=language,
        )
        db.session.commit()
        return account


def login_client(
    app: Flask,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    role: str = "user",
    **names: Any,
) -> FlaskClient:
    """A test client logged in as the account of ``email`` (created, confirmed, if there is
    none), sending its CSRF token on every request. ``client.account`` is the Account."""
    with _context(app):
        account = service.find_by_email(email) if email else None
        if account is None:
            account = create_account(app, email=email, password=password, role=role, **names)
        with app.test_request_context("/api/session", method="POST"):
            token, row = sessions.open_session(account)
            db.session.commit()
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], token)
    client.environ_base[CSRF_ENVIRON] = row.csrf_token
    client.account = account  # type: ignore[attr-defined]
    return client


def anonymous_client(app: Flask) -> FlaskClient:
    """A test client with an anonymous session cookie and its CSRF header (sign-up, login…)."""
    client = app.test_client()
    answer = client.get("/api/session")
    assert answer.status_code == 200, answer.json
    client.environ_base[CSRF_ENVIRON] = answer.json["csrf_token"]
    return client


def link_account(
    app: Flask, account_id: int, *, contact_id: int, organisation_id: int
) -> AccountLink:
    """Link an account to a contact's profile directly (as a redeemed credential would)."""
    with _context(app):
        link, _ = link_contact(
            account_id=account_id,
            contact_id=contact_id,
            organisation_id=organisation_id,
            method="linking_code",
        )
        db.session.commit()
        return link


def make_profile(
    app: Flask,
    *,
    relation: str = "responsable",
    organisation_name: str = "LAFORCE COMPTABLE INC",
    kind: str = "accounting_firm",
    contact_email: str | None = None,
) -> tuple[int, int]:
    """An organisation, a contact and the contact's active relation there; returns
    ``(organisation_id, contact_id)``."""
    import datetime as dt

    from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation

    number = next(_numbers)
    with _context(app):
        organisation = Organisation(
            client_number=f"9{number:07d}", name=organisation_name, kind=kind
        )
        contact = Contact(
            first_name="Dominique",
            last_name=f"Gagnon{number}",
            email=contact_email or new_email("contact"),
        )
        db.session.add_all([organisation, contact])
        db.session.flush()
        db.session.add(
            ContactRelation(
                contact_id=contact.id,
                organisation_id=organisation.id,
                type=relation,
                start_date=dt.date(2024, 1, 1),
            )
        )
        db.session.commit()
        return organisation.id, contact.id


def code_from_mail(mailbox: Any, address: str, *, pattern: str = r"\b(\d{6})\b") -> str:
    """The code in the latest email the SMTP sink received for ``address``."""
    import re

    from tests.servers import body

    messages = mailbox.to(address)
    assert messages, f"no email for {address}"
    match = re.search(pattern, body(messages[-1]))
    assert match, "no code in the email"
    return match.group(1)


def submit_form(client, firm, item, variables, **headers):
    """POST a form to the firm's profile."""
    return client.post(
        f"/api/profiles/{firm.firm}/requests",
        json={"item": item, "variables": variables},
        headers=headers,
    )


def service_log_lines(caplog: Any) -> list[str]:
    """The captured log records as the service writes them (JSON lines), less the SMTP sink's:
    the sink is the recipient of the emails, not the service."""
    from catalogue_svc.logs import JsonFormatter

    formatter = JsonFormatter()
    return [formatter.format(r) for r in caplog.records if not r.name.startswith("mail.log")]


def stored_rows() -> list[tuple[str, str]]:
    """Every row of every table, as (table name, the row's text)."""
    from sqlalchemy import select

    return [
        (table.name, repr(tuple(row)))
        for table in db.metadata.sorted_tables
        for row in db.session.execute(select(table)).all()
    ]
