"""A member's details (the guide's step 3.6: "Cliquez sur chaque profil et validez l'exactitude
des informations affichées"): ``GET /api/profiles/{id}/contacts/{contact_id}``."""

from __future__ import annotations

import datetime as dt

from catalogue_svc.clock import now
from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactRelation
from tests.accounts_helpers import link_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.factories import START, add_grant, guide_firm


def detail(client, firm, contact_id, status=200):
    """The contact detail answer, checked for its status."""
    answer = client.get(f"/api/profiles/{firm.firm}/contacts/{contact_id}")
    assert answer.status_code == status, answer.json
    return answer.json


def test_responsable_reads_every_field_of_a_member(app, firm, responsable, phones):
    """Names, client number, email, language, birth date, every phone, relations, subjects."""
    db.session.get(Contact, firm.marie_karine).client_number = "9000001"
    add_grant(firm, "paiements", contact=firm.marie_karine, relation=firm.marie_karine_relation)
    db.session.commit()
    body = detail(responsable, firm, firm.marie_karine)
    assert {k: body[k] for k in ("first_name", "last_name", "client_number", "email")} == {
        "first_name": "Marie-Karine",
        "last_name": "Bérard",
        "client_number": "9000001",
        "email": "mk.berard.1@laforce.example",
    }
    assert (body["language"], body["language_label"]) == ("fr", "Français")
    assert (body["birth_date"], body["birth_date_masked"]) == ("1980-03-14", False)
    assert [
        (p["type_label"], p["territory"], p["country_code"], p["number"], p["extension"])
        for p in body["phones"]
    ] == [
        ("Cellulaire", "Amérique du Nord", "+1", "514 555-0101", None),
        ("Bureau", "Amérique du Nord", "+1", "418 555-0123", "12"),
    ]
    assert all(isinstance(p["id"], int) for p in body["phones"])
    assert body["relations"] == [
        {
            "relation_id": firm.marie_karine_relation,
            "type": "membre_personnel",
            "type_label": "Membre du personnel",
            "start_date": "2024-01-01",
            "end_date": "9999-12-31",
            "actif": True,
        }
    ]
    [subject] = body["subjects"]
    assert (subject["code"], subject["name"], subject["right_label"], subject["actif"]) == (
        "paiements",
        "Paiements",
        "Lecture",
        True,
    )
    assert subject["organisation"]["name"] == "LAFORCE COMPTABLE INC"
    assert body["pending_requests"] == []


def test_member_without_authority_is_refused_like_the_contacts_list(app, firm):
    """A membre du personnel gets 403 for a contact's details, as for the contacts list."""
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    assert member.get(f"/api/profiles/{firm.firm}/contacts").status_code == 403
    assert detail(member, firm, firm.marie_helene, 403)["status"] == 403


def test_contact_of_another_firm_is_not_found(app, firm, responsable):
    """Another firm's contact answers 404, as if it did not exist."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    assert detail(responsable, firm, other.marie_karine, 404)["status"] == 404


def test_profile_of_another_firm_is_not_found(app, firm, responsable):
    """A profile the account is not linked to answers 404, its contacts too."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    answer = responsable.get(f"/api/profiles/{other.firm}/contacts/{other.marie_karine}")
    assert answer.status_code == 404


def test_unknown_contact_id_is_not_found(app, firm, responsable):
    """An id no contact has answers 404."""
    assert detail(responsable, firm, 987_654_321, 404)["status"] == 404


def test_contact_without_relation_with_the_profile_is_not_found(app, firm, responsable):
    """A person known to the body but never in relation with this firm answers 404."""
    stranger = Contact(first_name="Paul", last_name="Tremblay", language="fr")
    db.session.add(stranger)
    db.session.commit()
    assert detail(responsable, firm, stranger.id, 404)["status"] == 404


def test_member_not_yet_propagated_is_not_found(app, firm, responsable):
    """A relation not yet visible in the lists does not show its contact's details either."""
    newcomer = Contact(first_name="Julie", last_name="Lévesque", language="fr")
    db.session.add(newcomer)
    db.session.flush()
    db.session.add(
        ContactRelation(
            contact_id=newcomer.id,
            organisation_id=firm.firm,
            type="membre_personnel",
            start_date=START,
            visible_at=now() + dt.timedelta(hours=24),
        )
    )
    db.session.commit()
    assert detail(responsable, firm, newcomer.id, 404)["status"] == 404


def test_ended_relation_shows_as_not_actif(app, firm, responsable):
    """A relation ended and propagated shows *Actif: Faux* with its end date."""
    relation = db.session.get(ContactRelation, firm.marie_helene_relation)
    relation.active = False
    relation.end_date = dt.date(2025, 6, 30)
    relation.end_visible_at = now() - dt.timedelta(minutes=1)
    db.session.commit()
    [shown] = detail(responsable, firm, firm.marie_helene)["relations"]
    assert (shown["end_date"], shown["actif"]) == ("2025-06-30", False)


def _marie_helene_in_english(firm) -> dict:
    """The variables of « Modifier les informations » putting Marie-Hélène's language to English."""
    return {
        "contact_id": firm.marie_helene,
        "sections": ["coordonnees"],
        "language": "en",
        "attestation": True,
    }


def test_pending_request_about_the_contact_is_listed_beside_it(app, firm, responsable):
    """A submitted modification of the contact shows beside them until it is applied."""
    answer = submit(
        responsable,
        firm,
        "update-contact",
        _marie_helene_in_english(firm),
    )
    assert answer.status_code == 202, answer.json
    [pending] = detail(responsable, firm, firm.marie_helene)["pending_requests"]
    assert pending["number"] == answer.json["number"]
    assert pending["title"].startswith("Modifier les informations personnelles")
    assert (pending["state"], pending["state_label"]) == ("submitted", answer.json["state_label"])
    assert pending["submitted_at"] == answer.json["submitted_at"]
    assert detail(responsable, firm, firm.marie_karine)["pending_requests"] == []


def test_applied_request_is_no_longer_pending(app, firm, responsable, run_jobs):
    """Once applied, the request leaves the contact's pending requests; the change shows."""
    submit(
        responsable,
        firm,
        "update-contact",
        _marie_helene_in_english(firm),
    )
    run_jobs()
    body = detail(responsable, firm, firm.marie_helene)
    assert body["pending_requests"] == []
    assert body["language"] == "en"
