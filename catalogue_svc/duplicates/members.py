"""Two people of one firm with the same first and last name: what the check adds to the scores.

The request's check (``requests.handlers``) completes the store's candidates with the firm's
active members named as the new person is, whatever the scores say.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..db import db
from ..profiles.models import Contact, ContactRelation
from .keys import name_key
from .models import ContactMatchKey
from .normalise import normalize_name
from .people import person_from_dict
from .service import thresholds_from

__all__ = ["SAME_MEMBER_REASON", "active_members_named", "with_same_name_members"]

SAME_MEMBER_REASON = "Même prénom et même nom qu'un membre actif de l'organisation."


def active_members_named(
    people: Iterable[tuple[int, Mapping[str, Any]]],
) -> dict[int, list[tuple[int, str, str]]]:
    """For each ``(organisation id, person)``: (id, first name, last name) of the
    organisation's active members who may be named as the person, by organisation.

    One query on the key index for them all (a check chunk's people): the members holding the
    person's :func:`.keys.name_key`, which every member named as the person holds. The list is
    a superset (a Tremblay Marie and a Tremblaye Mario may share the key);
    :func:`with_same_name_members` compares the names. It read every active member of the
    organisation before, and normalised each name again for each request checked: a firm of
    2,000 members was 3 ms a check, growing with the firm.
    """
    wanted: dict[str, set[int]] = defaultdict(set)
    for organisation_id, person in people:
        key = name_key(person_from_dict(person))
        if key is not None:
            wanted[key].add(organisation_id)
    if not wanted:
        return {}
    keys, relations = ContactMatchKey.__table__, ContactRelation.__table__
    contacts = Contact.__table__
    organisations = sorted(set().union(*wanted.values()))
    rows = db.session.execute(
        select(
            keys.c.key,
            relations.c.organisation_id,
            contacts.c.id,
            contacts.c.first_name,
            contacts.c.last_name,
        )
        .select_from(
            keys.join(contacts, contacts.c.id == keys.c.contact_id).join(
                relations, relations.c.contact_id == contacts.c.id
            )
        )
        .where(
            keys.c.key.in_(sorted(wanted)),
            relations.c.organisation_id.in_(organisations),
            relations.c.active.is_(True),
        )
    )
    found: dict[int, set[tuple[int, str, str]]] = defaultdict(set)
    for key, organisation_id, contact_id, first, last in rows:
        if organisation_id in wanted[key]:
            found[organisation_id].add((int(contact_id), first or "", last or ""))
    return {organisation_id: sorted(members) for organisation_id, members in found.items()}


def with_same_name_members(
    members: Iterable[tuple[int, str, str]],
    person: Mapping[str, Any],
    candidates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """``candidates`` completed by the ``members`` (:func:`active_members_named` of the
    organisation and ``person``) named as ``person`` is.

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
