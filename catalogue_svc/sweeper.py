"""Periodic repair: domain-level checks for work stuck past its time limit."""

from __future__ import annotations

from collections.abc import Callable

_checks: list[Callable[[], object]] = []


def register(check: Callable[[], object]) -> None:
    """Add a periodic check (each domain registers its own)."""
    if check not in _checks:
        _checks.append(check)


def run() -> None:
    """Run every registered check once."""
    for check in list(_checks):
        check()
