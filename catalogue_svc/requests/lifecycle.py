"""The request lifecycle: every state change and history row, and what entering a state schedules.

A move is legal when ``workflows`` says so; it is then a compare-and-set on the request's state
and version with its history row, in the caller's transaction (deferred to the chunk's end in a
pipeline chunk, :mod:`.chunk`). This module is the only writer of history rows, and the only
place that schedules the next step: :data:`ON_ENTER` declares what entering each state does
(``agent_validation`` → the supervisors' reminders, ``approved`` → the apply, ``rejected`` → the
rejection email, ``applied`` → the applied emails),
whoever fired the trigger (the check, an agent, a retry). Effects are outbox rows: they are sent
after commit, never from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

import workflows
from workflows import State

from .. import audit, queue
from ..clock import now
from ..db import add_row
from ..errors import Conflict, Forbidden, ValidationFailed
from ..profiles.apply import ApplyContext
from ..sla import clock as sla_clock
from ..sla import escalation
from . import chunk, emails
from .models import Request, RequestEvent
from .topics import APPLY_TOPIC, CHECK_TOPIC

__all__ = ["APPLY_TOPIC", "CHECK_TOPIC", "SYSTEM", "SYSTEM_ACTOR", "Actor", "record", "transition"]
SYSTEM = "Système"


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger."""

    kind: str  # system | agent | submitter
    account_id: int | None = None
    name: str = SYSTEM


SYSTEM_ACTOR = Actor("system")


def propagation_delay() -> dt.timedelta:
    """How long an applied change takes to show in the portal's lists."""
    return dt.timedelta(seconds=current_app.config["CATALOGUE_SETTINGS"].propagation_delay)


def _schedule_apply(request: Request, applied: ApplyContext | None) -> None:
    """``approved``: the apply, once per approval (a retry approves again: a new version)."""
    queue.emit(
        APPLY_TOPIC,
        {"request_id": request.id},
        dedupe_key=f"apply:{request.id}:{request.version}",
    )


def _notify_rejected(request: Request, applied: ApplyContext | None) -> None:
    """``rejected``: the submitter's email, with the agent's reason."""
    emails.notify_rejected(request)


def _notify_applied(request: Request, applied: ApplyContext | None) -> None:
    """``applied``: the new members' credentials, the contacts' notices, the submitter's email."""
    assert applied is not None, "entering applied needs the apply's context"
    emails.queue_apply_emails(request, applied)


def _schedule_escalations(request: Request, applied: ApplyContext | None) -> None:
    """``agent_validation``: the supervisors' reminders at the target's share and when overdue."""
    escalation.schedule(request)


Effect = Callable[[Request, ApplyContext | None], None]
ON_ENTER: Mapping[State, Effect] = MappingProxyType(
    {
        State.AGENT_VALIDATION: _schedule_escalations,
        State.APPROVED: _schedule_apply,
        State.REJECTED: _notify_rejected,
        State.APPLIED: _notify_applied,
    }
)


def transition(
    request: Request,
    trigger: str,
    actor: Actor,
    *,
    reason: str | None = None,
    needs_validation: bool | None = None,
    values: dict[str, Any] | None = None,
    applied: ApplyContext | None = None,
) -> Request:
    """Fire ``trigger``: legal move (workflows), CAS on state and version, history row, then
    what entering the new state schedules (:data:`ON_ENTER`; ``applied``: the apply's context,
    for the emails of ``applied``)."""
    ctx = workflows.Context(actor_kind=actor.kind, reason=reason, needs_validation=needs_validation)
    try:
        target = workflows.next_state(request.state, trigger, ctx)
    except workflows.IllegalTransition as exc:
        if exc.failed_guards and any(g.startswith("actor_") for g in exc.failed_guards):
            raise Forbidden(exc.reason) from None
        if exc.failed_guards:
            raise ValidationFailed(exc.reason, errors={"reason": [exc.reason]}) from None
        raise Conflict(exc.reason, allowed=exc.allowed, state=request.state) from None
    at = now()
    # Entering agent_validation starts the service-level clock, leaving it stops it (sla.clock).
    clock = sla_clock.on_transition(request, target, at)
    changes = {
        "state": target.value,
        "version": request.version + 1,
        "state_changed_at": at,
        **(clock.values if clock else {}),
        **(values or {}),
    }
    expected = {"state": request.state, "version": request.version}
    if not chunk.current().compare_and_set(request.id, expected, changes):
        raise Conflict("La demande a été modifiée entre-temps. Rechargez-la et réessayez.")
    add_row(
        RequestEvent,
        {
            "request_id": request.id,
            "at": at,
            "trigger": trigger,
            "from_state": request.state,
            "to_state": target.value,
            "actor_account_id": actor.account_id,
            "actor_kind": actor.kind,
            "actor_name": actor.name,
            "reason": reason,
            "version": request.version,
        },
    )
    if clock is not None:
        record(request, clock.trigger, SYSTEM_ACTOR, reason=clock.reason, state=target.value)
    audit.record(
        "request.transition",
        actor_account_id=actor.account_id,
        actor_kind=actor.kind,
        subject_type="request",
        subject_id=request.number,
        details={"trigger": trigger, "from": request.state, "to": target.value},
    )
    # Written by the compare-and-set already: the unit of work must not write them again.
    for key, value in changes.items():
        set_committed_value(request, key, value)
    effect = ON_ENTER.get(target)
    if effect is not None:
        effect(request, applied)
    return request


def record(
    request: Request,
    trigger: str,
    actor: Actor,
    *,
    reason: str | None = None,
    state: str | None = None,
) -> None:
    """A history row for a step that moves no state (an agent's claim or release, the
    service-level clock; ``state``: the one it happens in, when the row's is not yet written)."""
    add_row(
        RequestEvent,
        {
            "request_id": request.id,
            "at": now(),
            "trigger": trigger,
            "from_state": state or request.state,
            "to_state": state or request.state,
            "actor_account_id": actor.account_id,
            "actor_kind": actor.kind,
            "actor_name": actor.name,
            "reason": reason,
            "version": None,
        },
    )
