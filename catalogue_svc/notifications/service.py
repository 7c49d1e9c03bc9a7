"""Queue emails (in the caller's transaction) and send them (in a background job)."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import update

from .. import queue
from ..clock import now
from ..db import db
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
) -> Email:
    """Render an email and add it, with its outbox row, to the current transaction."""
    settings = current_app.config["CATALOGUE_SETTINGS"]
    subject, body = render(template, language, {"base_url": settings.base_url, **params})
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(">").strip() or "catalogue.local"
    email = Email(
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
        dedupe_key=dedupe_key,
        to_address=to,
        template=template,
        language=language,
        subject=subject,
        body=body,
        account_id=account_id,
        contact_id=contact_id,
        request_id=request_id,
    )
    db.session.add(email)
    db.session.flush()
    queue.emit(TOPIC, {"email_id": email.id}, dedupe_key=f"email:{email.id}")
    return email


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


def send_email(message: queue.OutboxMessage) -> None:
    """Outbox handler: send one email once (idempotent on ``sent_at``)."""
    email = db.session.get(Email, message.payload["email_id"])
    if email is None or email.sent_at is not None:
        return
    settings = current_app.config["CATALOGUE_SETTINGS"]
    if not queue.renew_lease(message):
        return  # another mailer sends it
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port or 25, timeout=10) as smtp:
            smtp.send_message(_build(email, settings.mail_from))
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
