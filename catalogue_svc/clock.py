"""The service's notion of now, injectable so that tests can move time."""

from __future__ import annotations

import datetime as dt
import threading


def utcnow() -> dt.datetime:
    """The wall clock, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Clock:
    """A clock that reads the wall clock plus an offset that tests (or a demo) can advance."""

    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._frozen: dt.datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The current time as the service sees it (UTC, aware)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return utcnow() + self._offset

    def advance(self, delta: dt.timedelta | float) -> None:
        """Move time forward by ``delta`` (a timedelta or seconds)."""
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def freeze(self, at: dt.datetime | None = None) -> None:
        """Stop time at ``at`` (default: now)."""
        with self._lock:
            self._frozen = at or (utcnow() + self._offset)

    def reset(self) -> None:
        """Back to the wall clock."""
        with self._lock:
            self._offset = dt.timedelta(0)
            self._frozen = None


clock = Clock()


def now() -> dt.datetime:
    """Shortcut for the service clock's now."""
    return clock.now()
