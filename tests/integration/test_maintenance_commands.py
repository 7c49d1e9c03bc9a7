"""Operators' commands: failed outbox messages listed and requeued, the retention purge."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from catalogue_svc import queue
from catalogue_svc.accounts.models import AccountSession, OneTimeCode
from catalogue_svc.audit import AuditEvent, record
from catalogue_svc.clock import clock, now
from catalogue_svc.db import db
from catalogue_svc.notifications.models import Email
from catalogue_svc.profiles.models import Contact
from catalogue_svc.requests.models import IdempotencyKey
from tests.accounts_helpers import DEFAULT_PASSWORD, anonymous_client, create_account, login_client
from tests.factories import guide_firm, queue_credentials_email
from tests.servers import SmtpSink, free_port


def _exhausted_email(app) -> int:
    """An email whose every attempt failed (its SMTP server never answered)."""
    email_id = queue_credentials_email()
    for _ in range(12):
        queue.run_until_idle()
        clock.advance(dt.timedelta(minutes=15))
    assert db.session.get(Email, email_id, populate_existing=True).failed
    return email_id


def test_failed_messages_are_listed_with_their_error(make_app):
    """outbox-failed lists each exhausted message: id, topic, attempts and its last error."""
    app = make_app(CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with app.app_context():
        _exhausted_email(app)
        [message] = db.session.scalars(select(queue.OutboxMessage)).all()

    result = app.test_cli_runner().invoke(args=["outbox-failed"])

    assert result.exit_code == 0, result.output
    assert f"{message.id}" in result.output and "email.send" in result.output
    assert "ConnectionRefusedError" in result.output
    assert "1 message(s) en échec." in result.output


def test_requeued_email_is_delivered_once_the_relay_is_back(make_app):
    """outbox-requeue --all-failed gives a failed email fresh attempts; it is then sent once."""
    port = free_port()
    app = make_app(CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{port}")
    with app.app_context():
        email_id = _exhausted_email(app)
    sink = SmtpSink(port=port)
    try:
        result = app.test_cli_runner().invoke(args=["outbox-requeue", "--all-failed"])
        with app.app_context():
            sent = queue.run_until_idle()
            email = db.session.get(Email, email_id)
            assert result.exit_code == 0, result.output
            assert "1 message(s) remis dans la file." in result.output
            assert sent == 1 and email.sent_at is not None and not email.failed
        assert len(sink.messages) == 1
    finally:
        sink.stop()


def test_requeue_without_a_choice_is_refused(make_app):
    """outbox-requeue with no id, topic nor --all-failed says what to give, and changes nothing."""
    result = make_app().test_cli_runner().invoke(args=["outbox-requeue"])

    assert result.exit_code == 2
    assert "--all-failed" in result.output


def _bookkeeping(account_id: int) -> dict[str, object]:
    """One row of each purged kind, all already past their use."""
    at = now()
    session = AccountSession(
        id=f"s{at.timestamp()}", account_id=account_id, csrf_token="c", expires_at=at
    )
    code = OneTimeCode(
        account_id=account_id, purpose="verify_email", code_hash="h", state="used", expires_at=at
    )
    key = IdempotencyKey(account_id=account_id, key=f"k{at.timestamp()}", body_hash="b")
    db.session.add_all([session, code, key])
    queue.emit("test.purge", {})
    db.session.flush()
    done = db.session.scalars(select(queue.OutboxMessage).order_by(queue.OutboxMessage.id.desc()))
    message = done.first()
    message.done_at = at
    db.session.commit()
    return {"session": session.id, "code": code.id, "key": key.id, "outbox": message.id}


def _exist(ids: dict[str, object]) -> dict[str, bool]:
    models = {
        "session": AccountSession,
        "code": OneTimeCode,
        "key": IdempotencyKey,
        "outbox": queue.OutboxMessage,
    }
    return {kind: db.session.get(models[kind], ids[kind]) is not None for kind in ids}


def test_purge_deletes_only_bookkeeping_older_than_the_retention(make_app):
    """purge deletes done outbox rows, ended sessions, expired codes and idempotency keys past
    CATALOGUE_RETENTION_DAYS, and keeps the younger ones."""
    app = make_app(CATALOGUE_RETENTION_DAYS=30)
    account = create_account(app)
    with app.app_context():
        old = _bookkeeping(account.id)
        clock.advance(dt.timedelta(days=20))
        young = _bookkeeping(account.id)
        clock.advance(dt.timedelta(days=11))  # old: 31 days, young: 11

        result = app.test_cli_runner().invoke(args=["purge"])

        db.session.expire_all()
        assert result.exit_code == 0, result.output
        assert "Conservation : 30 jour(s)." in result.output
        assert _exist(old) == dict.fromkeys(old, False)
        assert _exist(young) == dict.fromkeys(young, True)


def test_purge_never_touches_history_audit_emails_or_profiles(make_app):
    """However old, the audit, the emails, failed outbox messages and the profile store stay."""
    app = make_app(CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    guide_firm(app)
    with app.app_context():
        record("test.old")
        db.session.commit()
        _exhausted_email(app)
        before = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, Email, Contact, queue.OutboxMessage)
        }
        clock.advance(dt.timedelta(days=4000))

        result = app.test_cli_runner().invoke(args=["purge", "--days", "1"])

        after = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (AuditEvent, Email, Contact, queue.OutboxMessage)
        }
        assert result.exit_code == 0, result.output
        assert after == before and all(before.values())


def test_disabled_account_is_logged_out_and_cannot_log_in(make_app):
    """disable-account ends the account's open sessions and refuses its next login, audited."""
    app = make_app()
    client = login_client(app)
    email = client.account.email
    assert client.get("/api/account").status_code == 200

    result = app.test_cli_runner().invoke(args=["disable-account", "--email", email.upper()])

    assert result.exit_code == 0, result.output
    assert "désactivé; 1 session(s) fermée(s)." in result.output
    assert client.get("/api/account").status_code == 401
    again = anonymous_client(app).post(
        "/api/session", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert again.status_code == 401
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"account.disable", "session.login"} <= actions


def test_disabling_an_unknown_address_says_so(make_app):
    """disable-account with an address no account has exits 1 with a French sentence."""
    result = (
        make_app()
        .test_cli_runner()
        .invoke(args=["disable-account", "--email", "personne@exemple.test"])
    )

    assert result.exit_code == 1
    assert "Aucun compte n'a l'adresse personne@exemple.test." in result.output
