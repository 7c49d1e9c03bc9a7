"""Bulk writing for the apply phase of an import: rows inserted and updated with bulk statements
(``COPY`` on PostgreSQL, :mod:`.bulk`), each created or updated row with its ``ProfileChange``
history, and the counts the import reports."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import TypeDecorator, bindparam, func, select, update
from sqlalchemy import inspect as sa_inspect

from ..clock import now
from ..db import db
from ..profiles.models import (
    ProfileChange,
)
from . import bulk
from .report import Progress
from .snapshot import (
    KINDS,
    PHONE_FIELDS,
    ContactKey,
    Plan,
    Snapshot,
)

T = TypeVar("T")

CHUNK = 500
# Rows of the file written together: what the writer holds at a time (their values, history
# and ids), whatever the size of the file. Large enough that a statement's cost is spread.
BATCH = 5000
ENTITIES = {
    "organisations": "organisation",
    "contacts": "contact",
    "contact_relations": "contact_relation",
    "organisation_relations": "organisation_relation",
    "grants": "grant",
    "legacy_credentials": "legacy_credential",
}
RELATION_KEY = ("contact_id", "organisation_id", "type", "start_date")
ORG_RELATION_KEY = ("organisation_id", "related_organisation_id", "type")
# Bookkeeping columns and secrets stay out of the ProfileChange history.
_NOT_IN_HISTORY = frozenset(
    {
        "created_at",
        "updated_at",
        "applied_at",
        "visible_at",
        "ended_at",
        "end_visible_at",
        "password_hash",
    }
)


_CHANGE_COLUMNS = (
    "at",
    "actor_account_id",
    "source",
    "request_id",
    "op_index",
    "entity",
    "entity_id",
    "operation",
    "before",
    "after",
)


def _jsonable(values: dict[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Dates to ISO strings (they only occur at the top level of a row's values)."""
    return {
        k: v.isoformat() if isinstance(v, dt.date) else v
        for k, v in values.items()
        if k not in skip
    }


def _date_attributes(model: Any) -> tuple[str, ...]:
    """Attributes of ``model`` whose column holds dates or datetimes."""
    names = []
    for attr in sa_inspect(model).column_attrs:
        column_type = attr.columns[0].type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl_instance
        try:
            python_type = column_type.python_type
        except NotImplementedError:
            continue
        if issubclass(python_type, dt.date):
            names.append(attr.key)
    return tuple(names)


def _column_names(model: Any) -> dict[str, str]:
    """Attribute name → column name (``Grant.right`` is the ``access_right`` column)."""
    return {attr.key: attr.columns[0].name for attr in sa_inspect(model).column_attrs}


def _to_columns(model: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attribute names to column names."""
    names = _column_names(model)
    if all(key == name for key, name in names.items()):
        return rows
    return [{names[key]: value for key, value in row.items()} for row in rows]


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches(rows: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``rows`` in lists of :data:`BATCH` (the last one shorter): what the writer holds at once."""
    size = size or BATCH
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk_insert(table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (column name → value, the same columns in every row) into ``table``:
    ``COPY`` on PostgreSQL, executemany on SQLite (:mod:`.bulk`)."""
    bulk.insert_dicts(table, rows)


def _counts() -> dict[str, dict[str, int]]:
    return {kind: {"created": 0, "updated": 0, "unchanged": 0} for kind in KINDS}


def _diff(
    existing: dict[str, Any], values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    before = {k: existing[k] for k, v in values.items() if existing[k] != v}
    return before, {k: values[k] for k in before}


def _parallel(func: Any, items: Sequence[Any]) -> list[Any]:
    """Argon2 releases the GIL: hash and verify on every core."""
    if len(items) < 4:
        return [func(*item) for item in items]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda item: func(*item), items))


class Writer:
    """The apply phase's state and its bulk writes (:class:`.Applier` writes each kind)."""

    subject_ids: dict[str, int]  # subject code → id, set when the apply phase starts

    def __init__(self, snapshot: Snapshot, plan: Plan, source: str, progress: Progress) -> None:
        self.snap = snapshot
        self.plan = plan
        self.source = source
        self.progress = progress
        self.at = now()
        self.counts = _counts()
        self.changes: list[tuple[Any, ...]] = []
        self.history_rows = 0
        self.org_ids = {cn: r["id"] for cn, r in snapshot.orgs.items()}
        self.org_names = {cn: r["name"] for cn, r in snapshot.orgs.items()}
        self.org_relation_ids = {key: r["id"] for key, r in snapshot.org_relations.items()}
        self.ended_relations: dict[int, dt.date] = {}
        self.ended_org_relations: dict[int, dt.date] = {}
        self.staged_key_contacts = 0
        self.largest_batch = 0  # most rows handed to _save at once (tests check the bound)

    # -- helpers

    def _write_changes(self) -> None:
        """Write the history rows recorded so far: kind by kind, so that the history of a large
        file never sits in memory whole."""
        if self.changes:
            bulk.insert_rows(ProfileChange.__table__, _CHANGE_COLUMNS, self.changes)
            self.history_rows += len(self.changes)
            self.changes = []

    def _change(
        self,
        entity: str,
        entity_id: int,
        operation: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        # In the order of _CHANGE_COLUMNS.
        self.changes.append(
            (self.at, None, self.source, None, None, entity, entity_id, operation, before, after)
        )

    def _insert(
        self, model: Any, rows: list[dict[str, Any]], key: tuple[str, ...] | None = None
    ) -> dict[tuple[Any, ...], int]:
        """Bulk INSERT; returns natural key → id of the new rows when ``key`` is set.

        The ORM's bulk path, and RETURNING with ordered rows, cost several times more on 100,000
        rows than inserting plainly and reading the new ids back (rows above the previous max).
        """
        if not rows:
            return {}
        before = (db.session.scalar(select(func.max(model.id))) or 0) if key else 0
        columns = _column_names(model)
        attributes = list(rows[0])
        bulk.insert_rows(
            model.__table__,
            [columns[name] for name in attributes],
            ([row[name] for name in attributes] for row in rows),
        )
        if key is None:
            return {}
        query = select(model.id, *[getattr(model, name) for name in key]).where(model.id > before)
        return {tuple(row[1:]): row[0] for row in db.session.execute(query)}

    def _update(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Core UPDATE … WHERE id = :id, executemany (every row has the same keys)."""
        table = model.__table__
        rows = [
            {"_id": row["id"], **{k: v for k, v in row.items() if k != "id"}}
            for row in _to_columns(model, rows)
        ]
        if not rows:
            return
        # The SET clause comes from the parameters' keys (``_id`` only selects the row).
        stmt = update(table).where(table.c.id == bindparam("_id"))
        for chunk in _chunks(rows, 5000):
            db.session.execute(stmt, list(chunk))

    def _contact_id(self, key: ContactKey) -> int:
        """The id of a contact: ``key`` itself, or the id given to the contact the file created
        with the ref ``key`` (``Plan.contact_match`` holds it once the contact is written)."""
        if isinstance(key, int):
            return key
        ident = self.plan.contact_match[key]
        assert isinstance(ident, int), f"contact {key} not written yet"
        return ident

    def _save(
        self,
        kind: str,
        model: Any,
        key: tuple[str, ...],
        creates: list[dict[str, Any]],
        updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
        unchanged: int,
        create_extras: list[dict[str, Any]] | None = None,
    ) -> dict[tuple[Any, ...], int]:
        """Insert ``creates``, apply ``updates`` ((row, before, after)), count and record.

        Returns natural key (the ``key`` attributes) → id of the created rows.
        """
        if creates or updates:
            self.progress.note(f"{kind} : {len(creates)} à créer, {len(updates)} à mettre à jour…")
        self.largest_batch = max(self.largest_batch, len(creates) + len(updates))
        entity = ENTITIES[kind]
        ids = self._insert(model, creates, key)
        extras = create_extras or [{}] * len(creates)
        # _jsonable, with the date columns known beforehand: the same dicts, in half the time.
        dates = _date_attributes(model)
        skip, at, source, append = _NOT_IN_HISTORY, self.at, self.source, self.changes.append
        for values, extra in zip(creates, extras, strict=True):
            after = {k: v for k, v in values.items() if k not in skip}
            for name in dates:
                value = after.get(name)
                if isinstance(value, dt.date):
                    after[name] = value.isoformat()
            if extra:
                after.update(extra)
            ident = ids[tuple([values[name] for name in key])]
            # As _change would, in the order of _CHANGE_COLUMNS.
            append((at, None, source, None, None, entity, ident, "import_create", None, after))
        self._update(model, [row for row, _, _ in updates])
        for row, before, after in updates:
            self._change(entity, row["id"], "import_update", _jsonable(before), _jsonable(after))
        self._write_changes()
        self.counts[kind]["created"] += len(creates)
        self.counts[kind]["updated"] += len(updates)
        self.counts[kind]["unchanged"] += unchanged
        return ids

    def _propagation(self, existing: dict[str, Any] | None, active: bool) -> dict[str, Any]:
        """``ended_at``/``end_visible_at`` for the new ``active``; imported rows show at once."""
        if existing is None or existing["active"] != active:
            return {
                "ended_at": None if active else self.at,
                "end_visible_at": None if active else self.at,
            }
        return {"ended_at": existing["ended_at"], "end_visible_at": existing["end_visible_at"]}

    # -- one method a kind

    @staticmethod
    def _phone_rows(contact_id: int, phones: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return [
            {
                "contact_id": contact_id,
                "position": position,
                **dict(zip(PHONE_FIELDS, p, strict=True)),
            }
            for position, p in enumerate(phones)
        ]

    def _upsert_propagated(
        self,
        kind: str,
        model: Any,
        key: tuple[str, ...],
        existing_rows: dict[Any, dict[str, Any]],
        items: list[tuple[Any, dict[str, Any], dict[str, Any]]],
    ) -> tuple[dict[tuple[Any, ...], int], dict[int, dt.date]]:
        """Relations and grants: ``items`` are (natural key, fixed columns of a new row,
        updatable columns). Returns the new rows' ids and the rows this import ended (id → end)."""
        creates, updates, unchanged = [], [], 0
        ended: dict[int, dt.date] = {}
        for natural, fixed, values in items:
            existing = existing_rows.get(natural)
            active = values["active"]
            if existing is None:
                creates.append(
                    {
                        **fixed,
                        **values,
                        "applied_at": self.at,
                        "visible_at": self.at,
                        **self._propagation(None, active),
                    }
                )
                continue
            before, after = _diff(existing, values)
            if not after:
                unchanged += 1
                continue
            if existing["active"] and not active:
                ended[existing["id"]] = values["end_date"]
            row = {"id": existing["id"], **values, **self._propagation(existing, active)}
            updates.append((row, before, after))
        return self._save(kind, model, key, creates, updates, unchanged), ended
