"""The dossier import in bounded memory (issue 19, item 4): validated in a first pass, written in
batches in one transaction, and still all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.duplicates.models import ContactMatchKey
from catalogue_svc.imports import spool, writer
from catalogue_svc.imports.service import ImportRejected, import_file
from catalogue_svc.profiles.models import (
    Contact,
    ContactPhone,
    ContactRelation,
    Grant,
    Organisation,
    ProfileChange,
)

TABLES = (Organisation, Contact, ContactPhone, ContactRelation, Grant, ProfileChange)


def dossiers(n: int, orgs: int = 10) -> dict[str, Any]:
    """A valid file of ``n`` contacts, each with a phone, a relation and a grant through it,
    and delegated subjects of a firm's clients for some firm members."""
    cn = [str(3_000_000 + i) for i in range(orgs)]  # the first two are firms
    return {
        "version": 1,
        "organisations": [
            {
                "client_number": cn[i],
                "name": f"ORGANISATION {i}",
                "kind": "accounting_firm" if i < 2 else "employer",
                "language": "fr",
            }
            for i in range(orgs)
        ],
        "contacts": [
            {
                "ref": f"C{i:06d}",
                "first_name": f"Prénom{i}",
                "last_name": f"Nom{i}",
                "birth_date": "1980-01-01",
                "language": "fr",
                "phones": [{"type": "cellulaire", "number": f"514 555-{i % 10000:04d}"}],
            }
            for i in range(n)
        ],
        "contact_relations": [
            {
                "contact": f"C{i:06d}",
                "organisation": cn[i % orgs],
                "type": "membre_personnel",
                "start_date": "2020-01-01",
            }
            for i in range(n)
        ],
        "organisation_relations": [
            {"organisation": cn[i], "related_organisation": cn[i % 2], "start_date": "2019-01-01"}
            for i in range(2, orgs)
        ],
        "grants": [
            {
                "subject": "rapport_mensuel",
                "owner": cn[i % orgs],
                "right": "read",
                "holder": {"contact": f"C{i:06d}", "relation": {"type": "membre_personnel"}},
            }
            for i in range(n)
        ]
        + [
            {
                "subject": "paiements",
                "owner": cn[2 + i % orgs],  # a client of the firm the contact works for
                "right": "read",
                "holder": {
                    "contact": f"C{i:06d}",
                    "relation": {"organisation": cn[i % orgs], "type": "membre_personnel"},
                },
            }
            for i in range(n)
            if i % orgs < 2
        ],
    }


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "dossiers.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def stored() -> dict[str, int]:
    counts = {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES
    }
    counts["contact_match_keys"] = (
        db.session.scalar(select(func.count()).select_from(ContactMatchKey)) or 0
    )
    return counts


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 100 rows (and spool records of 50): a few thousand rows go through many."""
    monkeypatch.setattr(writer, "BATCH", 100)
    monkeypatch.setattr(spool, "RECORD", 50)
    return 100


def test_an_invalid_row_near_the_end_of_a_large_file_commits_nothing(app, tmp_path, small_batches):
    """5,000 contacts and one grant with an unknown subject near the end: the one error, nothing stored."""
    document = dossiers(5000)
    document["grants"][-3]["subject"] = "inexistant"
    with pytest.raises(ImportRejected) as rejected:
        import_file(write(tmp_path, document))
    [error] = rejected.value.errors
    assert error.path == f"$.grants[{len(document['grants']) - 3}].subject"
    assert error.message.startswith("Sujet autorisé inconnu : « inexistant ».")
    db.session.rollback()
    assert set(stored().values()) == {0}


def test_a_failure_while_writing_the_last_batch_leaves_nothing_of_the_earlier_ones(
    app, tmp_path, small_batches, monkeypatch
):
    """The batches share one transaction: a write failing at the last batch undoes them all."""
    document = dossiers(2000)
    original = writer.Writer._upsert_propagated
    grant_batches = -(-len(document["grants"]) // small_batches)
    seen = {"grants": 0}

    def failing(self, kind, *args):
        if kind == "grants":
            seen["grants"] += 1
            if seen["grants"] == grant_batches:
                raise RuntimeError("panne simulée")
        return original(self, kind, *args)

    monkeypatch.setattr(writer.Writer, "_upsert_propagated", failing)
    with pytest.raises(RuntimeError):
        import_file(write(tmp_path, document))
    assert seen["grants"] == grant_batches > 1
    db.session.rollback()
    assert set(stored().values()) == {0}


def test_the_writer_never_holds_more_than_a_batch_of_rows(
    app, tmp_path, small_batches, monkeypatch
):
    """Each write gets at most a batch of rows, whatever the file's size, and all are written."""
    document = dossiers(1000)
    sizes: list[int] = []
    original = writer.Writer._save

    def save(self, kind, model, key, creates, updates, unchanged, create_extras=None):
        sizes.append(len(creates) + len(updates))
        return original(self, kind, model, key, creates, updates, unchanged, create_extras)

    monkeypatch.setattr(writer.Writer, "_save", save)
    path = write(tmp_path, document)
    counts = import_file(path)
    assert max(sizes) == small_batches
    assert counts["contacts"]["created"] == 1000
    assert counts["contact_relations"]["created"] == 1000
    assert counts["grants"]["created"] == len(document["grants"]) > 1000
    totals = stored()
    assert totals["contacts"] == totals["contact_phones"] == 1000
    assert totals["grants"] == len(document["grants"])
    assert totals["profile_changes"] == sum(
        len(document[s]) for s in ("organisations", "contacts", "contact_relations", "grants")
    ) + len(document["organisation_relations"])
    # Each grant goes through its holder's relation, found in the database batch by batch.
    linked = db.session.scalar(
        select(func.count())
        .select_from(Grant)
        .join(ContactRelation, Grant.contact_relation_id == ContactRelation.id)
        .where(ContactRelation.contact_id == Grant.holder_contact_id)
    )
    assert linked == len(document["grants"])
    again = import_file(path)
    assert again["contacts"] == {"created": 0, "updated": 0, "unchanged": 1000}
    assert again["grants"]["unchanged"] == len(document["grants"])


def test_a_duplicate_names_the_row_it_repeats(app, tmp_path):
    """A ref, a relation and a grant given twice: each error names the first row's path."""
    document = dossiers(20)
    document["contacts"][15]["ref"] = document["contacts"][12]["ref"]
    document["contact_relations"].append(dict(document["contact_relations"][3]))
    document["grants"].append(dict(document["grants"][7]))
    with pytest.raises(ImportRejected) as rejected:
        import_file(write(tmp_path, document))
    messages = {error.path: error.message for error in rejected.value.errors}
    assert messages["$.contacts[15].ref"] == "Référence en double (déjà à $.contacts[12].ref)."
    assert messages["$.contact_relations[20]"] == (
        "Relation (contact, organisation, type, date de début) en double "
        "(déjà à $.contact_relations[3])."
    )
    last = len(document["grants"]) - 1
    assert messages[f"$.grants[{last}]"] == (
        "Sujet autorisé (sujet, propriétaire, détenteur, droit) en double (déjà à $.grants[7])."
    )
