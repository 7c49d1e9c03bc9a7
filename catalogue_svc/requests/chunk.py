"""What the pipeline's messages share while they run: one chunk, or one message alone.

The check and the apply run up to 50 messages in one transaction (``queue.Handler(batched=True)``);
:class:`ChunkState` holds what those messages share, and :func:`finish` writes the requests'
deferred compare-and-sets at the chunk's end. A message running alone (a chunk's retry one by
one, or the web's agents through the lifecycle) gets a state of its own: caches that hold for it
alone, compare-and-sets at once, its writes in a savepoint. The handlers ask the state what to
do; they never ask whether they run in a chunk. Dropped when the chunk ends (``unit.Chunk``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from forms.profile import ProfileView

from .. import queue, unit
from ..access import ProfileAccess
from ..db import begin_writing, compare_and_set, db
from ..errors import Conflict
from .conflicts import PendingConflicts
from .models import Request
from .sql import deferred_cas_statement


@dataclass
class ChunkState:
    """What a chunk of pipeline messages shares (or one message alone, ``together`` false).

    * The requests' compare-and-sets, deferred: one statement for the chunk at its end (several
      transitions of one request merge into one). If any row moved meanwhile, the chunk fails
      and each message runs again on its own, where the compare-and-set is immediate.
    * The profile views and access checks the chunk's applies read. A view stays valid for the
      next request as long as the applied changesets only created new people with their new
      relations and subjects (``ApplyContext.touches_existing`` false): nothing a view holds
      changed. Anything else empties the caches, and the next read sees the chunk's own writes.
    """

    # Several messages in one transaction: a failure anywhere fails them all (they then run
    # again one by one). Alone, a failing request's writes are undone alone (a savepoint).
    together: bool = True
    cas: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    views: dict[tuple[Any, ...], ProfileView] = field(default_factory=dict)
    access: dict[tuple[int, int], ProfileAccess | None] = field(default_factory=dict)
    # The check's reads, made for the whole chunk before its first check.
    people: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    candidates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    conflicts: PendingConflicts | None = None
    members: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)  # by request

    def compare_and_set(
        self, request_id: int, expected: dict[str, Any], changes: dict[str, Any]
    ) -> bool:
        """Move the request's row if it is still as ``expected``: at once alone; together, at
        the chunk's end (:func:`finish`, which fails the chunk if any row moved meanwhile)."""
        if not self.together:
            return compare_and_set(Request, request_id, expected, changes)
        if request_id in self.cas:
            self.cas[request_id][1].update(changes)  # expected stays the first transition's
        else:
            self.cas[request_id] = (dict(expected), dict(changes))
        return True

    def attempt(
        self, work: Callable[[], None], failures: tuple[type[Exception], ...]
    ) -> Exception | None:
        """Run ``work``; a failure among ``failures`` is returned with the work's writes undone
        (a savepoint) when alone, and fails the whole chunk when together (it propagates)."""
        if self.together:
            work()
            return None
        begin_writing()
        savepoint = db.session.begin_nested()
        try:
            work()
            savepoint.commit()
        except failures as exc:
            savepoint.rollback()
            return exc
        return None

    def forget_reads(self) -> None:
        self.views.clear()
        self.access.clear()


def current() -> ChunkState:
    """What the running chunk's messages share; outside a chunk, a state for one message alone."""
    running = queue.running_chunk()
    return running.state(ChunkState) if running is not None else ChunkState(together=False)


def finish(running: unit.Chunk) -> None:
    """Write the chunk's deferred compare-and-sets: one statement per set of columns."""
    state = running.states.get(ChunkState)
    if state is None or not state.cas:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for request_id, (expected, changes) in state.cas.items():
        params = {"_id": request_id, "_state": expected["state"], "_version": expected["version"]}
        params.update({f"v_{key}": value for key, value in changes.items()})
        groups.setdefault(tuple(sorted(changes)), []).append(params)
    state.cas.clear()
    for columns, rows in groups.items():
        changed = db.session.execute(deferred_cas_statement(columns), rows).rowcount  # type: ignore[attr-defined]
        if changed != len(rows):
            raise Conflict("Une demande du lot a été modifiée entre-temps.")
