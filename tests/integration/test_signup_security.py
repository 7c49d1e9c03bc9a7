"""Security round 2, holes 3 and 4: refused codes tell nothing about the email, and a repeated
sign-up cannot choose the password of an address still waiting for its code.

Hole 3: the fifth wrong code (or an expired one) used to answer "Trop d'essais" (or "Ce code a
expiré") for a real account and "Code invalide" for an unknown email. Hole 4: the latest sign-up
of a pending address replaced its password and names, so the owner entering the latest code
confirmed a stranger's password, and the stranger's chosen name was in the owner's email.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from catalogue_svc.accounts.models import Account
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import anonymous_client, code_from_mail, create_account, new_email
from tests.servers import body

OWNER_PASSWORD = "Lune-Boreale-Quai-42"
STRANGER_PASSWORD = "Cle-Du-Squatteur-Nord-7"
NEW_PASSWORD = "Nouvelle-Phrase-Secrete-77"
STRANGER_NAME = "Appelez-le-555-0100-pour-valider"
VOLATILE = {"Date", "X-Request-Id", "Set-Cookie"}


def sign_up_body(email: str, password: str = OWNER_PASSWORD, **names: str) -> dict[str, object]:
    """A valid sign-up body."""
    return {
        "email": email,
        "password": password,
        "password_confirmation": password,
        "first_name": names.get("first_name", "Camille"),
        "last_name": names.get("last_name", "Tremblay"),
        "terms_accepted": True,
    }


def other(code: str) -> str:
    """Another 6-digit code."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def log_in(app, email: str, password: str) -> int:
    """The status of a login from a new browser."""
    client = anonymous_client(app)
    return client.post("/api/session", json={"email": email, "password": password}).status_code


def _answer(response) -> tuple[int, object, list[tuple[str, str]]]:
    headers = sorted((k, "…" if k in VOLATILE else v) for k, v in response.headers.items())
    return response.status_code, response.json, headers


# ---------------------------------------------------------------- hole 3: refused codes

PROBE = {"X-Request-Id": "probe"}


def _reset_attempt(client, email: str, code: str):
    return client.post(
        "/api/password-reset/confirm",
        json={
            "email": email,
            "code": code,
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
        },
        headers=PROBE,
    )


def _verify_attempt(client, email: str, code: str):
    return client.post("/api/accounts/verify", json={"email": email, "code": code}, headers=PROBE)


ATTEMPTS = {"reset": _reset_attempt, "verify": _verify_attempt}


def _cases(app, mailbox, run_jobs, endpoint: str) -> list[tuple[str, str]]:
    """(email, code) of a real account holding a code, then of addresses holding none (unknown,
    and the other kind of account), each asked for a code the way an attacker would ask."""
    pending_client = anonymous_client(app)
    pending = new_email()
    assert pending_client.post("/api/accounts", json=sign_up_body(pending)).status_code == 201
    confirmed, unknown = create_account(app).email, new_email()
    ask = ("/api/password-reset", "/api/accounts/verify/resend")[endpoint == "verify"]
    for address in (pending, confirmed, unknown):
        anonymous_client(app).post(ask, json={"email": address})
    run_jobs()
    known, other_kind = (confirmed, pending) if endpoint == "reset" else (pending, confirmed)
    return [(known, code_from_mail(mailbox, known)), (unknown, "123456"), (other_kind, "123456")]


@pytest.mark.parametrize("expired", [False, True], ids=["fresh-code", "expired-code"])
@pytest.mark.parametrize("endpoint", ["reset", "verify"])
def test_refused_codes_answer_alike_for_known_and_unknown_emails(
    app, mailbox, run_jobs, endpoint, expired
):
    """Five wrong codes then the right one get the same answers whether the email has a code."""
    cases = _cases(app, mailbox, run_jobs, endpoint)
    if expired:
        clock.advance(dt.timedelta(minutes=31))

    sequences = [
        [
            _answer(ATTEMPTS[endpoint](anonymous_client(app), email, c))
            for c in [other(code)] * 5 + [code]
        ]
        for email, code in cases
    ]

    assert {answer[0] for answer in sequences[0]} == {400}
    assert sequences[1] == sequences[0]
    assert sequences[2] == sequences[0]


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("endpoint", ["reset", "verify"])
def test_refused_codes_cost_the_same_work_for_known_and_unknown_emails(
    app, mailbox, run_jobs, endpoint, monkeypatch
):
    """Each refused try runs the same SQL statements and the same code hashing for any email."""
    from catalogue_svc.accounts import codes

    hashed: list[int] = []
    real = codes.code_matches
    monkeypatch.setattr(codes, "code_matches", lambda *a: hashed.append(1) or real(*a))
    work = []
    for email, code in _cases(app, mailbox, run_jobs, endpoint)[:2]:
        client, per_try = anonymous_client(app), []
        for attempt in [other(code)] * 5 + [code]:
            hashed.clear()
            with _statements() as seen:
                ATTEMPTS[endpoint](client, email, attempt)
            per_try.append((seen, len(hashed)))
        work.append(per_try)

    assert work[1] == work[0]
    assert all(count == 1 for _, count in work[0])


# ---------------------------------------------------------------- hole 4: repeated sign-ups


def _sign_up(app, email: str, password: str, **names: str):
    """A new browser that signed up ``email``; returns it."""
    client = anonymous_client(app)
    answer = client.post("/api/accounts", json=sign_up_body(email, password, **names))
    assert answer.status_code == 201, answer.json
    return client


def test_later_sign_up_from_another_browser_cannot_choose_the_password(app, mailbox, run_jobs):
    """The owner enters the latest code in their browser: their password, not the stranger's."""
    email = new_email()
    owner = _sign_up(app, email, OWNER_PASSWORD)
    _sign_up(app, email, STRANGER_PASSWORD, first_name=STRANGER_NAME)
    run_jobs()

    answer = _verify_attempt(owner, email, code_from_mail(mailbox, email))

    assert answer.status_code == 200, answer.json
    assert log_in(app, email, STRANGER_PASSWORD) == 401
    assert log_in(app, email, OWNER_PASSWORD) == 200
    account = db.session.scalar(select(Account).where(Account.email == email))
    assert account.first_name == "Camille"


def test_earlier_stranger_sign_up_does_not_keep_its_password(app, mailbox, run_jobs):
    """A stranger who signed up first gains nothing once the owner signs up and confirms."""
    email = new_email()
    _sign_up(app, email, STRANGER_PASSWORD, first_name=STRANGER_NAME)
    owner = _sign_up(app, email, OWNER_PASSWORD)
    run_jobs()

    assert _verify_attempt(owner, email, code_from_mail(mailbox, email)).status_code == 200

    assert (log_in(app, email, STRANGER_PASSWORD), log_in(app, email, OWNER_PASSWORD)) == (401, 200)


def test_code_emails_never_carry_names_chosen_by_the_requester(app, mailbox, run_jobs):
    """Emails to a pending address greet no one by a name an anonymous requester typed."""
    email = new_email()
    stranger = _sign_up(app, email, STRANGER_PASSWORD, first_name=STRANGER_NAME)
    _sign_up(app, email, STRANGER_PASSWORD, last_name=STRANGER_NAME)
    clock.advance(61)
    stranger.post("/api/accounts/verify/resend", json={"email": email})
    run_jobs()

    texts = [body(m) + str(m["Subject"]) for m in mailbox.to(email)]

    assert len(texts) == 3
    assert [t for t in texts if STRANGER_NAME in t or "Camille" in t] == []


def test_code_from_a_browser_that_did_not_sign_up_confirms_no_competing_sign_up(
    app, mailbox, run_jobs
):
    """With two browsers' sign-ups pending, a third browser's right code confirms neither."""
    email = new_email()
    owner = _sign_up(app, email, OWNER_PASSWORD)
    _sign_up(app, email, STRANGER_PASSWORD)
    run_jobs()
    code = code_from_mail(mailbox, email)

    elsewhere = _verify_attempt(anonymous_client(app), email, code)

    assert elsewhere.status_code == 400
    assert "navigateur" in elsewhere.json["errors"]["code"][0]
    assert db.session.scalar(select(Account.verified_at).where(Account.email == email)) is None
    assert _verify_attempt(owner, email, code).status_code == 200


@pytest.mark.parametrize("same_browser", [True, False], ids=["same-browser", "new-browser"])
def test_owner_who_lost_the_code_signs_up_again_and_finishes(app, mailbox, run_jobs, same_browser):
    """Signing up again sends a new code that confirms the new sign-up and its password."""
    email = new_email()
    first = _sign_up(app, email, STRANGER_PASSWORD)
    if same_browser:
        again = first
        again.post("/api/accounts", json=sign_up_body(email, OWNER_PASSWORD))
    else:
        again = _sign_up(app, email, OWNER_PASSWORD)
    run_jobs()

    answer = _verify_attempt(again, email, code_from_mail(mailbox, email))

    assert answer.status_code == 200, answer.json
    assert (log_in(app, email, STRANGER_PASSWORD), log_in(app, email, OWNER_PASSWORD)) == (401, 200)


def test_single_sign_up_is_confirmed_from_any_browser(app, mailbox, run_jobs):
    """With one sign-up pending, its code entered on another device confirms it."""
    email = new_email()
    _sign_up(app, email, OWNER_PASSWORD)
    run_jobs()

    answer = _verify_attempt(anonymous_client(app), email, code_from_mail(mailbox, email))

    assert answer.status_code == 200
    assert log_in(app, email, OWNER_PASSWORD) == 200
