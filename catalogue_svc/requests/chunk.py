"""What a chunk of pipeline messages shares while it runs (``queue.in_chunk``).

The check and the apply run up to 50 messages in one transaction (``queue.Handler(batched=True)``);
:class:`ChunkState` holds what those messages share, and :func:`finish` writes the requests'
deferred compare-and-sets at the chunk's end. Dropped when the chunk ends (``queue`` clears the
session's keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forms.profile import ProfileView

from ..access import ProfileAccess
from ..db import db
from ..errors import Conflict
from .conflicts import PendingConflicts
from .sql import deferred_cas_statement

_KEY = "chunk_state"


@dataclass
class ChunkState:
    """What a chunk of pipeline messages shares (``queue.in_chunk``), dropped when it ends.

    * The requests' compare-and-sets, deferred: one statement for the chunk at its end (several
      transitions of one request merge into one). If any row moved meanwhile, the chunk fails
      and each message runs again on its own, where the compare-and-set is immediate.
    * The profile views and access checks the chunk's applies read. A view stays valid for the
      next request as long as the applied changesets only created new people with their new
      relations and subjects (``ApplyContext.touches_existing`` false): nothing a view holds
      changed. Anything else empties the caches, and the next read sees the chunk's own writes.
    """

    cas: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    views: dict[tuple[Any, ...], ProfileView] = field(default_factory=dict)
    access: dict[tuple[int, int], ProfileAccess | None] = field(default_factory=dict)
    # The check's reads, made for the whole chunk before its first check.
    people: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    candidates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    conflicts: PendingConflicts | None = None
    members: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)

    def defer_cas(self, request_id: int, expected: dict[str, Any], changes: dict[str, Any]) -> None:
        if request_id in self.cas:
            self.cas[request_id][1].update(changes)  # expected stays the first transition's
        else:
            self.cas[request_id] = (dict(expected), dict(changes))

    def forget_reads(self) -> None:
        self.views.clear()
        self.access.clear()


def current() -> ChunkState:
    """The running chunk's state (made on first use)."""
    state = db.session.info.get(_KEY)
    if state is None:
        state = db.session.info[_KEY] = ChunkState()
    return state  # type: ignore[no-any-return]


def finish() -> None:
    """Write the chunk's deferred compare-and-sets: one statement per set of columns."""
    state = db.session.info.get(_KEY)
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
