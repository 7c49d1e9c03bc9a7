"""Duplicate detection against the store: the key table, the candidate query and what it flags."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update

from catalogue_svc.db import db
from catalogue_svc.duplicates import keys, people, service
from catalogue_svc.duplicates.matching import Person
from catalogue_svc.duplicates.models import ContactMatchKey
from catalogue_svc.profiles.models import Contact, ContactPhone
from catalogue_svc.requests import service as requests_service

BORN = dt.date(1984, 3, 17)
SURNAMES = ("Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier")
FIRST_NAMES = (
    "Jean",
    "Marie",
    "Sophie",
    "Luc",
    "Nathalie",
    "Pierre",
    "Julie",
    "Marc",
    "Isabelle",
    "François",
    "Chantal",
    "Éric",
    "Mélanie",
    "Denis",
    "Karine",
    "Guy",
)
S_NAMES = (
    "Sylvain",
    "Simon",
    "Samuel",
    "Sébastien",
    "Stéphanie",
    "Sandra",
    "Serge",
    "Sylvie",
    "Suzanne",
    "Steve",
    "Sarah",
    "Solange",
    "Sabrina",
    "Sonia",
    "Stéphane",
)


def add_contact(
    first: str,
    last: str,
    born: dt.date | None = BORN,
    *,
    email: str | None = None,
    phones: tuple[str, ...] = (),
    client_number: str | None = None,
) -> int:
    """A contact created through the ORM (its keys written on flush); returns its id."""
    contact = Contact(
        first_name=first, last_name=last, birth_date=born, email=email, client_number=client_number
    )
    for position, number in enumerate(phones):
        contact.phones.append(ContactPhone(position=position, type="principal", number=number))
    db.session.add(contact)
    db.session.flush()
    return contact.id


def person(first: str, last: str, born: dt.date | None = BORN, **fields: Any) -> dict[str, Any]:
    """A new person as the forms give it."""
    return {
        "first_name": first,
        "last_name": last,
        "birth_date": born,
        "email": fields.get("email"),
        "phones": list(fields.get("phones", ())),
        "client_number": fields.get("client_number"),
    }


def keys_of(contact_id: int) -> set[str]:
    """The keys stored for a contact."""
    return set(
        db.session.scalars(
            select(ContactMatchKey.key).where(ContactMatchKey.contact_id == contact_id)
        )
    )


def expected_keys(contact_id: int) -> set[str]:
    """The keys the contact's current row calls for."""
    contact = db.session.get(Contact, contact_id)
    db.session.refresh(contact)
    phones = tuple(f"{p.country_code} {p.number}" for p in contact.phones)
    return keys.contact_keys(
        Person(
            contact.first_name,
            contact.last_name,
            contact.birth_date,
            contact.email,
            phones,
            contact.client_number,
            contact.id,
        )
    )


def flagged(result: list[dict[str, Any]], contact_id: int) -> dict[str, Any] | None:
    """The candidate ``contact_id`` in a check's result, if there."""
    return next((c for c in result if c["contact_id"] == contact_id), None)


def kinds(candidate: dict[str, Any]) -> set[tuple[str, str]]:
    """The (field, kind) of a candidate's reasons."""
    return {(r["field"], r["kind"]) for r in candidate["reasons"]}


@pytest.fixture()
def crowd(app) -> list[int]:
    """Québec's common surnames with many first names, born on other dates or (for a few
    first names) on BORN."""
    ids = []
    for i, (last, first) in enumerate(itertools.product(SURNAMES, FIRST_NAMES)):
        born = (
            BORN
            if first in ("Luc", "Pierre", "Guy")
            else dt.date(1950 + (i * 7) % 45, 1 + i % 12, 1 + (i * 5) % 28)
        )
        ascii_first = first.replace("é", "e").replace("ç", "c").lower()
        ids.append(
            add_contact(
                first,
                last,
                born,
                email=f"{ascii_first}.{i}@exemple.ca",
                phones=(f"418 555-{i:04d}",),
            )
        )
    db.session.commit()
    return ids


@pytest.fixture()
def loaded(monkeypatch) -> Iterator[list[int]]:
    """The ids of the contacts each check loads, in order."""
    seen: list[int] = []
    original = service.load_people

    def spy(executor: Any, contact_ids: Any) -> dict[int, Person]:
        people = original(executor, contact_ids)
        seen.extend(people)
        return people

    monkeypatch.setattr(service, "load_people", spy)
    yield seen


# --------------------------------------------------------------------------- the key table


def test_keys_are_stored_for_a_contact_created_through_the_orm(app):
    """Creating a contact with a phone writes its blocking keys in the same transaction."""
    contact_id = add_contact("Hélène", "Côté", email="helene@exemple.ca", phones=("514 555-0101",))
    assert keys_of(contact_id) == expected_keys(contact_id)
    assert {"em:helene@exemple.ca", "ph:+15145550101"} <= keys_of(contact_id)


@pytest.mark.parametrize(
    ("change", "gone", "new"),
    [
        ("last_name", "nm:cote|ELAN", "nm:lvesqu|ELAN"),
        ("email", "em:helene@exemple.ca", "em:h.cote@exemple.ca"),
        ("birth_date", "dob:1984-03-17|ch", "dob:1984-03-18|ch"),
        ("phones", "ph:+15145550101", "ph:+14185550199"),
    ],
)
def test_keys_follow_a_change_made_through_the_orm(app, change, gone, new):
    """Changing a name, the email, the birth date or the phones replaces the contact's keys."""
    contact_id = add_contact("Hélène", "Côté", email="helene@exemple.ca", phones=("514 555-0101",))
    db.session.commit()
    contact = db.session.get(Contact, contact_id)
    if change == "last_name":
        contact.last_name = "Lévesque"
    elif change == "email":
        contact.email = "h.cote@exemple.ca"
    elif change == "birth_date":
        contact.birth_date = dt.date(1984, 3, 18)
    else:
        contact.phones.clear()
        db.session.flush()
        contact.phones.append(ContactPhone(position=0, type="principal", number="418 555-0199"))
    db.session.commit()
    stored = keys_of(contact_id)
    assert gone not in stored
    assert new in stored
    assert stored == expected_keys(contact_id)


def test_refresh_keys_replaces_the_keys_after_a_core_update(app):
    """A Core UPDATE leaves the keys stale until refresh_keys replaces them."""
    contact_id = add_contact("Hélène", "Côté")
    db.session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(first_name="Ginette")
        .execution_options(synchronize_session=False)
    )
    assert "nm:cote|ELAN" in keys_of(contact_id)
    keys.refresh_keys([contact_id])
    assert "nm:cote|ELAN" not in keys_of(contact_id)
    assert keys_of(contact_id) == expected_keys(contact_id)


def test_refresh_keys_indexes_contacts_inserted_with_core(app):
    """Contacts and phones bulk-inserted with Core get their keys from refresh_keys."""
    db.session.execute(
        insert(Contact),
        [{"first_name": "Éric", "last_name": f"Gagnon-{n}", "birth_date": BORN} for n in "ABC"],
    )
    ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id)))
    db.session.execute(
        insert(ContactPhone),
        [{"contact_id": ids[0], "type": "principal", "number": "819 555-0142"}],
    )
    assert [keys_of(i) for i in ids] == [set(), set(), set()]
    keys.refresh_keys(ids)
    assert [keys_of(i) for i in ids] == [expected_keys(i) for i in ids]
    assert "ph:+18195550142" in keys_of(ids[0])


def test_reindex_all_rebuilds_the_keys_of_every_contact(app, crowd):
    """reindex_all restores every contact's keys batch by batch and reports its progress."""
    db.session.execute(delete(ContactMatchKey))
    db.session.commit()
    progress: list[tuple[int, int]] = []
    assert keys.reindex_all(batch=40, progress=lambda *p: progress.append(p)) == len(crowd)
    assert progress == [(40, 96), (80, 96), (96, 96)]
    assert all(keys_of(i) == expected_keys(i) for i in crowd)


def test_a_key_naming_no_contact_is_skipped_then_removed(app, crowd):
    """The key table has no foreign key: a key left by no contact (written by hand, say) is no
    candidate and breaks no check, and ``reindex_all`` removes it."""
    probe = {"first_name": "Sophie", "last_name": "Tremblay", "birth_date": BORN}
    orphan = 10**9
    rows = [
        {"key": key, "contact_id": orphan}
        for key in keys.contact_keys(Person("Sophie", "Tremblay", birth_date=BORN))
    ]
    db.session.execute(insert(ContactMatchKey), rows)
    db.session.commit()
    found = service.find_candidates(probe)
    assert orphan not in {c["contact_id"] for c in found}
    [many] = service.find_candidates_many([probe])
    assert many == found
    keys.reindex_all()
    assert (
        db.session.scalar(select(ContactMatchKey.key).where(ContactMatchKey.contact_id == orphan))
        is None
    )
    assert keys_of(crowd[0]) == expected_keys(crowd[0])


def test_reindex_command_rebuilds_the_keys(app, crowd):
    """``flask reindex-duplicates`` rebuilds the key table."""
    db.session.execute(delete(ContactMatchKey))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reindex-duplicates", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "96 contact(s)" in result.output
    assert keys_of(crowd[0]) == expected_keys(crowd[0])


def test_the_longest_names_are_stored_and_found(app):
    """Names at the columns' length give keys that fit the key column and still match."""
    first, last = "Xavière-" + "xa" * 46, "D'Ambroise-" + "ix" * 44
    contact_id = add_contact(first, last)
    db.session.commit()
    assert flagged(service.find_candidates(person(first, last)), contact_id) is not None


# --------------------------------------------------------------------------- what is flagged


@pytest.mark.parametrize(
    ("stored", "probe", "reason"),
    [
        pytest.param(
            ("Hélène", "Côté-Lévesque"),
            ("Helene", "Cote Levesque"),
            ("name", "exact"),
            id="accents",
        ),
        pytest.param(
            ("Marie-Karine", "Tremblay"),
            ("Marie Karine", "Tremblay"),
            ("name", "exact"),
            id="hyphen",
        ),
        pytest.param(
            ("Geneviève", "Bouchard"), ("Genevieve", "Bouchrad"), ("name", "fuzzy"), id="typo"
        ),
        pytest.param(
            ("Marie-Josée", "Gagnon"),
            ("Josée", "Gagnon"),
            ("name", "fuzzy"),
            id="compound-first-name-shortened",
        ),
        pytest.param(
            ("Jean-François", "Gauthier"),
            ("Gauthier", "Jean-François"),
            ("name", "swapped"),
            id="swapped",
        ),
        pytest.param(
            ("Annie", "Gagné", {"born": dt.date(1984, 3, 7)}),
            ("Annie", "Gagné", {"born": dt.date(1984, 7, 3)}),
            ("birth_date", "fuzzy"),
            id="day-and-month-swapped",
        ),
        pytest.param(
            ("Catherine", "Roy", {"email": "cath.roy@exemple.ca"}),
            ("Cathy", "Roy", {"born": None, "email": " Cath.Roy@Exemple.CA"}),
            ("email", "exact"),
            id="same-email",
        ),
        pytest.param(
            ("Mathieu", "Pelletier", {"phones": ("(514) 555-0199",)}),
            ("Mathieu", "Pelletier", {"born": None, "phones": ("+15145550199",)}),
            ("phone", "exact"),
            id="same-phone-other-format",
        ),
        pytest.param(
            ("Stéphane", "Ouellet", {"client_number": "0123456"}),
            ("Stephane", "Ouellette", {"client_number": "123456"}),
            ("client_number", "exact"),
            id="same-client-number-other-spelling",
        ),
    ],
)
def test_a_near_duplicate_is_found_with_its_reason(app, crowd, stored, probe, reason):
    """A stored near-duplicate among the crowd is a candidate, with the reason that makes it."""
    first, last, *extra = stored
    fields = dict(extra[0]) if extra else {}
    contact_id = add_contact(first, last, fields.pop("born", BORN), **fields)
    db.session.commit()
    first, last, *extra = probe
    fields = dict(extra[0]) if extra else {}
    candidate = flagged(
        service.find_candidates(person(first, last, fields.pop("born", BORN), **fields)), contact_id
    )
    assert candidate is not None
    assert reason in kinds(candidate)


@pytest.mark.parametrize(
    "probe",
    [
        pytest.param(("Sophie", "Tremblay", dt.date(2001, 6, 30)), id="same-name-other-birth-date"),
        pytest.param(("Sophie", "Tremblay", BORN), id="other-first-name-same-birth-date"),
        pytest.param(("Julien", "Gagnon", dt.date(1991, 11, 2)), id="close-first-name-other-date"),
        pytest.param(("Manon", "Côté", None), id="other-first-name-no-birth-date"),
        pytest.param(("Kevin", "Nguyen", BORN), id="new-surname"),
    ],
)
def test_a_clear_non_duplicate_is_not_flagged(app, crowd, probe):
    """Sharing a common surname, a first name or a birth date with the crowd flags nobody."""
    assert service.find_candidates(person(*probe)) == []


def test_a_client_number_held_by_someone_else_is_reported(app, crowd):
    """The owner of the client number given, under another name, comes with the mismatch reason."""
    owner = add_contact("Louise", "Lavoie", dt.date(1962, 8, 1), client_number="004521")
    db.session.commit()
    candidate = flagged(
        service.find_candidates(person("Kevin", "Nguyen", client_number="4521")), owner
    )
    assert candidate is not None
    assert ("client_number", "mismatch") in kinds(candidate)


def test_the_client_number_owner_is_reported_beyond_the_limit(app, crowd):
    """The mismatching owner is listed even when better candidates fill the limit."""
    twin = add_contact("Sophie", "Tremblay")
    owner = add_contact("Louise", "Lavoie", dt.date(1962, 8, 1), client_number="777")
    db.session.commit()
    result = service.find_candidates(person("Sophie", "Tremblay", client_number="777"), limit=1)
    assert [c["contact_id"] for c in result] == [twin, owner]


def test_candidates_are_json_ready_dicts(app, crowd):
    """Each candidate is a JSON-able dict: id, rounded score, level, name and reasons."""
    contact_id = add_contact("Geneviève", "Bouchard", email="gb@exemple.ca")
    db.session.commit()
    [candidate] = service.find_candidates(person("Genevieve", "Bouchrad", email="gb@exemple.ca"))
    assert json.loads(json.dumps(candidate)) == candidate
    assert (candidate["contact_id"], candidate["name"], candidate["level"]) == (
        contact_id,
        "Geneviève Bouchard",
        "probable",
    )
    assert candidate["score"] == round(candidate["score"], 3)
    assert set(candidate["reasons"][0]) == {"field", "kind", "detail", "score"}


# --------------------------------------------------------------------------- blocking


@pytest.fixture()
def population(app) -> dict[int, Person]:
    """2,000 contacts with common names, inserted with Core and indexed with refresh_keys."""
    rng = random.Random(5)
    rows = [
        {
            "first_name": rng.choice(FIRST_NAMES + S_NAMES),
            "last_name": rng.choice(SURNAMES),
            "birth_date": dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25_000)),
            "email": f"p{n}@exemple.ca",
        }
        for n in range(2000)
    ]
    db.session.execute(insert(Contact), rows)
    ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id)))
    keys.refresh_keys(ids)
    db.session.commit()
    return {
        i: Person(r["first_name"], r["last_name"], r["birth_date"], r["email"], contact_id=i)
        for i, r in zip(ids, rows, strict=True)
    }


def test_the_check_loads_only_the_contacts_of_the_probes_blocks(app, population, loaded):
    """Among 2,000 contacts, the check loads exactly those sharing a key with the probe."""
    probe = person("Sophie", "Tremblya", dt.date(1970, 5, 5))
    probe_keys = keys.contact_keys(people.person_from_dict(probe))
    sharing = {i for i, p in population.items() if keys.contact_keys(p) & probe_keys}
    service.find_candidates(probe)
    assert sorted(loaded) == sorted(sharing)
    assert 0 < len(loaded) < 100


def test_the_check_runs_one_block_query_and_one_load_query(app, population):
    """A check costs two statements, whatever the size of the store."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        service.find_candidates(person("Sophie", "Tremblay", dt.date(1970, 5, 5)))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2


@pytest.mark.parametrize(
    ("first", "last", "fields"),
    [
        pytest.param("Sofie", "Tremblay", {}, id="sharing-the-most-keys"),
        pytest.param(
            "Kathy",
            "Lalonde",
            {"born": dt.date(1955, 1, 1), "email": "st@exemple.ca"},
            id="sharing-an-exact-key",
        ),
    ],
)
def test_a_capped_block_keeps_the_likeliest_contacts(app, loaded, first, last, fields):
    """Over the cap, the block keeps exact-key holders, then the contacts sharing the most keys."""
    for n, name in enumerate(S_NAMES * 2):  # each shares two keys with the probe: dob and ph3
        add_contact(name, "Tremblay", email=f"s{n}@exemple.ca")
    contact_id = add_contact(first, last, fields.pop("born", BORN), **fields)
    db.session.commit()
    loaded.clear()  # the key upkeep loaded the new contacts too
    service.find_candidates(person("Sophie", "Tremblay", email="st@exemple.ca"), block_cap=5)
    assert len(loaded) == 5
    assert contact_id in loaded


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("thresholds", "found"), [(None, True), ({"candidate": 0.999}, False)])
def test_thresholds_come_from_the_app_config(make_app, thresholds, found):
    """CATALOGUE_DUPLICATE_THRESHOLDS sets the cut-off of a candidate."""
    config = {} if thresholds is None else {"CATALOGUE_DUPLICATE_THRESHOLDS": thresholds}
    with make_app(**config).app_context():
        add_contact("Geneviève", "Bouchard")
        db.session.commit()
        result = service.find_candidates(person("Genevieve", "Bouchrad"))
    assert bool(result) is found


def test_an_unknown_threshold_is_refused_at_startup(make_app):
    """A misspelt threshold name stops the app from starting."""
    with pytest.raises(ValueError, match="candidat"):
        make_app(CATALOGUE_DUPLICATE_THRESHOLDS={"candidat": 0.9})


def test_the_request_workflow_uses_the_store(app, crowd):
    """The duplicate-check step's finder is this module: a typo is found, not only exact matches."""
    contact_id = add_contact("Geneviève", "Bouchard")
    db.session.commit()
    result = requests_service.find_candidates(person("Genevieve", "Bouchrad"))
    assert [c["contact_id"] for c in result] == [contact_id]


def test_the_batch_finder_answers_what_the_single_one_answers(app, crowd):
    """A pipeline chunk asks for every new person's candidates at once: the same candidates,
    reasons and order as one check per person, small block caps included."""
    probes = [
        person("Luc", "Tremblay"),
        person("Lucas", "Tremblai"),
        person("Marie", "Gagnon", dt.date(1960, 1, 1)),
        person("Jean", "Roy", email="jean.0@exemple.ca"),
        person("Inconnu", "Personne", dt.date(2001, 2, 3)),
        person("Sophie", "Côté", phones=("418 555-0003",)),
        person("", ""),
    ]
    for cap in (service.BLOCK_CAP, 3):
        single = [service.find_candidates(p, block_cap=cap) for p in probes]
        batch = service.find_candidates_many(probes, block_cap=cap)
        assert batch == single
    assert any(single) and not all(single)
