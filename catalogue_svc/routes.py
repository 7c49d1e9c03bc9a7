"""Stacks of route decorators written once: ``compose`` applies several as one, and
``profile_read`` is the GET of a profile's page (logged in, a query, one answer, 403 and 404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .accounts.sessions import account_required
from .extensions import READ, Blueprint

View = TypeVar("View", bound=Callable[..., Any])


def compose(*decorators: Callable[[Any], Any]) -> Callable[[View], View]:
    """One decorator doing what ``decorators`` do stacked above a view, the first on top."""

    def apply(view: View) -> View:
        for decorate in reversed(decorators):
            view = decorate(view)
        return view

    return apply


def profile_read(
    blp: Blueprint,
    rule: str,
    *,
    args: Any,
    answer: Any,
    forbidden: str,
    not_found: str,
) -> Callable[[View], View]:
    """``GET rule`` for a logged-in account (``READ``): ``args`` read from the query, ``answer``
    documented as the 200, and what a 403 and a 404 mean there."""
    return compose(
        blp.route(rule),
        account_required,
        blp.doc(security=READ),
        blp.arguments(args, location="query"),
        blp.answers(200, answer),
        blp.alt_response(403, description=forbidden),
        blp.alt_response(404, description=not_found),
    )
