"""*Mot de passe oublié?*: the emailed reset code, the new password, and what it ends."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import func, select, update

from catalogue_svc import queue
from catalogue_svc.accounts import settings
from catalogue_svc.accounts.models import Account, OneTimeCode
from catalogue_svc.audit import AuditEvent
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import (
    CSRF_ENVIRON,
    DEFAULT_PASSWORD,
    anonymous_client,
    code_from_mail,
    create_account,
    login_client,
    new_email,
    service_log_lines,
    stored_rows,
)
from tests.servers import body

NEW_PASSWORD = "Nouvelle-Phrase-Secrete-77"
# Every refused code reads the same, whatever the reason (security round 2, hole 3).
WRONG_CODE_DETAIL = (
    "Code invalide ou expiré. Inscrivez le dernier code reçu par courriel; après 5 essais, ou "
    "passé son délai, demandez un nouveau code."
)


def request_reset(client, email: str):
    """POST /api/password-reset."""
    return client.post("/api/password-reset", json={"email": email})


def confirm(client, email: str, code: str, password: str = NEW_PASSWORD):
    """POST /api/password-reset/confirm."""
    return client.post(
        "/api/password-reset/confirm",
        json={
            "email": email,
            "code": code,
            "password": password,
            "password_confirmation": password,
        },
    )


def reset_code(app, mailbox, run_jobs, email: str) -> tuple[object, str]:
    """An anonymous client that asked for a reset of ``email``, and the emailed code."""
    client = anonymous_client(app)
    assert request_reset(client, email).status_code == 202
    run_jobs()
    return client, code_from_mail(mailbox, email)


def log_in(app, email: str, password: str) -> int:
    """The status of a login from a new browser."""
    return (
        anonymous_client(app)
        .post("/api/session", json={"email": email, "password": password})
        .status_code
    )


def other(code: str) -> str:
    """Another 6-digit code."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def unconfirmed_account(app) -> Account:
    """An account whose address was never confirmed."""
    account = create_account(app)
    db.session.execute(update(Account).where(Account.id == account.id).values(verified_at=None))
    db.session.commit()
    return account


def test_reset_code_lets_the_owner_choose_a_new_password(app, mailbox, run_jobs):
    """The emailed code sets the new password: it logs in, and the old one no longer does."""
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)

    answer = confirm(client, account.email, code)

    assert answer.status_code == 200, answer.json
    assert log_in(app, account.email, NEW_PASSWORD) == 200
    assert log_in(app, account.email, DEFAULT_PASSWORD) == 401


@pytest.mark.parametrize("language", ["fr", "en"])
def test_reset_code_email_is_in_the_account_language(app, mailbox, run_jobs, language):
    """The reset email is written in the account's language, and its subject has no code."""
    account = create_account(app, language=language)
    _, code = reset_code(app, mailbox, run_jobs, account.email)

    subject = mailbox.to(account.email)[-1]["Subject"]

    assert (
        subject
        == {
            "fr": "Réinitialisation de votre mot de passe",
            "en": "Resetting your password",
        }[language]
    )
    assert code not in subject


def _answer(response) -> tuple[int, object, list[tuple[str, str]]]:
    return response.status_code, response.json, sorted(response.headers.items())


def test_reset_answers_alike_for_every_email(app, mailbox, run_jobs):
    """Unknown, unconfirmed and confirmed addresses get identical status, body and headers."""
    confirmed = create_account(app).email
    emails = [new_email(), unconfirmed_account(app).email, confirmed]

    answers = [
        _answer(
            anonymous_client(app).post(
                "/api/password-reset", json={"email": e}, headers={"X-Request-Id": "probe"}
            )
        )
        for e in emails
    ]
    run_jobs()

    assert answers[0][0] == 202
    assert answers[1] == answers[0] and answers[2] == answers[0]
    assert [len(mailbox.to(e)) for e in emails] == [0, 0, 1]


def _row_counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    )


def test_reset_request_writes_the_same_rows_whatever_the_email(app):
    """Known and unknown emails cost the request the same writes (the job does the rest)."""
    known = create_account(app).email
    deltas = []
    for email in (new_email(), known):
        before = _row_counts()
        request_reset(anonymous_client(app), email)
        deltas.append([after - was for after, was in zip(_row_counts(), before, strict=True)])

    assert deltas[0] == deltas[1]
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0


def test_unconfirmed_account_gets_no_reset_code(app, mailbox, run_jobs):
    """An address never confirmed receives nothing (signing up again is the way)."""
    account = unconfirmed_account(app)

    request_reset(anonymous_client(app), account.email)
    run_jobs()

    assert mailbox.to(account.email) == []


def test_reset_code_is_stored_hashed(app, mailbox, run_jobs):
    """The database keeps a keyed hash of the code, never the code."""
    account = create_account(app)
    _, code = reset_code(app, mailbox, run_jobs, account.email)

    [row] = db.session.scalars(select(OneTimeCode)).all()

    assert row.purpose == "password_reset"
    assert code not in row.code_hash and len(row.code_hash) == 64


@pytest.mark.parametrize(
    ("minutes", "status"), [(29, 200), (30, 400)], ids=["within-30-minutes", "after-30-minutes"]
)
def test_reset_code_is_valid_thirty_minutes(app, mailbox, run_jobs, minutes, status):
    """A reset code works for 30 minutes, then it is refused like any refused code."""
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)
    clock.advance(dt.timedelta(minutes=minutes, seconds=1))

    answer = confirm(client, account.email, code)

    assert answer.status_code == status
    if status == 400:
        assert answer.json["detail"] == WRONG_CODE_DETAIL
        assert answer.json["errors"] == {"code": [answer.json["detail"]]}


def test_reset_code_is_single_use(app, mailbox, run_jobs):
    """A code that reset the password cannot reset it again."""
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)
    confirm(client, account.email, code)

    again = confirm(client, account.email, code, password="Encore-Une-Autre-Phrase-9")

    assert again.status_code == 400
    assert again.json["detail"] == WRONG_CODE_DETAIL
    assert log_in(app, account.email, NEW_PASSWORD) == 200


def test_fifth_wrong_reset_code_voids_the_code(app, mailbox, run_jobs):
    """Five wrong tries void the code: the right one is then refused, with the same answer."""
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)

    details = [confirm(client, account.email, other(code)).json["detail"] for _ in range(5)]
    right = confirm(client, account.email, code)

    assert details == [WRONG_CODE_DETAIL] * 5
    assert right.status_code == 400 and right.json["detail"] == WRONG_CODE_DETAIL
    assert log_in(app, account.email, DEFAULT_PASSWORD) == 200


def test_repeated_wrong_reset_codes_end_in_429(app):
    """After 10 wrong codes for an address, tries are refused with 429 and Retry-After."""
    email = create_account(app).email
    client = anonymous_client(app)

    answers = [confirm(client, email, "000000") for _ in range(11)]

    assert [a.status_code for a in answers] == [400] * 10 + [429]
    assert 1 <= int(answers[10].headers["Retry-After"]) <= 900


def test_unknown_email_is_refused_like_a_wrong_code(app, mailbox, run_jobs):
    """Confirming for an unknown address gives the very answer of a wrong code."""
    account = create_account(app)
    _, code = reset_code(app, mailbox, run_jobs, account.email)
    headers = {"X-Request-Id": "probe"}

    answers = [
        anonymous_client(app).post(
            "/api/password-reset/confirm",
            json={
                "email": email,
                "code": other(code),
                "password": NEW_PASSWORD,
                "password_confirmation": NEW_PASSWORD,
            },
            headers=headers,
        )
        for email in (account.email, new_email())
    ]

    assert answers[0].status_code == 400
    assert _answer(answers[1]) == _answer(answers[0])


def test_reset_ends_every_session_of_the_account(app, mailbox, run_jobs):
    """Every browser logged in before the reset gets 401 afterwards."""
    first = login_client(app)
    second = login_client(app, email=first.account.email)
    client, code = reset_code(app, mailbox, run_jobs, first.account.email)

    confirm(client, first.account.email, code)

    assert first.get("/api/profiles").status_code == 401
    assert second.get("/api/profiles").status_code == 401


def test_reset_emails_a_notice_that_the_password_changed(app, mailbox, run_jobs):
    """After the reset the owner receives a notice saying how to react if it was not them."""
    account = create_account(app, first_name="Aline")
    client, code = reset_code(app, mailbox, run_jobs, account.email)

    confirm(client, account.email, code)
    run_jobs()

    notice = mailbox.to(account.email)[-1]
    assert notice["Subject"] == "Votre mot de passe a été modifié"
    assert "Bonjour Aline" in body(notice) and "Mot de passe oublié?" in body(notice)


def test_reset_confirm_reports_every_field_problem_at_once(app):
    """A missing code, a weak password and a wrong confirmation come back in one 422."""
    email = create_account(app).email
    answer = anonymous_client(app).post(
        "/api/password-reset/confirm",
        json={"email": email, "password": "court", "password_confirmation": "autre"},
    )

    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"code", "password", "password_confirmation"}


@pytest.mark.parametrize(
    ("same_email", "allowed"), [(True, 3), (False, 10)], ids=["per-email", "per-address"]
)
def test_reset_requests_are_rate_limited(app, same_email, allowed):
    """Reset requests are limited per email (3) and per IP address (10) within 15 minutes."""
    client = anonymous_client(app)
    email = new_email()

    statuses = [
        request_reset(client, email if same_email else new_email()).status_code
        for _ in range(allowed + 1)
    ]

    assert statuses == [202] * allowed + [429]


def test_daily_email_cap_drops_extra_reset_codes_silently(make_app, mailbox):
    """Past the day's cap of emails to an address, requests still answer 202 but send nothing."""
    app = make_app(CATALOGUE_RATELIMITS={"email-day": (2, 86400)})
    account = create_account(app)
    client = anonymous_client(app)
    statuses = []
    with app.app_context():
        for _ in range(3):
            statuses.append(request_reset(client, account.email).status_code)
            queue.run_until_idle()

    assert statuses == [202, 202, 202]
    assert len(mailbox.to(account.email)) == 2


def test_redelivered_reset_job_sends_one_code(app, mailbox, run_jobs):
    """The reset job delivered twice issues and emails a single code."""
    account = create_account(app)
    request_reset(anonymous_client(app), account.email)
    message = db.session.scalar(
        select(queue.OutboxMessage).where(queue.OutboxMessage.topic == settings.RESET_TOPIC)
    )

    for _ in range(2):
        settings.send_reset_code(message)
        db.session.commit()
    run_jobs()

    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 1
    assert len(mailbox.to(account.email)) == 1


def test_reset_steps_are_audited(app, mailbox, run_jobs):
    """The request, the emailed code, a wrong try and the reset each leave an audit row."""
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)
    confirm(client, account.email, other(code))
    confirm(client, account.email, code)

    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.outcome)
        .where(AuditEvent.action.like("account.password_reset%"))
        .order_by(AuditEvent.id)
    ).all()

    assert [tuple(r) for r in rows] == [
        ("account.password_reset_request", "accepted"),
        ("account.password_reset_code", "sent"),
        ("account.password_reset", "failure"),
        ("account.password_reset", "success"),
    ]


def test_no_secret_of_a_reset_reaches_logs_or_tables(app, mailbox, run_jobs, caplog):
    """A whole reset at DEBUG: no password, code or session token is logged or stored."""
    caplog.set_level(logging.DEBUG)
    account = create_account(app)
    client, code = reset_code(app, mailbox, run_jobs, account.email)
    secrets = {code, DEFAULT_PASSWORD, NEW_PASSWORD, client.get_cookie("catalogue_session").value}
    secrets.add(client.environ_base[CSRF_ENVIRON])
    confirm(client, account.email, other(code))
    assert confirm(client, account.email, code).status_code == 200
    client.post("/api/session", json={"email": account.email, "password": NEW_PASSWORD})
    secrets.add(client.get_cookie("catalogue_session").value)
    run_jobs()

    lines = service_log_lines(caplog)
    assert any('"action": "account.password_reset"' in line for line in lines)
    assert [(s, line) for line in lines for s in secrets if s in line] == []
    stored = stored_rows()
    assert [(s, name) for name, text in stored for s in secrets if s in text] == []
