"""Unit tests of ``forms.changeset``: every operation survives JSON storage unchanged."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from forms.changeset import (
    OPERATIONS,
    AddContact,
    AddContactRelation,
    AddPhone,
    ChangePhone,
    EndContactRelation,
    GrantSubject,
    IssueLinkingCredentials,
    NotifyContact,
    Operation,
    RemovePhone,
    ReplacePhones,
    RevokeGrant,
    UpdateContact,
    UpdateContactAddress,
    UpdateOrganisation,
    UpdateOrganisationAddress,
    UpdateRelationEndDate,
    from_dict,
    from_dicts,
    is_new,
    new_ref,
    to_dicts,
)

PHONE = {
    "type": "cellulaire",
    "territory": "Amérique du Nord",
    "country_code": "+1",
    "number": "514 555-0101",
    "extension": None,
}
ADDRESS = {"street": "1 rue Principale", "city": "Québec", "province": "QC",
           "postal_code": "G1R 4P5", "country": "CA"}  # fmt: skip

EXAMPLES: list[Operation] = [
    AddContact("contact", "Julie", "Tremblay", dt.date(1990, 5, 17), "j@x.example", "fr",
               (PHONE,), "123456", ADDRESS),
    AddContactRelation("relation", "new:contact", 1, "membre_personnel", dt.date(2025, 10, 24),
                       dt.date(9999, 12, 31)),
    GrantSubject("new:contact", "rapport_mensuel", 2, "write", "new:relation", 21),
    GrantSubject(11, "releves", 1, "read", 101),
    RevokeGrant(600),
    EndContactRelation(101, dt.date(2025, 10, 24)),
    UpdateRelationEndDate(101, dt.date(2026, 12, 31)),
    UpdateContact(11, {"language": "en", "birth_date": dt.date(1985, 3, 15)}),
    ReplacePhones(11, (PHONE, {**PHONE, "type": "bureau", "extension": "12"})),
    AddPhone(11, {**PHONE, "type": "bureau", "extension": "12"}),
    ChangePhone(11, 31, PHONE),
    RemovePhone(11, 32),
    UpdateContactAddress(11, ADDRESS),
    UpdateOrganisation(1, {"name": "LAFORCE COMPTABLE S.E.N.C.", "phone": "+1 418 555-0100"}),
    UpdateOrganisationAddress(1, ADDRESS),
    IssueLinkingCredentials("new:contact", 1),
    NotifyContact(11, "modification_confirmation", {"changes": ["language"], "linking_credentials": False}),
]  # fmt: skip


@pytest.mark.parametrize("operation", EXAMPLES, ids=lambda o: o.op)
def test_every_operation_round_trips_through_json(operation: Operation) -> None:
    """``from_dict(json(to_dict()))`` gives the operation back, dates included."""
    stored = json.loads(json.dumps(operation.to_dict()))
    assert from_dict(stored) == operation


def test_the_examples_cover_every_operation() -> None:
    """Every operation kind has a round-trip example."""
    assert {o.op for o in EXAMPLES} == set(OPERATIONS)


def test_to_dict_names_the_operation_and_writes_iso_dates() -> None:
    """The dict carries ``op`` and ISO dates."""
    assert EndContactRelation(101, dt.date(2025, 10, 24)).to_dict() == {
        "op": "end_contact_relation",
        "relation_id": 101,
        "end_date": "2025-10-24",
    }


def test_a_whole_changeset_round_trips() -> None:
    """``from_dicts(to_dicts(ops))`` gives the list back in order."""
    assert from_dicts(json.loads(json.dumps(to_dicts(EXAMPLES)))) == EXAMPLES


@pytest.mark.parametrize(
    "stored",
    [{"op": "drop_table"}, {"relation_id": 1}, {"op": "revoke_grant", "grant_id": 1, "why": "x"}],
    ids=["unknown-op", "no-op", "unknown-key"],
)
def test_from_dict_refuses_what_it_does_not_know(stored: dict[str, object]) -> None:
    """An unknown operation or key is a ``ValueError``, never silently dropped."""
    with pytest.raises(ValueError):
        from_dict(stored)


def test_new_references_are_recognised() -> None:
    """``new_ref`` makes ``"new:<ref>"``, which ``is_new`` recognises; ids are not new."""
    assert (new_ref("contact"), is_new(new_ref("contact")), is_new(11)) == (
        "new:contact",
        True,
        False,
    )
