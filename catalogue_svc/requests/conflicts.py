"""Pending requests of one organisation that conflict with each other.

Two kinds (issue: "one adds what the other removes, the same new person twice"): the same new
person added by two requests (same email, or same names and birth date), and a request that adds
a relation or subjects to a contact while another removes that contact's relations or subjects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, insert, select

from workflows import PENDING_STATES, label

from ..db import db
from ..profiles.models import ContactRelation, Grant
from .models import Request, RequestConflictKey, RequestLink

# The stored values of the pending states (``workflows.PENDING_STATES``, derived from the
# transition table), computed once for the queries.
PENDING: tuple[str, ...] = tuple(state.value for state in PENDING_STATES)


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


def record_keys(
    request_id: int, organisation_id: int, changeset: Iterable[dict[str, Any]] | None
) -> None:
    """Store a new request's conflict keys (at submission, in its transaction; one statement,
    none when it has no key)."""
    keys = sorted(conflict_keys(changeset or []))
    if keys:
        db.session.execute(
            insert(RequestConflictKey.__table__),
            [
                {"request_id": request_id, "organisation_id": organisation_id, "key": key[:400]}
                for key in keys
            ],
        )


@dataclass
class PendingConflicts:
    """What :func:`find_and_link` reads for several requests, read once for them all."""

    keys: dict[int, set[str]]  # each request's own conflict keys
    rows: list[tuple[int, str | None, str, int]]  # (id, number, key, organisation) of pending ones


def _pending_with_keys(
    organisation_ids: Iterable[int], keys: Iterable[str]
) -> Select[int, str | None, str, int]:
    return (
        select(
            Request.id, Request.number, RequestConflictKey.key, RequestConflictKey.organisation_id
        )
        .join(RequestConflictKey, RequestConflictKey.request_id == Request.id)
        .where(
            RequestConflictKey.organisation_id.in_(sorted(set(organisation_ids))),
            RequestConflictKey.key.in_(sorted(set(keys))),
            Request.state.in_(PENDING),
        )
        .order_by(Request.id)
    )


def pending_conflicts(requests: Iterable[Request]) -> PendingConflicts:
    """The pending requests that any of ``requests`` may conflict with, in one query."""
    keys = {r.id: conflict_keys(r.changeset or []) for r in requests}
    wanted = {_counterpart(k)[:400] for mine in keys.values() for k in mine}
    organisations = {r.organisation_id for r in requests if keys[r.id]}
    rows: list[tuple[int, str | None, str, int]] = []
    if wanted:
        result = db.session.execute(_pending_with_keys(organisations, wanted))
        rows = [(i, number, key, organisation) for i, number, key, organisation in result]
    return PendingConflicts(keys=keys, rows=rows)


def find_and_link(request: Request, prefetched: PendingConflicts | None = None) -> list[str]:
    """Link ``request`` with the pending requests it conflicts with; returns French reasons.

    ``prefetched``: what :func:`pending_conflicts` read for a chunk holding ``request``.
    """
    if prefetched is not None and request.id in prefetched.keys:
        mine = prefetched.keys[request.id]
        candidates = prefetched.rows
    else:
        mine = conflict_keys(request.changeset or [])
        candidates = None
    if not mine:
        return []
    wanted = {_counterpart(k)[:400] for k in mine}
    if candidates is None:
        result = db.session.execute(_pending_with_keys([request.organisation_id], wanted))
        candidates = [(i, number, key, organisation) for i, number, key, organisation in result]
    rows = [
        (other_id, number, key)
        for other_id, number, key, organisation_id in candidates
        if organisation_id == request.organisation_id and key in wanted and other_id != request.id
    ]
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
    """The requests linked to ``request``, with their state's French label and why."""
    rows = db.session.execute(
        select(Request.number, Request.state, RequestLink.reason)
        .join(RequestLink, RequestLink.other_request_id == Request.id)
        .where(RequestLink.request_id == request.id)
        .order_by(RequestLink.id)
    ).all()
    return [{"number": n, "state": s, "state_label": label(s), "reason": r} for n, s, r in rows]
