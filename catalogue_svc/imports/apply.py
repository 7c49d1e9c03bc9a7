"""The apply phase of an import: the validated plan written in the caller's transaction, with
bulk statements and dict look-ups (no per-row query)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import TypeDecorator, bindparam, delete, func, select, text, update
from sqlalchemy import inspect as sa_inspect

from forms.profile import ends_with_relations

from .. import audit
from ..clock import now
from ..db import db
from ..linking import service as linking
from ..linking.models import LegacyCredential
from ..passwords import hash_password, verify_password
from ..profiles.models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    ProfileChange,
)
from ..profiles.service import ensure_subjects
from . import bulk
from .report import Progress
from .validation import (
    CONTACT_FIELDS,
    GRANT_KEY,
    KINDS,
    LINKING_DEDUPE,
    ORG_FIELDS,
    PHONE_FIELDS,
    ContactKey,
    Plan,
    Row,
    Snapshot,
)

T = TypeVar("T")

CHUNK = 500
ENTITIES = {
    "organisations": "organisation",
    "contacts": "contact",
    "contact_relations": "contact_relation",
    "organisation_relations": "organisation_relation",
    "grants": "grant",
    "legacy_credentials": "legacy_credential",
}
_STAGED_KEYS = "import_staged_match_keys"
# New contacts from which the duplicate-check key table is rebuilt rather than added to, when
# they also outnumber the stored contacts (Applier._move_staged_keys).
REBUILD_KEYS_FROM = 50_000
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


class Applier:
    """Writes the plan in the current transaction, with bulk statements."""

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
        self.new_contact_ids: dict[str, int] = {}
        self.relation_ids = {key: r["id"] for key, r in snapshot.relations.items()}
        self.org_relation_ids = {key: r["id"] for key, r in snapshot.org_relations.items()}
        self.ended_relations: dict[int, dt.date] = {}
        self.ended_org_relations: dict[int, dt.date] = {}
        self.staged_key_contacts = 0

    def run(self) -> dict[str, dict[str, int]]:
        self.subject_ids = ensure_subjects()
        self._organisations()
        self._contacts()
        self._relations()
        self._org_relations()
        self._grants()
        self._legacy()
        self._linking()
        self._move_staged_keys()
        self._write_changes()
        self.progress.note(f"Historique : {self.history_rows} modification(s) écrite(s).")
        audit.record(
            "import.dossiers",
            actor_kind="operator",
            subject_type="import",
            details={"source": self.source, "counts": self.counts},
        )
        return self.counts

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
        return key if isinstance(key, int) else self.new_contact_ids[key]

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

    def _organisations(self) -> None:
        creates, updates, unchanged = [], [], 0
        for row in self.progress.track("Organisations", self.plan.rows["organisations"]):
            d = row.data
            cn = d["client_number"]
            values = {name: d[name] for name in ORG_FIELDS}
            self.org_names[cn] = d["name"]
            existing = self.snap.orgs.get(cn)
            if existing is None:
                creates.append(
                    {"client_number": cn, **values, "created_at": self.at, "updated_at": self.at}
                )
                continue
            before, after = _diff(existing, values)
            if not after:
                unchanged += 1
                continue
            updates.append(({"id": existing["id"], **values, "updated_at": self.at}, before, after))
        ids = self._save(
            "organisations", Organisation, ("client_number",), creates, updates, unchanged
        )
        self.org_ids.update((cn, ident) for (cn,), ident in ids.items())

    def _contacts(self) -> None:
        creates: list[dict[str, Any]] = []
        create_phones: list[list[tuple[Any, ...]]] = []
        updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        replaced_phones: dict[int, list[tuple[Any, ...]]] = {}
        unchanged = 0
        for row in self.progress.track("Contacts", self.plan.rows["contacts"]):
            d = row.data
            values = {name: d[name] for name in CONTACT_FIELDS}
            values["import_ref"] = d["ref"]
            phones = [tuple(p[name] for name in PHONE_FIELDS) for p in d["phones"]]
            match = self.plan.contact_match[d["ref"]]
            if match is None:
                creates.append(
                    {
                        "client_number": d["client_number"],
                        **values,
                        "created_at": self.at,
                        "updated_at": self.at,
                    }
                )
                create_phones.append(phones)
                continue
            existing = self.snap.contacts[match]
            if d["client_number"] is not None:
                values["client_number"] = d["client_number"]
            before, after = _diff(existing, values)
            old_phones = self.snap.phones.get(match, [])
            if phones != old_phones:
                replaced_phones[match] = phones
                before["phones"] = [dict(zip(PHONE_FIELDS, p, strict=True)) for p in old_phones]
                after["phones"] = [dict(zip(PHONE_FIELDS, p, strict=True)) for p in phones]
            if not after:
                unchanged += 1
                continue
            updates.append(
                (
                    {
                        "client_number": existing["client_number"],
                        **values,
                        "id": match,
                        "updated_at": self.at,
                    },
                    before,
                    after,
                )
            )
        created_phones = [
            {"phones": [dict(zip(PHONE_FIELDS, p, strict=True)) for p in phones]}
            for phones in create_phones
        ]
        ids = self._save(
            "contacts", Contact, ("import_ref",), creates, updates, unchanged, created_phones
        )
        phone_rows: list[dict[str, Any]] = []
        for values, phones in zip(creates, create_phones, strict=True):
            ident = ids[(values["import_ref"],)]
            self.new_contact_ids[values["import_ref"]] = ident
            phone_rows.extend(self._phone_rows(ident, phones))
        for chunk in _chunks(list(replaced_phones)):
            db.session.execute(delete(ContactPhone).where(ContactPhone.contact_id.in_(chunk)))
        for ident, phones in replaced_phones.items():
            phone_rows.extend(self._phone_rows(ident, phones))
        if phone_rows:
            self._insert(ContactPhone, phone_rows)
        del phone_rows
        # Core writes bypass the ORM listener that keeps the duplicate-check keys up to date:
        # the new contacts' keys come from the values just written, the others' from the store.
        self._new_contact_keys(creates, create_phones)
        updated = [u[0]["id"] for u in updates]
        if updated:
            from ..duplicates.service import refresh_keys

            refresh_keys(updated)

    def _new_contact_keys(
        self, creates: list[dict[str, Any]], create_phones: list[list[tuple[Any, ...]]]
    ) -> None:
        """The duplicate-check keys of the contacts this import created.

        The same keys as ``refresh_keys`` (``contact_keys`` of the stored values), without
        reading back the rows just written, and without the delete and the read of existing
        keys that a new contact cannot have. A test checks that both agree.

        PostgreSQL: the keys are copied into a temporary table (no index, no WAL), then moved
        with one ``INSERT … SELECT … ORDER BY key``: the server sorts them in the index's own
        collation, so the inserts walk the key index from one page to the next, and Python
        neither holds nor sorts them (18 keys a contact). SQLite: sorted here by chunk
        (its BINARY collation is Python's order), executemany.
        """
        from ..duplicates.matching import Person
        from ..duplicates.models import ContactMatchKey
        from ..duplicates.service import contact_keys, stored_phones

        country, number = PHONE_FIELDS.index("country_code"), PHONE_FIELDS.index("number")
        ids = self.new_contact_ids

        def keys_of(start: int, stop: int) -> Iterator[tuple[int, set[str]]]:
            for values, phones in zip(creates[start:stop], create_phones[start:stop], strict=True):
                yield (
                    ids[values["import_ref"]],
                    contact_keys(
                        Person(
                            values["first_name"] or "",
                            values["last_name"] or "",
                            values["birth_date"],
                            values["email"],
                            stored_phones((phone[country], phone[number]) for phone in phones),
                            values["client_number"],
                        )
                    ),
                )

        table = ContactMatchKey.__table__
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            if not creates:
                return
            escape = bulk.copy_escape
            connection.execute(
                text(f"CREATE TEMPORARY TABLE {_STAGED_KEYS} (key text, contact_id integer)")
            )
            bulk.copy_lines(
                f"COPY {_STAGED_KEYS} (key, contact_id) FROM STDIN",
                (
                    "".join([f"{escape(key)}\t{ident}\n" for key in keys])
                    for ident, keys in keys_of(0, len(creates))
                ),
            )
            self.staged_key_contacts = len(creates)
            return
        for start in range(0, len(creates), 20_000):
            pairs = sorted(
                (key, ident) for ident, keys in keys_of(start, start + 20_000) for key in keys
            )
            bulk.insert_rows(table, ("key", "contact_id"), pairs)

    def _move_staged_keys(self) -> None:
        """PostgreSQL: the staged keys of the new contacts into ``contact_match_keys``, last, so
        that the key table is locked the shortest time.

        Each key inserted into the table's two indexes (the key in its collation, and the
        contact) costs about 15 µs on the server, whatever the order: 28 s for the 1.8 million
        keys of 100,000 contacts. When the import at least doubles the table (a first
        migration), dropping its indexes and constraints, inserting, and building them again
        (one sort each) takes a third of that. The definitions are read from the catalogue and
        restored as they were, in this transaction: the table is locked
        (``ACCESS EXCLUSIVE``) until the commit, duplicate checks running meanwhile wait.
        """
        if not self.staged_key_contacts:
            return
        from ..duplicates.models import ContactMatchKey

        connection = db.session.connection()
        name = ContactMatchKey.__table__.name
        move = f"INSERT INTO {name} (key, contact_id) SELECT key, contact_id FROM {_STAGED_KEYS}"
        rebuild = self.staged_key_contacts >= max(REBUILD_KEYS_FROM, len(self.snap.contacts))
        if rebuild:
            with bulk.without_indexes(name):
                connection.execute(text(move))
        else:
            # In the index's collation order, the inserts walk it from one page to the next.
            connection.execute(text(move + " ORDER BY key"))
        connection.execute(text(f"DROP TABLE {_STAGED_KEYS}"))
        self.staged_key_contacts = 0

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

    def _relations(self) -> None:
        items = []
        for row in self.progress.track(
            "Relations des contacts", self.plan.rows["contact_relations"]
        ):
            d = row.data
            contact = self._contact_id(self.plan.contact_key(d["contact"]))
            org = self.org_ids[d["organisation"]]
            fixed = {
                "contact_id": contact,
                "organisation_id": org,
                "type": d["type"],
                "start_date": d["start_date"],
            }
            values = {"end_date": d["end_date"], "active": d["active"]}
            items.append(((contact, org, d["type"], d["start_date"]), fixed, values))
        ids, self.ended_relations = self._upsert_propagated(
            "contact_relations", ContactRelation, RELATION_KEY, self.snap.relations, items
        )
        self.relation_ids.update(ids)

    def _org_relations(self) -> None:
        items = []
        for row in self.plan.rows["organisation_relations"]:
            d = row.data
            org, related = self.org_ids[d["organisation"]], self.org_ids[d["related_organisation"]]
            fixed = {"organisation_id": org, "related_organisation_id": related, "type": d["type"]}
            values = {
                "start_date": d["start_date"],
                "end_date": d["end_date"],
                "active": d["active"],
            }
            items.append(((org, related, d["type"]), fixed, values))
        ids, self.ended_org_relations = self._upsert_propagated(
            "organisation_relations",
            OrganisationRelation,
            ORG_RELATION_KEY,
            self.snap.org_relations,
            items,
        )
        self.org_relation_ids.update(ids)

    def _grants(self) -> None:
        items = []
        for row in self.progress.track("Sujets autorisés", self.plan.rows["grants"]):
            d, extra = row.data, row.extra
            owner = self.org_ids[d["owner"]]
            holder_org = holder_contact = relation_id = org_relation_id = None
            if d["holder"]["organisation"] is not None:
                holder_org = self.org_ids[d["holder"]["organisation"]]
            else:
                holder_key, rel_org, kind, start = extra["relation"]
                holder_contact = self._contact_id(holder_key)
                relation_id = self.relation_ids[
                    (holder_contact, self.org_ids[rel_org], kind, start)
                ]
            if extra["org_relation"] is not None:
                a, b, kind = extra["org_relation"]
                org_relation_id = self.org_relation_ids[(self.org_ids[a], self.org_ids[b], kind)]
            natural = (
                self.subject_ids[d["subject"]],
                owner,
                holder_org,
                holder_contact,
                d["right"],
            )
            values = {
                "start_date": extra["start"],
                "end_date": d["end_date"],
                "active": d["active"],
                "contact_relation_id": relation_id,
                "organisation_relation_id": org_relation_id,
            }
            items.append((natural, dict(zip(GRANT_KEY, natural, strict=True)), values))
        items.extend(self._grants_of_ended_relations({natural for natural, _, _ in items}))
        self._upsert_propagated("grants", Grant, GRANT_KEY, self.snap.grants, items)

    def _grants_of_ended_relations(
        self, in_file: set[Any]
    ) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
        """Ending a relation ends the subjects that go through it (``ends_with_relations``, the
        rule the removal form and a request's apply follow), at the earliest of their ends."""
        if not self.ended_relations and not self.ended_org_relations:
            return []
        items: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
        for natural, grant in self.snap.grants.items():
            if natural in in_file or not grant["active"]:
                continue
            relation_id = grant["contact_relation_id"]
            org_relation_id = grant["organisation_relation_id"]
            if not ends_with_relations(
                relation_id, org_relation_id, self.ended_relations, self.ended_org_relations
            ):
                continue
            ends = [
                self.ended_relations.get(relation_id),
                self.ended_org_relations.get(org_relation_id),
            ]
            relation_end = min((end for end in ends if end is not None), default=None)
            if relation_end is None:
                continue
            values = {
                name: grant[name]
                for name in ("start_date", "contact_relation_id", "organisation_relation_id")
            }
            values.update(active=False, end_date=min(grant["end_date"], relation_end))
            items.append((natural, {}, values))
        return items

    def _legacy(self) -> None:
        rows = self.plan.rows["legacy_credentials"]
        if not rows:
            return
        existing_rows = [(row, self.snap.legacy.get(row.data["username"])) for row in rows]
        to_verify = [
            (old["password_hash"], row.data["password"])
            for row, old in existing_rows
            if old is not None
        ]
        if to_verify:
            self.progress.note(f"Vérification de {len(to_verify)} ancien(s) mot(s) de passe…")
        verified = iter(_parallel(verify_password, to_verify))
        plans: list[tuple[Row, dict[str, Any] | None, bool]] = []
        for row, old in existing_rows:
            plans.append((row, old, old is not None and next(verified)))
        to_hash = [(row.data["password"],) for row, _, still_valid in plans if not still_valid]
        if to_hash:
            self.progress.note(f"Hachage (Argon2id) de {len(to_hash)} mot(s) de passe…")
        hashes = iter(_parallel(hash_password, to_hash))
        creates, updates, unchanged = [], [], 0
        for row, old, still_valid in plans:
            d = row.data
            values = {
                "contact_id": self._contact_id(self.plan.contact_key(d["contact"])),
                "organisation_id": self.org_ids[d["organisation"]],
            }
            new_hash = None if still_valid else next(hashes)
            if old is None:
                creates.append(
                    {
                        "username": d["username"],
                        **values,
                        "password_hash": new_hash,
                        "created_at": self.at,
                    }
                )
                continue
            before, after = _diff(old, values)
            if new_hash is not None:
                before["password"] = after["password"] = "[modifié]"  # noqa: S105 - a marker
            if not after:
                unchanged += 1
                continue
            updates.append(
                (
                    {"id": old["id"], **values, "password_hash": new_hash or old["password_hash"]},
                    before,
                    after,
                )
            )
        self._save(
            "legacy_credentials", LegacyCredential, ("username",), creates, updates, unchanged
        )

    def _linking(self) -> None:
        """The *courriel explicatif*: linking credentials, once per contact, never re-sent."""
        counts = self.counts["linking_credentials"]
        wanted = [
            row.data for row in self.plan.rows["contacts"] if row.data["send_linking_credentials"]
        ]
        for d in self.progress.track("Coordonnées de liaison", wanted):
            contact_id = self._contact_id(self.plan.contact_key(d["ref"]))
            if contact_id in self.snap.credentials_sent:
                counts["unchanged"] += 1
                continue
            cn = d["linking_organisation"]
            credential, code = linking.issue(
                contact_id=contact_id, organisation_id=self.org_ids[cn]
            )
            linking.queue_credentials_email(
                to=d["email"],
                language=d["language"],
                first_name=d["first_name"],
                last_name=d["last_name"],
                organisation_name=self.org_names[cn],
                organisation_client_number=cn,
                credential=credential,
                code=code,
                migrated=True,
                contact_id=contact_id,
                dedupe_key=f"{LINKING_DEDUPE}{contact_id}",
            )
            self.snap.credentials_sent.add(contact_id)
            counts["created"] += 1
