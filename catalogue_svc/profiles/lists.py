"""*Relations et autorisations*: the three lists as propagated, and *Mes dossiers autorisés*.

A row shows from its ``visible_at``; it shows *Actif: Faux* from its ``end_visible_at``. Both are
compared with the service clock, so the lists follow the propagation delay without any timer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from ..clock import now
from ..db import db
from .models import (
    CONTACT_RELATION_LABELS,
    ORGANISATION_RELATION_LABELS,
    RIGHT_LABELS,
    Contact,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    Subject,
)

PHASE1_NOTE = {
    "fr": (
        "Lors de cette première phase de déploiement, ce service n'est pas accessible dans le "
        "profil de la personne déléguée. Pour y accéder, l'employeur doit ajouter la personne "
        "comme contact de sa propre entreprise, ou la personne doit lier le dossier de "
        "l'employeur avec ses anciens identifiants et mot de passe des services en ligne."
    ),
    "en": (
        "In this first phase, this service is not available in the delegate's profile. To "
        "reach it, the employer must add the person as a contact of its own business, or the "
        "person must link the employer's file with their former online-services username and "
        "password."
    ),
}


def _label(labels: dict[str, tuple[str, str]], code: str, lang: str) -> str:
    pair = labels.get(code)
    return code if pair is None else pair[0 if lang == "fr" else 1]


def _shown(model: Any, at: Any) -> Any:
    return model.visible_at <= at


def _actif(model: Any, at: Any) -> Any:
    return case(
        (and_(model.end_visible_at.is_not(None), model.end_visible_at <= at), False), else_=True
    )


# Each list counts its total on the one table that decides which rows it shows (the joined rows
# always exist: their foreign keys are NOT NULL), not on the joined page query, and the page
# query keeps an ORDER BY that an index can serve (ix_contacts_name): the total then costs one
# lean scan, the first page a few index probes (bench/lists.py, docs/performance.md).


COUNT_CAP = 10_000


def _count(stmt: Any) -> int:
    return int(db.session.scalar(stmt) or 0)


def _rows(stmt: Any, offset: int, limit: int) -> list[Any]:
    return list(db.session.execute(stmt.offset(offset).limit(limit)).all())


def contacts(organisation_id: int, *, page: int, per_page: int, lang: str = "fr") -> dict[str, Any]:
    """*Contacts de l'organisation*: name, relation, start and end dates, *Actif*."""
    at = now()
    shown = and_(ContactRelation.organisation_id == organisation_id, _shown(ContactRelation, at))
    total = _count(select(func.count()).select_from(ContactRelation).where(shown))
    stmt = (
        select(ContactRelation, Contact, _actif(ContactRelation, at).label("actif"))
        .join(Contact, Contact.id == ContactRelation.contact_id)
        .where(shown)
        .order_by(Contact.last_name, Contact.first_name, ContactRelation.id)
    )
    rows = _rows(stmt, (page - 1) * per_page, per_page) if total else []
    items = [
        {
            "contact_id": contact.id,
            "relation_id": relation.id,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "name": contact.full_name,
            "email": contact.email,
            "relation": relation.type,
            "relation_label": _label(CONTACT_RELATION_LABELS, relation.type, lang),
            "start_date": relation.start_date.isoformat(),
            "end_date": relation.end_date.isoformat(),
            "actif": bool(actif),
        }
        for relation, contact, actif in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def relations(
    organisation_id: int, *, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Relations de l'organisation*: organisation, type of relation, organisation, *Actif*."""
    at = now()
    left, right = aliased(Organisation), aliased(Organisation)
    shown = and_(
        or_(
            OrganisationRelation.organisation_id == organisation_id,
            OrganisationRelation.related_organisation_id == organisation_id,
        ),
        _shown(OrganisationRelation, at),
    )
    total = _count(select(func.count()).select_from(OrganisationRelation).where(shown))
    stmt = (
        select(OrganisationRelation, left, right, _actif(OrganisationRelation, at).label("actif"))
        .join(left, left.id == OrganisationRelation.organisation_id)
        .join(right, right.id == OrganisationRelation.related_organisation_id)
        .where(shown)
        .order_by(left.name, right.name, OrganisationRelation.id)
    )
    rows = _rows(stmt, (page - 1) * per_page, per_page) if total else []
    items = [
        {
            "relation_id": rel.id,
            "organisation": {"id": a.id, "name": a.name, "client_number": a.client_number},
            "type": rel.type,
            "type_label": _label(ORGANISATION_RELATION_LABELS, rel.type, lang),
            "related_organisation": {"id": b.id, "name": b.name, "client_number": b.client_number},
            "start_date": rel.start_date.isoformat(),
            "end_date": rel.end_date.isoformat(),
            "actif": bool(actif),
        }
        for rel, a, b, actif in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def authorizations(
    organisation_id: int, *, contact_id: int | None, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Autorisations*: the organisation's own subjects first, then its contacts'.

    Two parts, each counted and paged on its own: the organisation's own grants (ordered by
    subject and owner), then its contacts' (by contact name, subject and owner); a page takes
    from the first, then from the second. A grant has one holder (organisation or contact), so
    the parts are disjoint, and the order is the one of a single query sorted by part first.
    """
    at = now()
    owner, holder_org = aliased(Organisation), aliased(Organisation)
    via = aliased(ContactRelation)
    own = and_(Grant.holder_organisation_id == organisation_id, _shown(Grant, at))
    members = and_(
        Grant.holder_contact_id.is_not(None),
        via.organisation_id == organisation_id,
        _shown(Grant, at),
    )
    if contact_id is not None:
        members = and_(members, Grant.holder_contact_id == contact_id)
    own_total = (
        0 if contact_id is not None else _count(select(func.count()).select_from(Grant).where(own))
    )
    # An exact count of a large firm's grants costs more than the page itself (about 60 ms for
    # 200,000 grants): past COUNT_CAP the total is a lower bound ("plus de 10 000").
    members_total = _count(
        select(func.count()).select_from(
            select(Grant.id)
            .join(via, via.id == Grant.contact_relation_id)
            .where(members)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
    )
    exact = members_total <= COUNT_CAP
    members_total = min(members_total, COUNT_CAP)
    total = own_total + members_total
    actif = _actif(Grant, at).label("actif")
    start, end = (page - 1) * per_page, page * per_page
    rows: list[Any] = []
    if start < own_total:
        # The page's ids first (sorted on the two joins of the sort key), then their rows. A
        # grant held by an organisation has no holder contact (ck_grants_one_holder).
        ids = (
            select(Grant.id)
            .join(Subject, Subject.id == Grant.subject_id)
            .join(owner, owner.id == Grant.owner_organisation_id)
            .where(own)
            .order_by(Subject.name_fr, owner.name, Grant.id)
            .offset(start)
            .limit(min(end, own_total) - start)
        )
        own_page = (
            select(Grant, Subject, owner, holder_org, via, actif)
            .join(Subject, Subject.id == Grant.subject_id)
            .join(owner, owner.id == Grant.owner_organisation_id)
            .join(holder_org, holder_org.id == Grant.holder_organisation_id)
            .outerjoin(via, via.id == Grant.contact_relation_id)
            .where(Grant.id.in_(ids))
            .order_by(Subject.name_fr, owner.name, Grant.id)
        )
        rows += [(g, s, o, h, None, v, a) for g, s, o, h, v, a in db.session.execute(own_page)]
    if end > own_total and start < total:
        # A grant held by a contact has no holder organisation (ck_grants_one_holder).
        members_page = (
            select(Grant, Subject, owner, Contact, via, actif)
            .join(Contact, Contact.id == Grant.holder_contact_id)
            .join(via, via.id == Grant.contact_relation_id)
            .join(Subject, Subject.id == Grant.subject_id)
            .join(owner, owner.id == Grant.owner_organisation_id)
            .where(members)
            .order_by(Contact.last_name, Contact.first_name, Subject.name_fr, owner.name, Grant.id)
        )
        first = max(start, own_total)
        rows += [
            (g, s, o, None, c, v, a)
            for g, s, o, c, v, a in _rows(members_page, first - own_total, end - first)
        ]
    firm = db.session.get(Organisation, organisation_id)
    items = []
    for grant, subject, owner_org, holder, contact, relation, actif in rows:
        name = subject.name_fr if lang == "fr" else subject.name_en
        second = holder if holder is not None else firm
        items.append(
            {
                "grant_id": grant.id,
                "subject": f"{name} - {owner_org.name}",
                "subject_code": subject.code,
                "right": grant.right,
                "right_label": _label(RIGHT_LABELS, grant.right, lang),
                "organisation": {"id": owner_org.id, "name": owner_org.name},
                "related_organisation": (
                    {"id": second.id, "name": second.name}
                    if second is not None and second.id != owner_org.id
                    else None
                ),
                "contact": (
                    {"id": contact.id, "name": contact.full_name} if contact is not None else None
                ),
                "function": (
                    _label(CONTACT_RELATION_LABELS, relation.type, lang)
                    if relation is not None
                    else None
                ),
                "actif": bool(actif),
            }
        )
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_exact": exact,
    }


def authorized_dossiers(contact_id: int, organisation_id: int, lang: str = "fr") -> dict[str, Any]:
    """*Mes dossiers autorisés*: other organisations' dossiers the person holds subjects on now."""
    rows = db.session.execute(
        select(Grant, Subject, Organisation)
        .join(Subject, Subject.id == Grant.subject_id)
        .join(Organisation, Organisation.id == Grant.owner_organisation_id)
        .where(
            Grant.holder_contact_id == contact_id,
            Grant.active.is_(True),
            Grant.owner_organisation_id != organisation_id,
        )
        .order_by(Organisation.name, Subject.name_fr)
    ).all()
    dossiers: dict[int, dict[str, Any]] = {}
    for grant, subject, org in rows:
        dossier = dossiers.setdefault(
            org.id,
            {
                "organisation": {
                    "id": org.id,
                    "name": org.name,
                    "client_number": org.client_number,
                },
                "subjects": [],
            },
        )
        dossier["subjects"].append(
            {
                "code": subject.code,
                "name": subject.name_fr if lang == "fr" else subject.name_en,
                "right": grant.right,
                "right_label": _label(RIGHT_LABELS, grant.right, lang),
                "available": not subject.unavailable_in_delegation,
                "note": PHASE1_NOTE[lang] if subject.unavailable_in_delegation else None,
            }
        )
    unavailable = db.session.scalars(
        select(Subject).where(Subject.unavailable_in_delegation.is_(True)).order_by(Subject.name_fr)
    ).all()
    return {
        "items": list(dossiers.values()),
        "unavailable_services": [
            {"code": s.code, "name": s.name_fr if lang == "fr" else s.name_en} for s in unavailable
        ],
        "note": PHASE1_NOTE[lang],
    }


def propagate_now() -> int:
    """Make every pending change visible in the lists now (operator command); rows touched."""
    from sqlalchemy import update

    from ..requests.models import Request

    at = now()
    touched = 0
    for model in (ContactRelation, OrganisationRelation, Grant):
        touched += db.session.execute(
            update(model)
            .where(model.visible_at > at)
            .values(visible_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        touched += db.session.execute(
            update(model)
            .where(model.end_visible_at > at)
            .values(end_visible_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    db.session.execute(
        update(Request)
        .where(Request.visible_at > at)
        .values(visible_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return touched
