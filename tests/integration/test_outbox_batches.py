"""Batched outbox topics: a chunk in one transaction, a failure isolated, nothing done twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from catalogue_svc import audit, queue
from catalogue_svc.audit import AuditEvent
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from catalogue_svc.requests.service import submit
from tests.accounts_helpers import create_account, link_account
from tests.factories import guide_firm
from tests.submissions import new_member

TOPIC = "test.batched"


@pytest.fixture
def batched_topic(app) -> Iterator[list[int]]:
    """A batched topic whose handler writes an audit row and fails on payload ``n == 2``."""
    calls: list[int] = []

    def handler(message: queue.OutboxMessage) -> None:
        n = message.payload["n"]
        calls.append(n)
        audit.record("test.batched", subject_type="test", subject_id=n)
        if n == 2:
            raise RuntimeError("message 2 always fails")

    queue.register(app, TOPIC, queue.Handler(func=handler, batched=True, max_attempts=3))
    yield calls
    app.extensions[queue.HANDLERS].pop(TOPIC, None)


def _rows_per_subject() -> dict[str, int]:
    rows = db.session.execute(
        select(AuditEvent.subject_id, func.count())
        .where(AuditEvent.action == "test.batched")
        .group_by(AuditEvent.subject_id)
    ).all()
    return {subject.split(":")[-1]: n for subject, n in rows}


def test_a_failing_message_does_not_undo_or_repeat_the_others(app, batched_topic):
    with app.app_context():
        for n in range(1, 6):
            queue.emit(TOPIC, {"n": n})
        db.session.commit()

        assert queue.drain(TOPIC) == 4

        # Every message but the failing one took effect exactly once.
        assert _rows_per_subject() == {"1": 1, "3": 1, "4": 1, "5": 1}
        failing = db.session.scalars(
            select(queue.OutboxMessage).where(queue.OutboxMessage.topic == TOPIC)
        ).all()
        states = {m.payload["n"]: (m.done_at is not None, m.attempts) for m in failing}
        assert states[2] == (False, 1)
        assert all(states[n] == (True, 1) for n in (1, 3, 4, 5))
        bad = next(m for m in failing if m.payload["n"] == 2)
        assert "message 2 always fails" in (bad.last_error or "")


def test_a_chunk_without_failure_runs_each_handler_once(app, batched_topic):
    with app.app_context():
        for n in (1, 3, 4):
            queue.emit(TOPIC, {"n": n})
        db.session.commit()

        assert queue.drain(TOPIC) == 3

        assert batched_topic == [1, 3, 4]  # one transaction, no retry one by one
        assert _rows_per_subject() == {"1": 1, "3": 1, "4": 1}


def fail_second_operation(monkeypatch, request_id: int, reason: str) -> None:
    """Make the apply of ``request_id`` fail at its changeset's second operation, with ``reason``
    (an ``ApplyError``: what no longer holds), after its first was written."""
    from catalogue_svc.profiles.apply import ApplyError
    from catalogue_svc.requests import handlers

    real = handlers.apply_operation

    def fail(operation, index, ctx):
        if ctx.request_id == request_id and index == 1:
            raise ApplyError(reason)
        return real(operation, index, ctx)

    monkeypatch.setattr(handlers, "apply_operation", fail)


def test_an_apply_that_fails_leaves_the_rest_of_its_batch_applied(app, run_jobs, monkeypatch):
    """One request of a batch fails half-way through its changeset (injected): it fails alone,
    its first operations are undone, and the other requests of the same batch are applied."""
    from catalogue_svc.profiles.models import Contact, ProfileChange

    firm = guide_firm(app)
    account = create_account(app)
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    with app.app_context():
        for i in range(4):
            answer = submit(
                account_id=account.id,
                account_name="REBECCA",
                profile_id=firm.firm,
                item="add-relation",
                variables=new_member(100 + i),
            )
            assert answer["state"] == "submitted"
        db.session.commit()
        third = db.session.scalars(select(Request.id).order_by(Request.id)).all()[2]

    fail_second_operation(monkeypatch, third, "Panne injectée au deuxième changement.")
    run_jobs()
    with app.app_context():
        states = {r.id: r.state for r in db.session.scalars(select(Request))}
        assert sorted(states.values()) == ["applied", "applied", "applied", "failed"]
        assert states[third] == "failed"
        failed = db.session.get(Request, third)
        assert failed.reason == "Panne injectée au deuxième changement."
        # Nothing of the failed request stayed: no change rows, no new contact.
        assert not db.session.scalars(
            select(ProfileChange).where(ProfileChange.request_id == third)
        ).all()
        assert not db.session.scalars(
            select(Contact).where(Contact.created_by_request_id == third)
        ).all()
        applied = [i for i, s in states.items() if s == "applied"]
        for request_id in applied:
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(Contact)
                    .where(Contact.created_by_request_id == request_id)
                )
                == 1
            )


def _rebecca(app):
    firm = guide_firm(app)
    account = create_account(app)
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return firm, account


def _submit(account, firm, item, variables) -> int:
    body = submit(
        account_id=account.id,
        account_name="REBECCA",
        profile_id=firm.firm,
        item=item,
        variables=variables,
    )
    assert body["state"] == "submitted", body
    return int(body["number"].rsplit("-", 1)[-1])


def test_a_batch_of_new_people_is_written_one_statement_per_table(app):
    """20 new members checked and applied as two chunks: a handful of statements for the
    whole batch, not one per row, and every request has all its rows exactly once."""
    from sqlalchemy import event

    from catalogue_svc.linking.models import LinkingCredential
    from catalogue_svc.notifications.models import Email
    from catalogue_svc.profiles.models import Contact, ContactRelation, Grant, ProfileChange

    firm, account = _rebecca(app)
    with app.app_context():
        ids = [_submit(account, firm, "add-relation", new_member(300 + i)) for i in range(20)]
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert queue.drain("request.check") == 20
            checked = len(statements)
            assert queue.drain("request.apply") == 20
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        applied = len(statements) - checked
        if db.engine.dialect.name == "postgresql":
            # Claims, a read per kind of row, a write per table, and the ids reserved in growing
            # blocks. (SQLite, in process, writes rows returning their ids one by one.)
            assert checked <= 15, statements[:checked]
            assert applied <= 60, statements[checked:]
        db.session.expire_all()
        for request_id in ids:
            request = db.session.get(Request, request_id)
            assert request.state == "applied"
            contact = db.session.scalars(
                select(Contact).where(Contact.created_by_request_id == request_id)
            ).one()
            for model, column in (
                (ContactRelation, ContactRelation.contact_id),
                (Grant, Grant.holder_contact_id),
                (LinkingCredential, LinkingCredential.contact_id),
            ):
                assert (
                    db.session.scalar(
                        select(func.count()).select_from(model).where(column == contact.id)
                    )
                    == 1
                ), model
            changes = db.session.scalars(
                select(ProfileChange.op_index).where(ProfileChange.request_id == request_id)
            ).all()
            assert sorted(changes) == list(range(len(request.changeset)))
            emails = db.session.scalars(
                select(Email.to_address).where(Email.request_id == request_id)
            ).all()
            assert sorted(emails) == sorted([contact.email, account.email])


def test_a_later_request_of_a_batch_sees_what_an_earlier_one_changed(app):
    """Two removals of the same person applied in one chunk: the second is built against the
    profile as the first left it (no relation left), exactly as if it ran alone after it."""
    firm, account = _rebecca(app)
    removal = {"contact_id": firm.marie_karine, "removal": "all_relations", "attestation": True}
    with app.app_context():
        first = _submit(account, firm, "remove-relation", removal)
        second = _submit(account, firm, "remove-relation", removal)
        queue.drain("request.check")
        assert queue.drain("request.apply") == 2
        db.session.expire_all()
        assert db.session.get(Request, first).state == "applied"
        late = db.session.get(Request, second)
        assert late.state == "failed"
        assert late.reason.startswith("La demande ne correspond plus au dossier"), late.reason


def test_a_request_moved_meanwhile_fails_the_chunk_not_the_request(app):
    """The chunk's deferred compare-and-set finds a request that changed since it was read:
    nothing of the chunk is kept, and its messages run again one by one."""
    from catalogue_svc import unit
    from catalogue_svc.errors import Conflict
    from catalogue_svc.requests import chunk, service

    firm, account = _rebecca(app)
    with app.app_context():
        request_id = _submit(account, firm, "add-relation", new_member(400))
        request = db.session.get(Request, request_id)
        running = unit.of(db.session).chunk = unit.Chunk()
        try:
            service.transition(request, "start_check", service.SYSTEM_ACTOR)
            # Another worker moves it first.
            db.session.execute(
                Request.__table__.update()
                .where(Request.__table__.c.id == request_id)
                .values(version=Request.__table__.c.version + 1)
            )
            with pytest.raises(Conflict):
                chunk.finish(running)
        finally:
            db.session.rollback()
            unit.of(db.session).chunk = None
        assert db.session.get(Request, request_id, populate_existing=True).state == "submitted"
