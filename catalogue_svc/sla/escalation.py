"""Escalation: the queue's supervisors are told when a request has used a share of its target
(``CATALOGUE_ESCALATION_SHARE``, default 75 %) and again when it is overdue, once each.

No timer: when the clock starts or resumes, an outbox message is scheduled (``available_at``)
for each threshold's instant. Its handler re-reads the request: decided or waiting for the
submitter, nothing; the threshold not reached yet (the due time moved), a message for the new
instant; reached, one email per supervisor. Each email's dedupe key names the request, the
threshold and the supervisor (unique in ``emails``), so a redelivered message, a worker killed
after its commit, or two messages for one threshold never send a second one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from forms import registry
from workflows import State

from .. import queue
from ..clock import now
from ..db import db
from . import (
    clock,
    templates,  # noqa: F401 - registers the email
)

if TYPE_CHECKING:
    from flask import Flask

    from ..requests.models import Request

TOPIC = "sla.escalate"
SHARE, OVERDUE = "share", "overdue"


def _keep_minutes(request: Request) -> int:
    """The business minutes left before the due time when the share threshold is crossed."""
    target = request.sla_target_minutes or 0
    return target - round(target * clock.settings().escalation_share / 100)


def _crossed(request: Request, threshold: str, at: dt.datetime) -> dt.datetime | None:
    """None when ``threshold`` is crossed at ``at``; else the instant it will be."""
    assert request.due_at is not None
    if threshold == OVERDUE:
        return None if at >= request.due_at else request.due_at
    cal = clock.calendar()
    wait = cal.minutes_between(at, request.due_at) - _keep_minutes(request)
    return None if wait <= 0 else cal.add_minutes(at, wait)


def schedule(request: Request) -> None:
    """Schedule the thresholds of a running clock (its start, or its resume)."""
    if request.due_at is None or request.sla_target_minutes is None:
        return
    at = now()
    for threshold in (SHARE, OVERDUE):
        _emit(request, threshold, _crossed(request, threshold, at) or at)


def _emit(request: Request, threshold: str, when: dt.datetime) -> None:
    """A threshold's message at ``when``, unless one is already there for that instant (the
    resume and a message that found the due time moved may both ask)."""
    key = f"escalate:{request.id}:{threshold}:{when.isoformat()}"
    if db.session.scalar(
        select(queue.OutboxMessage.id).where(queue.OutboxMessage.dedupe_key == key)
    ):
        return
    queue.emit(
        TOPIC,
        {"request_id": request.id, "threshold": threshold},
        dedupe_key=key,
        delay=max(0.0, (when - now()).total_seconds()),
    )


def run_escalation(message: queue.OutboxMessage) -> None:
    """A threshold's message: re-read the request, then email the supervisors (once each)."""
    from ..requests.models import Request

    request = db.session.get(Request, message.payload.get("request_id"))
    threshold = str(message.payload.get("threshold"))
    if (
        request is None
        or request.state != State.AGENT_VALIDATION
        or request.due_at is None
        or request.sla_paused_at is not None
        or request.sla_stopped_at is not None
    ):
        return  # decided, cancelled, or waiting for the submitter (the resume schedules again)
    later = _crossed(request, threshold, now())
    if later is not None:
        _emit(request, threshold, later)
        return
    _email_supervisors(request, threshold)


def _email_supervisors(request: Request, threshold: str) -> None:
    from ..accounts.models import Account
    from ..agents.models import Supervisor
    from ..notifications.models import Email
    from ..notifications.service import queue_email
    from ..profiles.models import Organisation

    supervisors = db.session.scalars(
        select(Account).join(Supervisor, Supervisor.account_id == Account.id).order_by(Account.id)
    ).all()
    organisation = db.session.get(Organisation, request.organisation_id)
    claimer = (
        db.session.get(Account, request.claimed_by_account_id)
        if request.claimed_by_account_id
        else None
    )
    form = registry.get(request.form_slug)
    cal = clock.calendar()
    share = clock.settings().escalation_share
    if threshold == OVERDUE:
        late = cal.duration_text(cal.minutes_between(request.due_at, now()))  # type: ignore[arg-type]
        headline, headline_en = "en retard", "overdue"
        situation = f"Son échéance est dépassée (en retard de {late})."
        situation_en = "Its due time has passed."
    else:
        left = cal.duration_text(cal.minutes_between(now(), request.due_at))  # type: ignore[arg-type]
        headline, headline_en = f"{share} % du délai écoulé", f"{share}% of its target used"
        situation = f"Elle a utilisé {share} % de son délai : il reste {left}."
        situation_en = f"It has used {share}% of its target."
    for supervisor in supervisors:
        key = f"escalation:{request.id}:{threshold}:{supervisor.id}"
        if db.session.scalar(select(Email.id).where(Email.dedupe_key == key)) is not None:
            continue
        queue_email(
            to=supervisor.email,
            template="validation_escalation",
            language=supervisor.language or "fr",
            params={
                "first_name": supervisor.first_name,
                "number": request.number,
                "title": form.title_fr if form else request.form_slug,
                "organisation": organisation.name if organisation else "",
                "entered_at": request.state_changed_at,
                "due_at": request.due_at,
                "claimed_by": f"{claimer.first_name} {claimer.last_name}"
                if claimer
                else "personne",
                "headline": headline,
                "headline_en": headline_en,
                "situation": situation,
                "situation_en": situation_en,
            },
            account_id=supervisor.id,
            request_id=request.id,
            dedupe_key=key,
        )


def init_app(app: Flask) -> None:
    """Register the escalation topic (its effects are database rows: emails in the outbox)."""
    queue.register(app, TOPIC, queue.Handler(func=run_escalation))
