"""Editing a contact's phones through *Modifier les informations… d'un contact* never deletes
what the submission does not name: HTTP → pipeline → the contact's details."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactPhone, ProfileChange
from catalogue_svc.requests import service
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import submit_form as submit

ITEM = "update-contact"
NOT_OF_CONTACT = "Ce téléphone n'appartient pas à ce contact."


@pytest.fixture()
def phones(phones, firm):
    """Marie-Karine's cell phone and office phone (the suite's ``phones``), and Marie-Hélène's
    cell phone."""
    db.session.add(
        ContactPhone(
            contact_id=firm.marie_helene, position=0, type="cellulaire", number="819 555-0199"
        )
    )
    db.session.commit()


def shown_phones(client, firm, contact_id):
    """The phones the contact's details show: (id, type, number, extension)."""
    answer = client.get(f"/api/profiles/{firm.firm}/contacts/{contact_id}")
    assert answer.status_code == 200, answer.json
    return [(p["id"], p["type"], p["number"], p["extension"]) for p in answer.json["phones"]]


def edit(client, firm, contact_id, **variables):
    """Submit a modification of the contact's communication details."""
    return submit(
        client,
        firm,
        ITEM,
        {"contact_id": contact_id, "sections": ["coordonnees"], "attestation": True, **variables},
    )


def applied(client, firm, contact_id, run_jobs, **variables):
    """Submit, run the pipeline, and check the request was applied."""
    answer = edit(client, firm, contact_id, **variables)
    assert answer.status_code == 202, answer.json
    run_jobs()
    state = db.session.scalar(
        select(Request.state)
        .where(Request.number == answer.json["number"])
        .execution_options(populate_existing=True)
    )
    assert state == "applied"
    return answer.json["number"]


def test_adding_a_phone_keeps_the_others(app, firm, responsable, phones, run_jobs):
    """A phone without id is added after the contact's two; both stay as they were."""
    before = shown_phones(responsable, firm, firm.marie_karine)
    applied(
        responsable,
        firm,
        firm.marie_karine,
        run_jobs,
        phones=[{"type": "domicile", "number": "450-555-0111"}],
    )
    after = shown_phones(responsable, firm, firm.marie_karine)
    assert after[:2] == before
    assert [p[1:] for p in after[2:]] == [("domicile", "450 555-0111", None)]


def test_changing_one_phone_keeps_the_others(app, firm, responsable, phones, run_jobs):
    """A new number for the office phone keeps its type and extension, and the cell phone."""
    cell, office = shown_phones(responsable, firm, firm.marie_karine)
    applied(
        responsable,
        firm,
        firm.marie_karine,
        run_jobs,
        phones=[{"id": office[0], "number": "(418) 555-0999"}],
    )
    assert shown_phones(responsable, firm, firm.marie_karine) == [
        cell,
        (office[0], "bureau", "418 555-0999", "12"),
    ]


def test_removing_one_phone_keeps_the_others(app, firm, responsable, phones, run_jobs):
    """``remove_phone_ids`` removes the cell phone only; the change is kept as history."""
    cell, office = shown_phones(responsable, firm, firm.marie_karine)
    number = applied(responsable, firm, firm.marie_karine, run_jobs, remove_phone_ids=[cell[0]])
    assert shown_phones(responsable, firm, firm.marie_karine) == [office]
    request_id = db.session.scalar(select(Request.id).where(Request.number == number))
    change = db.session.scalar(
        select(ProfileChange).where(
            ProfileChange.request_id == request_id, ProfileChange.operation == "remove_phone"
        )
    )
    assert (change.entity_id, change.before["number"]) == (cell[0], "514 555-0101")


def test_language_and_phones_change_together(app, firm, responsable, phones, run_jobs):
    """The language and one added phone, in one request; the details show both."""
    applied(
        responsable,
        firm,
        firm.marie_helene,
        run_jobs,
        language="en",
        phones=[{"type": "bureau", "number": "5145550102"}],
    )
    answer = responsable.get(f"/api/profiles/{firm.firm}/contacts/{firm.marie_helene}").json
    assert answer["language"] == "en"
    assert [p["number"] for p in answer["phones"]] == ["819 555-0199", "514 555-0102"]


def test_removing_the_last_means_of_contact_is_refused(app, firm, responsable, phones):
    """A contact without email keeps their only phone: 422 naming remove_phone_ids, no request."""
    db.session.get(Contact, firm.marie_helene).email = None
    db.session.commit()
    [(only, *_)] = shown_phones(responsable, firm, firm.marie_helene)
    answer = edit(responsable, firm, firm.marie_helene, remove_phone_ids=[only])
    assert answer.status_code == 422, answer.json
    [message] = answer.json["errors"]["variables.remove_phone_ids"]
    assert "aucun moyen de communication" in message
    assert db.session.scalar(select(Request.id)) is None


@pytest.mark.parametrize("where", ["phones", "remove_phone_ids"])
def test_a_phone_of_another_contact_is_refused(app, firm, responsable, phones, where):
    """Naming Marie-Hélène's phone in Marie-Karine's modification: 422 naming the item."""
    [(foreign, *_)] = shown_phones(responsable, firm, firm.marie_helene)
    variables = (
        {"phones": [{"id": foreign, "number": "514 555-0000"}]}
        if where == "phones"
        else {"remove_phone_ids": [foreign]}
    )
    answer = edit(responsable, firm, firm.marie_karine, **variables)
    assert answer.status_code == 422, answer.json
    path = "variables.phones.0.id" if where == "phones" else "variables.remove_phone_ids.0"
    assert answer.json["errors"] == {path: [NOT_OF_CONTACT]}
    assert db.session.get(ContactPhone, foreign).number == "819 555-0199"


def test_redelivered_apply_edits_the_phones_once(app, firm, responsable, phones, run_jobs):
    """The apply run three times: one phone added, one removed, one change row each."""
    cell, office = shown_phones(responsable, firm, firm.marie_karine)
    answer = edit(
        responsable,
        firm,
        firm.marie_karine,
        phones=[{"type": "autre", "number": "8195550100"}],
        remove_phone_ids=[cell[0]],
    )
    request = db.session.scalar(select(Request).where(Request.number == answer.json["number"]))
    service.run_check(
        queue.OutboxMessage(topic="request.check", payload={"request_id": request.id})
    )
    db.session.commit()
    for _ in range(3):
        service.run_apply(
            queue.OutboxMessage(topic="request.apply", payload={"request_id": request.id})
        )
        db.session.commit()
    run_jobs()
    assert [p[1:] for p in shown_phones(responsable, firm, firm.marie_karine)] == [
        office[1:],
        ("autre", "819 555-0100", None),
    ]
    operations = db.session.scalars(
        select(ProfileChange.operation).where(ProfileChange.request_id == request.id)
    ).all()
    assert sorted(operations) == ["add_phone", "notify_contact", "remove_phone"]


@pytest.mark.parametrize("kind", ["add", "change", "remove"])
def test_a_phone_operation_applied_twice_takes_effect_once(app, firm, phones, kind):
    """The same (request, operation) applied again changes nothing: its change row is there."""
    from catalogue_svc.clock import now
    from catalogue_svc.profiles.apply import ApplyContext, apply_operation
    from forms.changeset import AddPhone, ChangePhone, RemovePhone

    cell, office = db.session.scalars(
        select(ContactPhone.id)
        .where(ContactPhone.contact_id == firm.marie_karine)
        .order_by(ContactPhone.position)
    ).all()
    new = {"type": "autre", "territory": "Amérique du Nord", "country_code": "+1",
           "number": "819 555-0100", "extension": None}  # fmt: skip
    operation = {
        "add": AddPhone(firm.marie_karine, new),
        "change": ChangePhone(firm.marie_karine, office, new),
        "remove": RemovePhone(firm.marie_karine, cell),
    }[kind]
    for _ in range(2):
        at = now()
        apply_operation(operation, 0, ApplyContext(request_id=424242, actor_account_id=None,
                                                   at=at, visible_at=at))  # fmt: skip
        db.session.commit()
    numbers = db.session.scalars(
        select(ContactPhone.number)
        .where(ContactPhone.contact_id == firm.marie_karine)
        .order_by(ContactPhone.position)
        .execution_options(populate_existing=True)
    ).all()
    assert (
        numbers
        == {
            "add": ["514 555-0101", "418 555-0123", "819 555-0100"],
            "change": ["514 555-0101", "819 555-0100"],
            "remove": ["418 555-0123"],
        }[kind]
    )
    assert len(db.session.scalars(select(ProfileChange.id)).all()) == 1
