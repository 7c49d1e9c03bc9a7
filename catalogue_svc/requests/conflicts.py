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
from .models import Request, RequestLink

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


def find_and_link(request: Request) -> list[str]:
    """Link ``request`` with the pending requests it conflicts with; returns French reasons."""
    mine = request.changeset or []
    people, adds, removes = _new_people(mine), _adds(mine), _removes(mine)
    others = db.session.scalars(
        select(Request).where(
            Request.organisation_id == request.organisation_id,
            Request.id != request.id,
            Request.state.in_(PENDING),
        )
    ).all()
    reasons: list[str] = []
    for other in others:
        theirs = other.changeset or []
        why = None
        if people & _new_people(theirs):
            why = f"La demande {other.number} ajoute aussi cette nouvelle personne."
        elif adds & _removes(theirs) or removes & _adds(theirs):
            why = (
                f"La demande {other.number} retire ce que celle-ci ajoute "
                "(ou ajoute ce que celle-ci retire) pour le même contact."
            )
        if why is None:
            continue
        reasons.append(why)
        for a, b in ((request.id, other.id), (other.id, request.id)):
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
