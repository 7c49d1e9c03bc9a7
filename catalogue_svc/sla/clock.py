"""Each request's service-level clock: what entering and leaving ``agent_validation`` does to it.

The due time is data on the request (``due_at``), written with the transition that starts it:
it survives restarts, and the queue orders by it with an index. The lifecycle
(:func:`catalogue_svc.requests.lifecycle.transition`) asks :func:`on_transition` for the columns
to write with its compare-and-set and the history row to add; pauses and resumes
(:mod:`.service`) move ``due_at`` by the business time spent waiting for the submitter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from workflows import State
from workflows.business_time import BusinessCalendar

from ..notifications.templates import french_datetime
from .settings import SlaSettings

if TYPE_CHECKING:
    from ..requests.models import Request

START, PAUSE, RESUME, STOP = "clock_start", "clock_pause", "clock_resume", "clock_stop"


def settings() -> SlaSettings:
    """The service-level settings of the running app."""
    sla: SlaSettings = current_app.config["CATALOGUE_SETTINGS"].sla
    return sla


def calendar() -> BusinessCalendar:
    """The business calendar of the running app."""
    return settings().calendar


@dataclass(frozen=True)
class ClockChange:
    """The columns a move writes on the request, and the sentence of its history row."""

    values: dict[str, Any]
    trigger: str
    reason: str


def on_transition(request: Request, target: State, at: dt.datetime) -> ClockChange | None:
    """Entering ``agent_validation`` starts the clock; leaving it (a decision, a cancellation)
    stops it. Anything else leaves it alone."""
    if target is State.AGENT_VALIDATION and request.state != State.AGENT_VALIDATION:
        return start(request.form_slug, at)
    if request.state == State.AGENT_VALIDATION and target is not State.AGENT_VALIDATION:
        return stop(request, at)
    return None


def start(form_slug: str, at: dt.datetime) -> ClockChange:
    """The clock of a request entering the queue: its target by form, and its due time."""
    cal = calendar()
    minutes = settings().target_minutes(form_slug)
    due = cal.add_minutes(at, minutes)
    return ClockChange(
        {
            "due_at": due,
            "sla_target_minutes": minutes,
            "sla_paused_at": None,
            "sla_stopped_at": None,
        },
        START,
        f"Délai de validation : {cal.duration_text(minutes)}, échéance le {french_datetime(due)}.",
    )


def stop(request: Request, at: dt.datetime) -> ClockChange:
    """The clock of a request leaving the queue: stopped at ``at``; a pause in progress ends
    (its time is not held against the agents)."""
    due = request.due_at
    values: dict[str, Any] = {"sla_stopped_at": at, "sla_paused_at": None}
    if due is None:  # entered the queue before the clock existed
        return ClockChange(values, STOP, "Délai de validation arrêté.")
    if request.sla_paused_at is not None:
        due = resumed_due(due, request.sla_paused_at, at)
        values["due_at"] = due
    cal = calendar()
    if at <= due:
        reason = "Délai de validation arrêté : décision dans le délai."
    else:
        late = cal.duration_text(cal.minutes_between(due, at))
        reason = f"Délai de validation arrêté : décision en retard de {late}."
    return ClockChange(values, STOP, reason)


def resumed_due(due: dt.datetime, paused_at: dt.datetime, at: dt.datetime) -> dt.datetime:
    """``due`` moved later by the business time between ``paused_at`` and ``at``."""
    cal = calendar()
    return cal.add(due, cal.between(paused_at, at))


def is_overdue(request: Request, at: dt.datetime) -> bool:
    """A request of the queue past its due time, its clock running."""
    return (
        request.due_at is not None
        and request.sla_paused_at is None
        and request.sla_stopped_at is None
        and request.due_at <= at
    )


def expected_decision(request: Request) -> dict[str, Any]:
    """What the submitter is told of a request waiting for an agent: the day of its due time
    (``Décision prévue au plus tard le 9 décembre 2026``), or since when it waits for them."""
    from ..notifications.templates import french_date, local_date

    body: dict[str, Any] = {
        "expected_decision": None,
        "expected_decision_text": None,
        "awaiting_answer_since": None,
    }
    if request.state != State.AGENT_VALIDATION or request.due_at is None:
        return body
    if request.sla_paused_at is not None:
        body["awaiting_answer_since"] = request.sla_paused_at.isoformat()
        body["expected_decision_text"] = (
            f"En attente de votre réponse depuis le {french_datetime(request.sla_paused_at)} : "
            "la date de décision sera fixée à votre réponse."
        )
        return body
    body["expected_decision"] = local_date(request.due_at).isoformat()
    body["expected_decision_text"] = (
        f"Décision prévue au plus tard le {french_date(request.due_at)}"
    )
    return body
