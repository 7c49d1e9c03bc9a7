"""Whether an agent's claim on a request still holds: taken, not lapsed after
``CATALOGUE_CLAIM_LAPSE``, and not held past ``CATALOGUE_OVERDUE_CLAIM_LAPSE`` on an overdue
request; in Python (:func:`claim_is_live`) and as SQL (:func:`live_claim`). Apart from the agents'
service so that the service-level clock (``sla.service``) can ask without importing it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import func

from workflows import State

from ..clock import now
from ..requests.models import Request
from ..sla import clock as sla_clock


def _lapse() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config["CATALOGUE_SETTINGS"].claim_lapse_seconds)


def _overdue_lapse() -> dt.timedelta:
    return dt.timedelta(seconds=sla_clock.settings().overdue_claim_lapse_seconds)


def claim_is_live(request: Request) -> bool:
    """Whether the request's claim holds: taken, not lapsed, and not held for longer than
    ``CATALOGUE_OVERDUE_CLAIM_LAPSE`` while its request is overdue (an absent agent's claim goes
    back to the queue; a claim taken on an overdue request gets that long too)."""
    at = now()
    overdue_lapsed = (
        sla_clock.is_overdue(request, at)
        and request.due_at is not None
        and request.claimed_at is not None
        and max(request.due_at, request.claimed_at) + _overdue_lapse() <= at
    )
    return bool(
        request.claimed_by_account_id
        and request.claimed_at
        and request.claimed_at + _lapse() > at
        and not overdue_lapsed
    )


def live_claim(at: dt.datetime) -> Any:
    """SQL of :func:`claim_is_live`."""
    overdue_lapsed = (
        (Request.state == State.AGENT_VALIDATION)
        & Request.sla_paused_at.is_(None)
        & Request.sla_stopped_at.is_(None)
        & (Request.due_at <= at - _overdue_lapse())
        & (Request.claimed_at <= at - _overdue_lapse())
    )
    return (
        Request.claimed_by_account_id.is_not(None)
        & (Request.claimed_at > at - _lapse())
        & ~func.coalesce(overdue_lapsed, False)
    )
