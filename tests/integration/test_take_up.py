"""A following drain (the RQ job's) applies what its check chunk approves in the same transaction:
no apply message is written, committed and claimed again. When anything in the apply fails, the
whole transaction is undone and the chunk's fallback runs the usual path: checks one by one, each
writing its apply message, applied (or failed with its reason) by the same drain."""

from __future__ import annotations

from sqlalchemy import event, func, select

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.notifications.service import TOPIC as EMAIL_TOPIC
from catalogue_svc.profiles.models import Contact
from catalogue_svc.requests.lifecycle import APPLY_TOPIC, CHECK_TOPIC
from catalogue_svc.requests.models import Request, RequestEvent
from tests.integration.test_outbox_batches import fail_second_operation
from tests.integration.test_workers import submit_many


def _outbox(topic: str) -> list[queue.OutboxMessage]:
    return list(
        db.session.scalars(
            select(queue.OutboxMessage)
            .where(queue.OutboxMessage.topic == topic)
            .order_by(queue.OutboxMessage.id)
        )
    )


def _triggers(request_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(RequestEvent.trigger)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.id)
        )
    )


def _contacts_of(request_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Contact).where(Contact.created_by_request_id == request_id)
    )


def test_a_following_drain_applies_its_checks_in_one_commit(app):
    """Three requests: checked and applied by one drain in one commit, no apply message left,
    each request's history and emails as the two separate steps write them."""
    ids = submit_many(app, 3)
    db.session.commit()
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(db.engine, "commit", count)
    try:
        queue.drain(CHECK_TOPIC, follow=True)
    finally:
        event.remove(db.engine, "commit", count)
    db.session.rollback()

    for request_id in ids:
        request = db.session.get(Request, request_id)
        assert request.state == "applied"
        assert _triggers(request_id) == ["submit", "start_check", "pass_check", "apply"]
        assert _contacts_of(request_id) == 1
    assert _outbox(APPLY_TOPIC) == []
    assert [m.done_at is not None for m in _outbox(CHECK_TOPIC)] == [True, True, True]
    # The claim's commit, then one for the checks and the applies together.
    assert len(commits) == 2
    emails = _outbox(EMAIL_TOPIC)
    assert len(emails) == 6  # each: the submitter's notice and the new member's credentials


def _retried_one_by_one(caplog) -> list[str]:
    """The topics of the chunks retried one by one (``queue.process_together``'s log line)."""
    return [
        r.fields["topic"]
        for r in caplog.records
        if r.getMessage() == "outbox chunk retried one by one"
    ]


def test_an_apply_failing_in_the_take_up_fails_alone_with_its_reason(app, monkeypatch, caplog):
    """The second of three changesets no longer applies: the take-up is undone whole, the checks
    run again one by one, the two others are applied and the second is failed with its reason;
    the undone attempt left no history row behind."""
    ids = submit_many(app, 3)
    db.session.commit()
    second = ids[1]
    fail_second_operation(monkeypatch, second, "La relation du contact n'est plus active.")
    caplog.set_level("INFO", logger="catalogue_svc.queue")
    queue.drain(CHECK_TOPIC, follow=True)
    db.session.rollback()

    # Undone with the checks that took it up; then the apply chunk, and one by one.
    assert _retried_one_by_one(caplog) == [CHECK_TOPIC, APPLY_TOPIC]

    states = {i: db.session.get(Request, i).state for i in ids}
    assert states == {ids[0]: "applied", second: "failed", ids[2]: "applied"}
    failed = db.session.get(Request, second)
    assert failed.reason == "La relation du contact n'est plus active."
    assert _triggers(second) == ["submit", "start_check", "pass_check", "fail"]
    assert _contacts_of(second) == 0
    assert [_contacts_of(ids[0]), _contacts_of(ids[2])] == [1, 1]
    # The fallback wrote the apply messages as the usual path does, and the drain ran them.
    applies = _outbox(APPLY_TOPIC)
    assert len(applies) == 3
    assert all(m.done_at is not None and not m.failed for m in applies)


def test_a_technical_failure_in_the_take_up_applies_the_request_once(app, monkeypatch, caplog):
    """The apply handler fails once (a lost connection, say): the whole transaction is undone
    and the request is then checked and applied exactly once."""
    [request_id] = submit_many(app, 1)
    db.session.commit()
    handler = queue.handler_for(APPLY_TOPIC)
    calls: list[int] = []

    def flaky(message):
        calls.append(message.payload["request_id"])
        if len(calls) == 1:
            raise RuntimeError("connexion perdue")
        handler.func(message)

    monkeypatch.setitem(
        app.extensions[queue.HANDLERS],
        APPLY_TOPIC,
        queue.Handler(**{**handler.__dict__, "func": flaky}),
    )
    caplog.set_level("INFO", logger="catalogue_svc.queue")
    queue.drain(CHECK_TOPIC, follow=True)
    db.session.rollback()

    assert _retried_one_by_one(caplog) == [CHECK_TOPIC]
    assert db.session.get(Request, request_id).state == "applied"
    assert _triggers(request_id) == ["submit", "start_check", "pass_check", "apply"]
    assert _contacts_of(request_id) == 1
    assert calls == [request_id, request_id]
    [check] = _outbox(CHECK_TOPIC)
    assert check.done_at is not None and check.attempts == 1


def test_a_drain_that_does_not_follow_leaves_the_apply_to_its_message(app):
    """Without follow (the embedded thread, the operator's flush) the steps stay apart: the
    check writes the apply message, and the request waits for it in ``approved``."""
    [request_id] = submit_many(app, 1)
    db.session.commit()

    queue.drain(CHECK_TOPIC)
    db.session.rollback()

    assert db.session.get(Request, request_id).state == "approved"
    [apply] = _outbox(APPLY_TOPIC)
    assert apply.done_at is None
