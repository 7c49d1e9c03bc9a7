"""Pending requests of one organisation that conflict with each other.

Two kinds (issue: "one adds what the other removes, the same new person twice"): the same new
person added by two requests (same email, or same names and birth date), and a request that adds
a relation or subjects to a contact while another removes that contact's relations or subjects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ..db import db
from ..profiles.models import ContactRelation, Grant
from .models import Request, RequestConflictKey, RequestLink

PENDING = ("submitted", "duplicate_check", "agent_validation", "approved")


def _norm(text: Any) -> str:
    folded = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(folded.casefold().replace("-", " ").replace("'", " ").split())


def _new_people(changeset: Iterable[dict[str, Any]]) -> set[str]:
    keys = set()
    for op in changeset:
        if op.get("op") == "add_contact":
            if op.get("email"):
                keys.add("email:" + str(op["email"]).casefold())
            keys.add(
                f"name:{_norm(op.get('first_name'))}|{_norm(op.get('last_name'))}|"
                f"{op.get('birth_date')}"
            )
    return keys


def _adds(changeset: Iterable[dict[str, Any]]) -> set[int]:
    return {
        op["contact"]
        for op in changeset
        if op.get("op") in ("add_contact_relation", "grant_subject")
        and isinstance(op.get("contact"), int)
    }


def _removes(changeset: Iterable[dict[str, Any]]) -> set[int]:
    relation_ids = [op["relation_id"] for op in changeset if op.get("op") == "end_contact_relation"]
    grant_ids = [op["grant_id"] for op in changeset if op.get("op") == "revoke_grant"]
    contacts: set[int] = set()
    if relation_ids:
        contacts |= set(
            db.session.scalars(
                select(ContactRelation.contact_id).where(ContactRelation.id.in_(relation_ids))
            )
        )
    if grant_ids:
        contacts |= {
            c
            for c in db.session.scalars(
                select(Grant.holder_contact_id).where(Grant.id.in_(grant_ids))
            )
            if c is not None
        }
    return contacts


def conflict_keys(changeset: Iterable[dict[str, Any]]) -> set[str]:
    """The keys a request's changeset can conflict on (see :class:`RequestConflictKey`)."""
    ops = list(changeset)
    return (
        {f"person:{k}" for k in _new_people(ops)}
        | {f"add:{c}" for c in _adds(ops)}
        | {f"remove:{c}" for c in _removes(ops)}
    )


def _counterpart(key: str) -> str:
    kind, _, value = key.partition(":")
    return {"add": f"remove:{value}", "remove": f"add:{value}"}.get(kind, key)


def record_keys(request: Request) -> None:
    """Store ``request``'s conflict keys (at submission, in its transaction)."""
    for key in sorted(conflict_keys(request.changeset or [])):
        db.session.add(
            RequestConflictKey(
                request_id=request.id, organisation_id=request.organisation_id, key=key[:400]
            )
        )


def find_and_link(request: Request) -> list[str]:
    """Link ``request`` with the pending requests it conflicts with; returns French reasons."""
    mine = conflict_keys(request.changeset or [])
    if not mine:
        return []
    wanted = {_counterpart(k)[:400] for k in mine}
    rows = db.session.execute(
        select(Request.id, Request.number, RequestConflictKey.key)
        .join(RequestConflictKey, RequestConflictKey.request_id == Request.id)
        .where(
            RequestConflictKey.organisation_id == request.organisation_id,
            RequestConflictKey.key.in_(sorted(wanted)),
            Request.id != request.id,
            Request.state.in_(PENDING),
        )
        .order_by(Request.id)
    ).all()
    matched: dict[int, tuple[str | None, bool]] = {}
    for other_id, number, key in rows:
        person = key.startswith("person:") or matched.get(other_id, (None, False))[1]
        matched[other_id] = (number, person)
    reasons: list[str] = []
    for other_id, (number, person) in matched.items():
        if person:
            why = f"La demande {number} ajoute aussi cette nouvelle personne."
        else:
            why = (
                f"La demande {number} retire ce que celle-ci ajoute "
                "(ou ajoute ce que celle-ci retire) pour le même contact."
            )
        reasons.append(why)
        for a, b in ((request.id, other_id), (other_id, request.id)):
            exists = db.session.scalar(
                select(RequestLink.id).where(
                    RequestLink.request_id == a, RequestLink.other_request_id == b
                )
            )
            if exists is None:
                db.session.add(RequestLink(request_id=a, other_request_id=b, reason=why))
    return reasons


def linked(request: Request) -> list[dict[str, Any]]:
    """The requests linked to ``request``, with why."""
    rows = db.session.execute(
        select(Request.number, Request.state, RequestLink.reason)
        .join(RequestLink, RequestLink.other_request_id == Request.id)
        .where(RequestLink.request_id == request.id)
        .order_by(RequestLink.id)
    ).all()
    return [{"number": n, "state": s, "reason": r} for n, s, r in rows]
