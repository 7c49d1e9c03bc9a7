"""Bulk writes of the import: ``COPY … FROM STDIN`` in text format on PostgreSQL, executemany on
SQLite, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, insert, text

from ..db import UTCDateTime, db

# Rows a COPY buffers before writing them to the server (about 1 MB of text).
COPY_BATCH = 5000
EXECUTEMANY_BATCH = 5000

NULL = "\\N"

Formatter = Callable[[Any], str]


def copy_escape(value: str) -> str:
    """``value`` as one cell of PostgreSQL's COPY text format."""
    # ``in`` and ``replace`` run at memchr speed; ``translate`` looks every character up in a
    # dict (27 µs for a history row's JSON, whose accents json.dumps writes as \uXXXX).
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def _plain(value: Any) -> str:
    """A value of a column without bind processor, as a COPY text cell."""
    if value is None:
        return NULL
    kind = type(value)
    if kind is str:
        return copy_escape(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is dt.date:
        return value.isoformat()  # type: ignore[no-any-return]
    if isinstance(value, str):  # an enum member of a StrEnum
        return copy_escape(str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    raise TypeError(f"no COPY text for {kind.__name__}")


def _json(value: Any) -> str:
    # SQLAlchemy's JSON writes Python None as the JSON null (none_as_null is False), as here.
    if value is None:
        return "null"
    return copy_escape(json.dumps(value))


def _text(value: Any) -> str:
    if value is None:
        return NULL
    if type(value) is str:
        return copy_escape(value)
    return _plain(value)


def _integer(value: Any) -> str:
    if value is None:
        return NULL
    if type(value) is int:
        return str(value)
    return _plain(value)


def _date(value: Any) -> str:
    if value is None:
        return NULL
    if type(value) is dt.date:
        return value.isoformat()  # type: ignore[no-any-return]
    return _plain(value)


def _bool(value: Any) -> str:
    if value is None:
        return NULL
    if value is True or value is False or value in (0, 1):  # what SQLAlchemy's Boolean accepts
        return "t" if value else "f"
    raise TypeError(f"not a boolean: {value!r}")


def _utc() -> Formatter:
    # An import stamps every row with the same time or two: format each one once.
    seen: dict[dt.datetime, str] = {}

    def utc(value: Any) -> str:
        if value is None:
            return NULL
        text = seen.get(value)
        if text is None:
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: use timezone-aware UTC")
            text = value.astimezone(dt.UTC).isoformat()
            if len(seen) < 1000:
                seen[value] = text
        return text

    return utc


def _formatters(table: Any, names: Sequence[str], dialect: Any) -> list[Formatter] | None:
    """One text formatter per column, or None when a column's type is not one known here (the
    caller then lets the driver bind the values)."""
    out: list[Formatter] = []
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, UTCDateTime):
            out.append(_utc())
        elif isinstance(column_type, Boolean):
            out.append(_bool)
        elif isinstance(column_type, JSON):
            if getattr(column_type, "none_as_null", False):
                return None
            out.append(_json)
        elif column_type.dialect_impl(dialect).bind_processor(dialect) is None:
            if isinstance(column_type, String):
                out.append(_text)
            elif isinstance(column_type, Integer):
                out.append(_integer)
            elif isinstance(column_type, Date) and not isinstance(column_type, DateTime):
                out.append(_date)
            else:
                out.append(_plain)
        else:
            return None
    return out


def _defaults(table: Any, given: Sequence[str]) -> list[tuple[str, Any, bool]] | None:
    """Python-side defaults of the columns not given (COPY does not run them, INSERT would);
    None when one is a SQL expression (only an INSERT can run it)."""
    defaults: list[tuple[str, Any, bool]] = []
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if not (default.is_scalar or default.is_callable):
            return None
        defaults.append((column.name, default.arg, bool(default.is_callable)))
    return defaults


def insert_rows(table: Any, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples of the columns ``names``) into ``table``; returns how many.

    PostgreSQL: ``COPY … FROM STDIN`` in text format, the cells formatted here and sent in
    batches of :data:`COPY_BATCH` rows. psycopg's ``write_row`` costs about 9 µs a row in Python
    (its per-value dumpers), three times the formatting itself; an executemany sends one INSERT
    a row. SQLite: executemany, which is already C.
    """
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(names)
    defaults = _defaults(table, names) if dialect.name == "postgresql" else None
    formatters = None
    if defaults is not None:
        formatters = _formatters(table, [*names, *(d[0] for d in defaults)], dialect)
    if defaults is None or formatters is None:
        stmt = insert(table)
        count = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(names, row, strict=True)))
            if len(batch) >= EXECUTEMANY_BATCH:
                connection.execute(stmt, batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(stmt, batch)
            count += len(batch)
        return count
    if defaults:
        extra = tuple(default for _, default, _ in defaults)
        callable_ = tuple(is_callable for _, _, is_callable in defaults)

        def with_defaults(row: Sequence[Any]) -> tuple[Any, ...]:
            return (
                *row,
                *(arg(None) if c else arg for arg, c in zip(extra, callable_, strict=True)),
            )

        rows = (with_defaults(row) for row in rows)
    quote = dialect.identifier_preparer.quote
    columns = [*names, *(d[0] for d in defaults)]
    sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in columns)}) FROM STDIN"
    return copy_lines(sql, _lines(formatters, rows))


def _lines(formatters: list[Formatter], rows: Iterable[Sequence[Any]]) -> Iterable[str]:
    if len(formatters) == 1:
        (only,) = formatters
        for (value,) in rows:
            yield only(value) + "\n"
        return
    for row in rows:
        yield "\t".join([f(v) for f, v in zip(formatters, row, strict=True)]) + "\n"


def copy_lines(sql: str, lines: Iterable[str]) -> int:
    """Run ``sql`` (a ``COPY … FROM STDIN``) with ``lines`` (each one row of COPY text ending
    in a newline) on the session's connection; returns the number of lines."""
    connection = db.session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    count = 0
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= COPY_BATCH:
                copy.write("".join(batch))
                count += len(batch)
                batch = []
        if batch:
            copy.write("".join(batch))
            count += len(batch)
    return count


def insert_dicts(table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """:func:`insert_rows` of dicts with the same keys (column names) in every row."""
    if not rows:
        return
    names = list(rows[0])
    insert_rows(table, names, ([row[name] for name in names] for row in rows))


@contextmanager
def without_indexes(table: str) -> Iterator[None]:
    """PostgreSQL: drop the indexes, primary key, unique and foreign keys of ``table`` for the
    block, then build them again from their definitions as the catalogue gave them (the same
    names, the same definitions), in the caller's transaction.

    Building an index sorts its rows once; inserting row by row into it costs three times as
    much on a large batch. The table stays locked (``ACCESS EXCLUSIVE``) until the commit. When
    another table's foreign key refers to this one, nothing is dropped.
    """
    connection = db.session.connection()
    params = {"table": table}
    referenced = connection.scalar(
        text("SELECT count(*) FROM pg_constraint WHERE confrelid = CAST(:table AS regclass)"),
        params,
    )
    if referenced:
        yield
        return
    constraints = connection.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype IN ('p', 'u', 'f') "
            "ORDER BY conname"
        ),
        params,
    ).all()
    indexes = connection.execute(
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(:table AS regclass) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname"
        ),
        params,
    ).all()
    quote = connection.dialect.identifier_preparer.quote
    foreign = [(name, definition) for name, kind, definition in constraints if kind == "f"]
    keys = [(name, definition) for name, kind, definition in constraints if kind != "f"]
    for name, _ in [*foreign, *keys]:
        connection.execute(text(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}"))
    for name, _ in indexes:
        connection.execute(text(f"DROP INDEX {quote(name)}"))
    yield
    # More memory for the sorts of the index builds, for the rest of this transaction only.
    connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for name, definition in keys:
        connection.execute(
            text(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        )
    for _, definition in indexes:
        connection.execute(text(definition))
    for name, definition in foreign:
        connection.execute(
            text(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        )
