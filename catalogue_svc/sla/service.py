"""Pauses of the service-level clock: an agent's question stops it, the submitter's answer
moves ``due_at`` by the business time spent waiting and starts it again.

Each pause and resume is a history row of the request (:func:`requests.lifecycle.record`) in the
comment's transaction. Both are conditional updates: a second question while waiting, or two
answers at once, change nothing twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from workflows import State

from ..agents.claims import claim_is_live
from ..clock import now
from ..db import compare_and_set, db
from ..errors import ValidationFailed
from ..notifications.templates import french_datetime
from ..requests import lifecycle
from ..requests.models import Request
from . import clock, escalation

NOT_AN_AGENT = "Seul un agent peut demander une réponse au demandeur."
INTERNAL = (
    "Un commentaire interne n'est pas montré au demandeur : il ne peut pas lui demander de réponse."
)
NOT_IN_QUEUE = "Seule une demande en validation par un agent peut attendre la réponse du demandeur."
NOT_CLAIMED = "Seul l'agent qui a pris la demande en charge peut demander une réponse au demandeur."


def check_question(request: Request, *, is_agent: bool, internal: bool, account_id: int) -> None:
    """Refuse a comment that asks for an answer when it may not (422 naming ``asks_answer``)."""
    problem = None
    if not is_agent:
        problem = NOT_AN_AGENT
    elif internal:
        problem = INTERNAL
    elif request.state != State.AGENT_VALIDATION:
        problem = NOT_IN_QUEUE
    elif not _claimed_by(request, account_id):
        problem = NOT_CLAIMED
    if problem is not None:
        raise ValidationFailed(problem, errors={"asks_answer": [problem]})


def _claimed_by(request: Request, account_id: int) -> bool:
    return request.claimed_by_account_id == account_id and claim_is_live(request)


def _moved(
    request: Request,
    values: dict[str, dt.datetime | None],
    trigger: str,
    actor: lifecycle.Actor,
    reason: str,
) -> None:
    """The clock's columns as the UPDATE left them (``values``, without a reload), and the
    history line that says why."""
    for column, value in values.items():
        set_committed_value(request, column, value)
    lifecycle.record(request, trigger, actor, reason=reason)


def pause(request: Request, actor: lifecycle.Actor) -> None:
    """An agent's question: the clock waits for the submitter (no-op if it already waits)."""
    at = now()
    moved = db.session.execute(
        update(Request)
        .where(
            Request.id == request.id,
            Request.state == State.AGENT_VALIDATION,
            Request.due_at.is_not(None),
            Request.sla_paused_at.is_(None),
            Request.sla_stopped_at.is_(None),
        )
        .values(sla_paused_at=at)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return
    _moved(
        request,
        {"sla_paused_at": at},
        clock.PAUSE,
        actor,
        f"Délai de validation suspendu le {french_datetime(at)} : "
        "en attente de la réponse du demandeur.",
    )


def resume(request: Request, actor: lifecycle.Actor) -> None:
    """The submitter's answer: ``due_at`` moves by the business time waited; the clock runs."""
    paused_at = request.sla_paused_at
    if paused_at is None or request.due_at is None or request.state != State.AGENT_VALIDATION:
        return
    at = now()
    due = clock.resumed_due(request.due_at, paused_at, at)
    values = {"sla_paused_at": None, "due_at": due}
    if not compare_and_set(Request, request.id, {"sla_paused_at": paused_at}, values):
        return
    escalation.schedule(request)
    waited = clock.calendar().minutes_between(paused_at, at)
    _moved(
        request,
        values,
        clock.RESUME,
        actor,
        f"Délai de validation repris après la réponse du demandeur "
        f"({clock.calendar().duration_text(waited)} d'attente) : "
        f"nouvelle échéance le {french_datetime(due)}.",
    )


def on_comment(
    request: Request, actor: lifecycle.Actor, *, is_agent: bool, asks_answer: bool
) -> None:
    """What a comment does to the clock: a question pauses it, the submitter's answer resumes."""
    if is_agent and asks_answer:
        pause(request, actor)
    elif not is_agent:
        resume(request, actor)


def paused_minutes(request: Request, at: dt.datetime) -> int:
    """The business minutes the request has been waiting for the submitter (0: not waiting)."""
    if request.sla_paused_at is None:
        return 0
    return clock.calendar().minutes_between(request.sla_paused_at, at)
