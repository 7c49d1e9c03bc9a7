"""A real mail relay: STARTTLS or TLS, AUTH, the certificate verified, a refused login retried."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from catalogue_svc import queue
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.notifications.models import Email
from tests.factories import queue_credentials_email
from tests.servers import free_port

USER = "mailer@catalogue"
PASSWORD = "Relais-S3cret-Quai"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made for this module."""
    folder = tmp_path_factory.mktemp("relay-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=relais de test",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Relay:
    """aiosmtpd on loopback with TLS (STARTTLS required, or TLS from the first byte) and AUTH."""

    def __init__(self, certificate: tuple[Path, Path], *, implicit_tls: bool = False) -> None:
        cert, key = certificate
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.messages: list[email.message.Message] = []
        self.logins: list[tuple[str, bool]] = []  # (user, accepted)
        self._lock = threading.Lock()
        self.port = free_port()
        relay = self

        class _Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with relay._lock:
                    relay.messages.append(message)
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
            accepted = (
                isinstance(data, LoginPassword)
                and data.login.decode() == USER
                and data.password.decode() == PASSWORD
            )
            with relay._lock:
                relay.logins.append((data.login.decode(), accepted))
            return AuthResult(success=accepted)

        common = {
            "authenticator": authenticate,
            "auth_required": True,
            # aiosmtpd counts only STARTTLS as TLS: with TLS from the first byte it would never
            # offer AUTH, though the whole session is encrypted.
            "auth_require_tls": not implicit_tls,
        }
        if implicit_tls:
            self.controller = Controller(
                _Handler(),
                hostname="127.0.0.1",
                port=self.port,
                ssl_context=context,
                **common,
            )
        else:
            self.controller = Controller(
                _Handler(),
                hostname="127.0.0.1",
                port=self.port,
                tls_context=context,
                require_starttls=True,
                **common,
            )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture()
def starttls_relay(certificate):
    """A relay on loopback that requires STARTTLS, then AUTH."""
    relay = Relay(certificate)
    yield relay
    relay.stop()


@pytest.fixture()
def tls_relay(certificate):
    """A relay on loopback speaking TLS from the first byte (smtps), then AUTH."""
    relay = Relay(certificate, implicit_tls=True)
    yield relay
    relay.stop()


def _queue(to: str = "marie@example.org") -> int:
    email_id = queue_credentials_email(to)
    return email_id


def _stored(email_id: int) -> Email:
    return db.session.get(Email, email_id, populate_existing=True)


def test_starttls_and_auth_deliver_through_the_relay(make_app, starttls_relay, certificate):
    """smtp://user:password@…?starttls=1 upgrades to TLS, logs in and delivers."""
    app = make_app(
        CATALOGUE_SMTP_URL=(
            f"smtp://mailer%40catalogue:{PASSWORD}@127.0.0.1:{starttls_relay.port}?starttls=1"
        ),
        CATALOGUE_SMTP_CA_FILE=str(certificate[0]),
    )
    with app.app_context():
        email_id = _queue()
        assert queue.run_until_idle() == 1
        assert _stored(email_id).sent_at is not None
    assert starttls_relay.logins == [(USER, True)]
    assert [m["To"] for m in starttls_relay.messages] == ["marie@example.org"]


def test_smtps_with_separate_user_and_password_delivers(make_app, tls_relay, certificate):
    """smtps:// with CATALOGUE_SMTP_USER and CATALOGUE_SMTP_PASSWORD delivers over TLS."""
    app = make_app(
        CATALOGUE_SMTP_URL=f"smtps://127.0.0.1:{tls_relay.port}",
        CATALOGUE_SMTP_USER=USER,
        CATALOGUE_SMTP_PASSWORD=PASSWORD,
        CATALOGUE_SMTP_CA_FILE=str(certificate[0]),
    )
    with app.app_context():
        email_id = _queue()
        assert queue.run_until_idle() == 1, db.session.scalar(
            select(queue.OutboxMessage.last_error)
        )
        assert _stored(email_id).sent_at is not None
    assert tls_relay.logins == [(USER, True)]
    assert len(tls_relay.messages) == 1


def test_an_untrusted_certificate_is_refused(make_app, starttls_relay):
    """Without the relay's CA trusted, the certificate check fails: nothing is sent, nor the
    password, and the email stays queued."""
    app = make_app(
        CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{starttls_relay.port}?starttls=1",
        CATALOGUE_SMTP_USER=USER,
        CATALOGUE_SMTP_PASSWORD=PASSWORD,
    )
    with app.app_context():
        email_id = _queue()
        assert queue.run_until_idle() == 0
        assert _stored(email_id).sent_at is None
        message = db.session.scalar(select(queue.OutboxMessage))
        assert message.done_at is None and "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert starttls_relay.logins == [] and starttls_relay.messages == []


def test_required_starttls_is_never_skipped(make_app, mailbox):
    """?starttls=1 towards a relay that does not offer STARTTLS fails instead of sending clear."""
    app = make_app(
        CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}?starttls=1",
        CATALOGUE_SMTP_USER=USER,
        CATALOGUE_SMTP_PASSWORD=PASSWORD,
    )
    with app.app_context():
        email_id = _queue()
        assert queue.run_until_idle() == 0
        assert _stored(email_id).sent_at is None
    assert mailbox.messages == []


def test_wrong_password_leaves_the_email_queued_and_retried(
    make_app, starttls_relay, certificate, caplog
):
    """A refused login keeps the email queued (not failed, not lost); once the password is
    right, the retry delivers it once. The password is never logged nor stored."""
    relay = f"smtp://127.0.0.1:{starttls_relay.port}?starttls=1"
    ca = str(certificate[0])
    wrong = make_app(
        CATALOGUE_SMTP_URL=relay,
        CATALOGUE_SMTP_USER=USER,
        CATALOGUE_SMTP_PASSWORD="Mauvais-Mot-De-Passe-Relais",
        CATALOGUE_SMTP_CA_FILE=ca,
        # After refusing PLAIN, this relay leaves smtplib's next mechanism unanswered until
        # the timeout: the shortest one allowed, not the default 10 s.
        CATALOGUE_SMTP_TIMEOUT="1",
    )
    caplog.set_level(logging.DEBUG)
    with wrong.app_context():
        email_id = _queue()
        assert queue.run_until_idle() == 0
        stored = _stored(email_id)
        message = db.session.scalar(select(queue.OutboxMessage))
        assert stored.sent_at is None and not stored.failed
        assert message.done_at is None and message.attempts == 1
        assert "Mauvais-Mot-De-Passe-Relais" not in (message.last_error or "")
    assert starttls_relay.logins == [(USER, False)] and starttls_relay.messages == []

    right = make_app(
        CATALOGUE_SMTP_URL=relay,
        CATALOGUE_SMTP_USER=USER,
        CATALOGUE_SMTP_PASSWORD=PASSWORD,
        CATALOGUE_SMTP_CA_FILE=ca,
    )
    with right.app_context():
        clock.advance(dt.timedelta(minutes=5))
        assert queue.run_until_idle() == 1
        assert queue.run_until_idle() == 0
        assert _stored(email_id).sent_at is not None
    assert len(starttls_relay.messages) == 1
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    assert "Mauvais-Mot-De-Passe-Relais" not in logged and PASSWORD not in logged
