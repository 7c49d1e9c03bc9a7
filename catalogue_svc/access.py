"""Who may do what — the one place where access is decided (never in views).

An account acts within a profile (an organisation) it is linked to, through a contact that still
has an *active* relation with that organisation: access never waits for propagation. The
Autorisations forms need an active Responsable, Administrateur du dossier or Dirigeant relation.
Another organisation's objects answer 404, as if they did not exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select

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


@functools.cache
def _access_query() -> Any:
    """The statement of :func:`profile_access`, built once (it runs on every profile call)."""
    from .accounts.models import AccountLink

    return (
        select(AccountLink.contact_id, ContactRelation.type, Organisation)
        .join(
            ContactRelation,
            and_(
                ContactRelation.contact_id == AccountLink.contact_id,
                ContactRelation.organisation_id == AccountLink.organisation_id,
                ContactRelation.active.is_(True),
            ),
        )
        .join(Organisation, Organisation.id == AccountLink.organisation_id)
        .where(
            AccountLink.account_id == bindparam("account_id"),
            AccountLink.unlinked_at.is_(None),
            AccountLink.organisation_id == bindparam("profile_id"),
        )
        .order_by(AccountLink.id)
    )


def profile_access(account_id: int, profile_id: int) -> ProfileAccess | None:
    """The account's access to a profile, or None when it has none (right now).

    One query: the account's active links to the profile, joined to the linked contact's
    active relations there and to the organisation (bench/lists.py times it).
    """
    rows = db.session.execute(
        _access_query(), {"account_id": account_id, "profile_id": profile_id}
    ).all()
    if not rows:
        return None
    contact_id, _, organisation = rows[0]
    types = frozenset(t for c, t, _ in rows if c == contact_id)
    return ProfileAccess(account_id, organisation, contact_id, types)


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
