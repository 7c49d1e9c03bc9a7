"""The blocking keys of every contact, the table a duplicate check looks up instead of scanning."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import db

KEY_LENGTH = 300


class ContactMatchKey(db.Model):  # type: ignore[name-defined, misc]
    """One blocking key of one contact (``blocking.blocking_keys``); derived data, rebuilt at will.

    The primary key (key, contact_id) is the index of the lookup ``WHERE key IN (…)`` and covers
    it (the contact ids come from the index alone); ``contact_id`` has its own index for the
    delete that replaces a contact's keys. On SQLite the table is ``WITHOUT ROWID``: the rows are
    stored in key order, so the table is its own index.
    """

    __tablename__ = "contact_match_keys"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_with_rowid": False}
