"""What a request reads as: its summary, its detail, who may read it, *Mes demandes*."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, func, or_, select

import workflows
from forms import registry, sentences

from ..access import ProfileAccess, profile_access
from ..clock import now
from ..db import db
from ..documents.listing import documents_of
from ..documents.storage import MAX_DOCUMENTS
from ..errors import NotFound
from ..notifications.templates import PORTAL_ZONE
from ..profiles.models import Organisation
from ..sla import clock as sla_clock
from .conflicts import linked
from .models import Request, RequestComment


def summary(request: Request) -> dict[str, Any]:
    """The short form of a request (as answered to a submission and in lists)."""
    form = registry.get(request.form_slug)
    return {
        "number": request.number,
        "item": request.form_slug,
        "title": form.title_fr if form else request.form_slug,
        "state": request.state,
        "state_label": workflows.label(request.state),
        "awaiting_system": request.state in workflows.AWAITING_SYSTEM,
        "profile_id": request.organisation_id,
        "submitted_at": request.created_at.isoformat(),
        "submitted_by": request.submitted_by_name,
        "submitted_by_account_id": request.submitted_by_account_id,
        "applied_at": request.applied_at.isoformat() if request.applied_at else None,
        "visible_at": request.visible_at.isoformat() if request.visible_at else None,
        # Waiting for an agent: the day the decision is due (sla.clock), told to the submitter.
        **sla_clock.expected_decision(request),
    }


def detail(request: Request, *, for_agent: bool) -> dict[str, Any]:
    """Everything about a request that its reader may see."""
    body = summary(request)
    labels = request.labels or {}
    body["organisation"] = _organisation_name(request.organisation_id)
    body["operations"] = sentences.describe(request.changeset, labels)
    body["contacts"] = [
        {"id": int(contact_id), "name": name}
        for contact_id, name in (labels.get("contacts") or {}).items()
    ]
    body["variables"] = request.variables
    body["reason"] = request.reason
    body["history"] = [
        {
            "at": e.at.isoformat(),
            "trigger": e.trigger,
            "trigger_label": workflows.event_label(e.trigger),
            "from_state": e.from_state,
            "to_state": e.to_state,
            "to_state_label": workflows.label(e.to_state) if e.to_state else None,
            "actor": e.actor_name,
            "reason": e.reason,
        }
        for e in request.events
    ]
    comments = db.session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request.id)
        .order_by(RequestComment.id)
    ).all()
    body["comments"] = [
        {
            "at": c.created_at.isoformat(),
            "author": c.author_name,
            "author_kind": c.author_kind,
            "body": c.body,
            "internal": c.internal,
            "asks_answer": c.asks_answer,
        }
        for c in comments
        if for_agent or not c.internal
    ]
    body["visibility"] = (
        {
            "visible_at": request.visible_at.isoformat(),
            "visible": bool(request.visible_at and request.visible_at <= now()),
        }
        if request.visible_at
        else None
    )
    body["linked_requests"] = linked(request)
    body["documents"] = documents_of(request)
    # What the submitter's side may still do (the portal asks the answer, not its own table):
    # cancel and join documents until the request is decided.
    undecided = request.state in workflows.CANCELLABLE_STATES
    body["actions"] = (
        []
        if for_agent or not undecided
        else ["cancel", *(["join_document"] if len(body["documents"]) < MAX_DOCUMENTS else [])]
    )
    if for_agent:
        body["duplicate_candidates"] = request.duplicate_candidates or []
        body["claimed_by_account_id"] = request.claimed_by_account_id
        body["changeset"] = request.changeset
        body["merge_with_contact_id"] = request.merge_with_contact_id
    return body


def _organisation_name(organisation_id: int) -> dict[str, Any]:
    organisation = db.session.get(Organisation, organisation_id)
    assert organisation is not None  # a request's organisation is never deleted
    return {
        "id": organisation.id,
        "name": organisation.name,
        "client_number": organisation.client_number,
    }


def get_for_account(number: str, account_id: int, *, role: str) -> tuple[Request, bool]:
    """A request the account may read, and whether it reads as an agent; 404 otherwise.

    Visible to agents, to its submitter while they still have access to the profile, and to
    those who may manage the organisation (responsables, administrateurs, dirigeants). Anyone
    else gets the same 404 as for a number that does not exist: numbers are sequential, and a
    different answer would let a member walk the firm's requests.
    """
    request = db.session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise NotFound()
    if role == "agent":
        return request, True
    access = profile_access(account_id, request.organisation_id)
    if access is None:
        raise NotFound()
    if request.submitted_by_account_id != account_id and not access.can_manage:
        raise NotFound()
    return request, False


@dataclass(frozen=True)
class RequestFilters:
    """The filters of the firm's requests; ``None`` filters nothing. Dates are days on the
    portal's clock (America/Montreal), both included."""

    state: str | None = None
    item: str | None = None
    submitter: int | None = None
    contact: int | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None


def _local_midnight(day: dt.date) -> dt.datetime:
    """The UTC instant at which ``day`` begins in Montréal."""
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(PORTAL_ZONE)).astimezone(dt.UTC)


def filtered(access: ProfileAccess, filters: RequestFilters) -> Select[Any]:
    """The profile's requests the caller may read (a member: their own), filtered, newest
    first: the statement of the list and of its export."""
    stmt = select(Request).where(Request.organisation_id == access.organisation_id)
    if not access.can_manage:
        stmt = stmt.where(Request.submitted_by_account_id == access.account_id)
    if filters.state:
        stmt = stmt.where(Request.state == filters.state)
    if filters.item:
        stmt = stmt.where(Request.form_slug == filters.item)
    if filters.submitter is not None:
        stmt = stmt.where(Request.submitted_by_account_id == filters.submitter)
    if filters.contact is not None:
        # As a contact's pending requests find theirs (profiles.service.pending_requests_about):
        # the JSON value compared as text, the same on SQLite and PostgreSQL.
        named = cast(Request.variables["contact_id"].as_string(), String)
        stmt = stmt.where(
            or_(named == str(filters.contact), Request.merge_with_contact_id == filters.contact)
        )
    if filters.from_date is not None:
        stmt = stmt.where(Request.created_at >= _local_midnight(filters.from_date))
    if filters.to_date is not None:
        next_day = filters.to_date + dt.timedelta(days=1)
        stmt = stmt.where(Request.created_at < _local_midnight(next_day))
    return stmt.order_by(Request.created_at.desc(), Request.id.desc())


def list_for_profile(
    access: ProfileAccess, filters: RequestFilters, *, page: int, per_page: int
) -> dict[str, Any]:
    """*Mes demandes* (a manager: every request of the firm, with who submitted it), newest
    first, one page; ``submitters`` lists whom the ``submitter`` filter can name."""
    stmt = filtered(access, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    people = select(Request.submitted_by_account_id, func.max(Request.submitted_by_name)).where(
        Request.organisation_id == access.organisation_id
    )
    if not access.can_manage:
        people = people.where(Request.submitted_by_account_id == access.account_id)
    named = db.session.execute(people.group_by(Request.submitted_by_account_id)).all()
    submitters = [
        {"account_id": account_id, "name": name}
        for account_id, name in sorted(named, key=lambda row: (row[1].casefold(), row[0]))
    ]
    return {
        "items": [summary(r) for r in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "submitters": submitters,
        "states": [{"value": s.value, "label": workflows.label(s)} for s in workflows.State],
    }
