"""The read-only view of one organisation's profile that the forms compute changesets against."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Row, Select, and_, bindparam, case, or_, select
from sqlalchemy.orm import joinedload

from forms.profile import (
    VIEW_PARTS,
    ContactInfo,
    GrantInfo,
    OrgInfo,
    OrgRelationInfo,
    PhoneInfo,
    ProfileView,
    RelationInfo,
    SubjectInfo,
    ViewPart,
)

from .. import unit
from ..db import db
from .models import (
    AUTHORITY_RELATIONS,
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    Subject,
)

# The records of the view that mirror a row of the profile store.
_Info = TypeVar(
    "_Info", OrgInfo, ContactInfo, PhoneInfo, RelationInfo, OrgRelationInfo, GrantInfo, SubjectInfo
)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _info(info: type[_Info], row: Any, **given: Any) -> _Info:
    """The record ``info`` of ``forms.profile`` for the ORM ``row``: each field the attribute of
    the same name (the view mirrors the columns), unless ``given``."""
    names = _FIELD_NAMES.get(info)
    if names is None:
        names = _FIELD_NAMES[info] = tuple(f.name for f in dataclasses.fields(info))
    read = {name: getattr(row, name) for name in names if name not in given}
    return info(**read, **given)


def _contact(contact: Contact) -> ContactInfo:
    phones = tuple(_info(PhoneInfo, p) for p in contact.phones)
    return _info(ContactInfo, contact, phones=phones)


def is_authority(type_column: Any) -> ColumnElement[bool]:
    """``type IN ('administrateur_dossier', 'dirigeant', 'responsable')``, the types written in
    the SQL rather than bound. psycopg prepares a statement run often, and PostgreSQL then plans
    it once for any value of its parameters: with the types bound, it could not tell that few
    relations are authority relations, and planned the submission's view as if all of a firm's
    relations were (every relation and every contact scanned: 2.4 ms at 2,000 contacts, growing
    with the firm, against 0.09 ms with the types known; ``bench/submission.py``)."""
    return type_column.in_(  # type: ignore[no-any-return]
        bindparam("authority_types", sorted(AUTHORITY_RELATIONS), literal_execute=True)
    )


def subjects_in_transaction() -> list[Subject]:
    """Every subject (reference data), read once per transaction: a batch of applies shares it."""
    kept = unit.of(db.session)
    if kept.subjects is None:
        kept.subjects = list(db.session.scalars(select(Subject)).all())
    return kept.subjects


def profile_view(
    organisation_id: int,
    *,
    contact_ids: Iterable[int] | None = None,
    parts: Collection[ViewPart] = VIEW_PARTS,
) -> ProfileView:
    """The current (not propagated: the truth) state of the organisation's profile.

    With ``contact_ids`` the view is scoped to what a submission about those contacts needs:
    them, and the relations that carry authority (a firm must keep a responsable). A firm of
    10,000 members is then not loaded whole for each submission and each apply. ``parts``: the
    parts of the view to read (a form's ``view_parts``); the others are left empty, one query
    saved for each.
    """
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise LookupError(organisation_id)
    relations: Sequence[ContactRelation] = ()
    contacts: dict[int, Contact] = {}
    if "contacts" in parts:
        relation_filter = [
            ContactRelation.organisation_id == organisation_id,
            ContactRelation.active.is_(True),
        ]
        if contact_ids is not None:
            relation_filter.append(
                or_(
                    ContactRelation.contact_id.in_(list(contact_ids)),
                    is_authority(ContactRelation.type),
                )
            )
        # One query: the relations, their contacts and the contacts' phones (joined).
        rows = (
            db.session.execute(
                select(ContactRelation, Contact)
                .join(Contact, Contact.id == ContactRelation.contact_id)
                .where(*relation_filter)
                .options(joinedload(Contact.phones))
            )
            .unique()
            .all()
        )
        relations = [r for r, _ in rows]
        contacts = {c.id: c for _, c in rows}
    contact_ids = set(contacts)
    org_relations: Sequence[OrganisationRelation] = ()
    related: Sequence[Organisation] = ()
    if "organisations" in parts:
        org_relations = db.session.scalars(
            select(OrganisationRelation).where(
                OrganisationRelation.active.is_(True),
                or_(
                    OrganisationRelation.organisation_id == organisation_id,
                    OrganisationRelation.related_organisation_id == organisation_id,
                ),
            )
        ).all()
        related_ids = {
            r.organisation_id
            if r.related_organisation_id == organisation_id
            else r.related_organisation_id
            for r in org_relations
        }
        related = (
            db.session.scalars(select(Organisation).where(Organisation.id.in_(related_ids))).all()
            if related_ids
            else []
        )
    grants: Sequence[Row[Grant, str]] = ()
    if "grants" in parts:
        grant_filter = [Grant.holder_organisation_id == organisation_id]
        if contact_ids:
            grant_filter.append(Grant.holder_contact_id.in_(contact_ids))
        grants = db.session.execute(
            select(Grant, Subject.code)
            .join(Subject, Subject.id == Grant.subject_id)
            .where(Grant.active.is_(True), or_(*grant_filter))
        ).all()
    subjects = subjects_in_transaction() if "subjects" in parts else []
    return ProfileView(
        organisation=_info(OrgInfo, organisation),
        contacts={c.id: _contact(c) for c in contacts.values()},
        relations=tuple(_info(RelationInfo, r) for r in relations),
        related_organisations={o.id: _info(OrgInfo, o) for o in related},
        org_relations=tuple(_info(OrgRelationInfo, r) for r in org_relations),
        grants=tuple(_info(GrantInfo, g, subject_code=code) for g, code in grants),
        subjects={s.code: _info(SubjectInfo, s) for s in subjects},
    )


@functools.cache
def _contacts_part_query(scoped: bool) -> Select[Any]:
    """The statement of :func:`contacts_view`, built once: the organisation left-joined to its
    active relations (scoped: to ``contact_ids`` and the authority relations), their contacts
    and the contacts' phones. Core rows: no ORM object is built for a read-only view."""
    orgs, relations = Organisation.__table__, ContactRelation.__table__
    contacts, phones = Contact.__table__, ContactPhone.__table__
    on = [
        relations.c.organisation_id == orgs.c.id,
        relations.c.active.is_(True),
    ]
    if scoped:
        on.append(
            or_(
                relations.c.contact_id.in_(bindparam("contact_ids", expanding=True)),
                is_authority(relations.c.type),
            )
        )
    people = relations.join(contacts, contacts.c.id == relations.c.contact_id).outerjoin(
        phones, phones.c.contact_id == contacts.c.id
    )
    return (
        select(
            orgs.c.id,
            orgs.c.name,
            orgs.c.client_number,
            orgs.c.kind,
            relations.c.id,
            relations.c.contact_id,
            relations.c.type,
            relations.c.start_date,
            relations.c.end_date,
            relations.c.active,
            contacts.c.first_name,
            contacts.c.last_name,
            contacts.c.birth_date,
            contacts.c.email,
            contacts.c.language,
            contacts.c.client_number,
            contacts.c.address,
            phones.c.id,
            phones.c.type,
            phones.c.territory,
            phones.c.country_code,
            phones.c.number,
            phones.c.extension,
        )
        .select_from(orgs.outerjoin(people, and_(*on)))
        .where(orgs.c.id == bindparam("organisation_id", type_=Integer()))
        .order_by(relations.c.id, phones.c.position, phones.c.id)
    )


@functools.cache
def _organisations_part_query() -> Select[Any]:
    """The organisation's active relations to other organisations, each with the other one."""
    relations, orgs = OrganisationRelation.__table__, Organisation.__table__
    organisation_id = bindparam("organisation_id", type_=Integer())
    other = case(
        (relations.c.related_organisation_id == organisation_id, relations.c.organisation_id),
        else_=relations.c.related_organisation_id,
    )
    return (
        select(
            relations.c.id,
            relations.c.organisation_id,
            relations.c.related_organisation_id,
            relations.c.type,
            relations.c.active,
            orgs.c.id.label("other_id"),
            orgs.c.name,
            orgs.c.client_number,
            orgs.c.kind,
        )
        .join_from(relations, orgs, orgs.c.id == other)
        .where(
            relations.c.active.is_(True),
            or_(
                relations.c.organisation_id == organisation_id,
                relations.c.related_organisation_id == organisation_id,
            ),
        )
        .order_by(relations.c.id)
    )


@functools.cache
def _grants_part_query(with_contacts: bool) -> Select[Any]:
    """The active grants held by the organisation (or by ``contact_ids``), with subject codes."""
    grants, subjects = Grant.__table__, Subject.__table__
    holders = [grants.c.holder_organisation_id == bindparam("organisation_id", type_=Integer())]
    if with_contacts:
        holders.append(grants.c.holder_contact_id.in_(bindparam("contact_ids", expanding=True)))
    return (
        select(
            grants.c.id,
            subjects.c.code.label("subject_code"),
            grants.c.owner_organisation_id,
            grants.c.access_right.label("right"),
            grants.c.holder_contact_id,
            grants.c.holder_organisation_id,
            grants.c.contact_relation_id,
            grants.c.organisation_relation_id,
            grants.c.active,
        )
        .join_from(grants, subjects, subjects.c.id == grants.c.subject_id)
        .where(grants.c.active.is_(True), or_(*holders))
        .order_by(grants.c.id)
    )


def _other_parts(
    organisation_id: int, contact_ids: set[int], parts: Collection[ViewPart]
) -> dict[str, Any]:
    """The parts of :func:`contacts_view` beyond the contacts, one query each, as Core rows."""
    found: dict[str, Any] = {
        "related_organisations": {},
        "org_relations": (),
        "grants": (),
        "subjects": {},
    }
    if "organisations" in parts:
        rows = db.session.execute(
            _organisations_part_query(), {"organisation_id": organisation_id}
        ).all()
        found["org_relations"] = tuple(_info(OrgRelationInfo, r) for r in rows)
        found["related_organisations"] = {
            r.other_id: OrgInfo(
                id=r.other_id, name=r.name, client_number=r.client_number, kind=r.kind
            )
            for r in rows
        }
    if "grants" in parts:
        params: dict[str, Any] = {"organisation_id": organisation_id}
        if contact_ids:
            params["contact_ids"] = sorted(contact_ids)
        rows = db.session.execute(_grants_part_query(bool(contact_ids)), params).all()
        found["grants"] = tuple(_info(GrantInfo, r) for r in rows)
    if "subjects" in parts:
        found["subjects"] = {s.code: _info(SubjectInfo, s) for s in subjects_in_transaction()}
    return found


def contacts_view(
    organisation_id: int,
    *,
    contact_ids: Iterable[int] | None = None,
    parts: Collection[ViewPart] = VIEW_PARTS,
) -> ProfileView:
    """:func:`profile_view`, the same view, read as Core rows in fewer queries: the organisation
    and its contacts in one (what most forms need, read on every submission), then one for each
    other part (the organisation's relations with the related organisations, the grants with
    their subject codes; the subjects once per transaction). No ORM object is built for a
    read-only view. Without the contacts part, :func:`profile_view`."""
    if "contacts" not in parts:
        return profile_view(organisation_id, contact_ids=contact_ids, parts=parts)
    params: dict[str, Any] = {"organisation_id": organisation_id}
    if contact_ids is not None:
        params["contact_ids"] = sorted(set(contact_ids))
    rows = db.session.execute(_contacts_part_query(contact_ids is not None), params).all()
    if not rows:
        raise LookupError(organisation_id)
    first = rows[0]
    relations: dict[int, RelationInfo] = {}
    people: dict[int, tuple[Any, ...]] = {}
    phones: dict[int, dict[int, PhoneInfo]] = {}
    for row in rows:
        (_, _, _, _, rid, cid, rtype, start, end, active, *person) = row[:17]
        if rid is None:  # the organisation alone: no relation matched
            continue
        if rid not in relations:
            relations[rid] = RelationInfo(
                id=rid,
                contact_id=cid,
                organisation_id=organisation_id,
                type=rtype,
                start_date=start,
                end_date=end,
                active=active,
            )
        people.setdefault(cid, tuple(person))
        own = phones.setdefault(cid, {})
        pid, ptype, territory, country_code, number, extension = row[17:]
        if pid is not None and pid not in own:
            own[pid] = PhoneInfo(
                type=ptype,
                territory=territory,
                country_code=country_code,
                number=number,
                extension=extension,
                id=pid,
            )
    return ProfileView(
        organisation=OrgInfo(id=first[0], name=first[1], client_number=first[2], kind=first[3]),
        contacts={
            cid: ContactInfo(
                id=cid,
                first_name=first_name,
                last_name=last_name,
                birth_date=birth_date,
                email=email,
                language=language,
                client_number=client_number,
                phones=tuple(phones[cid].values()),
                address=address,
            )
            for cid, (
                first_name,
                last_name,
                birth_date,
                email,
                language,
                client_number,
                address,
            ) in people.items()
        },
        relations=tuple(relations.values()),
        **_other_parts(organisation_id, set(people), parts),
    )
