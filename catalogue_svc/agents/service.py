"""The agents' work on requests in ``agent_validation``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, or_, select, update

from workflows import AWAITING_AGENT, State, Trigger

from .. import audit
from ..clock import now
from ..db import db
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..notifications.templates import french_datetime
from ..profiles.models import Contact, Organisation
from ..requests import service as requests
from ..requests.models import Request
from ..sla import clock as sla_clock
from .claims import claim_is_live, live_claim

NOT_IN_VALIDATION = "Cette demande n'est pas en validation par un agent (état : {label})."


def _get(number: str) -> Request:
    request = db.session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise NotFound()
    return request


def _require_validation_state(request: Request) -> None:
    if request.state != State.AGENT_VALIDATION:
        import workflows

        raise Conflict(
            NOT_IN_VALIDATION.format(label=workflows.label(request.state)), state=request.state
        )


# What the queue shows: the requests waiting for an agent's decision, and those whose apply
# failed (an agent reads the reason and retries once the cause is fixed).
QUEUE_STATES = AWAITING_AGENT  # agent_validation, and failed (an agent retries it)
ACTIONS: dict[str, list[str]] = {
    State.AGENT_VALIDATION: ["claim", "release", Trigger.APPROVE.value, Trigger.REJECT.value],
    State.FAILED: [Trigger.RETRY.value],
}


def _due_columns(at: dt.datetime) -> tuple[Any, Any]:
    """SQL of a row's urgency: overdue (0 first), and its running due time (null: none)."""
    running = (
        (Request.state == State.AGENT_VALIDATION)
        & Request.sla_paused_at.is_(None)
        & Request.sla_stopped_at.is_(None)
    )
    overdue = case((running & (Request.due_at <= at), 0), else_=1)
    due = case((Request.state == State.AGENT_VALIDATION, Request.due_at), else_=None)
    return overdue, due


def _due_fields(request: Request, at: dt.datetime) -> dict[str, Any]:
    """A queue row's ``due_at``, ``overdue`` and French ``due_text``."""
    if request.state != State.AGENT_VALIDATION or request.due_at is None:
        return {"due_at": None, "overdue": False, "due_text": None}
    if request.sla_paused_at is not None:
        since = french_datetime(request.sla_paused_at)
        text = f"En attente de la réponse du demandeur depuis le {since}"
    else:
        text = sla_clock.calendar().due_text(at, request.due_at)
    return {
        "due_at": request.due_at.isoformat(),
        "overdue": sla_clock.is_overdue(request, at),
        "due_text": text,
    }


def queue_page(
    *,
    agent_id: int,
    form: str | None,
    claimed: str | None,
    page: int,
    per_page: int,
    state: str | None = None,
    organisation: int | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """Requests waiting for an agent or in error: overdue first, then by due time (the failed
    ones, which have none, last, oldest first); each with its age and time left."""
    at = now()
    states = (state,) if state else QUEUE_STATES
    stmt = select(Request).where(Request.state.in_(states))
    if form:
        stmt = stmt.where(Request.form_slug == form)
    if organisation is not None:
        stmt = stmt.where(Request.organisation_id == organisation)
    if q:
        text = q.strip()
        stmt = stmt.join(Organisation, Organisation.id == Request.organisation_id).where(
            or_(
                Request.number == text,
                Organisation.client_number == text,
                func.lower(Organisation.name).contains(text.lower(), autoescape=True),
            )
        )
    live = live_claim(at)
    if claimed in ("true",):
        stmt = stmt.where(live)
    elif claimed == "me":
        stmt = stmt.where(live & (Request.claimed_by_account_id == agent_id))
    elif claimed == "others":
        stmt = stmt.where(live & (Request.claimed_by_account_id != agent_id))
    elif claimed in ("nobody", "false"):
        stmt = stmt.where(~live)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    overdue, due = _due_columns(at)
    rows = db.session.scalars(
        stmt.order_by(overdue, due.is_(None), due, Request.state_changed_at, Request.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = []
    for request in rows:
        item = requests.summary(request)
        item["age_seconds"] = int((at - request.state_changed_at).total_seconds())
        item["claimed_by_account_id"] = (
            request.claimed_by_account_id if claim_is_live(request) else None
        )
        item["candidates"] = len(request.duplicate_candidates or [])
        item["probable_candidates"] = sum(
            1 for c in request.duplicate_candidates or [] if c.get("level") == "probable"
        )
        item["reason"] = request.reason
        item["actions"] = ACTIONS.get(request.state, [])
        item.update(_due_fields(request, at))
        items.append(item)
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def _move_claim(
    request: Request,
    *conditions: Any,
    to: tuple[int | None, dt.datetime | None],
    refused: str,
) -> None:
    """Give ``request``'s claim ``to`` (an agent's account and since when; ``None``: the queue)
    in one UPDATE, while ``conditions`` still hold; else roll back and 409 with ``refused`` (another
    agent, or a supervisor, moved it first)."""
    account_id, since = to
    moved = db.session.execute(
        update(Request)
        .where(Request.id == request.id, *conditions)
        .values(claimed_by_account_id=account_id, claimed_at=since)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict(refused)


def claim(*, number: str, agent: requests.Actor) -> dict[str, Any]:
    """Take a request; a second agent gets 409 until the claim is released or lapses."""
    request = _get(number)
    _require_validation_state(request)
    at = now()
    _move_claim(
        request,
        Request.state == State.AGENT_VALIDATION,
        or_(
            Request.claimed_by_account_id == agent.account_id,
            ~func.coalesce(live_claim(at), False),
        ),
        to=(agent.account_id, at),
        refused="Cette demande est déjà prise en charge par un autre agent.",
    )
    requests.record(request, "claim", agent)
    audit.record(
        "request.claim",
        actor_account_id=agent.account_id,
        actor_kind="agent",
        subject_type="request",
        subject_id=number,
    )
    db.session.commit()
    db.session.refresh(request)
    return requests.detail(request, for_agent=True)


def release(*, number: str, agent: requests.Actor) -> dict[str, Any]:
    """Give a claimed request back to the queue."""
    request = _get(number)
    _require_validation_state(request)
    _move_claim(
        request,
        Request.claimed_by_account_id == agent.account_id,
        to=(None, None),
        refused="Vous n'avez pas pris cette demande en charge.",
    )
    requests.record(request, "release", agent)
    db.session.commit()
    db.session.refresh(request)
    return requests.summary(request)


def _require_own_claim(request: Request, agent: requests.Actor) -> None:
    if claim_is_live(request) and request.claimed_by_account_id != agent.account_id:
        raise Conflict("Cette demande est prise en charge par un autre agent.")


def _merge_problem(request: Request, contact_id: int) -> tuple[str | None, str]:
    """Why ``contact_id`` cannot stand for the request's new person (None: it can), and the
    contact's name. Contacts are people and are never deactivated (relations end, people
    stay): one that exists and is a candidate of the request can be used."""
    candidates = {c.get("contact_id") for c in request.duplicate_candidates or []}
    if contact_id not in candidates:
        return "Ce contact ne fait pas partie des doublons possibles de la demande.", ""
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        return "Ce contact n'existe plus ou n'est pas une personne.", ""
    return None, f"{contact.first_name} {contact.last_name}"


def _client_number_holder(request: Request) -> str | None:
    """The name of the existing contact who holds the client number of the request's new
    person (a client number identifies one person: a second contact cannot have it)."""
    variables = request.variables or {}
    person = variables.get("new_contact") if variables.get("contact_does_not_exist") else None
    number = person.get("client_number") if isinstance(person, dict) else None
    if not number:
        return None
    holder = db.session.scalar(select(Contact).where(Contact.client_number == number))
    return None if holder is None else f"{holder.first_name} {holder.last_name} (n° {holder.id})"


def approve(
    *,
    number: str,
    agent: requests.Actor,
    merge_with_contact_id: int | None,
    create_new_contact: bool = False,
) -> dict[str, Any]:
    """Approve, using an existing contact (a candidate: a merge) or creating a new one.

    When the duplicate check found a *probable* candidate, the agent must say which: no
    default that silently creates a duplicate.
    """
    request = _get(number)
    _require_validation_state(request)
    _require_own_claim(request, agent)
    values: dict[str, Any] = {"claimed_by_account_id": None, "claimed_at": None}
    reason = None
    candidates = request.duplicate_candidates or []
    if merge_with_contact_id is not None and create_new_contact:
        raise ValidationFailed(
            errors={
                "create_new_contact": [
                    "Choisissez soit la fusion avec un contact existant, soit la création d'un "
                    "nouveau contact, pas les deux."
                ]
            }
        )
    if merge_with_contact_id is not None:
        problem, name = _merge_problem(request, merge_with_contact_id)
        if problem is not None:
            raise ValidationFailed(errors={"merge_with_contact_id": [problem]})
        values["merge_with_contact_id"] = merge_with_contact_id
        reason = f"Fusion avec le contact existant : {name} (n° {merge_with_contact_id})."
    elif not create_new_contact:
        probable = [c for c in candidates if c.get("level") == "probable"]
        if probable:
            names = ", ".join(f"{c.get('name')} (n° {c.get('contact_id')})" for c in probable)
            raise ValidationFailed(
                "Un doublon probable existe : choisissez de fusionner la demande avec ce contact "
                "ou de créer un nouveau contact.",
                errors={
                    "merge_with_contact_id": [
                        f"Doublon probable : {names}. Choisissez de fusionner avec ce contact "
                        "ou de créer un nouveau contact."
                    ]
                },
            )
    if merge_with_contact_id is None:
        holder = _client_number_holder(request)
        if holder is not None:
            raise ValidationFailed(
                errors={
                    "merge_with_contact_id": [
                        f"Le numéro de client de la demande appartient déjà à {holder} : "
                        "fusionnez la demande avec ce contact, ou refusez-la."
                    ]
                }
            )
        if create_new_contact and candidates:
            reason = "Nouveau contact créé malgré les doublons possibles (décision de l'agent)."
    # Entering approved schedules the apply (requests.lifecycle.ON_ENTER).
    requests.transition(request, Trigger.APPROVE, agent, reason=reason, values=values)
    db.session.commit()
    return requests.summary(request)


def reject(*, number: str, agent: requests.Actor, reason: str) -> dict[str, Any]:
    """Reject with a reason the submitter sees and receives by email."""
    if not reason or not reason.strip():
        raise ValidationFailed(errors={"reason": ["Un motif est requis pour refuser une demande."]})
    request = _get(number)
    _require_validation_state(request)
    _require_own_claim(request, agent)
    # Entering rejected queues the submitter's email (requests.lifecycle.ON_ENTER).
    requests.transition(
        request,
        Trigger.REJECT,
        agent,
        reason=reason.strip(),
        values={"reason": reason.strip(), "claimed_by_account_id": None, "claimed_at": None},
    )
    db.session.commit()
    return requests.summary(request)


def retry(*, number: str, agent: requests.Actor) -> dict[str, Any]:
    """Send a failed request back to apply (after the agent fixed the cause)."""
    request = _get(number)
    # Back to approved: the apply is scheduled again (requests.lifecycle.ON_ENTER).
    requests.transition(request, Trigger.RETRY, agent, values={"reason": None})
    db.session.commit()
    return requests.summary(request)


def create_agent(*, email: str, password: str, first_name: str, last_name: str) -> Any:
    """Create a verified agent account (operator command, demo); caller's transaction.

    The password follows the accounts' policy; an email already in use is refused.
    """
    from ..accounts.policy import password_problems
    from ..accounts.service import create_verified_account, find_by_email

    errors: dict[str, list[str]] = {}
    problems = password_problems(password, email=email)
    if problems:
        errors["password"] = problems
    if find_by_email(email) is not None:
        errors["email"] = ["Un compte existe déjà avec cette adresse courriel."]
    if errors:
        raise ValidationFailed(errors=errors)
    account = create_verified_account(
        email=email, password=password, first_name=first_name, last_name=last_name, role="agent"
    )
    audit.record(
        "agent.create", actor_kind="operator", subject_type="account", subject_id=account.id
    )
    return account


def make_supervisor(*, email: str) -> Any:
    """Make an existing agent a supervisor (operator command); caller's transaction. Anyone
    but an agent is refused, naming ``email``; an agent already supervisor stays one."""
    from ..accounts.service import find_by_email
    from .models import Supervisor

    account = find_by_email(email)
    if account is None or account.role != "agent":
        raise ValidationFailed(
            errors={"email": ["Aucun compte d'agent n'a cette adresse courriel."]}
        )
    if db.session.get(Supervisor, account.id) is None:
        db.session.add(Supervisor(account_id=account.id))
        audit.record(
            "agent.supervisor",
            actor_kind="operator",
            subject_type="account",
            subject_id=account.id,
        )
    return account


def require_supervisor(agent: requests.Actor) -> None:
    """403 unless the agent supervises the queue."""
    if not is_supervisor(agent.account_id):
        raise Forbidden("Réservé aux superviseurs de la file de validation.")


def is_supervisor(account_id: int | None) -> bool:
    """Whether the account supervises the queue."""
    from .models import Supervisor

    return account_id is not None and db.session.get(Supervisor, account_id) is not None


def whoami(agent: requests.Actor) -> dict[str, Any]:
    """The agent's own account as the portal needs it: name, and whether they supervise."""
    return {
        "account_id": agent.account_id,
        "name": agent.name,
        "supervisor": is_supervisor(agent.account_id),
    }


def agents(supervisor: requests.Actor) -> dict[str, Any]:
    """The agents a supervisor may hand a request to (accounts not disabled), by name; one
    statement."""
    from ..accounts.models import Account

    require_supervisor(supervisor)
    rows = db.session.scalars(
        select(Account)
        .where(Account.role == "agent", Account.disabled_at.is_(None))
        .order_by(Account.last_name, Account.first_name, Account.id)
    ).all()
    return {
        "items": [
            {"account_id": a.id, "name": f"{a.first_name} {a.last_name}", "email": a.email}
            for a in rows
        ]
    }


def stats(agent: requests.Actor) -> dict[str, Any]:
    """The queue's figures, for a supervisor."""
    from ..sla import figures

    require_supervisor(agent)
    return figures.stats(now())


def reassign(*, number: str, supervisor: requests.Actor, account_id: int) -> dict[str, Any]:
    """A supervisor hands a request to another agent (its claim, taken or not, moves to them)."""
    from ..accounts.models import Account

    require_supervisor(supervisor)
    request = _get(number)
    _require_validation_state(request)
    target = db.session.get(Account, account_id)
    if target is None or target.role != "agent" or target.disabled_at is not None:
        raise ValidationFailed(
            errors={"account_id": ["Ce compte n'est pas celui d'un agent : choisissez un agent."]}
        )
    _move_claim(
        request,
        Request.state == State.AGENT_VALIDATION,
        to=(account_id, now()),
        refused="La demande a été modifiée entre-temps. Rechargez-la et réessayez.",
    )
    name = f"{target.first_name} {target.last_name}"
    requests.record(request, "reassign", supervisor, reason=f"Confiée à {name}.")
    audit.record(
        "request.reassign",
        actor_account_id=supervisor.account_id,
        actor_kind="agent",
        subject_type="request",
        subject_id=number,
        details={"to": account_id},
    )
    db.session.commit()
    db.session.refresh(request)
    return requests.summary(request)
