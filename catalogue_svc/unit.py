"""What one transaction keeps beside its session: one typed object instead of string keys.

A session's ``info`` holds a single :class:`Unit` (:func:`of`); each part says who fills it and
when it is dropped:

* ``reserved_ids`` (``db.reserve_id``) and ``subjects`` (``profiles.snapshot``): the whole
  transaction, dropped when it ends;
* ``deferred_rows`` (``db.defer_rows``): append-only rows kept for one statement per table,
  written before the commit, dropped on rollback;
* ``outbox_topics`` (``queue.emit``): the topics to wake up once the commit is done;
* ``chunk``: while a chunk of one batched topic's messages runs in one transaction
  (``queue.process_together``), what its messages share. Domain code asks the chunk for what it
  needs (a topic's shared :meth:`Chunk.state`), it never asks whether it runs in one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

T = TypeVar("T")

_KEY = "catalogue_unit"


@dataclass
class Chunk:
    """A chunk of one batched topic's messages running in one transaction."""

    # Rows every message reads (the chunk's requests, the firm…), held until the chunk ends:
    # the identity map only keeps weak references.
    prefetched: list[Any] = field(default_factory=list)
    keep_loaded: list[Any] = field(default_factory=list)
    # Each topic's own shared state, by its class (``requests.chunk.ChunkState``).
    states: dict[type, Any] = field(default_factory=dict)

    def state(self, kind: Callable[[], T]) -> T:
        """The chunk's instance of ``kind`` (made on first use)."""
        found = self.states.get(kind)  # type: ignore[call-overload]
        if found is None:
            found = self.states[kind] = kind()  # type: ignore[index]
        return found  # type: ignore[no-any-return]


@dataclass
class Unit:
    """What the current transaction keeps beside its session (see the module's docstring)."""

    reserved_ids: dict[str, list[int]] = field(default_factory=dict)
    subjects: list[Any] | None = None
    deferred_rows: dict[Any, list[dict[str, Any]]] | None = None
    outbox_topics: set[str] = field(default_factory=set)
    chunk: Chunk | None = None


def of(session: Session | scoped_session[Any]) -> Unit:
    """The unit of ``session`` (``db.session``: the web request's or the job's), made on first
    use."""
    info = session.info
    unit = info.get(_KEY)
    if unit is None:
        unit = info[_KEY] = Unit()
    return unit  # type: ignore[no-any-return]


def peek(session: Session) -> Unit | None:
    """The unit of ``session`` if it has one (session events must not create one)."""
    return session.info.get(_KEY)  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session: Session, transaction: SessionTransaction) -> None:
    kept = peek(session)
    if kept is not None and transaction.parent is None:  # the whole transaction, not a savepoint
        kept.reserved_ids.clear()
        kept.subjects = None


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    kept = peek(session)
    if kept is not None:
        kept.deferred_rows = None
        kept.outbox_topics.clear()
