"""The dossier import: validation of the whole file, one transaction, idempotence, the emails."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.imports.fast_loader import FastLoader
from catalogue_svc.imports.schemas import SECTIONS
from catalogue_svc.imports.service import ImportRejected, import_document, import_file
from catalogue_svc.linking.models import LegacyCredential, LinkingCredential
from catalogue_svc.linking.service import pepper
from catalogue_svc.notifications.models import Email
from catalogue_svc.passwords import code_matches, verify_password
from catalogue_svc.profiles.models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    ProfileChange,
    Subject,
)
from tests.servers import body

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"

EXPECTED_CREATED = {
    "organisations": 3,
    "contacts": 6,
    "contact_relations": 7,
    "organisation_relations": 2,
    "grants": 21,
    "legacy_credentials": 1,
    "linking_credentials": 1,
}


def example() -> dict[str, Any]:
    """A fresh copy of the documented example (the guide's demo firm)."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def table_counts() -> dict[str, int]:
    """Rows in every table."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def contact(ref: str) -> Contact:
    """The imported contact of ``ref``."""
    return db.session.scalars(select(Contact).where(Contact.import_ref == ref)).one()


def organisation(client_number: str) -> Organisation:
    """The organisation of ``client_number``."""
    return db.session.scalars(
        select(Organisation).where(Organisation.client_number == client_number)
    ).one()


def rows(section: str, **match: Any) -> int:
    """Index of the first row of ``section`` of the example whose fields match."""
    for index, row in enumerate(example()[section]):
        if all(row.get(k) == v for k, v in match.items()):
            return index
    raise LookupError(match)


# ------------------------------------------------------------------ a valid file


def test_valid_file_reports_created_counts(app):
    """A valid file creates every row and counts them by kind."""
    counts = import_document(example())
    assert {kind: c["created"] for kind, c in counts.items()} == EXPECTED_CREATED
    assert all(c["updated"] == c["unchanged"] == 0 for c in counts.values())


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Organisation, 3),
        (Contact, 6),
        (ContactPhone, 5),
        (ContactRelation, 7),
        (OrganisationRelation, 2),
        (Grant, 21),
        (LegacyCredential, 1),
        (LinkingCredential, 1),
        (Email, 1),
    ],
)
def test_valid_file_writes_rows(app, model, expected):
    """Each kind of row of the file lands in its table."""
    import_document(example())
    assert db.session.scalar(select(func.count()).select_from(model)) == expected


def test_subject_catalogue_is_ensured(app):
    """The import creates the catalogue of subjects, the phase-1 limitation included."""
    import_document(example())
    unavailable = set(
        db.session.scalars(select(Subject.code).where(Subject.unavailable_in_delegation))
    )
    assert unavailable == {
        "gestion_main_oeuvre",
        "identification_chantier",
        "lettre_etat_situation",
    }


def test_delegated_grant_goes_through_both_relations(app):
    """A member's subject on a client's dossier goes through her relation and the org relation."""
    import_document(example())
    shaw, laforce, member = organisation("3187654"), organisation("4021587"), contact("DEMO-MKB")
    grant = db.session.scalars(
        select(Grant).where(
            Grant.owner_organisation_id == shaw.id, Grant.holder_contact_id == member.id
        )
    ).one()
    relation = db.session.get(ContactRelation, grant.contact_relation_id)
    org_relation = db.session.get(OrganisationRelation, grant.organisation_relation_id)
    assert (relation.organisation_id, relation.type) == (laforce.id, "membre_personnel")
    assert (org_relation.organisation_id, org_relation.related_organisation_id) == (
        shaw.id,
        laforce.id,
    )
    assert (grant.right, grant.start_date.isoformat()) == ("write", "2021-09-07")


def test_imported_rows_are_visible_at_once(app):
    """Migrated relations and subjects show in the portal without the propagation delay."""
    import_document(example())
    for model in (ContactRelation, OrganisationRelation, Grant):
        for row in db.session.scalars(select(model)):
            assert row.visible_at == row.applied_at
            assert row.active and row.end_visible_at is None


def test_every_created_row_has_a_profile_change(app):
    """Each created row is recorded once in the history, with source 'import'."""
    counts = import_document(example())
    changes = db.session.scalars(select(ProfileChange)).all()
    history_kinds = set(EXPECTED_CREATED) - {"linking_credentials"}
    assert len(changes) == sum(counts[kind]["created"] for kind in history_kinds)
    assert {c.source for c in changes} == {"import"}
    assert {c.operation for c in changes} == {"import_create"}
    legacy = [c for c in changes if c.entity == "legacy_credential"]
    assert "password" not in json.dumps(legacy[0].after)


def test_contact_phones_are_kept_in_order(app):
    """Phones are stored in the file's order with their defaults."""
    import_document(example())
    phones = [(p.type, p.number, p.extension, p.country_code) for p in contact("DEMO-RDL").phones]
    assert phones == [
        ("cellulaire", "514 555-0142", None, "+1"),
        ("bureau", "514 555-0100", "201", "+1"),
    ]


# ------------------------------------------------------------------ idempotence and updates


def test_rerun_changes_nothing(app):
    """Importing the same file twice: every count unchanged, no new row, no new email."""
    import_document(example())
    before = table_counts()
    counts = import_document(example())
    assert {kind: c["unchanged"] for kind, c in counts.items()} == EXPECTED_CREATED
    assert all(c["created"] == c["updated"] == 0 for c in counts.values())
    after = table_counts()
    after.pop("audit_events"), before.pop("audit_events")  # each run is audited
    assert after == before


def test_changed_row_is_updated_and_recorded(app):
    """A row that differs is updated, counted and recorded with its values before and after."""
    import_document(example())
    document = example()
    document["organisations"][0]["name"] = "LAFORCE COMPTABLE INC."
    counts = import_document(document)
    assert counts["organisations"] == {"created": 0, "updated": 1, "unchanged": 2}
    change = db.session.scalars(
        select(ProfileChange).where(ProfileChange.operation == "import_update")
    ).one()
    assert (change.before, change.after) == (
        {"name": "LAFORCE COMPTABLE INC"},
        {"name": "LAFORCE COMPTABLE INC."},
    )
    assert organisation("4021587").name == "LAFORCE COMPTABLE INC."


def test_ending_a_relation_ends_its_subjects(app):
    """A relation imported as inactive ends the stored subjects that go through it."""
    import_document(example())
    document = example()
    index = rows("contact_relations", contact="DEMO-MHD")
    document["contact_relations"][index].update(active=False, end_date="2025-06-30")
    document["grants"] = [g for g in document["grants"] if g["holder"].get("contact") != "DEMO-MHD"]
    counts = import_document(document)
    assert counts["contact_relations"]["updated"] == 1
    assert counts["grants"]["updated"] == 2
    grants = db.session.scalars(
        select(Grant).where(Grant.holder_contact_id == contact("DEMO-MHD").id)
    ).all()
    assert [(g.active, g.end_date.isoformat()) for g in grants] == [(False, "2025-06-30")] * 2
    assert all(g.ended_at is not None for g in grants)


def test_contact_found_by_client_number_takes_the_ref(app):
    """A contact known by its client number is updated, not duplicated, and keeps the file's ref."""
    import_document(example())
    document = example()
    index = rows("contacts", ref="DEMO-ADM")
    document["contacts"][index]["ref"] = "LEGACY-42"
    for relation in document["contact_relations"]:
        if relation["contact"] == "DEMO-ADM":
            relation["contact"] = "LEGACY-42"
    for grant in document["grants"]:
        if grant["holder"].get("contact") == "DEMO-ADM":
            grant["holder"]["contact"] = "LEGACY-42"
    counts = import_document(document)
    assert counts["contacts"] == {"created": 0, "updated": 1, "unchanged": 5}
    assert contact("LEGACY-42").client_number == "5104873"


# ------------------------------------------------------------------ a file with errors


def _bad_kind(doc: dict[str, Any]) -> str:
    doc["organisations"][1]["kind"] = "banque"
    return "$.organisations[1].kind"


def _duplicate_client_number(doc: dict[str, Any]) -> str:
    doc["organisations"].append(dict(doc["organisations"][0]))
    return f"$.organisations[{len(doc['organisations']) - 1}].client_number"


def _impossible_birth_date(doc: dict[str, Any]) -> str:
    doc["contacts"][1]["birth_date"] = "1990-02-30"
    return "$.contacts[1].birth_date"


def _credentials_without_email(doc: dict[str, Any]) -> str:
    index = rows("contacts", ref="DEMO-RDL")
    del doc["contacts"][index]["email"]
    return f"$.contacts[{index}].email"


def _bad_phone(doc: dict[str, Any]) -> str:
    doc["contacts"][2]["phones"][0]["number"] = "abc"
    return "$.contacts[2].phones[0].number"


def _unknown_field(doc: dict[str, Any]) -> str:
    doc["contacts"][4]["surname"] = "X"
    return "$.contacts[4].surname"


def _unknown_contact(doc: dict[str, Any]) -> str:
    doc["contact_relations"].append(
        {
            "contact": "GHOST",
            "organisation": "4021587",
            "type": "contact",
            "start_date": "2020-01-01",
        }
    )
    return f"$.contact_relations[{len(doc['contact_relations']) - 1}].contact"


def _end_before_start(doc: dict[str, Any]) -> str:
    doc["contact_relations"][5]["end_date"] = "2000-01-01"
    return "$.contact_relations[5].end_date"


def _not_a_firm(doc: dict[str, Any]) -> str:
    doc["organisation_relations"].append(
        {"organisation": "3187654", "related_organisation": "3298471", "start_date": "2020-01-01"}
    )
    return (
        f"$.organisation_relations[{len(doc['organisation_relations']) - 1}].related_organisation"
    )


def _unknown_subject(doc: dict[str, Any]) -> str:
    doc["grants"][0]["subject"] = "inexistant"
    return "$.grants[0].subject"


def _undelegable_subject(doc: dict[str, Any]) -> str:
    doc["grants"].append(
        {
            "subject": "gestion_main_oeuvre",
            "owner": "3187654",
            "right": "write",
            "holder": {
                "contact": "DEMO-MHD",
                "relation": {"organisation": "4021587", "type": "membre_personnel"},
            },
        }
    )
    return f"$.grants[{len(doc['grants']) - 1}].subject"


def _missing_relation(doc: dict[str, Any]) -> str:
    doc["grants"].append(
        {
            "subject": "paiements",
            "owner": "4021587",
            "right": "read",
            "holder": {"contact": "DEMO-RSH", "relation": {"type": "membre_personnel"}},
        }
    )
    return f"$.grants[{len(doc['grants']) - 1}].holder.relation"


def _legacy_without_relation(doc: dict[str, Any]) -> str:
    doc["legacy_credentials"][0]["organisation"] = "3187654"
    return "$.legacy_credentials[0].organisation"


def _unknown_section(doc: dict[str, Any]) -> str:
    doc["agents"] = []
    return "$.agents"


MUTATIONS: list[Callable[[dict[str, Any]], str]] = [
    _bad_kind,
    _duplicate_client_number,
    _impossible_birth_date,
    _credentials_without_email,
    _bad_phone,
    _unknown_field,
    _unknown_contact,
    _end_before_start,
    _not_a_firm,
    _unknown_subject,
    _undelegable_subject,
    _missing_relation,
    _legacy_without_relation,
    _unknown_section,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_error_is_reported_at_its_json_path(app, mutate):
    """Each kind of error is reported once, at the JSON path of the bad value, in French."""
    document = example()
    path = mutate(document)
    with pytest.raises(ImportRejected) as rejected:
        import_document(document)
    assert [error.path for error in rejected.value.errors] == [path]
    assert rejected.value.errors[0].message


def test_every_error_is_reported_and_nothing_changes(app):
    """A file with many errors lists all of them and leaves the database as it was."""
    import_document(example())
    before = table_counts()
    document = example()
    document["organisations"][0]["name"] = "CHANGED"
    expected = {mutate(document) for mutate in MUTATIONS}
    with pytest.raises(ImportRejected) as rejected:
        import_document(document)
    assert {error.path for error in rejected.value.errors} == expected
    db.session.rollback()
    assert table_counts() == before
    assert organisation("4021587").name == "LAFORCE COMPTABLE INC"


def test_invalid_json_names_line_and_column(app, tmp_path):
    """A syntax error is reported at $ with its line and column."""
    path = tmp_path / "bad.json"
    path.write_text('{\n  "organisations": [,]\n}', encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_file(path)
    [error] = rejected.value.errors
    assert error.path == "$" and "ligne 2" in error.message


@pytest.mark.parametrize("section", list(SECTIONS))
def test_fast_loader_matches_marshmallow(app, section):
    """The fast path loads every example row exactly as marshmallow does."""
    schema = SECTIONS[section]()
    loader = FastLoader(SECTIONS[section]())
    for row in example()[section]:
        assert loader._fast(copy.deepcopy(row)) == schema.load(copy.deepcopy(row))


# ------------------------------------------------------------------ the courriel explicatif


def _credentials(message: Any) -> tuple[str, str]:
    text = body(message)
    identifier = re.search(r"(?:Identifiant de liaison|Linking identifier) ?: (L-\S+)", text)
    code = re.search(r"(?:Code de liaison|Linking code) ?: (\S+)", text)
    assert identifier and code, text
    return identifier.group(1), code.group(1)


def test_linking_email_carries_working_credentials(app, mailbox, run_jobs):
    """The responsable's email reaches the SMTP server with credentials that match the stored hash."""
    import_document(example())
    run_jobs()
    [message] = mailbox.to("rebecca.descoteaux-laforce@laforce-comptable.example")
    identifier, code = _credentials(message)
    credential = db.session.scalars(
        select(LinkingCredential).where(LinkingCredential.identifier == identifier)
    ).one()
    assert credential.contact_id == contact("DEMO-RDL").id
    assert credential.organisation_id == organisation("4021587").id
    assert credential.state == "active"
    assert code_matches(credential.code_hash, code, pepper())
    assert "LAFORCE COMPTABLE INC" in body(message) and "4021587" in body(message)


def test_linking_email_is_not_sent_again(app, mailbox, run_jobs):
    """A second import sends no second email and issues no new credential."""
    import_document(example())
    run_jobs()
    counts = import_document(example())
    run_jobs()
    assert counts["linking_credentials"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert len(mailbox.to("rebecca.descoteaux-laforce@laforce-comptable.example")) == 1
    assert db.session.scalar(select(func.count()).select_from(LinkingCredential)) == 1


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("fr", "Vos coordonnées de liaison", "Votre première connexion"),
        ("en", "Your linking credentials", "Your first sign-in"),
    ],
)
def test_linking_email_follows_contact_language(app, mailbox, run_jobs, language, subject, phrase):
    """The email is written in the contact's language of communication."""
    document = example()
    document["contacts"][rows("contacts", ref="DEMO-RDL")]["language"] = language
    import_document(document)
    run_jobs()
    [message] = mailbox.to("rebecca.descoteaux-laforce@laforce-comptable.example")
    assert message["Subject"].startswith(subject)
    assert phrase in body(message)


# ------------------------------------------------------------------ legacy credentials


def test_legacy_password_is_stored_as_argon2id(app):
    """The legacy password is stored as an Argon2id hash that verifies it."""
    import_document(example())
    credential = db.session.scalars(select(LegacyCredential)).one()
    assert credential.password_hash.startswith("$argon2id$")
    assert verify_password(credential.password_hash, "Ancien-MotDePasse-2019")
    assert credential.contact_id == contact("DEMO-MKB").id
    assert credential.organisation_id == organisation("3298471").id


def test_legacy_password_is_not_rehashed_on_rerun(app):
    """A password whose stored hash still verifies keeps its hash."""
    import_document(example())
    stored = db.session.scalars(select(LegacyCredential.password_hash)).one()
    import_document(example())
    assert db.session.scalars(select(LegacyCredential.password_hash)).one() == stored


def test_changed_legacy_password_is_rehashed(app):
    """A new password in the file replaces the hash."""
    import_document(example())
    document = example()
    document["legacy_credentials"][0]["password"] = "Autre-Mot-De-Passe"
    counts = import_document(document)
    assert counts["legacy_credentials"]["updated"] == 1
    stored = db.session.scalars(select(LegacyCredential.password_hash)).one()
    assert verify_password(stored, "Autre-Mot-De-Passe")


# ------------------------------------------------------------------ the command


def test_cli_imports_a_file(app):
    """`flask import-dossiers FILE` imports and prints the counts."""
    result = app.test_cli_runner().invoke(args=["import-dossiers", "--quiet", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert re.search(r"organisations\s+créés\s+3\s+mis à jour\s+0\s+inchangés\s+0", result.stdout)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 6


def test_cli_shows_progress_on_stderr(app, tmp_path):
    """Without --quiet, progress goes to stderr, the counts to stdout."""
    result = app.test_cli_runner().invoke(args=["import-dossiers", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Application" in result.stderr
    assert "Application" not in result.stdout


def test_cli_rejects_a_bad_file_with_every_path(app, tmp_path):
    """A rejected file exits 1 and lists each error's JSON path on stderr."""
    document = example()
    paths = [_bad_kind(document), _impossible_birth_date(document)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-dossiers", "--quiet", str(bad)])
    assert result.exit_code == 1
    assert "2 erreur(s)" in result.stderr
    assert all(path in result.stderr for path in paths)


def test_imported_contacts_are_found_by_the_duplicate_check(app):
    """Contacts written by the import's bulk statements get their duplicate-check keys."""
    from catalogue_svc.duplicates.service import find_candidates
    from catalogue_svc.imports.service import import_file

    import_file(str(EXAMPLE), progress=False)
    found = find_candidates(
        {
            "first_name": "Marie Karine",
            "last_name": "Berard",
            "birth_date": None,
            "email": None,
            "phones": [],
            "client_number": None,
        }
    )
    assert "Marie-Karine Bérard" in {c["name"] for c in found}


def test_imported_contacts_get_the_keys_refresh_keys_computes(app):
    """The keys the import writes for new contacts are the ones refresh_keys would write."""
    from catalogue_svc.duplicates.keys import refresh_keys
    from catalogue_svc.duplicates.models import ContactMatchKey

    import_document(example())

    def stored() -> set[tuple[str, int]]:
        query = select(ContactMatchKey.key, ContactMatchKey.contact_id)
        return {(key, contact_id) for key, contact_id in db.session.execute(query)}

    written = stored()
    refresh_keys(db.session.scalars(select(Contact.id)).all())
    assert written and stored() == written
