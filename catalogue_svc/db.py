"""The declarative base, column types shared by every model, and compare-and-set helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, event, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

END_OF_TIME = dt.date(9999, 12, 31)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Base of every model: constraint names follow one convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: foreign keys enforced, WAL for concurrent readers, wait on locks, never fail."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def begin_writing() -> None:
    """Open the real transaction now, before a savepoint (SQLite only; a no-op elsewhere).

    Python's sqlite3 sends its ``BEGIN`` only before the first data-changing statement, not
    before a ``SAVEPOINT``: a savepoint opened first *is* the transaction, and releasing it
    commits on its own, whatever happens to the rest of the work (a batch rolled back, a crash
    before the real commit). ``BEGIN IMMEDIATE`` takes the write lock at once (waiting up to
    ``busy_timeout``), as the first write would have, so the transaction never has to upgrade a
    read snapshot that another writer has moved past.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


def compare_and_set(
    model: Any, ident: Any, expected: dict[str, Any], values: dict[str, Any]
) -> bool:
    """``UPDATE model SET values WHERE id=ident AND expected``; True when exactly one row changed.

    The only concurrency primitive that is safe on both SQLite and PostgreSQL (RELIABILITY.md 7).
    """
    stmt = update(model).where(model.id == ident)
    for column, value in expected.items():
        stmt = stmt.where(getattr(model, column) == value)
    result = db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]
