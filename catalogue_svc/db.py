"""The declarative base, column types shared by every model, and compare-and-set helpers."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    DateTime,
    MetaData,
    TypeDecorator,
    event,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session

# The end date of what has no end (9999-12-31), defined once by the pure layer; the models and
# the import read it from here.
from forms.base import END_OF_TIME  # noqa: F401 - re-exported

from . import unit

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy, its PostgreSQL engines sending a multi-row ``INSERT`` for many rows.

    SQLAlchemy writes many rows of an ``INSERT`` without ``RETURNING`` (the ORM's rows whose
    ids are reserved ahead, the duplicate-check keys, :func:`write_deferred_rows`) as one
    ``INSERT … VALUES (…), (…)`` a page of rows on psycopg2, but as psycopg 3's
    ``executemany``: one statement per row, pipelined. In a check or apply chunk that was 18 key
    statements per new contact, and the executemany calls were a third of a pipeline worker's
    time under cProfile. The multi-row form is the one SQLAlchemy already uses with
    ``RETURNING``, for every driver."""

    def _make_engine(self, bind_key: str | None, options: dict[str, Any], app: Any) -> Engine:
        engine = super()._make_engine(bind_key, options, app)
        if engine.dialect.name == "postgresql":
            engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine


db = _SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


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


def count_attempt(model: Any, ident: Any, counter: str, most: int) -> bool:
    """Count one attempt at the secret of row ``ident`` (a code, linking credentials): its
    ``counter`` goes up by one while the row is active and has had fewer than ``most``; True when
    counted, so that concurrent guesses cannot exceed the limit (a :func:`compare_and_set`)."""
    column = getattr(model, counter)
    stmt = (
        update(model)
        .where(model.id == ident, model.state == "active", column < most)
        .values({column: column + 1})
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).rowcount == 1  # type: ignore[attr-defined, no-any-return]


# Ids reserved per table and transaction: the first block is small (one request rarely needs
# more), each next one twice as big (a batch of requests needs many).
_FIRST_BLOCK, _LAST_BLOCK = 4, 512


def reserve_id(model: Any) -> int:
    """A primary key for a new ``model`` row, reserved in the current transaction.

    A row given its id up front needs no flush to be referred to: a batch of requests adds all
    its rows and writes them in one statement per table at the end. PostgreSQL takes blocks of
    the table's sequence (gaps are harmless); SQLite, which has a single writer, counts on from
    the table's largest id, read once under the write lock (``BEGIN IMMEDIATE``). A row written
    meanwhile without a reserved id could collide there: the insert then fails and the
    transaction is rolled back whole, never half-applied.
    """
    pools = unit.of(db.session).reserved_ids
    table = model.__table__
    pool = pools.get(table.name)
    if pool is None or pool[0] >= pool[1]:
        pool = _reserve_block(table, pool)
        pools[table.name] = pool
    pool[0] += 1
    return pool[0] - 1


def reserve_ahead(sizes: dict[str, int]) -> None:
    """Reserve the first block of ids of several tables (``{table name: rows}``) in one
    statement, for a chunk that knows how many rows it will add to each (PostgreSQL; SQLite
    counts ids in memory after one read per table). A light-load apply adds a contact, a
    relation, a grant, a credential and emails: one round trip instead of one per table. Later
    blocks are taken by :func:`reserve_id` as usual; an unused id is a harmless gap."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    pools = unit.of(db.session).reserved_ids
    wanted = {name: max(_FIRST_BLOCK, n) for name, n in sizes.items() if n and name not in pools}
    if not wanted:
        return
    draws = [
        select(
            literal(name).label("name"),
            func.nextval(func.pg_get_serial_sequence(name, "id")).label("id"),
        ).select_from(func.generate_series(1, size))
        for name, size in wanted.items()
    ]
    drawn: dict[str, list[int]] = {}
    for name, value in connection.execute(union_all(*draws)):
        drawn.setdefault(name, []).append(int(value))
    for name, ids in drawn.items():
        ids.sort()
        pools[name] = [ids[0], ids[0] + _run(ids), wanted[name]]


def _run(ids: list[int]) -> int:
    """How many of ``ids`` follow the first one without a gap: the block that is ours when
    another transaction draws from the same sequence at the same time."""
    run = 1
    while run < len(ids) and ids[run] == ids[0] + run:
        run += 1
    return run


def _reserve_block(table: Any, previous: list[int] | None) -> list[int]:
    """``[next, end, size]``: ids ``next … end - 1`` are ours."""
    size = min(_LAST_BLOCK, previous[2] * 2) if previous else _FIRST_BLOCK
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        sequence = func.nextval(func.pg_get_serial_sequence(table.name, "id"))
        # On the connection, not the session: reserving ids must not flush the pending rows.
        ids = list(connection.scalars(select(sequence).select_from(func.generate_series(1, size))))
        # nextval over one series in one statement: consecutive unless another transaction
        # draws at the same time; the block is then only the run that starts it.
        return [ids[0], ids[0] + _run(ids), size]
    begin_writing()
    if previous is not None:
        return [previous[1], previous[1] + size, size]
    largest = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    return [int(largest or 0) + 1, int(largest or 0) + 1 + size, size]


def add_row(model: Any, values: dict[str, Any]) -> None:
    """Add a new row of an append-only table (history, audit, outbox, emails, changes).

    In a batch that defers its rows (:func:`defer_rows`), the values are kept and written with
    the batch's others by :func:`write_deferred_rows`, one statement per table: building and
    flushing an ORM object per row costs more than the database does. Elsewhere the row is an
    object added to the session, as usual. Such rows are never read back in the transaction
    that writes them.
    """
    deferred = unit.of(db.session).deferred_rows
    if deferred is None:
        db.session.add(model(**values))
    else:
        deferred.setdefault(model, []).append(values)


def defer_rows() -> None:
    """From now on in this transaction, :func:`add_row` keeps rows for
    :func:`write_deferred_rows`."""
    unit.of(db.session).deferred_rows = {}


@functools.cache
def _column_names(model: Any) -> dict[str, str]:
    """A mapped class's attribute names → its table's column names."""
    return {attr.key: attr.columns[0].key for attr in model.__mapper__.column_attrs}


def write_deferred_rows() -> None:
    """Write the rows kept since :func:`defer_rows` (one statement per table and set of columns)
    and stop deferring."""
    kept = unit.of(db.session)
    deferred, kept.deferred_rows = kept.deferred_rows or {}, None
    for model, rows in deferred.items():
        columns = _column_names(model)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(
                {columns[key]: value for key, value in row.items()}
            )
        for group in groups.values():
            db.session.execute(insert(model.__table__), group)


@event.listens_for(Session, "before_commit")
def _write_deferred_rows_before_commit(session: Session) -> None:
    # A commit never leaves kept rows behind, whoever forgot to write them.
    kept = unit.peek(session)
    if kept is not None and kept.deferred_rows and session is db.session():
        write_deferred_rows()
