"""The read-only view of one organisation's profile that the forms compute changesets against."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session, SessionTransaction, selectinload

from forms.profile import (
    ContactInfo,
    GrantInfo,
    OrgInfo,
    OrgRelationInfo,
    PhoneInfo,
    ProfileView,
    RelationInfo,
    SubjectInfo,
)

from ..db import db
from .models import (
    AUTHORITY_RELATIONS,
    Contact,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    Subject,
)


def _org(org: Organisation) -> OrgInfo:
    return OrgInfo(id=org.id, name=org.name, client_number=org.client_number, kind=org.kind)


def _contact(contact: Contact) -> ContactInfo:
    return ContactInfo(
        id=contact.id,
        first_name=contact.first_name,
        last_name=contact.last_name,
        birth_date=contact.birth_date,
        email=contact.email,
        language=contact.language,
        client_number=contact.client_number,
        phones=tuple(
            PhoneInfo(
                type=p.type,
                territory=p.territory,
                country_code=p.country_code,
                number=p.number,
                extension=p.extension,
            )
            for p in contact.phones
        ),
        address=contact.address,
    )


def subjects_in_transaction() -> list[Subject]:
    """Every subject (reference data), read once per transaction: a batch of applies shares it."""
    info = db.session.info
    if "subjects" not in info:
        info["subjects"] = list(db.session.scalars(select(Subject)).all())
    return info["subjects"]  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _forget_subjects(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop("subjects", None)


def profile_view(organisation_id: int, *, contact_ids: Iterable[int] | None = None) -> ProfileView:
    """The current (not propagated: the truth) state of the organisation's profile.

    With ``contact_ids`` the view is scoped to what a submission about those contacts needs:
    them, and the relations that carry authority (a firm must keep a responsable). A firm of
    10,000 members is then not loaded whole for each submission and each apply.
    """
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise LookupError(organisation_id)
    relation_filter = [
        ContactRelation.organisation_id == organisation_id,
        ContactRelation.active.is_(True),
    ]
    if contact_ids is not None:
        relation_filter.append(
            or_(
                ContactRelation.contact_id.in_(list(contact_ids)),
                ContactRelation.type.in_(sorted(AUTHORITY_RELATIONS)),
            )
        )
    relations = db.session.scalars(select(ContactRelation).where(*relation_filter)).all()
    contact_ids = {r.contact_id for r in relations}
    contacts = (
        db.session.scalars(
            select(Contact).where(Contact.id.in_(contact_ids)).options(selectinload(Contact.phones))
        ).all()
        if contact_ids
        else []
    )
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
    grant_filter = [Grant.holder_organisation_id == organisation_id]
    if contact_ids:
        grant_filter.append(Grant.holder_contact_id.in_(contact_ids))
    grants = db.session.execute(
        select(Grant, Subject.code)
        .join(Subject, Subject.id == Grant.subject_id)
        .where(Grant.active.is_(True), or_(*grant_filter))
    ).all()
    subjects = subjects_in_transaction()
    return ProfileView(
        organisation=_org(organisation),
        contacts={c.id: _contact(c) for c in contacts},
        relations=tuple(
            RelationInfo(
                id=r.id,
                contact_id=r.contact_id,
                organisation_id=r.organisation_id,
                type=r.type,
                start_date=r.start_date,
                end_date=r.end_date,
                active=r.active,
            )
            for r in relations
        ),
        related_organisations={o.id: _org(o) for o in related},
        org_relations=tuple(
            OrgRelationInfo(
                id=r.id,
                organisation_id=r.organisation_id,
                related_organisation_id=r.related_organisation_id,
                type=r.type,
                active=r.active,
            )
            for r in org_relations
        ),
        grants=tuple(
            GrantInfo(
                id=g.id,
                subject_code=code,
                owner_organisation_id=g.owner_organisation_id,
                right=g.right,
                holder_contact_id=g.holder_contact_id,
                holder_organisation_id=g.holder_organisation_id,
                contact_relation_id=g.contact_relation_id,
                organisation_relation_id=g.organisation_relation_id,
                active=g.active,
            )
            for g, code in grants
        ),
        subjects={
            s.code: SubjectInfo(
                code=s.code,
                name_fr=s.name_fr,
                name_en=s.name_en,
                category=s.category,
                unavailable_in_delegation=s.unavailable_in_delegation,
            )
            for s in subjects
        },
    )
