"""The statements of the three lists of *Relations et autorisations*, built once.

The three lists run on every visit of *Relations et autorisations*, so their statements are Core
selects of the columns a page shows (no ORM objects to load), built once with bind parameters
(``functools.cache``). Each total is counted on the one table that decides which rows show (the
joined rows always exist: their foreign keys are NOT NULL), not on the joined page query, and each
page keeps an ORDER BY that an index serves (ix_contacts_name) or that sorts few rows, so that a
first page is a few index probes (bench/lists.py, docs/performance.md). :mod:`.lists` runs them.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, true

from ..db import UTCDateTime
from .models import Contact, ContactRelation, Grant, Organisation, OrganisationRelation, Subject

__all__ = [
    "AT",
    "actif",
    "authorization_statements",
    "contacts_statements",
    "relations_statements",
    "shown_grant",
    "shown_period",
]

# The instant the lists show (``visible_at`` and ``end_visible_at`` are compared with it).
AT = bindparam("at", type_=UTCDateTime())
_ORG = bindparam("organisation_id", type_=Integer())
_OFFSET = bindparam("offset", type_=Integer())
_LIMIT = bindparam("limit", type_=Integer())

_contacts = Contact.__table__
_contact_relations = ContactRelation.__table__
_organisations = Organisation.__table__
_organisation_relations = OrganisationRelation.__table__
_subjects = Subject.__table__
_grants = Grant.__table__


def actif(table: Any) -> Any:
    """*Actif*: Faux from ``end_visible_at`` on."""
    return case(
        (and_(table.c.end_visible_at.is_not(None), table.c.end_visible_at <= AT), False),
        else_=True,
    ).label("actif")


def shown_period(relations: Any) -> tuple[Any, ...]:
    """What a relation (a contact's or an organisation's) is shown with: its type, its start and
    end dates and *Actif*."""
    return relations.c.type, relations.c.start_date, relations.c.end_date, actif(relations)


def shown_grant(grants: Any, subjects: Any, owner: Any) -> tuple[Any, ...]:
    """What a grant is shown with (*Autorisations*, a contact's subjects): its id, right and
    *Actif*, its subject, the organisation that owns the dossier."""
    return (
        grants.c.id,
        grants.c.access_right,
        actif(grants),
        subjects.c.code,
        subjects.c.name_fr,
        subjects.c.name_en,
        owner.c.id.label("owner_id"),
        owner.c.name.label("owner_name"),
    )


def _counted_page(
    table: Any, shown: Any, columns: tuple[Any, ...], joined: Any, order: tuple[Any, ...]
) -> tuple[Any, Any]:
    """The total of a list (the rows of ``table`` that are ``shown``), and its page carrying that
    total beside ``columns`` of ``joined``, in ``order``."""
    count = select(func.count()).select_from(table).where(shown)
    page = (
        select(count.scalar_subquery().label("total"), *columns)
        .select_from(joined)
        .where(shown)
        .order_by(*order)
        .offset(_OFFSET)
        .limit(_LIMIT)
    )
    return count, page


@functools.cache
def contacts_statements() -> tuple[Any, Any]:
    """The total of *Contacts de l'organisation*, and its page carrying that total."""
    r, c = _contact_relations, _contacts
    shown = and_(r.c.organisation_id == _ORG, r.c.visible_at <= AT)
    columns = (
        r.c.id.label("relation_id"),
        *shown_period(r),
        c.c.id.label("contact_id"),
        c.c.first_name,
        c.c.last_name,
        c.c.email,
    )
    joined = r.join(c, c.c.id == r.c.contact_id)
    return _counted_page(r, shown, columns, joined, (c.c.last_name, c.c.first_name, r.c.id))


@functools.cache
def relations_statements() -> tuple[Any, Any]:
    """The total of *Relations de l'organisation*, and its page carrying that total."""
    r = _organisation_relations
    left, right = (
        _organisations.alias("left_organisation"),
        _organisations.alias("right_organisation"),
    )
    shown = and_(
        or_(r.c.organisation_id == _ORG, r.c.related_organisation_id == _ORG),
        r.c.visible_at <= AT,
    )
    columns = (
        r.c.id,
        *shown_period(r),
        left.c.id.label("left_id"),
        left.c.name.label("left_name"),
        left.c.client_number.label("left_client_number"),
        right.c.id.label("right_id"),
        right.c.name.label("right_name"),
        right.c.client_number.label("right_client_number"),
    )
    joined = r.join(left, left.c.id == r.c.organisation_id).join(
        right, right.c.id == r.c.related_organisation_id
    )
    return _counted_page(r, shown, columns, joined, (left.c.name, right.c.name, r.c.id))


@functools.cache
def authorization_statements(filtered: bool, dialect: str) -> tuple[Any, Any, Any]:
    """The totals, the page of the firm's own grants and the page of its contacts' grants.

    ``filtered``: the grants of one contact (``contact_id``) only, so no own part.
    """
    g, s, via, c = _grants, _subjects, _contact_relations.alias("via"), _contacts
    owner = _organisations.alias("owner")
    own = and_(g.c.holder_organisation_id == _ORG, g.c.visible_at <= AT)
    shown_member = and_(g.c.holder_contact_id.is_not(None), g.c.visible_at <= AT)
    members = and_(shown_member, via.c.organisation_id == _ORG)
    if filtered:
        members = and_(members, g.c.holder_contact_id == bindparam("contact_id", type_=Integer()))
    # Past ``lists.COUNT_CAP`` the contacts' total is a lower bound: an exact count of a large
    # firm's grants costs more than the page itself (about 60 ms for 200,000 grants). The capped
    # count walks the firm's contact relations and reads each one's grants from the covering
    # index ix_grants_contact_relation_visible (index-only). PostgreSQL's planner prices a seq
    # scan of the grants that probes each one's relation about the same, but that plan runs 3 to
    # 4 times longer (docs/performance.md): a LATERAL subquery, which its LIMIT keeps from being
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
    shown = shown_grant(g, s, owner)
    # The own page sorts only the grants of the subjects the page spans (``lists._own_window``):
    # a few hundred rows, not every grant of the firm. A grant held by an organisation has no
    # contact relation in practice; the function of one that has is read apart
    # (``lists._functions``): an outer join here makes PostgreSQL's generic plan hash the whole
    # contact_relations table.
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
