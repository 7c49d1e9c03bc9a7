"""The blocking keys of every contact, the table a duplicate check looks up instead of scanning."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import db

KEY_LENGTH = 300


class ContactMatchKey(db.Model):  # type: ignore[name-defined, misc]
    """One blocking key of one contact (``blocking.blocking_keys``); derived data, rebuilt at will.

    The primary key (key, contact_id) is the index of the lookup ``WHERE key IN (…)`` and covers
    it (the contact ids come from the index alone); ``contact_id`` has its own index for the
    delete that replaces a contact's keys. On SQLite the table is ``WITHOUT ROWID``: the rows are
    stored in key order, so the table is its own index.

    **No foreign key to ``contacts``** (migration ``a3e9c5d7f1b2``). A contact has about 20
    keys, and PostgreSQL checked the key with a locking read of the contact for each row
    written: 54,000 checks, 11.6 s of the server's time in ``bench.pipeline``'s drain of 3,000
    requests (40 % of it), for rows that cannot be wrong. Keys are written in the transaction
    that writes their contact (the ``after_flush`` upkeep, :func:`.keys.refresh_keys`, the
    import), contacts are never deleted (a removal ends relations), ``flask
    reindex-duplicates`` rebuilds the table from the contacts, and a key naming no contact
    would only name a candidate the check cannot load, which it skips (``people.load_people``).
    """

    __tablename__ = "contact_match_keys"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    contact_id: Mapped[int] = mapped_column(primary_key=True, index=True)

    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_with_rowid": False}
