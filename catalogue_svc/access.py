"""Who may do what — the one place where access is decided (never in views).

An account acts within a profile (an organisation) it is linked to, through a contact that still
has an *active* relation with that organisation: access never waits for propagation. The
Autorisations forms need an active Responsable, Administrateur du dossier or Dirigeant relation.
Another organisation's objects answer 404, as if they did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .db import db
from .errors import Forbidden, NotFound
from .profiles.models import AUTHORITY_RELATIONS, ContactRelation, Organisation


@dataclass(frozen=True)
class ProfileAccess:
    """What an account may do in one profile."""

    account_id: int
    organisation: Organisation
    contact_id: int
    relation_types: frozenset[str]

    @property
    def can_manage(self) -> bool:
        """May use the Autorisations forms and see the firm's relations and authorizations."""
        return bool(self.relation_types & AUTHORITY_RELATIONS)


def _links(account_id: int, organisation_id: int | None = None) -> list[tuple[int, int]]:
    from .accounts.models import AccountLink

    stmt = select(AccountLink.contact_id, AccountLink.organisation_id).where(
        AccountLink.account_id == account_id, AccountLink.unlinked_at.is_(None)
    )
    if organisation_id is not None:
        stmt = stmt.where(AccountLink.organisation_id == organisation_id)
    return [(c, o) for c, o in db.session.execute(stmt).all()]


def _active_relation_types(contact_id: int, organisation_id: int) -> frozenset[str]:
    rows = db.session.scalars(
        select(ContactRelation.type).where(
            ContactRelation.contact_id == contact_id,
            ContactRelation.organisation_id == organisation_id,
            ContactRelation.active.is_(True),
        )
    ).all()
    return frozenset(rows)


def profile_access(account_id: int, profile_id: int) -> ProfileAccess | None:
    """The account's access to a profile, or None when it has none (right now)."""
    for contact_id, organisation_id in _links(account_id, profile_id):
        types = _active_relation_types(contact_id, organisation_id)
        if types:
            organisation = db.session.get(Organisation, organisation_id)
            if organisation is not None:
                return ProfileAccess(account_id, organisation, contact_id, types)
    return None


def require_profile(account_id: int, profile_id: int, *, manage: bool = False) -> ProfileAccess:
    """The account's access to ``profile_id``; 404 without access, 403 without authority."""
    access = profile_access(account_id, profile_id)
    if access is None:
        raise NotFound()
    if manage and not access.can_manage:
        raise Forbidden(
            "Seules les personnes possédant les autorisations requises (personnes responsables, "
            "administratrices, dirigeantes) peuvent effectuer cette action."
        )
    return access


def accessible_profiles(account_id: int) -> list[ProfileAccess]:
    """Every profile the account may act in now."""
    seen: dict[int, ProfileAccess] = {}
    for _contact_id, organisation_id in _links(account_id):
        if organisation_id in seen:
            continue
        access = profile_access(account_id, organisation_id)
        if access is not None:
            seen[organisation_id] = access
    return list(seen.values())


FIRMS_ONLY = (
    "Cette fonction est réservée aux comptes des organisations (les agents n'y ont pas accès)."
)


def require_user() -> Any:
    """The logged-in account of a person acting for organisations (not an agent): 401 / 403."""
    from . import audit
    from .accounts.sessions import require_account

    account = require_account()
    if account.is_agent:
        audit.record(
            "authorization.denied",
            "failure",
            actor_account_id=account.id,
            actor_kind="agent",
            details={"needs": "user"},
        )
        db.session.commit()
        raise Forbidden(FIRMS_ONLY)
    return account


def require_agent() -> Any:
    """The logged-in agent (401 / 403)."""
    from .accounts.sessions import require_agent as _require_agent

    return _require_agent()


def require_any() -> Any:
    """Any logged-in account (401)."""
    from .accounts.sessions import require_account

    return require_account()
