"""*Relations et autorisations*: the three lists as propagated, and *Mes dossiers autorisés*.

A row shows from its ``visible_at``; it shows *Actif: Faux* from its ``end_visible_at``. Both are
compared with the service clock, so the lists follow the propagation delay without any timer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, true

from ..clock import now
from ..db import UTCDateTime, db
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


# The three lists run on every visit of *Relations et autorisations*, so their statements are
# Core selects of the columns a page shows (no ORM objects to load), built once with bind
# parameters (``functools.cache``). Each total is counted on the one table that decides which
# rows show (the joined rows always exist: their foreign keys are NOT NULL), not on the joined
# page query, and each page keeps an ORDER BY that an index serves (ix_contacts_name) or that
# sorts few rows, so that a first page is a few index probes (bench/lists.py,
# docs/performance.md).

COUNT_CAP = 10_000

_AT = bindparam("at", type_=UTCDateTime())
_ORG = bindparam("organisation_id", type_=Integer())
_OFFSET = bindparam("offset", type_=Integer())
_LIMIT = bindparam("limit", type_=Integer())

_contacts = Contact.__table__
_contact_relations = ContactRelation.__table__
_organisations = Organisation.__table__
_organisation_relations = OrganisationRelation.__table__
_subjects = Subject.__table__
_grants = Grant.__table__


def _actif(table: Any) -> Any:
    """*Actif*: Faux from ``end_visible_at`` on."""
    return case(
        (and_(table.c.end_visible_at.is_not(None), table.c.end_visible_at <= _AT), False),
        else_=True,
    ).label("actif")


def _params(organisation_id: int, at: Any, **more: Any) -> dict[str, Any]:
    """The bind parameters every list statement takes."""
    return {"organisation_id": organisation_id, "at": at, **more}


def _counted_page(
    count: Any, page_stmt: Any, params: dict[str, Any], page: int, per_page: int
) -> tuple[int, Sequence[Any]]:
    """The total and the rows of a page, in one round trip when the page has rows.

    ``page_stmt`` carries ``count`` as the column ``total``, an uncorrelated scalar subquery
    that the database computes once; only an empty page after the first counts on its own.
    """
    window = {"offset": (page - 1) * per_page, "limit": per_page}
    rows = db.session.execute(page_stmt, {**params, **window}).all()
    if rows:
        return int(rows[0].total), rows
    return (int(db.session.execute(count, params).scalar() or 0) if page > 1 else 0), []


@functools.cache
def _contacts_statements() -> tuple[Any, Any]:
    """The total of *Contacts de l'organisation*, and its page carrying that total."""
    r, c = _contact_relations, _contacts
    shown = and_(r.c.organisation_id == _ORG, r.c.visible_at <= _AT)
    count = select(func.count()).select_from(r).where(shown)
    page = (
        select(
            count.scalar_subquery().label("total"),
            r.c.id.label("relation_id"),
            r.c.type,
            r.c.start_date,
            r.c.end_date,
            _actif(r),
            c.c.id.label("contact_id"),
            c.c.first_name,
            c.c.last_name,
            c.c.email,
        )
        .select_from(r.join(c, c.c.id == r.c.contact_id))
        .where(shown)
        .order_by(c.c.last_name, c.c.first_name, r.c.id)
        .offset(_OFFSET)
        .limit(_LIMIT)
    )
    return count, page


def contacts(organisation_id: int, *, page: int, per_page: int, lang: str = "fr") -> dict[str, Any]:
    """*Contacts de l'organisation*: name, relation, start and end dates, *Actif*."""
    total, rows = _counted_page(
        *_contacts_statements(), _params(organisation_id, now()), page, per_page
    )
    items = [
        {
            "contact_id": row.contact_id,
            "relation_id": row.relation_id,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "name": f"{row.first_name} {row.last_name}",  # Contact.full_name
            "email": row.email,
            "relation": row.type,
            "relation_label": _label(CONTACT_RELATION_LABELS, row.type, lang),
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "actif": bool(row.actif),
        }
        for row in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@functools.cache
def _relations_statements() -> tuple[Any, Any]:
    """The total of *Relations de l'organisation*, and its page carrying that total."""
    r = _organisation_relations
    left, right = (
        _organisations.alias("left_organisation"),
        _organisations.alias("right_organisation"),
    )
    shown = and_(
        or_(r.c.organisation_id == _ORG, r.c.related_organisation_id == _ORG),
        r.c.visible_at <= _AT,
    )
    count = select(func.count()).select_from(r).where(shown)
    page = (
        select(
            count.scalar_subquery().label("total"),
            r.c.id,
            r.c.type,
            r.c.start_date,
            r.c.end_date,
            _actif(r),
            left.c.id.label("left_id"),
            left.c.name.label("left_name"),
            left.c.client_number.label("left_client_number"),
            right.c.id.label("right_id"),
            right.c.name.label("right_name"),
            right.c.client_number.label("right_client_number"),
        )
        .select_from(
            r.join(left, left.c.id == r.c.organisation_id).join(
                right, right.c.id == r.c.related_organisation_id
            )
        )
        .where(shown)
        .order_by(left.c.name, right.c.name, r.c.id)
        .offset(_OFFSET)
        .limit(_LIMIT)
    )
    return count, page


def relations(
    organisation_id: int, *, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Relations de l'organisation*: organisation, type of relation, organisation, *Actif*."""
    total, rows = _counted_page(
        *_relations_statements(), _params(organisation_id, now()), page, per_page
    )
    items = [
        {
            "relation_id": row.id,
            "organisation": {
                "id": row.left_id,
                "name": row.left_name,
                "client_number": row.left_client_number,
            },
            "type": row.type,
            "type_label": _label(ORGANISATION_RELATION_LABELS, row.type, lang),
            "related_organisation": {
                "id": row.right_id,
                "name": row.right_name,
                "client_number": row.right_client_number,
            },
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "actif": bool(row.actif),
        }
        for row in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@functools.cache
def _authorization_statements(filtered: bool, dialect: str) -> tuple[Any, Any, Any]:
    """The totals, the page of the firm's own grants and the page of its contacts' grants.

    ``filtered``: the grants of one contact (``contact_id``) only, so no own part.
    """
    g, s, via, c = _grants, _subjects, _contact_relations.alias("via"), _contacts
    owner = _organisations.alias("owner")
    own = and_(g.c.holder_organisation_id == _ORG, g.c.visible_at <= _AT)
    shown_member = and_(g.c.holder_contact_id.is_not(None), g.c.visible_at <= _AT)
    members = and_(shown_member, via.c.organisation_id == _ORG)
    if filtered:
        members = and_(members, g.c.holder_contact_id == bindparam("contact_id", type_=Integer()))
    # Past COUNT_CAP the contacts' total is a lower bound: an exact count of a large firm's
    # grants costs more than the page itself (about 60 ms for 200,000 grants). The capped count
    # walks the firm's contact relations and reads each one's grants from the covering index
    # ix_grants_contact_relation_visible (index-only). PostgreSQL's planner prices a seq scan of
    # the grants that probes each one's relation about the same, but that plan runs 3 to 4 times
    # longer (docs/performance.md): a LATERAL subquery, which its LIMIT keeps from being
    # flattened into a join, leaves it only the walk. SQLite has no LATERAL and walks anyway.
    # One contact's count starts from ix_grants_holder_contact_id instead.
    cap = bindparam("cap", type_=Integer())
    if dialect == "postgresql" and not filtered:
        per_relation = (
            select(g.c.id)
            .where(g.c.contact_relation_id == via.c.id, shown_member)
            .limit(cap)
            .lateral("relation_grants")
        )
        counted = (
            select(per_relation.c.id)
            .select_from(via.join(per_relation, true()))
            .where(via.c.organisation_id == _ORG)
        )
    else:
        counted = (
            select(g.c.id)
            .select_from(g.join(via, via.c.id == g.c.contact_relation_id))
            .where(members)
        )
    members_count = (
        select(func.count()).select_from(counted.limit(cap).subquery()).scalar_subquery()
    )
    firm = select(_organisations.c.name).where(_organisations.c.id == _ORG).scalar_subquery()
    counts = select(members_count.label("members"), firm.label("firm_name"))
    if not filtered:
        # The firm's own grants counted per subject (an index-only scan of
        # ix_grants_holder_organisation_subject, in subject order), then named, in the list's
        # order, beside the two values above: one row per subject, or one row of NULLs.
        per_subject = (
            select(g.c.subject_id, func.count().label("shown"))
            .where(own)
            .group_by(g.c.subject_id)
            .subquery("own_counts")
        )
        by_subject = (
            select(s.c.name_fr, per_subject.c.subject_id, per_subject.c.shown)
            .select_from(per_subject.join(s, s.c.id == per_subject.c.subject_id))
            .subquery("own_subjects")
        )
        head = counts.subquery("counts")
        counts = (
            select(head, by_subject)
            .select_from(head.outerjoin(by_subject, true()))
            .order_by(by_subject.c.name_fr, by_subject.c.subject_id)
        )
    shown = (
        g.c.id,
        g.c.access_right,
        _actif(g),
        s.c.code,
        s.c.name_fr,
        s.c.name_en,
        owner.c.id.label("owner_id"),
        owner.c.name.label("owner_name"),
    )
    # The own page sorts only the grants of the subjects the page spans (_own_window): a few
    # hundred rows, not every grant of the firm. A grant held by an organisation has no contact
    # relation in practice; the function of one that has is read apart (_functions): an outer
    # join here makes PostgreSQL's generic plan hash the whole contact_relations table.
    own_page = (
        select(*shown, g.c.contact_relation_id)
        .select_from(
            g.join(s, s.c.id == g.c.subject_id).join(owner, owner.c.id == g.c.owner_organisation_id)
        )
        .where(own, g.c.subject_id.in_(bindparam("subject_ids", expanding=True)))
        .order_by(s.c.name_fr, owner.c.name, g.c.id)
        .offset(_OFFSET)
        .limit(_LIMIT)
    )
    # A grant held by a contact has no holder organisation (ck_grants_one_holder).
    members_page = (
        select(
            *shown,
            via.c.type.label("function"),
            c.c.id.label("contact_id"),
            c.c.first_name,
            c.c.last_name,
        )
        .select_from(
            g.join(c, c.c.id == g.c.holder_contact_id)
            .join(via, via.c.id == g.c.contact_relation_id)
            .join(s, s.c.id == g.c.subject_id)
            .join(owner, owner.c.id == g.c.owner_organisation_id)
        )
        .where(members)
        .order_by(c.c.last_name, c.c.first_name, s.c.name_fr, owner.c.name, g.c.id)
        .offset(_OFFSET)
        .limit(_LIMIT)
    )
    if filtered:
        # One contact's page carries its total and the firm's name: one round trip.
        members_page = members_page.add_columns(
            members_count.label("members"), firm.label("firm_name")
        )
    return counts, own_page, members_page


def _own_window(counts: list[Any], start: int, end: int) -> tuple[list[int], int]:
    """The subjects whose own grants rows ``start``..``end`` of the own part fall in, and how
    many rows of the own part come before the first of them.

    ``counts``: (name_fr, subject_id, shown) in the list's order. Subjects of the same name
    sort their grants together, so they are taken (or left) together.
    """
    groups: list[tuple[str, list[int], int]] = []
    for row in counts:
        if groups and groups[-1][0] == row.name_fr:
            name, ids, shown = groups[-1]
            groups[-1] = (name, [*ids, row.subject_id], shown + row.shown)
        else:
            groups.append((row.name_fr, [row.subject_id], row.shown))
    spanned: list[int] = []
    before = skipped = 0
    for _, ids, shown in groups:
        if before + shown > start and before < end:
            if not spanned:
                skipped = before
            spanned += ids
        before += shown
    return spanned, skipped


def _functions(relation_ids: set[int]) -> dict[int, str]:
    """The type of each contact relation named (none for a page of the firm's own grants)."""
    if not relation_ids:
        return {}
    r = _contact_relations
    rows = db.session.execute(select(r.c.id, r.c.type).where(r.c.id.in_(relation_ids)))
    return {row.id: row.type for row in rows}


def authorizations(
    organisation_id: int, *, contact_id: int | None, page: int, per_page: int, lang: str = "fr"
) -> dict[str, Any]:
    """*Autorisations*: the organisation's own subjects first, then its contacts'.

    Two parts, each counted and paged on its own: the organisation's own grants (ordered by
    subject and owner), then its contacts' (by contact name, subject and owner); a page takes
    from the first, then from the second. A grant has one holder (organisation or contact), so
    the parts are disjoint, and the order is the one of a single query sorted by part first.
    """
    filtered = contact_id is not None
    counts, own_page, members_page = _authorization_statements(filtered, db.engine.dialect.name)
    params = _params(organisation_id, now(), cap=COUNT_CAP + 1)
    start, end = (page - 1) * per_page, page * per_page
    rows: list[tuple[Any, bool]] = []  # (row, held by a contact)
    functions: dict[int, str] = {}
    if filtered:
        params["contact_id"] = contact_id
        window = {"offset": start, "limit": per_page}
        members_rows = db.session.execute(members_page, {**params, **window}).all()
        head = members_rows[0] if members_rows else db.session.execute(counts, params).one()
        own_total, members_total = 0, int(head.members)
        total = min(members_total, COUNT_CAP)
        if start < total:
            rows += [(row, True) for row in members_rows]
    else:
        counted = db.session.execute(counts, params).all()
        head = counted[0]
        own_counts = [row for row in counted if row.subject_id is not None]
        own_total = sum(row.shown for row in own_counts)
        members_total = int(head.members)
        total = own_total + min(members_total, COUNT_CAP)
        if start < own_total:
            subject_ids, skipped = _own_window(own_counts, start, end)
            own_rows = db.session.execute(
                own_page,
                {
                    **params,
                    "subject_ids": subject_ids,
                    "offset": start - skipped,
                    "limit": min(end, own_total) - start,
                },
            ).all()
            functions = _functions({r.contact_relation_id for r in own_rows} - {None})
            rows += [(row, False) for row in own_rows]
        if end > own_total and start < total:
            first = max(start, own_total)
            members_rows = db.session.execute(
                members_page, {**params, "offset": first - own_total, "limit": end - first}
            ).all()
            rows += [(row, True) for row in members_rows]
    exact = members_total <= COUNT_CAP
    firm_name = head.firm_name
    items = []
    for row, member in rows:
        name = row.name_fr if lang == "fr" else row.name_en
        function = row.function if member else functions.get(row.contact_relation_id)
        items.append(
            {
                "grant_id": row.id,
                "subject": f"{name} - {row.owner_name}",
                "subject_code": row.code,
                "right": row.access_right,
                "right_label": _label(RIGHT_LABELS, row.access_right, lang),
                "organisation": {"id": row.owner_id, "name": row.owner_name},
                # The other organisation: the holder of an own grant, or the one through which
                # a contact holds it; both are the firm.
                "related_organisation": (
                    {"id": organisation_id, "name": firm_name}
                    if firm_name is not None and organisation_id != row.owner_id
                    else None
                ),
                "contact": (
                    {"id": row.contact_id, "name": f"{row.first_name} {row.last_name}"}
                    if member
                    else None
                ),
                "function": (
                    _label(CONTACT_RELATION_LABELS, function, lang)
                    if function is not None
                    else None
                ),
                "actif": bool(row.actif),
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
        select(r.c.id, r.c.type, r.c.start_date, r.c.end_date, _actif(r))
        .where(
            r.c.contact_id == contact_id,
            r.c.organisation_id == organisation_id,
            r.c.visible_at <= _AT,
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
        select(
            g.c.id,
            g.c.access_right,
            _actif(g),
            s.c.code,
            s.c.name_fr,
            s.c.name_en,
            owner.c.id.label("owner_id"),
            owner.c.name.label("owner_name"),
            owner.c.client_number.label("owner_client_number"),
        )
        .select_from(
            g.join(via, via.c.id == g.c.contact_relation_id)
            .join(s, s.c.id == g.c.subject_id)
            .join(owner, owner.c.id == g.c.owner_organisation_id)
        )
        .where(
            g.c.holder_contact_id == contact_id,
            via.c.organisation_id == organisation_id,
            g.c.visible_at <= _AT,
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
        "language_label": _label(dict(LANGUAGES), contact.language, lang),
        "birth_date": (
            contact.birth_date.isoformat() if show_birth_date and contact.birth_date else None
        ),
        "birth_date_masked": not show_birth_date,
        "phones": [
            {
                "id": p.id,
                "type": p.type,
                "type_label": _label(dict(PHONE_TYPES), p.type, lang),
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
                "type_label": _label(CONTACT_RELATION_LABELS, row.type, lang),
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
                "right_label": _label(RIGHT_LABELS, row.access_right, lang),
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
