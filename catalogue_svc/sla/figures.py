"""The validation queue's figures: for supervisors (``GET /api/agent/stats``) and ``/metrics``.

Read from the requests' clocks (``due_at``, ``sla_stopped_at``): a decision is within target when
it came at or before the due time, which pauses have already moved; the business time a decision
took is the target plus its lateness, or minus what was left, so waiting for the submitter is
never counted.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from sqlalchemy import func, select

from forms import registry
from workflows import DECIDED_STATES, State

from ..db import db
from ..requests.models import Request, RequestEvent
from . import clock

WINDOW_DAYS = 30
# Leaving agent_validation by an agent's decision (not the submitter's cancellation).
DECIDED = DECIDED_STATES


def _decided() -> Any:
    return (Request.sla_stopped_at.is_not(None)) & Request.state.in_(DECIDED)


def _overdue(at: dt.datetime) -> Any:
    return (
        (Request.state == State.AGENT_VALIDATION)
        & (Request.due_at <= at)
        & Request.sla_paused_at.is_(None)
        & Request.sla_stopped_at.is_(None)
    )


def queue_now(at: dt.datetime) -> dict[str, Any]:
    """The queue as it stands: depth by state, overdue, waiting for the submitter, oldest age."""
    depth = dict(
        db.session.execute(
            select(Request.state, func.count())
            .where(Request.state.in_([State.AGENT_VALIDATION, State.FAILED]))
            .group_by(Request.state)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(Request.state_changed_at)).where(
            Request.state.in_([State.AGENT_VALIDATION, State.FAILED])
        )
    )
    count = select(func.count()).select_from(Request)
    return {
        "agent_validation": depth.get(State.AGENT_VALIDATION.value, 0),
        "failed": depth.get(State.FAILED.value, 0),
        "overdue": db.session.scalar(count.where(_overdue(at))) or 0,
        "awaiting_answer": db.session.scalar(
            count.where(Request.state == State.AGENT_VALIDATION, Request.sla_paused_at.is_not(None))
        )
        or 0,
        "oldest_age_seconds": (
            None if oldest is None else int((at - _utc(oldest)).total_seconds())
        ),
    }


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _used_minutes(request: Request) -> int:
    """The business minutes the decision took, pauses left out."""
    assert request.due_at is not None and request.sla_stopped_at is not None
    cal = clock.calendar()
    target = request.sla_target_minutes or 0
    if request.sla_stopped_at <= request.due_at:
        return target - cal.minutes_between(request.sla_stopped_at, request.due_at)
    return target + cal.minutes_between(request.due_at, request.sla_stopped_at)


def _within(request: Request) -> bool:
    """Decided at or before its due time (which pauses moved)."""
    stopped, due = request.sla_stopped_at, request.due_at
    return stopped is not None and due is not None and stopped <= due


def by_form(at: dt.datetime) -> list[dict[str, Any]]:
    """Each form's last 30 days: received in the queue, decided, within target, median
    business hours to decision."""
    since = at - dt.timedelta(days=WINDOW_DAYS)
    received = dict(
        db.session.execute(
            select(Request.form_slug, func.count(func.distinct(Request.id)))
            .join(RequestEvent, RequestEvent.request_id == Request.id)
            .where(RequestEvent.trigger == clock.START, RequestEvent.at >= since)
            .group_by(Request.form_slug)
        ).all()
    )
    decided: dict[str, list[Request]] = {}
    for request in db.session.scalars(
        select(Request).where(_decided(), Request.sla_stopped_at >= since)
    ):
        decided.setdefault(request.form_slug, []).append(request)
    rows = []
    for slug in sorted(set(received) | set(decided)):
        done = [r for r in decided.get(slug, []) if r.due_at is not None]
        form = registry.get(slug)
        used = [_used_minutes(r) for r in done]
        rows.append(
            {
                "form": slug,
                "title": form.title_fr if form else slug,
                "received": received.get(slug, 0),
                "decided": len(decided.get(slug, [])),
                "within_target": sum(1 for r in done if _within(r)),
                "median_business_hours": (round(statistics.median(used) / 60, 2) if used else None),
            }
        )
    return rows


def stats(at: dt.datetime) -> dict[str, Any]:
    """What a supervisor reads: the queue now and the last 30 days by form."""
    return {
        "since": (at - dt.timedelta(days=WINDOW_DAYS)).isoformat(),
        "queue": queue_now(at),
        "forms": by_form(at),
    }


def metric_lines(at: dt.datetime) -> list[str]:
    """The queue's service-level lines of ``/metrics``."""
    queue = queue_now(at)
    decided = dict(
        db.session.execute(
            select(Request.sla_stopped_at <= Request.due_at, func.count())
            .where(_decided(), Request.due_at.is_not(None))
            .group_by(Request.sla_stopped_at <= Request.due_at)
        ).all()
    )
    return [
        "# HELP catalogue_validation_overdue Requests in agent_validation past their due time.",
        "# TYPE catalogue_validation_overdue gauge",
        f"catalogue_validation_overdue {queue['overdue']}",
        "# HELP catalogue_validation_awaiting_answer Requests waiting for the submitter's answer.",
        "# TYPE catalogue_validation_awaiting_answer gauge",
        f"catalogue_validation_awaiting_answer {queue['awaiting_answer']}",
        "# HELP catalogue_validation_decisions_total Agents' decisions, within target or not.",
        "# TYPE catalogue_validation_decisions_total counter",
        f'catalogue_validation_decisions_total{{within_target="true"}} {decided.get(True, 0)}',
        f'catalogue_validation_decisions_total{{within_target="false"}} {decided.get(False, 0)}',
    ]
