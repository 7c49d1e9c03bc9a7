"""Two people of one firm with the same first and last name: what the check adds to the scores.

The request's check (``requests.handlers``) completes the store's candidates with the firm's
active members named as the new person is, whatever the scores say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..db import db
from ..profiles.models import Contact, ContactRelation
from .normalise import normalize_name
from .service import thresholds_from

__all__ = ["SAME_MEMBER_REASON", "active_member_names", "with_same_name_members"]

SAME_MEMBER_REASON = "Même prénom et même nom qu'un membre actif de l'organisation."


def active_member_names(organisation_id: int) -> list[tuple[int, str, str]]:
    """(id, first name, last name) of the contacts with an active relation to the organisation."""
    contacts, relations = Contact.__table__, ContactRelation.__table__
    rows = db.session.execute(
        select(contacts.c.id, contacts.c.first_name, contacts.c.last_name)
        .select_from(contacts.join(relations, relations.c.contact_id == contacts.c.id))
        .where(relations.c.organisation_id == organisation_id, relations.c.active.is_(True))
        .distinct()
    ).all()
    return [(int(i), first or "", last or "") for i, first, last in rows]


def with_same_name_members(
    members: Iterable[tuple[int, str, str]],
    person: Mapping[str, Any],
    candidates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """``candidates`` completed by the ``members`` (:func:`active_member_names` of the
    organisation) named as ``person`` is.

    Whatever the client numbers or birth dates say, two people of one firm with the same first
    and last name are at least a *possible* duplicate: an agent looks before a second one is
    created (names compared after ``normalise.normalize_name``: accents, case and hyphens apart).
    """
    first = normalize_name(str(person.get("first_name") or ""))
    last = normalize_name(str(person.get("last_name") or ""))
    if not first or not last:
        return candidates
    result = [dict(c) for c in candidates]
    by_id = {c.get("contact_id"): c for c in result}
    threshold = thresholds_from(current_app.config).candidate
    added = False
    for contact_id, first_name, last_name in members:
        if normalize_name(first_name) != first or normalize_name(last_name) != last:
            continue
        reason = {
            "field": "name",
            "kind": "same_member",
            "detail": SAME_MEMBER_REASON,
            "score": None,
        }
        entry = by_id.get(contact_id)
        if entry is not None:
            if all(r.get("kind") != "same_member" for r in entry.get("reasons") or []):
                entry["reasons"] = [*(entry.get("reasons") or []), reason]
            continue
        added = True
        result.append(
            {
                "contact_id": contact_id,
                "score": round(threshold, 3),
                "level": "possible",
                "name": f"{first_name} {last_name}".strip(),
                "reasons": [reason],
            }
        )
    if added:
        result.sort(key=lambda c: (-float(c.get("score") or 0), c.get("contact_id") or 0))
    return result
