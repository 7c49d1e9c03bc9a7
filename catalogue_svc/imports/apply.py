"""The apply phase of an import: the validated plan written in the caller's transaction, with
bulk statements and dict look-ups (no per-row query)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, text

from .. import audit
from ..db import db
from ..profiles.models import (
    Contact,
    ContactPhone,
    Organisation,
)
from ..profiles.service import ensure_subjects
from . import bulk
from .apply_links import LinkWriter
from .snapshot import (
    CONTACT_FIELDS,
    ORG_FIELDS,
    PHONE_FIELDS,
    Row,
)
from .writer import _chunks, _diff, batches

_STAGED_KEYS = "import_staged_match_keys"
# New contacts from which the duplicate-check key table is rebuilt rather than added to, when
# they also outnumber the stored contacts (Applier._move_staged_keys).
REBUILD_KEYS_FROM = 50_000


class Applier(LinkWriter):
    """Writes the plan in the current transaction, with bulk statements."""

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

    # -- one method a kind

    def _organisations(self) -> None:
        for batch in batches(self.progress.track("Organisations", self.plan.rows["organisations"])):
            self._organisation_batch(batch)

    def _organisation_batch(self, batch: list[Row]) -> None:
        creates, updates, unchanged = [], [], 0
        for row in batch:
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
        for batch in batches(self.progress.track("Contacts", self.plan.rows["contacts"])):
            self._contact_batch(batch)

    def _contact_batch(self, batch: list[Row]) -> None:
        """Write one batch of contacts: the rows, their phones, history and duplicate-check keys."""
        creates: list[dict[str, Any]] = []
        create_phones: list[list[tuple[Any, ...]]] = []
        updates: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        replaced_phones: dict[int, list[tuple[Any, ...]]] = {}
        unchanged = 0
        for row in batch:
            d = row.data
            values = {name: d[name] for name in CONTACT_FIELDS}
            values["import_ref"] = d["ref"]
            phones = [tuple(p[name] for name in PHONE_FIELDS) for p in d["phones"]]
            match = self.plan.contact_match[d["ref"]]
            if not isinstance(match, int):  # the ref itself: a contact the file creates
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
            self.plan.contact_match[values["import_ref"]] = ident
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
            from ..duplicates.keys import refresh_keys

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
        from ..duplicates.keys import contact_keys
        from ..duplicates.matching import Person
        from ..duplicates.models import ContactMatchKey
        from ..duplicates.people import stored_phones

        country, number = PHONE_FIELDS.index("country_code"), PHONE_FIELDS.index("number")

        def keys_of(start: int, stop: int) -> Iterator[tuple[int, set[str]]]:
            for values, phones in zip(creates[start:stop], create_phones[start:stop], strict=True):
                yield (
                    self._contact_id(values["import_ref"]),
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
            if not self.staged_key_contacts:  # the first batch
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
            self.staged_key_contacts += len(creates)
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
