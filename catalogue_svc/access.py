"""Who may do what — the one place where access is decided (never in views).

An account acts within a profile (an organisation) it is linked to, through a contact that still
has an *active* relation with that organisation: access never waits for propagation. The
Autorisations forms need an active Responsable, Administrateur du dossier or Dirigeant relation.
Another organisation's objects answer 404, as if they did not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, select

from forms.profile import may_manage

from .db import db
from .errors import Forbidden, NotFound
from .profiles.models import ContactRelation, Organisation


@dataclass(frozen=True)
class ProfileAccess:
    """What an account may do in one profile."""

    account_id: int
    organisation_id: int
    contact_id: int
    relation_types: frozenset[str]

    @property
    def organisation(self) -> Organisation:
        """The profile's organisation (loaded on first use: the check itself loads no object)."""
        organisation = db.session.get(Organisation, self.organisation_id)
        assert organisation is not None  # the check found it, and nothing is hard-deleted
        return organisation

    @property
    def can_manage(self) -> bool:
        """May use the Autorisations forms and see the firm's relations and authorizations."""
        return may_manage(self.relation_types)


@functools.cache
def _access_query() -> Any:
    """The statement of :func:`profile_access`, built once (it runs on every profile call).

    A Core select of three columns: loading an ``Organisation`` object as well doubled the
    check's Python time (bench/lists.py). The organisation needs no join: the link's foreign
    key guarantees it, and nothing is hard-deleted.
    """
    from .accounts.models import AccountLink

    links, relations = AccountLink.__table__, ContactRelation.__table__
    return (
        select(links.c.contact_id, relations.c.type, links.c.organisation_id)
        .select_from(
            links.join(
                relations,
                and_(
                    relations.c.contact_id == links.c.contact_id,
                    relations.c.organisation_id == links.c.organisation_id,
                    relations.c.active.is_(True),
                ),
            )
        )
        .where(
            links.c.account_id == bindparam("account_id", type_=Integer()),
            links.c.unlinked_at.is_(None),
            links.c.organisation_id == bindparam("profile_id", type_=Integer()),
        )
        .order_by(links.c.id)
    )


def profile_access(account_id: int, profile_id: int) -> ProfileAccess | None:
    """The account's access to a profile, or None when it has none (right now).

    One query: the account's active links to the profile, joined to the linked contact's
    active relations there (bench/lists.py times it).
    """
    rows = db.session.execute(
        _access_query(), {"account_id": account_id, "profile_id": profile_id}
    ).all()
    return access_from_rows(account_id, rows)


def access_statement() -> Any:
    """The statement of :func:`profile_access` (bind parameters ``account_id`` and
    ``profile_id``; columns contact id, relation type, organisation id), for a caller that
    reads more in the same round trip; :func:`access_from_rows` reads its rows."""
    return _access_query()


def access_from_rows(account_id: int, rows: Sequence[Sequence[Any]]) -> ProfileAccess | None:
    """The :class:`ProfileAccess` that rows of :func:`access_statement` give (None: no access);
    only the first three columns of each row are read."""
    if not rows:
        return None
    contact_id, _, organisation_id = rows[0][:3]
    types = frozenset(row[1] for row in rows if row[0] == contact_id)
    return ProfileAccess(account_id, organisation_id, contact_id, types)


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
