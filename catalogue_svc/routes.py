"""Stacks of route decorators written once: ``compose`` applies several as one, ``account_read``
is a GET for a logged-in account (a query, one answer) and ``profile_read`` one of a profile's page
(the same, with what its 403 and 404 mean)."""

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


def account_read(blp: Blueprint, rule: str, *, args: Any, answer: Any) -> Callable[[View], View]:
    """``GET rule`` for a logged-in account (``READ``): ``args`` read from the query, ``answer``
    documented as the 200."""
    return compose(
        blp.route(rule),
        account_required,
        blp.doc(security=READ),
        blp.arguments(args, location="query"),
        blp.answers(200, answer),
    )


def profile_read(
    blp: Blueprint,
    rule: str,
    *,
    args: Any,
    answer: Any,
    forbidden: str,
    not_found: str,
) -> Callable[[View], View]:
    """:func:`account_read`, and what a 403 and a 404 mean there."""
    return compose(
        account_read(blp, rule, args=args, answer=answer),
        blp.alt_response(403, description=forbidden),
        blp.alt_response(404, description=not_found),
    )
