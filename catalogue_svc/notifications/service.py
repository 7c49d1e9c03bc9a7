"""Queue emails (in the caller's transaction) and send them (in a background job)."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate

from flask import Flask, current_app
from sqlalchemy import update

from .. import queue
from ..clock import now
from ..config import SmtpSettings
from ..db import add_row, db, reserve_id
from .models import SCRUBBED, Email
from .templates import render

log = logging.getLogger(__name__)

TOPIC = "email.send"


def queue_email(
    *,
    to: str,
    template: str,
    language: str,
    params: dict[str, object],
    account_id: int | None = None,
    contact_id: int | None = None,
    request_id: int | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Render an email and add it, with its outbox row, to the current transaction; its id."""
    settings = current_app.config["CATALOGUE_SETTINGS"]
    subject, body = render(template, language, {"base_url": settings.base_url, **params})
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(">").strip() or "catalogue.local"
    email_id = reserve_id(Email)
    add_row(
        Email,
        {
            "id": email_id,
            "message_id": f"<{uuid.uuid4().hex}@{domain}>",
            "dedupe_key": dedupe_key,
            "to_address": to,
            "template": template,
            "language": language,
            "subject": subject,
            "body": body,
            "account_id": account_id,
            "contact_id": contact_id,
            "request_id": request_id,
        },
    )
    queue.emit(TOPIC, {"email_id": email_id}, dedupe_key=f"email:{email_id}")
    return email_id


def _build(email: Email, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(email.body)
    # After set_content, which resets the content headers.
    message["Content-Language"] = email.language
    return message


# One SMTP connection per process, kept between sends: a mailer sending a batch does not pay a
# connection, a greeting, a TLS handshake and a login for each email (nor does the server).
# Checked with NOOP before each send and opened again if the server closed it; a send that fails
# closes it, and the message is retried by the outbox like any failure.
_Key = tuple[str, int, str, str | None, int]
_SMTP: dict[_Key, smtplib.SMTP] = {}
_SMTP_IDLE = 30.0  # seconds after which a kept connection is not trusted without a new one


class _Kept:
    """A kept connection for exactly one send: back in the cache if it succeeds."""

    def __init__(self, smtp: smtplib.SMTP, key: _Key) -> None:
        self.smtp, self.key = smtp, key

    def send_message(self, message: EmailMessage) -> None:
        try:
            self.smtp.send_message(message)
        except BaseException:
            self.smtp.close()  # in an unknown state: never reused
            raise
        self.smtp._last_used = time.monotonic()  # type: ignore[attr-defined]
        stale = _SMTP.pop(self.key, None)
        if stale is not None:
            stale.close()
        _SMTP[self.key] = self.smtp


def _open(relay: SmtpSettings) -> smtplib.SMTP:
    """A new connection to the relay: TLS or STARTTLS as configured, then AUTH if a user is set.

    The certificate and the host name are always verified (against ``CATALOGUE_SMTP_CA_FILE``
    when set, the system's CAs otherwise). STARTTLS is required, not opportunistic: a relay that
    stops offering it (or a man in the middle stripping it) fails the send, which the outbox
    retries, rather than the password and the codes going out in clear. A wrong password is an
    ordinary failure too: the email stays queued and is retried with back-off.
    """
    context = ssl.create_default_context(cafile=relay.ca_file)
    smtp: smtplib.SMTP
    if relay.security == "tls":
        smtp = smtplib.SMTP_SSL(relay.host, relay.port, timeout=relay.timeout, context=context)
    else:
        smtp = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout)
    try:
        if relay.security == "starttls":
            smtp.starttls(context=context)
        if relay.username:
            smtp.login(relay.username, relay.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _connection(relay: SmtpSettings) -> _Kept:
    # A forked process never shares its parent's socket.
    key = (relay.host, relay.port, relay.security, relay.username, os.getpid())
    smtp = _SMTP.pop(key, None)
    if smtp is not None:
        try:
            if time.monotonic() - getattr(smtp, "_last_used", 0.0) > _SMTP_IDLE:
                raise smtplib.SMTPServerDisconnected("idle")
            if smtp.noop()[0] != 250:
                raise smtplib.SMTPServerDisconnected("noop refused")
        except (smtplib.SMTPException, OSError):
            smtp.close()
            smtp = None
    if smtp is None:
        smtp = _open(relay)
    return _Kept(smtp, key)


def send_email(message: queue.OutboxMessage) -> None:
    """Outbox handler: send one email once (idempotent on ``sent_at``)."""
    email = db.session.get(Email, message.payload["email_id"])
    if email is None or email.sent_at is not None:
        return
    settings = current_app.config["CATALOGUE_SETTINGS"]
    if not queue.renew_lease(message):
        return  # another mailer sends it
    if settings.smtp is not None:
        _connection(settings.smtp).send_message(_build(email, settings.mail_from))
        body = SCRUBBED
    else:
        # Embedded mode without SMTP: the row itself is the dev mailbox shown at /dev/mail.
        body = email.body
    db.session.execute(
        update(Email)
        .where(Email.id == email.id, Email.sent_at.is_(None))
        .values(sent_at=now(), body=body, attempts=Email.attempts + 1, last_error=None)
        .execution_options(synchronize_session=False)
    )


def _exhausted(message: queue.OutboxMessage, error: str) -> None:
    db.session.execute(
        update(Email)
        .where(Email.id == message.payload["email_id"], Email.sent_at.is_(None))
        .values(failed=True, last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def init_app(app: Flask) -> None:
    """Register the email topic."""
    queue.register(
        app,
        TOPIC,
        queue.Handler(
            func=send_email,
            queue="email",
            max_attempts=10,
            backoff_seconds=2.0,
            on_exhausted=_exhausted,
        ),
    )
