"""The outbox: the database is the truth, the queue only wakes workers up (``transports``).

A service writes an outbox row with :func:`emit` in the same transaction as the change that causes
it. After commit, the topic is *published*: a wake-up job ``drain(topic)`` is put on RQ (or, in the
embedded mode, handed to an in-process thread). ``drain`` claims ready rows with a lease, runs each
row's handler in its own transaction together with marking the row done, and retries failures with
back-off. A sweeper republishes topics whose rows were left behind (lost wake-ups, a crash between
commit and publish, an expired lease), so losing any Redis key costs latency, never correctness.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import Index, Integer, String, Text, event, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import unit
from .clock import now
from .db import JSONType, UTCDateTime, add_row, db, defer_rows, write_deferred_rows

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
BATCH_SIZE = 200
FOLLOW_AT_MOST = 4  # the largest batch whose next step its own job takes without a wake-up
CHUNK_SIZE = 50
QUEUE_NAMES = {"pipeline": "pipeline", "email": "email"}


class OutboxMessage(db.Model):  # type: ignore[name-defined, misc]
    """A unit of background work, written in the transaction that causes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failed: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "topic", "done_at", "available_at"),)


@dataclass(frozen=True)
class Handler:
    """How one topic is processed."""

    func: Callable[[OutboxMessage], None]
    queue: str = "pipeline"
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    on_exhausted: Callable[[OutboxMessage, str], None] | None = None
    # Handlers whose only effects are in the database run a chunk of messages in one transaction
    # (one commit instead of one per message); a chunk that fails anywhere is rolled back whole
    # and its messages run again one by one, each in its own transaction. Never for handlers
    # with effects outside the database (sending an email), which a retry would repeat.
    batched: bool = False
    # Loads what a chunk's handlers read (one query for the chunk instead of one per message);
    # it may keep the rows in the chunk's ``prefetched``, dropped when the chunk ends.
    prefetch: Callable[[list[OutboxMessage], unit.Chunk], None] | None = None
    # A batched handler that never reads its own chunk's pending rows can run the whole chunk
    # without autoflush: its inserts (history, audit, outbox) then go in one statement per table.
    autoflush: bool = True
    # Runs after a chunk's handlers, in its transaction, before its messages are marked done:
    # writes what the handlers deferred in the chunk (one statement for the chunk).
    finish: Callable[[unit.Chunk], None] | None = None
    # A topic the same drain takes up next, whose messages this one's handlers emit: the next
    # step starts at once instead of after another wake-up job (the wake-up is still
    # published, and finds nothing left or what others emitted).
    then: str | None = None
    # With ``then``, in a drain that follows it: the ``then`` messages a chunk emits run in the
    # chunk's own transaction, before its commit (:func:`_take_up`), instead of being written,
    # committed and claimed again. The chunk's fallback one by one emits them as usual.
    take_up: bool = False


def running_chunk() -> unit.Chunk | None:
    """The chunk of a batched topic running now (:func:`process_together`), if any.

    Its handlers may defer writes to their ``finish``, and may raise instead of recovering from
    a failure: the chunk is rolled back and each message runs again on its own.
    """
    return unit.of(db.session).chunk


HANDLERS = "catalogue_handlers"  # the app's registry: topic → Handler, in ``app.extensions``


def register(app: Flask, topic: str, handler: Handler) -> None:
    """Declare the handler of a topic in ``app`` (done by each domain's ``init_app(app)``)."""
    app.extensions.setdefault(HANDLERS, {})[topic] = handler


def handlers() -> dict[str, Handler]:
    """The current app's handlers by topic."""
    registry: dict[str, Handler] = current_app.extensions.setdefault(HANDLERS, {})
    return registry


def handler_for(topic: str) -> Handler:
    """The handler registered for ``topic`` in the current app."""
    return handlers()[topic]


def queue_of(topic: str, registry: dict[str, Handler] | None = None) -> str:
    """The RQ queue whose workers drain ``topic`` (its handler's in ``registry``, by default the
    current app's; ``pipeline`` if none)."""
    handler = (handlers() if registry is None else registry).get(topic)
    return handler.queue if handler is not None else "pipeline"


def outbox_row(
    topic: Any, payload: Any, *, dedupe_key: Any, at: Any, available_at: Any = None
) -> dict[str, Any]:
    """The values of a new outbox row, ready to send: :func:`emit` adds one; the submission's
    single statement (``requests.sql``) writes one with SQL expressions as values."""
    return {
        "topic": topic,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "created_at": at,
        "available_at": at if available_at is None else available_at,
        "attempts": 0,
        "failed": False,
    }


def emit(
    topic: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: float = 0,
    session: Session | None = None,
) -> None:
    """Add an outbox row to the current transaction; published once the transaction commits."""
    target: Any = session or db.session
    at = now()
    values = outbox_row(
        topic, payload, dedupe_key=dedupe_key, at=at, available_at=at + dt.timedelta(seconds=delay)
    )
    if session is None:
        add_row(OutboxMessage, values)
    else:
        target.add(OutboxMessage(**values))
    unit.of(target).outbox_topics.add(topic)


# The topic this job drains next itself (``drain``'s ``follow`` at a light load): its messages
# need no wake-up, which would only send a second worker to find them taken.
_FOLLOWED: ContextVar[str | None] = ContextVar("catalogue_followed_topic", default=None)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    kept = unit.peek(session)
    if kept is None or not kept.outbox_topics:
        return
    topics = sorted(kept.outbox_topics - {_FOLLOWED.get()})
    kept.outbox_topics.clear()
    if not topics:
        return
    transport = _transport()
    if transport is not None:
        transport.publish(topics)


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance: object) -> None:
    # The identity map holds weak references: within a chunk, rows that every message reads (the
    # firm, its subjects, the submitter) would be loaded again for each one. Kept until it ends.
    kept = unit.peek(session)
    if kept is not None and kept.chunk is not None:
        kept.chunk.keep_loaded.append(instance)


class Waker(Protocol):
    """What the outbox asks of its app's transport (``transports``, which builds on this module):
    to wake the workers of topics, and to hear that a drain of one starts."""

    def publish(self, topics: list[str]) -> None: ...

    def woken(self, topic: str) -> None: ...


def _transport() -> Waker | None:
    try:
        return current_app.extensions.get("catalogue_transport")  # type: ignore[no-any-return]
    except RuntimeError:  # outside an app context: nothing to publish to
        return None


# ---------------------------------------------------------------- processing


def _lease_seconds() -> int:
    try:
        return int(current_app.config["CATALOGUE_SETTINGS"].outbox_lease_seconds)
    except (RuntimeError, KeyError):
        return LEASE_SECONDS


def _claim(topic: str, owner: str, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` ready messages of ``topic`` to ``owner``, committed; returns them.

    One ``UPDATE … RETURNING``: on PostgreSQL its rows are chosen by a ``FOR UPDATE SKIP LOCKED``
    subquery (workers claiming at once take different rows); on SQLite, whose single writer
    makes that moot, the ids are read first and the update is a compare-and-set on the lease.
    """
    at = now()
    lease_free = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < at)
    ready = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.topic == topic,
            OutboxMessage.done_at.is_(None),
            OutboxMessage.available_at <= at,
            lease_free,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    chosen: Any
    if db.session.get_bind().dialect.name == "postgresql":
        chosen = ready.with_for_update(skip_locked=True).scalar_subquery()
    else:
        chosen = list(db.session.scalars(ready))
        if not chosen:
            db.session.rollback()
            return []
    claimed = sorted(
        db.session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chosen), OutboxMessage.done_at.is_(None), lease_free)
            .values(
                lease_owner=owner,
                lease_until=at + dt.timedelta(seconds=_lease_seconds()),
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage)
            .execution_options(populate_existing=True)
        ).all(),
        key=lambda m: m.id,
    )
    db.session.commit()
    # Detached with their loaded values: handlers read them without reloading each row.
    for message in claimed:
        db.session.expunge(message)
    db.session.rollback()
    return list(claimed)


def mark_done(*messages: OutboxMessage) -> int:
    """Mark ``messages`` (one drain's: one lease owner) done inside the handlers' transaction;
    returns how many were still ours (a message whose lease was lost is not)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([m.id for m in messages]),
            OutboxMessage.lease_owner == messages[0].lease_owner,
            OutboxMessage.done_at.is_(None),
        )
        .values(done_at=now(), lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


def renew_lease(message: OutboxMessage) -> bool:
    """Extend ``message``'s lease now, committed; False when another worker has taken it.

    For handlers with an effect outside the database that takes time (an SMTP send): a drain
    leases a whole batch at once, and with a slow server the lease of the last messages ran out
    while they waited, another worker leased and sent them too (duplicates without any crash,
    RELIABILITY.md R6). Renewed just before each effect, the two workers are exclusive again."""
    if message.id is None or message.lease_owner is None:  # not from a drain (a direct call)
        return True
    renewed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.lease_owner == message.lease_owner,
            OutboxMessage.done_at.is_(None),
        )
        .values(lease_until=now() + dt.timedelta(seconds=_lease_seconds()))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return renewed.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def _record_failure(message: OutboxMessage, handler: Handler, error: str) -> None:
    exhausted = message.attempts >= handler.max_attempts
    values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None, "lease_owner": None}
    if exhausted:
        values.update(done_at=now(), failed=True)
    else:
        backoff = handler.backoff_seconds * (2 ** max(0, message.attempts - 1))
        values["available_at"] = now() + dt.timedelta(seconds=min(backoff, 600))
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.lease_owner == message.lease_owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if exhausted and handler.on_exhausted is not None:
        handler.on_exhausted(message, error)
    db.session.commit()


def process(message: OutboxMessage) -> bool:
    """Run one claimed message's handler in its own transaction; True when it succeeded."""
    handler = handler_for(message.topic)
    try:
        handler.func(message)
        mark_done(message)
        db.session.commit()
        return True
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        db.session.rollback()
        log.warning(
            "outbox message failed",
            extra={
                "fields": {
                    "topic": message.topic,
                    "outbox_id": message.id,
                    "attempt": message.attempts,
                    "error": type(exc).__name__,
                }
            },
        )
        _record_failure(message, handler, f"{type(exc).__name__}: {exc}")
        return False


def process_together(messages: list[OutboxMessage], *, take_up: str | None = None) -> bool:
    """Run a chunk of one batched topic's messages in one transaction; False if any failed.

    With ``take_up`` (a topic), the messages of that topic the chunk emits run in the same
    transaction after it (:func:`_take_up`). On failure everything is rolled back (no message
    is marked done) and the caller runs the messages one by one with :func:`process`, which
    records each failure.
    """
    topic = messages[0].topic
    handler = handler_for(topic)
    kept = unit.of(db.session)
    try:
        defer_rows()
        _run_chunk(messages, handler, kept)
        if take_up is not None:
            _take_up(take_up, kept)
        write_deferred_rows()
        mark_done(*messages)  # one drain claimed them all: one lease owner
        db.session.commit()
        return True
    except Exception as exc:  # noqa: BLE001 - retried one by one, where failures are recorded
        db.session.rollback()
        log.info(
            "outbox chunk retried one by one",
            extra={"fields": {"topic": topic, "size": len(messages), "error": type(exc).__name__}},
        )
        return False
    finally:
        kept.chunk = None
        kept.deferred_rows = None


def _run_chunk(messages: list[OutboxMessage], handler: Handler, kept: unit.Unit) -> None:
    """Run a batched handler's chunk in the current transaction (rows deferred), unwritten."""
    chunk = kept.chunk = unit.Chunk()
    if handler.prefetch is not None:
        handler.prefetch(messages, chunk)
    with contextlib.nullcontext() if handler.autoflush else db.session.no_autoflush:
        for message in messages:
            handler.func(message)
        if handler.finish is not None:
            handler.finish(chunk)


def _take_up(topic: str, kept: unit.Unit) -> None:
    """Run now, in this transaction, the ready messages of ``topic`` the chunk just emitted.

    They are still deferred rows (:func:`emit` in a chunk): taken out, they are never written,
    as a message claimed and done within the transaction that emits it would leave nothing
    behind. If anything fails, the whole transaction rolls back with the chunk that emitted
    them, and its fallback one by one emits them as rows again.
    """
    deferred = kept.deferred_rows or {}
    rows = deferred.get(OutboxMessage, [])
    at = now()
    taken = [row for row in rows if row["topic"] == topic and row["available_at"] <= at]
    if not taken:
        return
    chosen = {id(row) for row in taken}
    left = deferred[OutboxMessage] = [row for row in rows if id(row) not in chosen]
    if not any(row["topic"] == topic for row in left):
        kept.outbox_topics.discard(topic)  # nothing of it left to wake a worker for
    _run_chunk([OutboxMessage(**row) for row in taken], handler_for(topic), kept)


def drain(topic: str, *, max_rounds: int = 50, follow: bool = False) -> int:
    """Process every ready message of ``topic`` (the RQ job, and the embedded thread's work);
    with ``follow``, then the topic its handler names as ``then`` (the RQ job does), unless its
    handler takes them up (``take_up``: each chunk ran its own) and no chunk fell back."""
    owner = uuid.uuid4().hex
    handler = handler_for(topic)
    transport = _transport()
    if transport is not None:
        transport.woken(topic)
    then = handler.then if follow else None
    take_up = then if handler.take_up else None
    done = 0
    emitted = False  # whether a batch left ``then`` messages behind to follow (not taken up)
    for _ in range(max_rounds):
        batch = _claim(topic, owner, BATCH_SIZE)
        if not batch:
            break
        # A short batch took every ready message: whatever is committed after this claim has
        # its own wake-up (the pending mark was cleared above, before the claim), and what comes
        # due later (a back-off, a lease that expires) is the sweeper's. No empty re-claim: at a
        # light load it was a round trip and a commit per step of each request.
        last_round = len(batch) < BATCH_SIZE
        # A light load's batch (a request or a few): this job goes on with ``then`` at once, and
        # what the batch emits there is its own; a wake-up would have another worker's job (RQ's
        # pick-up, a claim) race it for them. A larger batch's are woken as before, so that the
        # other worker applies them while this one goes on. A worker killed in between leaves
        # them to the sweeper, like any lost wake-up.
        followed = _FOLLOWED.set(then if len(batch) <= FOLLOW_AT_MOST else None)
        try:
            ran, one_by_one = _run_batch(batch, handler, take_up)
        finally:
            _FOLLOWED.reset(followed)
        done += ran
        emitted = emitted or one_by_one
        if last_round:
            break
    if then is not None and (take_up is None or emitted):
        done += drain(then, max_rounds=max_rounds, follow=True)
    return done


def _run_batch(
    batch: list[OutboxMessage], handler: Handler, take_up: str | None = None
) -> tuple[int, bool]:
    """Run one claimed batch: by chunks for a batched topic, else message by message (with
    ``take_up``, a chunk runs the messages it emits to that topic, :func:`process_together`).
    Returns how many ran, and whether any ran one by one."""
    done = 0
    one_by_one = False
    # A message claimed more often than its handler allows was interrupted every time
    # (its worker killed before any failure could be recorded): fail it, never run it again.
    for message in [m for m in batch if m.attempts > handler.max_attempts]:
        _record_failure(
            message,
            handler,
            f"Abandonné : {handler.max_attempts} tentatives interrompues sans résultat.",
        )
    batch = [m for m in batch if m.attempts <= handler.max_attempts]
    for start in range(0, len(batch), CHUNK_SIZE):
        chunk = batch[start : start + CHUNK_SIZE]
        if handler.batched and process_together(chunk, take_up=take_up):
            done += len(chunk)
            continue
        one_by_one = True
        for message in chunk:
            if process(message):
                done += 1
    return done, one_by_one


def pending_topics() -> list[str]:
    """Topics with messages ready now (including ones whose lease expired)."""
    at = now()
    rows = db.session.scalars(
        select(OutboxMessage.topic)
        .where(
            OutboxMessage.done_at.is_(None),
            OutboxMessage.available_at <= at,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < at),
        )
        .distinct()
    ).all()
    db.session.rollback()
    return sorted(rows)


def sweep() -> list[str]:
    """Republish every topic that has ready work; returns the topics republished."""
    topics = pending_topics()
    transport = _transport()
    if topics and transport is not None:
        transport.publish(topics)
    return topics


def run_until_idle(max_loops: int = 100) -> int:
    """Drain every topic until nothing is ready (tests, demo, the operator's ``flush`` command)."""
    total = 0
    for _ in range(max_loops):
        topics = pending_topics()
        if not topics:
            break
        for topic in topics:
            total += drain(topic)
    return total


def backlog() -> dict[str, int]:
    """Count of undone messages per topic (for /metrics and /readyz)."""
    rows = db.session.execute(
        select(OutboxMessage.topic, func.count())
        .where(OutboxMessage.done_at.is_(None))
        .group_by(OutboxMessage.topic)
    ).all()
    return dict(rows)  # type: ignore[arg-type]
