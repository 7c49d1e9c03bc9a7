"""*Modifier les informations… d'un contact*: phones added, changed and removed one by one, never
one the submission does not name (pure form layer: validation and changeset)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from forms import registry
from forms.base import FormValidationError
from forms.changeset import AddPhone, ChangePhone, NotifyContact, RemovePhone, from_dicts
from forms.profile import ContactInfo, OrgInfo, PhoneInfo, ProfileView, RelationInfo
from forms.update_contact import NO_MEANS_OF_CONTACT, PHONE_NOT_OF_CONTACT

FORM = registry.require("update-contact")
FIRM, MEMBER, OTHER = 1, 5, 6
CELL, OFFICE, FOREIGN = 12, 13, 99
NA = "Amérique du Nord"


def phone(phone_id: int, number: str, **more: Any) -> PhoneInfo:
    """A North American phone of the store."""
    values = {"type": "cellulaire", "territory": NA, "country_code": "+1", **more}
    return PhoneInfo(number=number, id=phone_id, **values)


def contact(contact_id: int, phones: tuple[PhoneInfo, ...], email: str | None) -> ContactInfo:
    """A member of the firm."""
    return ContactInfo(contact_id, "Marie", "Bérard", None, email, "fr", None, phones=phones)


def view(
    email: str | None = "mk@laforce.example", phones: tuple[PhoneInfo, ...] = ()
) -> ProfileView:
    """The firm with its member (a cell phone and an office one, unless told) and another member
    whose phone is FOREIGN."""
    phones = phones or (phone(CELL, "514 555-0101"), phone(OFFICE, "418 555-0123", type="bureau"))
    end = dt.date(9999, 12, 31)
    return ProfileView(
        organisation=OrgInfo(FIRM, "LAFORCE COMPTABLE INC", "1000001", "accounting_firm"),
        contacts={
            MEMBER: contact(MEMBER, phones, email),
            OTHER: contact(OTHER, (phone(FOREIGN, "819 555-0199"),), None),
        },
        relations=(
            RelationInfo(7, MEMBER, FIRM, "membre_personnel", dt.date(2024, 1, 1), end),
            RelationInfo(8, OTHER, FIRM, "membre_personnel", dt.date(2024, 1, 1), end),
        ),
        related_organisations={},
        org_relations=(),
        grants=(),
        subjects={},
    )


def build(variables: dict[str, Any], profile: ProfileView | None = None) -> list[Any]:
    """The changeset of a modification of the member's communication details."""
    raw = {"contact_id": MEMBER, "sections": ["coordonnees"], "attestation": True, **variables}
    return FORM.changeset(FORM.validate(raw), profile or view())


def errors(variables: dict[str, Any], profile: ProfileView | None = None) -> dict[str, list[str]]:
    """The errors of a submission that must be refused."""
    with pytest.raises(FormValidationError) as caught:
        build(variables, profile)
    return caught.value.errors


def phone_ops(operations: list[Any]) -> list[Any]:
    """The phone operations of a changeset."""
    return [o for o in operations if isinstance(o, AddPhone | ChangePhone | RemovePhone)]


def test_changing_one_phone_names_only_that_phone() -> None:
    """A new number for one phone keeps its type, territory and extension; the other is kept."""
    assert phone_ops(build({"phones": [{"id": CELL, "number": "(438) 555-0000"}]})) == [
        ChangePhone(
            MEMBER,
            CELL,
            {"type": "cellulaire", "territory": NA, "country_code": "+1", "number": "438 555-0000",
             "extension": None},
        )
    ]  # fmt: skip


def test_a_phone_without_id_is_added_after_the_others() -> None:
    """*Ajouter un autre numéro de téléphone*: one addition, no other phone touched."""
    assert phone_ops(build({"phones": [{"type": "domicile", "number": "4505550111"}]})) == [
        AddPhone(
            MEMBER,
            {"type": "domicile", "territory": NA, "country_code": "+1", "number": "450 555-0111",
             "extension": None},
        )
    ]  # fmt: skip


def test_removing_one_phone_removes_only_it() -> None:
    """``remove_phone_ids`` names the phone removed; the others stay."""
    assert phone_ops(build({"remove_phone_ids": [OFFICE]})) == [RemovePhone(MEMBER, OFFICE)]


def test_change_addition_and_removal_together_in_that_order() -> None:
    """Changes, then additions, then removals: a replacement never leaves the contact phoneless."""
    operations = build(
        {
            "phones": [{"type": "bureau", "number": "5145550102"}, {"id": CELL, "extension": "7"}],
            "remove_phone_ids": [OFFICE],
        }
    )
    assert [type(o) for o in phone_ops(operations)] == [ChangePhone, AddPhone, RemovePhone]
    assert isinstance(operations[-1], NotifyContact)
    assert operations[-1].params["changes"] == ["phones"]


def test_clearing_an_extension_with_null() -> None:
    """``"extension": null`` clears the extension of a phone, nothing else."""
    profile = view(phones=(phone(CELL, "514 555-0101", extension="12"),))
    [change] = phone_ops(build({"phones": [{"id": CELL, "extension": None}]}, profile))
    assert change.phone["extension"] is None and change.phone["number"] == "514 555-0101"


@pytest.mark.parametrize(
    "variables",
    [
        {"phones": [{"id": CELL, "number": "514 555-0101"}]},
        {"phones": [{"type": "cellulaire", "number": "514-555-0101"}]},
    ],
    ids=["change-to-current-values", "add-a-number-already-there"],
)
def test_phones_that_change_nothing_are_refused_as_nothing_to_change(
    variables: dict[str, Any],
) -> None:
    """The current values of a phone, or a number the contact has: nothing to change."""
    assert list(errors(variables)) == ["_schema"]


@pytest.mark.parametrize(
    ("variables", "path"),
    [
        ({"phones": [{"id": FOREIGN, "number": "514 555-0199"}]}, "phones.0.id"),
        ({"phones": [{"id": 424242, "number": "514 555-0199"}]}, "phones.0.id"),
        ({"remove_phone_ids": [OFFICE, FOREIGN]}, "remove_phone_ids.1"),
    ],
    ids=["another-contacts-phone", "unknown-phone", "remove-another-contacts-phone"],
)
def test_a_phone_id_not_of_the_contact_is_refused_naming_the_item(
    variables: dict[str, Any], path: str
) -> None:
    """Another contact's phone, or an unknown one, is refused where it is named."""
    assert errors(variables) == {path: [PHONE_NOT_OF_CONTACT]}


def test_removing_the_last_phone_of_a_contact_without_email_is_refused() -> None:
    """No phone and no email left: refused with a French sentence on ``remove_phone_ids``."""
    assert errors({"remove_phone_ids": [CELL, OFFICE]}, view(email=None)) == {
        "remove_phone_ids": [NO_MEANS_OF_CONTACT]
    }


def test_replacing_the_last_phone_of_a_contact_without_email_is_accepted() -> None:
    """One added while the only one is removed: the contact keeps a phone."""
    profile = view(email=None, phones=(phone(CELL, "514 555-0101"),))
    operations = build(
        {"phones": [{"type": "bureau", "number": "5145550102"}], "remove_phone_ids": [CELL]},
        profile,
    )
    assert [type(o) for o in operations] == [AddPhone, RemovePhone]


def test_a_contact_with_an_email_may_remove_every_phone() -> None:
    """The email stays a means of communication."""
    assert len(phone_ops(build({"remove_phone_ids": [CELL, OFFICE]}))) == 2


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"phones": [{"number": "5145550102"}]}, {"phones.0.type": ["Ce champ est obligatoire."]}),
        ({"phones": [{"id": CELL, "number": "12"}]},
         {"phones.0.number": ["Numéro de téléphone invalide : 10 chiffres attendus (format "
                              "999 999-9999)."]}),
        ({"phones": [{"id": CELL, "number": "4385550000"}], "remove_phone_ids": [CELL]},
         {"phones.0.id": ["Ce téléphone ne peut pas être à la fois modifié et retiré."]}),
        ({"phones": [{"id": CELL, "number": "4385550000"}, {"id": CELL, "extension": "2"}]},
         {"phones.1.id": ["Ce téléphone est nommé plus d'une fois dans la liste."]}),
        ({"remove_phone_ids": [CELL, CELL]},
         {"remove_phone_ids": ["Cette valeur est inscrite plus d'une fois."]}),
    ],
    ids=["new-without-type", "bad-new-number", "changed-and-removed", "changed-twice",
         "removed-twice"],
)  # fmt: skip
def test_bad_phone_edits_are_named(variables: dict[str, Any], expected: dict[str, Any]) -> None:
    """A new phone without type, a bad number, one phone named twice: refused, field named."""
    assert errors(variables) == expected


def test_removing_phones_needs_the_communication_section() -> None:
    """``remove_phone_ids`` outside *Coordonnées de communication* is refused like its fields."""
    raw = {"contact_id": MEMBER, "attestation": True, "sections": ["informations_personnelles"],
           "first_name": "Marie-Ève", "remove_phone_ids": [CELL]}  # fmt: skip
    with pytest.raises(FormValidationError) as caught:
        FORM.validate(raw)
    assert list(caught.value.errors) == ["remove_phone_ids"]


def test_a_submission_stored_with_the_whole_list_now_only_adds() -> None:
    """The previous shape (``phones`` as the new list, no ids) removes nothing on apply."""
    operations = build(
        {"phones": [{"type": "bureau", "number": "418 555-0123"},
                    {"type": "autre", "number": "8195550100"}]}
    )  # fmt: skip
    assert [type(o) for o in phone_ops(operations)] == [AddPhone]
    assert phone_ops(operations)[0].phone["number"] == "819 555-0100"


def test_phone_operations_survive_storage() -> None:
    """The changeset's phone operations read back from their JSON dicts unchanged."""
    operations = phone_ops(
        build(
            {
                "phones": [{"id": CELL, "number": "4385550000"}, {"type": "bureau",
                                                                   "number": "5145550102"}],
                "remove_phone_ids": [OFFICE],
            }
        )
    )  # fmt: skip
    assert from_dicts([o.to_dict() for o in operations]) == operations


def test_the_description_offers_each_phone_to_change_or_remove() -> None:
    """The fields tell clients where the current phones come from (``contact.phones``)."""
    fields = {f["name"]: f for f in FORM.to_description("fr")["fields"]}
    assert fields["phones"]["current_value_source"] == "contact.phones"
    assert fields["phones"]["fields"][0]["name"] == "id"
    assert fields["remove_phone_ids"]["choices_source"] == "contact.phones"
    assert fields["language"]["current_value_source"] == "contact.language"
