"""Emails through the outbox: delivered to a real SMTP server, retried, never lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from catalogue_svc import queue
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.notifications.models import SCRUBBED, Email
from tests.factories import queue_credentials_email
from tests.servers import SmtpSink, body, free_port
from tests.workers_helpers import run_burst, worker_env


def _queue(to: str = "marie@example.org", language: str = "fr") -> Email:
    email_id = queue_credentials_email(to, language=language)
    return db.session.get(Email, email_id)


def test_email_is_delivered_to_the_smtp_server(app, mailbox, run_jobs):
    """A queued email reaches the SMTP server with its subject, body and Message-ID."""
    email = _queue()
    assert run_jobs() == 1
    [received] = mailbox.to("marie@example.org")
    assert received["Message-ID"] == email.message_id
    assert "Vos coordonnées de liaison" in received["Subject"]
    assert "L-AAAA-BBBB" in body(received)


def test_sent_body_is_scrubbed_of_its_code(app, mailbox, run_jobs):
    """Once the SMTP server accepted it, the stored copy no longer holds the code."""
    email = _queue()
    run_jobs()
    stored = db.session.get(Email, email.id, populate_existing=True)
    assert stored.sent_at is not None and stored.body == SCRUBBED


def test_english_contact_gets_the_english_text(app, mailbox, run_jobs):
    """The email follows the recipient's language."""
    _queue(language="en")
    run_jobs()
    [received] = mailbox.to("marie@example.org")
    assert received["Subject"] == "Your linking credentials for the online services"


def test_a_batch_of_emails_shares_one_smtp_connection(app, mailbox, run_jobs):
    """The mailer keeps its connection between sends (no connection and greeting per email),
    and opens a new one when the server has closed it."""
    with app.app_context():
        for n in range(5):
            _queue(to=f"personne{n}@example.org")
        run_jobs()
        assert len(mailbox.messages) == 5
        assert len(set(mailbox.peers)) == 1
        mailbox.stop()
        mailbox.start()
        _queue(to="apres@example.org")
        run_jobs()
        assert [m["To"] for m in mailbox.messages[5:]] == ["apres@example.org"]
        assert mailbox.peers[5] != mailbox.peers[0]


def test_smtp_down_then_back_delivers_once(make_app, mailbox):
    """With the SMTP server unreachable the email waits, then goes out once it is back."""
    dead_port = free_port()
    app = make_app(CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{dead_port}")
    with app.app_context():
        email = _queue()
        assert queue.run_until_idle() == 0
        stored = db.session.get(Email, email.id, populate_existing=True)
        assert stored.sent_at is None
        message = db.session.scalar(select(queue.OutboxMessage))
        assert message.attempts == 1 and message.last_error
    sink = SmtpSink(port=dead_port)  # the server comes back on the same address
    try:
        with app.app_context():
            clock.advance(dt.timedelta(minutes=5))
            assert queue.run_until_idle() == 1
            assert queue.run_until_idle() == 0
        assert len(sink.messages) == 1
        assert sink.messages[0]["Message-ID"] == email.message_id
    finally:
        sink.stop()


def test_crash_between_send_and_mark_resends_the_same_message(app, mailbox, run_jobs):
    """A lost 'sent' mark costs at most one duplicate with the same Message-ID, never a loss."""
    email = _queue()
    from catalogue_svc.notifications import service

    original = service.send_email

    def send_then_crash(message):
        original(message)
        raise RuntimeError("crash after the SMTP server accepted")

    queue.register(app, service.TOPIC, queue.Handler(func=send_then_crash, queue="email"))
    try:
        assert run_jobs() == 0
    finally:
        service.init_app(app)
    clock.advance(dt.timedelta(minutes=5))
    assert run_jobs() == 1
    received = mailbox.to("marie@example.org")
    assert len(received) == 2
    assert {m["Message-ID"] for m in received} == {email.message_id}


def test_exhausted_email_is_marked_failed(make_app):
    """After its last attempt an email is visibly failed, with the reason."""
    app = make_app(CATALOGUE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with app.app_context():
        email = _queue()
        for _ in range(12):
            queue.run_until_idle()
            clock.advance(dt.timedelta(minutes=15))
        stored = db.session.get(Email, email.id, populate_existing=True)
        assert stored.failed and stored.sent_at is None and stored.last_error


def test_rq_worker_process_delivers_the_email(make_app, redis_server, mailbox):
    """With REDIS_URL set, the commit publishes a job that a real `worker.py` process runs."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    with app.app_context():
        email = _queue()
    run_burst(worker_env(app, redis_server.url, mailbox.url), "email", timeout=60)
    [received] = mailbox.to("marie@example.org")
    assert received["Message-ID"] == email.message_id
