"""Queue emails (in the caller's transaction) and send them (in a background job)."""

from __future__ import annotations

import logging
import os
import smtplib
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import update

from .. import queue
from ..clock import now
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
# connection and a greeting for each email (nor does the server). Checked with NOOP before each
# send and opened again if the server closed it; a send that fails closes it, and the message is
# retried by the outbox like any failure.
_SMTP: dict[tuple[str, int, int], smtplib.SMTP] = {}
_SMTP_IDLE = 30.0  # seconds after which a kept connection is not trusted without a new one


class _Kept:
    """A kept connection for exactly one send: back in the cache if it succeeds."""

    def __init__(self, smtp: smtplib.SMTP, key: tuple[str, int, int]) -> None:
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


def _connection(host: str, port: int) -> _Kept:
    key = (host, port, os.getpid())  # a forked process never shares its parent's socket
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
        smtp = smtplib.SMTP(host, port, timeout=10)
    return _Kept(smtp, key)


def send_email(message: queue.OutboxMessage) -> None:
    """Outbox handler: send one email once (idempotent on ``sent_at``)."""
    email = db.session.get(Email, message.payload["email_id"])
    if email is None or email.sent_at is not None:
        return
    settings = current_app.config["CATALOGUE_SETTINGS"]
    if not queue.renew_lease(message):
        return  # another mailer sends it
    if settings.smtp_host:
        _connection(settings.smtp_host, settings.smtp_port or 25).send_message(
            _build(email, settings.mail_from)
        )
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


def init_app() -> None:
    """Register the email topic."""
    queue.register(
        TOPIC,
        queue.Handler(
            func=send_email,
            queue="email",
            max_attempts=10,
            backoff_seconds=2.0,
            on_exhausted=_exhausted,
        ),
    )
