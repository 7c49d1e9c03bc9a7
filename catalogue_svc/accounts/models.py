"""Accounts, their one-time codes, their server-side sessions and their links to profiles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..db import UTCDateTime, db


class Account(db.Model):  # type: ignore[name-defined, misc]
    """A person's user account. ``email`` is stored normalised (trimmed, lower-case)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    role: Mapped[str] = mapped_column(String(10), default="user")
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    terms_accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set by an operator (`flask disable-account`): no login, every session ended; never deleted.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("role IN ('user', 'agent')", name="role"),
        CheckConstraint("language IN ('fr', 'en')", name="language"),
    )

    @property
    def is_agent(self) -> bool:
        """True for the body's agents."""
        return self.role == "agent"

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


class OneTimeCode(db.Model):  # type: ignore[name-defined, misc]
    """A short emailed code for one purpose (``verify_email``, ``password_reset``,
    ``change_email``…): stored as a keyed hash, expiring, single use, voided after too many
    wrong tries. At most one active code per account and purpose (partial unique index);
    ``target`` carries what the code confirms when it is not the account's email (a new address).
    """

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    code_hash: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(10), default="active")  # active|used|void
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("state IN ('active', 'used', 'void')", name="state"),
        Index(
            "uq_one_time_codes_one_active",
            "account_id",
            "purpose",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )


class SignUp(db.Model):  # type: ignore[name-defined, misc]
    """One sign-up of an address still waiting for its code: the password, names and language
    its requester chose, and the browser it came from (security round 2, hole 4).

    The pending :class:`Account` holds the address; nothing an anonymous requester typed is
    trusted until a code proves the mailbox, and the code then confirms the sign-up of the browser
    that enters it (see ``service.verify_email``). ``browser`` is a keyed hash of that browser's
    session cookie token, never the token. Rows are kept: ``confirmed_at`` marks the one applied.
    """

    __tablename__ = "sign_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    browser: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AccountSession(db.Model):  # type: ignore[name-defined, misc]
    """A server-side session. ``id`` is the SHA-256 of the cookie's random token: the token
    itself is never stored, so a read of this table cannot be replayed as a cookie."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # Not a credential on its own (useless without the HttpOnly cookie); kept across rotations.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    # The absolute timeout, fixed at login and carried over when the id is rotated.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))


class AccountLink(db.Model):  # type: ignore[name-defined, misc]
    """An account linked to a contact's profile in one organisation.

    A contact's profile in an organisation is linked to at most one account at a time (partial
    unique index on the active links); unlinking sets ``unlinked_at``, nothing is deleted.
    """

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    method: Mapped[str] = mapped_column(String(20))  # linking_code | legacy
    credential_id: Mapped[int | None] = mapped_column(Integer)
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    unlinked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("method IN ('linking_code', 'legacy')", name="method"),
        Index(
            "uq_account_links_one_active",
            "contact_id",
            "organisation_id",
            unique=True,
            sqlite_where=text("unlinked_at IS NULL"),
            postgresql_where=text("unlinked_at IS NULL"),
        ),
    )
