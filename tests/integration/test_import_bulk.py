"""The import's bulk machinery: the fast duplicate-check keys and the COPY writer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from catalogue_svc.db import db
from catalogue_svc.duplicates import blocking, normalise
from catalogue_svc.duplicates.keys import contact_keys
from catalogue_svc.duplicates.matching import Person
from catalogue_svc.duplicates.models import KEY_LENGTH
from catalogue_svc.duplicates.people import stored_phones
from catalogue_svc.imports import bulk, reader
from catalogue_svc.imports.service import ImportRejected, import_document, import_file
from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation, ProfileChange

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"

ODD_PEOPLE: list[tuple[Any, ...]] = [
    # first, last, birth date, email, phones (country code, number), client number
    ("", "", None, None, [], None),
    ("---", "''", dt.date(1980, 1, 2), None, [], None),
    ("Ж", "Ω", dt.date(1980, 1, 2), None, [], None),
    ("Marie-Ève", "St-Pierre", dt.date(1971, 12, 31), " Marie@Exemple.CA ", [], "000123"),
    ("Jean", "D'Amours", None, "", [("+1", "514 555-0100 poste 22")], "AB-0"),
    ("Œdipe", "Ærøskøbing", dt.date(1950, 6, 7), None, [("+33", "1 23 45 67 89")], None),
    (
        "x" * 100,
        "y" * 100,
        dt.date(2000, 2, 29),
        "z" * 240 + "@a.ca",
        [("+1", "+15145550100")],
        "9",
    ),
    ("Ab", "Cd", None, None, [("+1", "12"), ("+1", "  "), ("+1", "438.555.0199")], None),
    ("Thibault", "Thibeault", dt.date(1990, 1, 1), None, [], None),
    ("ﬁ", "ℌ", None, None, [], None),
]


def example() -> dict[str, Any]:
    """A fresh copy of the documented example (the guide's demo firm)."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _generated(n: int) -> list[tuple[Any, ...]]:
    from bench.duplicates import generate_contacts

    return [
        (first, last, born, email, [("+1", phone)] if phone else [], client_number)
        for _, first, last, born, email, phone, client_number in generate_contacts(n, 7)
    ]


def _keys_as_written_first(p: Person) -> set[str]:
    """The blocking keys as first written (one f-string a key, no cache), cut to the column."""
    keys: set[str] = set()
    client_number = normalise.normalize_client_number(p.client_number)
    if client_number is not None:
        keys.add(f"cn:{client_number}")
    email = normalise.normalize_email(p.email)
    if email is not None:
        keys.add(f"em:{email}")
    keys.update(f"ph:{number}" for number in normalise.normalize_phones(p.phones))
    first, last = normalise.name_forms(p.first_name), normalise.name_forms(p.last_name)
    for this, other in ((last, first), (first, last)):
        if this.compact:
            keys.update(
                f"nm:{v}|{other.phonetic}" for v in blocking._deletion_neighbourhood(this.compact)
            )
    if p.birth_date is not None:
        born = p.birth_date.isoformat()
        keys.update(f"ph3:{n.phonetic}|{born}" for n in (first, last) if n.compact)
        if first.compact or last.compact:
            initials = sorted((first.compact[:1] or "_", last.compact[:1] or "_"))
            keys.add(f"dob:{born}|{''.join(initials)}")
    if not first.compact and not last.compact:
        raw = " ".join(f"{p.first_name} {p.last_name}".casefold().split())
        if raw:
            keys.add(f"nx:{raw}")
    return {key[:KEY_LENGTH] for key in keys}


@pytest.mark.parametrize("sample", ["odd", "generated"])
def test_cached_keys_equal_the_keys_as_first_written(sample):
    """contact_keys (name keys cached, cut only when too long) gives exactly the keys of the
    straightforward formula, on odd and realistic people: the import and the checks agree."""
    people = ODD_PEOPLE if sample == "odd" else _generated(3000)
    for first, last, born, email, phones, client_number in people:
        person = Person(first, last, born, email, stored_phones(phones), client_number)
        assert contact_keys(person) == _keys_as_written_first(person)


def test_copy_writer_stores_what_an_insert_stores(app):
    """Tabs, newlines, backslashes, None in JSON, dates and booleans survive the COPY text."""
    now = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    org = Organisation(client_number="77", name="ORG", kind="employer")
    db.session.add(org)
    db.session.flush()
    awkward = "a\tb\nc\\d\re \\N"
    contact_rows = [
        {
            "import_ref": f"R{i}",
            "first_name": awkward,
            "last_name": f"Nom {i}",
            "birth_date": dt.date(1980, 1, 1 + i),
            "email": None,
            "address": None if i == 0 else {"street": awkward, "city": "Montréal"},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(2)
    ]
    bulk.insert_dicts(Contact.__table__, contact_rows)
    db.session.execute(
        insert(Contact.__table__),
        [{**row, "import_ref": f"S{i}"} for i, row in enumerate(contact_rows)],
    )
    change = {
        "at": now,
        "actor_account_id": None,
        "source": "import",
        "request_id": None,
        "op_index": None,
        "entity": "contact",
        "entity_id": 1,
        "operation": "import_create",
        "before": None,
        "after": {"x": awkward, "n": [1, 2.5, True, None]},
    }
    bulk.insert_dicts(ProfileChange.__table__, [change])
    db.session.execute(insert(ProfileChange.__table__), [change])
    ids = {
        row.import_ref: row.id for row in db.session.execute(select(Contact.import_ref, Contact.id))
    }
    relation = {
        "organisation_id": org.id,
        "type": "contact",
        "start_date": dt.date(2020, 1, 1),
        "end_date": dt.date(9999, 12, 31),
        "active": False,
        "applied_at": now,
        "visible_at": now,
    }
    bulk.insert_rows(
        ContactRelation.__table__,
        ["contact_id", *relation],
        [(ids["R0"], *relation.values())],
    )
    db.session.execute(insert(ContactRelation.__table__), [{"contact_id": ids["S0"], **relation}])

    def contacts(prefix: str) -> list[tuple[Any, ...]]:
        query = text(
            "SELECT first_name, last_name, birth_date, email, address IS NULL, created_at "
            "FROM contacts WHERE import_ref LIKE :p ORDER BY import_ref"
        )
        return [tuple(r) for r in db.session.execute(query, {"p": prefix + "%"})]

    assert contacts("R") == contacts("S")
    assert contacts("R")[0][0] == awkward
    stored = db.session.scalars(select(Contact).where(Contact.import_ref.in_(["R1", "S1"]))).all()
    assert [c.address for c in stored] == [{"street": awkward, "city": "Montréal"}] * 2
    changes = db.session.scalars(select(ProfileChange).order_by(ProfileChange.id)).all()
    first, second = ((c.before, c.after, c.at) for c in changes)
    assert first == second
    assert changes[0].after == change["after"]
    relations = db.session.execute(
        select(
            ContactRelation.active,
            ContactRelation.end_date,
            ContactRelation.ended_at,
            ContactRelation.applied_at,
            ContactRelation.created_by_request_id,
        ).order_by(ContactRelation.id)
    ).all()
    assert relations[0] == relations[1]
    assert relations[0].active is False


def _key_table_definition() -> list[tuple[Any, ...]]:
    query = text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'contact_match_keys'::regclass UNION ALL "
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contact_match_keys' "
        "ORDER BY 1, 2"
    )
    return [tuple(row) for row in db.session.execute(query)]


def test_rebuilt_key_table_has_the_keys_and_indexes_it_had(app, monkeypatch):
    """A first large import rebuilds the key table on PostgreSQL (writes its keys in place on
    SQLite): the same keys as refresh_keys, and on PostgreSQL the same indexes."""
    from catalogue_svc.duplicates.keys import refresh_keys
    from catalogue_svc.duplicates.models import ContactMatchKey
    from catalogue_svc.imports import apply

    monkeypatch.setattr(apply, "REBUILD_KEYS_FROM", 0)
    postgresql = db.engine.dialect.name == "postgresql"
    definition = _key_table_definition() if postgresql else []
    if postgresql:
        assert len(definition) >= 3  # the primary key, its index and the contact_id index
    import_document(example())
    if postgresql:
        assert _key_table_definition() == definition

    def stored() -> set[tuple[str, int]]:
        query = select(ContactMatchKey.key, ContactMatchKey.contact_id)
        return {(key, contact_id) for key, contact_id in db.session.execute(query)}

    written = stored()
    refresh_keys(db.session.scalars(select(Contact.id)).all())
    assert written and stored() == written


def test_blank_optional_texts_count_as_absent(app):
    """An optional text left empty ("") is stored as absent, in a contact and in a phone."""
    document = example()
    row = document["contacts"][0]
    row.update(email="  ", send_linking_credentials=False)
    row.pop("linking_organisation", None)
    row["phones"] = [{"type": "cellulaire", "number": "514 555-0100", "extension": ""}]
    import_document(document)
    stored = db.session.scalars(select(Contact).where(Contact.import_ref == row["ref"])).one()
    assert stored.email is None
    assert [phone.extension for phone in stored.phones] == [None]


# ------------------------------------------------------------------ reading section by section


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        ' \n{ "version" : 1 ,\t"contacts":[ ] }\r\n',
        '{"description": "é \\u00e9 \\"", "organisations": [{"a": [1, 2.5, null, true]}]}',
    ],
)
def test_reader_gives_what_json_loads_gives(text):
    """The members read one at a time are the members json.loads reads."""
    assert dict(reader.sections(text)) == json.loads(text)


def test_reader_reads_the_example_as_json_loads_does():
    """The documented example, read section by section, is the parsed example."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert dict(reader.sections(text)) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        '"text"',
        '{"contacts": [], "contacts": [{}]}',
        '{"contacts": []} extra',
        '{"contacts": [}',
        '{"contacts": []',
        '{"contacts" []}',
        "{contacts: []}",
        '{"contacts": [], }',
        "",
    ],
)
def test_reader_leaves_unusual_text_to_json_loads(text):
    """Not an object, a key given twice, a syntax error: the reader gives up, json.loads reads."""
    with pytest.raises(reader.NotStreamable):
        dict(reader.sections(text))


def test_import_file_validates_a_section_before_parsing_the_next(app, tmp_path, monkeypatch):
    """import_file parses and validates one section at a time, never the whole file at once."""
    from catalogue_svc.imports import validation

    path = tmp_path / "dossiers.json"
    path.write_text(json.dumps(example()), encoding="utf-8")
    events: list[str] = []
    original_sections, original_parse = reader.sections, validation.Validator._parse_section

    def sections(text: str):
        for key, value in original_sections(text):
            if key in validation.SECTIONS:
                events.append(f"parsed {key}")
            yield key, value

    def parse_section(self, section, items):
        events.append(f"validated {section}")
        return original_parse(self, section, items)

    monkeypatch.setattr(reader, "sections", sections)
    monkeypatch.setattr(validation.Validator, "_parse_section", parse_section)
    sections_in_file = [key for key in example() if key in validation.SECTIONS]
    import_file(path)
    assert events == [
        event for key in sections_in_file for event in (f"parsed {key}", f"validated {key}")
    ]


def test_a_key_given_twice_is_read_as_json_loads_reads_it(app, tmp_path):
    """A section given twice: the last one counts, as with json.loads (the whole-file path)."""
    document = example()
    organisations = json.dumps(document.pop("organisations"))
    body = json.dumps(document)[1:]
    path = tmp_path / "dossiers.json"
    path.write_text(f'{{"organisations": [], "organisations": {organisations}, {body}', "utf-8")
    counts = import_file(path)
    assert counts["organisations"]["created"] == 3


def test_a_syntax_error_after_valid_sections_is_the_only_error(app, tmp_path):
    """Bad JSON at the end of a file whose first sections are read: only the JSON error."""
    text = json.dumps(example())
    path = tmp_path / "dossiers.json"
    path.write_text(text[:-1] + ', "grants": [}', "utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_file(path)
    [error] = rejected.value.errors
    assert error.path == "$" and error.message.startswith("JSON invalide : ")
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_cyclic_gc_is_back_on_after_an_import(app):
    """The import pauses the cyclic GC and turns it back on, whether the file passes or not."""
    import gc

    import_document(example())
    assert gc.isenabled()
    with pytest.raises(ImportRejected):
        import_document({"contacts": [{}]})
    assert gc.isenabled()
