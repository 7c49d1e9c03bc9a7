"""One contact of *Contacts de l'organisation* as propagated: their relations with the
organisation, their phones and the subjects they hold through it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..clock import now
from ..db import db
from .list_sql import AT, shown_grant, shown_period
from .lists import label
from .models import (
    CONTACT_RELATION_LABELS,
    RIGHT_LABELS,
    Contact,
    ContactRelation,
    Grant,
    Organisation,
    Subject,
)

_contact_relations = ContactRelation.__table__
_organisations = Organisation.__table__
_subjects = Subject.__table__
_grants = Grant.__table__


def contact_detail(
    organisation_id: int, contact_id: int, *, show_birth_date: bool, lang: str = "fr"
) -> dict[str, Any] | None:
    """One contact of *Contacts de l'organisation*, as propagated; None when the list does not
    show them (no relation with the organisation visible now: another firm's contact, or one
    not yet propagated).

    The relations and subjects follow ``visible_at`` and ``end_visible_at`` like the lists; the
    contact's own columns (names, language, phones) have no propagation delay. Only the
    subjects held through one of the contact's relations with this organisation are shown: the
    ones held through another organisation are not this firm's to read.
    """
    from forms.common import LANGUAGES, PHONE_TYPES

    at = now()
    r = _contact_relations
    relations = db.session.execute(
        select(r.c.id, *shown_period(r))
        .where(
            r.c.contact_id == contact_id,
            r.c.organisation_id == organisation_id,
            r.c.visible_at <= AT,
        )
        .order_by(r.c.start_date, r.c.id),
        {"at": at},
    ).all()
    if not relations:
        return None
    contact = db.session.get(Contact, contact_id)
    assert contact is not None  # a relation points at it, and nothing is hard-deleted
    g, s, via = _grants, _subjects, _contact_relations.alias("via")
    owner = _organisations.alias("owner")
    grants = db.session.execute(
        select(*shown_grant(g, s, owner), owner.c.client_number.label("owner_client_number"))
        .select_from(
            g.join(via, via.c.id == g.c.contact_relation_id)
            .join(s, s.c.id == g.c.subject_id)
            .join(owner, owner.c.id == g.c.owner_organisation_id)
        )
        .where(
            g.c.holder_contact_id == contact_id,
            via.c.organisation_id == organisation_id,
            g.c.visible_at <= AT,
        )
        .order_by(s.c.name_fr, owner.c.name, g.c.id),
        {"at": at},
    ).all()
    phones = sorted(contact.phones, key=lambda p: (p.position, p.id))
    return {
        "id": contact.id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.full_name,
        "client_number": contact.client_number,
        "email": contact.email,
        "language": contact.language,
        "language_label": label(dict(LANGUAGES), contact.language, lang),
        "birth_date": (
            contact.birth_date.isoformat() if show_birth_date and contact.birth_date else None
        ),
        "birth_date_masked": not show_birth_date,
        "phones": [
            {
                "id": p.id,
                "type": p.type,
                "type_label": label(dict(PHONE_TYPES), p.type, lang),
                "territory": p.territory,
                "country_code": p.country_code,
                "number": p.number,
                "extension": p.extension,
            }
            for p in phones
        ],
        "relations": [
            {
                "relation_id": row.id,
                "type": row.type,
                "type_label": label(CONTACT_RELATION_LABELS, row.type, lang),
                "start_date": row.start_date.isoformat(),
                "end_date": row.end_date.isoformat(),
                "actif": bool(row.actif),
            }
            for row in relations
        ],
        "subjects": [
            {
                "grant_id": row.id,
                "code": row.code,
                "name": row.name_fr if lang == "fr" else row.name_en,
                "right": row.access_right,
                "right_label": label(RIGHT_LABELS, row.access_right, lang),
                "organisation": {
                    "id": row.owner_id,
                    "name": row.owner_name,
                    "client_number": row.owner_client_number,
                },
                "actif": bool(row.actif),
            }
            for row in grants
        ],
    }
