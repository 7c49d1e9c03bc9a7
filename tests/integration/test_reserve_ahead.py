"""Issue 19, goal 1: an apply chunk reserves the ids of every table it adds rows to in one
statement (PostgreSQL), instead of one sequence read per table; every row still gets its own
id, and a chunk that adds more rows than it reserved takes further blocks as before."""

from __future__ import annotations

from sqlalchemy import event, func, select

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.linking.models import LinkingCredential
from catalogue_svc.notifications.models import Email
from catalogue_svc.profiles.models import Contact, ContactRelation, Grant
from catalogue_svc.requests.models import Request
from tests.integration.test_workers import submit_many


def _sequence_reads(drain_topic: str) -> tuple[int, int]:
    """(statements drawing ids from a sequence, messages done) while draining ``drain_topic``."""
    reads: list[str] = []

    def count(conn, cursor, statement, *args):
        if "nextval" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        done = queue.drain(drain_topic)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(reads), done


def test_one_new_member_applied_draws_its_ids_in_one_statement(app):
    """A light-load apply (one request: contact, relation, grant, credential, emails): one
    sequence statement on PostgreSQL, none on SQLite; the request is applied."""
    submit_many(app, 1)
    assert queue.drain("request.check") == 1
    reads, done = _sequence_reads("request.apply")
    assert done == 1
    assert reads == (1 if db.engine.dialect.name == "postgresql" else 0)
    assert db.session.scalar(select(Request.state)) == "applied"


def test_a_chunk_gets_a_distinct_id_for_every_row_it_adds(app):
    """Twelve requests in one chunk: every contact, relation, grant, credential and email has
    its own id, and each table has exactly the rows the changesets asked for."""
    submit_many(app, 12)
    assert queue.drain("request.check") == 12
    assert queue.drain("request.apply") == 12
    db.session.expire_all()
    for model, expected in (
        (Contact, 12 + 3),  # the guide firm's three people
        (ContactRelation, 12 + 3),
        (LinkingCredential, 12),
    ):
        ids = db.session.scalars(select(model.id)).all()
        assert len(ids) == len(set(ids)) == expected, model.__name__
    assert db.session.scalar(select(func.count()).select_from(Grant)) >= 12
    emails = db.session.scalars(select(Email.id)).all()
    assert len(emails) == len(set(emails)) >= 24
