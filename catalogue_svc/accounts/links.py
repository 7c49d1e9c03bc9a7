"""Links between accounts and contacts' profiles, and the profiles an account may act in.

Access control reads the truth at once: a profile is listed only through an active link whose
contact still has an *active* relation with the organisation (never waiting for propagation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, select

from forms.profile import may_manage

from ..clock import now
from ..db import db
from ..errors import Conflict
from ..profiles.models import ContactRelation, Organisation
from .models import AccountLink

LINKED_ELSEWHERE = (
    "Ce profil est déjà lié à un autre compte utilisateur. Si vous croyez qu'il s'agit d'une "
    "erreur, communiquez avec le responsable de votre organisation ou avec nous."
)


@dataclass
class Profile:
    """What an account may act as in one organisation (*Sélectionnez un profil*)."""

    profile_id: int
    organisation_id: int
    name: str
    client_number: str
    kind: str
    contact_id: int
    linked_at: dt.datetime
    relation_types: list[str] = field(default_factory=list)

    @property
    def can_manage_authorizations(self) -> bool:
        """May use the Autorisations forms (Responsable, Administrateur du dossier, Dirigeant)."""
        return may_manage(self.relation_types)


def _profiles(account_id: int, organisation_id: int | None = None) -> list[Profile]:
    query = (
        select(AccountLink, Organisation, ContactRelation.type)
        .join(Organisation, Organisation.id == AccountLink.organisation_id)
        .join(
            ContactRelation,
            and_(
                ContactRelation.contact_id == AccountLink.contact_id,
                ContactRelation.organisation_id == AccountLink.organisation_id,
                ContactRelation.active.is_(True),
            ),
        )
        .where(AccountLink.account_id == account_id, AccountLink.unlinked_at.is_(None))
        .order_by(Organisation.name, Organisation.id, AccountLink.linked_at, ContactRelation.type)
    )
    if organisation_id is not None:
        query = query.where(AccountLink.organisation_id == organisation_id)
    profiles: dict[int, Profile] = {}
    for link, organisation, relation_type in db.session.execute(query).all():
        profile = profiles.get(organisation.id)
        if profile is None:
            profile = profiles[organisation.id] = Profile(
                profile_id=organisation.id,
                organisation_id=organisation.id,
                name=organisation.name,
                client_number=organisation.client_number,
                kind=organisation.kind,
                contact_id=link.contact_id,
                linked_at=link.linked_at,
            )
        if relation_type not in profile.relation_types:
            profile.relation_types.append(relation_type)
    return list(profiles.values())


def linked_profiles(account_id: int) -> list[Profile]:
    """Every profile the account may act in now, by organisation name."""
    return _profiles(account_id)


def profile_for(account_id: int, profile_id: int) -> Profile | None:
    """The account's profile in organisation ``profile_id``, or None (treat as 404)."""
    found = _profiles(account_id, profile_id)
    return found[0] if found else None


def has_active_relation(contact_id: int, organisation_id: int) -> bool:
    """Whether the contact has an active relation with the organisation right now."""
    return (
        db.session.scalar(
            select(ContactRelation.id)
            .where(
                ContactRelation.contact_id == contact_id,
                ContactRelation.organisation_id == organisation_id,
                ContactRelation.active.is_(True),
            )
            .limit(1)
        )
        is not None
    )


def other_account_linked(account_id: int, contact_id: int) -> int | None:
    """The id of another account actively linked to this contact, if any."""
    return db.session.scalar(  # type: ignore[no-any-return]
        select(AccountLink.account_id)
        .where(
            AccountLink.contact_id == contact_id,
            AccountLink.unlinked_at.is_(None),
            AccountLink.account_id != account_id,
        )
        .limit(1)
    )


def link_contact(
    *,
    account_id: int,
    contact_id: int,
    organisation_id: int,
    method: str,
    credential_id: int | None = None,
) -> tuple[AccountLink, bool]:
    """Link the account to the contact's profile (caller's transaction); linking again is
    harmless. Returns the link and whether it is new. A contact linked to another account is
    refused (409); a race that beats the check ends on the unique index at flush."""
    if other_account_linked(account_id, contact_id) is not None:
        raise Conflict(LINKED_ELSEWHERE)
    existing = db.session.scalars(
        select(AccountLink).where(
            AccountLink.account_id == account_id,
            AccountLink.contact_id == contact_id,
            AccountLink.organisation_id == organisation_id,
            AccountLink.unlinked_at.is_(None),
        )
    ).first()
    if existing is not None:
        return existing, False
    link = AccountLink(
        account_id=account_id,
        contact_id=contact_id,
        organisation_id=organisation_id,
        method=method,
        credential_id=credential_id,
        linked_at=now(),
    )
    db.session.add(link)
    db.session.flush()
    return link, True


def unlinked_members(organisation_id: int) -> list[int]:
    """The active members of the organisation with an email address whose profile no account is
    linked to yet (who the bulk send of linking credentials names by default), by id."""
    from ..profiles.models import Contact

    linked = select(AccountLink.contact_id).where(
        AccountLink.organisation_id == organisation_id, AccountLink.unlinked_at.is_(None)
    )
    rows = db.session.scalars(
        select(Contact.id)
        .join(ContactRelation, ContactRelation.contact_id == Contact.id)
        .where(
            ContactRelation.organisation_id == organisation_id,
            ContactRelation.active.is_(True),
            Contact.email.is_not(None),
            Contact.id.not_in(linked),
        )
        .distinct()
        .order_by(Contact.id)
    ).all()
    return [int(i) for i in rows]
