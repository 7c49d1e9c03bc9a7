"""Credentials that let an account be linked to a contact's profile."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..db import UTCDateTime, db

if TYPE_CHECKING:
    from ..profiles.models import Contact


class LinkingCredential(db.Model):  # type: ignore[name-defined, misc]
    """Identifier + code emailed to a contact. Single use, expiring, reissuable.

    At most one active credential per contact: a partial unique index on ``contact_id`` where
    ``state = 'active'`` (RELIABILITY.md R11).
    """

    __tablename__ = "linking_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    identifier: Mapped[str] = mapped_column(String(20), unique=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="active")  # active|used|void|locked
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_account_id: Mapped[int | None] = mapped_column(Integer)
    created_by_request_id: Mapped[int | None] = mapped_column(Integer)

    # Never read: it orders a flush that adds a contact and its credential (contact first).
    contact: Mapped[Contact] = relationship(lazy="raise")

    __table_args__ = (
        Index(
            "uq_linking_credentials_one_active",
            "contact_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )


class LegacyCredential(db.Model):  # type: ignore[name-defined, misc]
    """The old site's username and password (hashed on import) for a contact's dossier."""

    __tablename__ = "legacy_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_account_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
