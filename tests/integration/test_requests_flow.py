"""A form submitted through HTTP goes through the pipeline to the profile store, exactly once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Integer, func, literal, select

from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactRelation, Grant, ProfileChange
from catalogue_svc.requests.models import Request, RequestEvent
from catalogue_svc.requests.service import number_sql
from tests.accounts_helpers import link_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.factories import guide_firm
from tests.servers import body
from tests.submissions import add_new_member

NEW_MEMBER = {
    "first_name": "Julie",
    "last_name": "Lévesque",
    "birth_date": "1990-05-17",
    "email": "julie.levesque@laforce.example",
    "language": "fr",
    "phones": [{"type": "cellulaire", "number": "514 555-0199"}],
}
ADD_NEW = add_new_member(NEW_MEMBER)


def state_of(number):
    """The stored state of a request."""
    return db.session.scalar(
        select(Request.state)
        .where(Request.number == number)
        .execution_options(populate_existing=True)
    )


def test_new_member_is_applied_and_receives_linking_credentials(
    app, firm, responsable, mailbox, run_jobs
):
    """Ajouter un membre: 202, then applied; the store has the member; both emails arrive."""
    answer = submit(responsable, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 202, answer.json
    number = answer.json["number"]
    assert re.fullmatch(r"DEM-\d{4}-\d{6}", number)
    assert answer.json["state"] == "submitted"
    run_jobs()
    assert state_of(number) == "applied"
    julie = db.session.scalar(select(Contact).where(Contact.last_name == "Lévesque"))
    relation = db.session.scalar(
        select(ContactRelation).where(ContactRelation.contact_id == julie.id)
    )
    assert (relation.organisation_id, relation.type, relation.active) == (
        firm.firm,
        "membre_personnel",
        True,
    )
    assert relation.end_date.isoformat() == "9999-12-31"
    grant = db.session.scalar(select(Grant).where(Grant.holder_contact_id == julie.id))
    assert grant.subject_id == firm.subjects["rapport_mensuel"] and grant.right == "write"
    [credentials] = mailbox.to(NEW_MEMBER["email"])
    assert re.search(r"L-[A-Z0-9]{4}-[A-Z0-9]{4}", body(credentials))
    [notice] = mailbox.to("rebecca@laforce.example")
    assert number in notice["Subject"] and "appliquée" in notice["Subject"]


@pytest.mark.parametrize("request_id", [1, 42, 999_999, 1_000_000, 123_456_789])
def test_number_written_by_the_database_is_the_one_answered(app, request_id):
    """The number the INSERT computes in SQL reads as ``DEM-YYYY-NNNNNN``, ids past 6 digits whole."""
    stored = db.session.scalar(select(number_sql(2026, literal(request_id, Integer))))
    assert stored == f"DEM-2026-{request_id:06d}"


def test_mes_demandes_shows_the_history_and_when_it_becomes_visible(
    app, firm, responsable, run_jobs
):
    """One request: French state label, every transition, the time it shows in the lists."""
    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    run_jobs()
    detail = responsable.get(f"/api/requests/{number}").json
    assert detail["state_label"] == "Appliquée"
    assert [h["trigger"] for h in detail["history"]] == [
        "submit",
        "start_check",
        "pass_check",
        "apply",
    ]
    assert detail["visibility"]["visible"] is False
    assert detail["visible_at"] > detail["applied_at"]
    listing = responsable.get(f"/api/profiles/{firm.firm}/requests").json
    assert listing["total"] == 1 and listing["items"][0]["number"] == number
    assert responsable.get(f"/api/profiles/{firm.firm}/requests?state=rejected").json["total"] == 0


def test_redelivered_messages_take_effect_once(app, firm, responsable, run_jobs):
    """Every step run twice (R5): one history row per transition, one effect per operation."""
    from catalogue_svc import queue
    from catalogue_svc.requests import service

    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    request = db.session.scalar(select(Request).where(Request.number == number))
    fake = queue.OutboxMessage(topic="request.check", payload={"request_id": request.id})
    for _ in range(3):
        service.run_check(fake)
        db.session.commit()
        service.run_apply(
            queue.OutboxMessage(topic="request.apply", payload={"request_id": request.id})
        )
        db.session.commit()
    run_jobs()
    triggers = db.session.scalars(
        select(RequestEvent.trigger).where(RequestEvent.request_id == request.id)
    ).all()
    assert sorted(triggers) == sorted(["submit", "start_check", "pass_check", "apply"])
    changes = db.session.scalar(
        select(func.count())
        .select_from(ProfileChange)
        .where(ProfileChange.request_id == request.id)
    )
    assert changes == len(request.changeset)
    assert (
        db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.last_name == "Lévesque")
        )
        == 1
    )


def test_client_number_sends_the_request_to_an_agent(app, firm, responsable, run_jobs, mailbox):
    """A member who already has a client number waits for an agent, who approves it."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    answer = submit(responsable, firm, "add-relation", variables).json
    number = answer["number"]
    assert answer["awaiting_system"] is True  # the duplicate check is the service's to run
    run_jobs()
    assert state_of(number) == "agent_validation"
    # An agent owes the next step now: the portal stops asking again.
    assert responsable.get(f"/api/requests/{number}").json["awaiting_system"] is False
    agent = login_client(app, role="agent", first_name="Alex", last_name="Agent")
    queue_page = agent.get("/api/agent/queue").json
    assert [i["number"] for i in queue_page["items"]] == [number]
    assert agent.post(f"/api/agent/requests/{number}/claim").status_code == 200
    assert agent.post(f"/api/agent/requests/{number}/approve", json={}).status_code == 200
    assert responsable.get(f"/api/requests/{number}").json["awaiting_system"] is True
    run_jobs()
    assert state_of(number) == "applied"
    history = responsable.get(f"/api/requests/{number}").json["history"]
    assert any(h["trigger"] == "approve" and h["actor"] == "Alex Agent" for h in history)


def test_rejection_reaches_the_submitter_with_its_reason(app, firm, responsable, run_jobs, mailbox):
    """An agent's refusal and its reason show in Mes demandes and arrive by email."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    number = submit(responsable, firm, "add-relation", variables).json["number"]
    run_jobs()
    agent = login_client(app, role="agent")
    answer = agent.post(
        f"/api/agent/requests/{number}/reject",
        json={"reason": "Numéro de client d'une autre personne."},
    )
    assert answer.status_code == 200, answer.json
    run_jobs()
    detail = responsable.get(f"/api/requests/{number}").json
    assert detail["state"] == "rejected" and detail["reason"].startswith("Numéro de client")
    [email] = mailbox.to("rebecca@laforce.example")
    assert "Numéro de client d'une autre personne." in body(email)


def test_remove_all_relations_ends_them_and_revokes_their_subjects(
    app, firm, responsable, run_jobs
):
    """Toutes les relations: relations inactive with an end date, subjects revoked, kept."""
    from catalogue_svc.profiles.models import Grant as G

    db.session.add(
        G(
            subject_id=firm.subjects["rapport_mensuel"],
            owner_organisation_id=firm.shaw,
            right="write",
            holder_contact_id=firm.marie_karine,
            contact_relation_id=firm.marie_karine_relation,
            organisation_relation_id=firm.shaw_relation,
            start_date=__import__("datetime").date(2024, 1, 1),
        )
    )
    db.session.commit()
    answer = submit(
        responsable,
        firm,
        "remove-relation",
        {"contact_id": firm.marie_karine, "removal": "all_relations", "attestation": True},
    )
    assert answer.status_code == 202, answer.json
    run_jobs()
    assert state_of(answer.json["number"]) == "applied"
    relation = db.session.get(ContactRelation, firm.marie_karine_relation, populate_existing=True)
    assert relation.active is False and relation.ended_at is not None
    grants = db.session.scalars(
        select(Grant)
        .where(Grant.holder_contact_id == firm.marie_karine)
        .execution_options(populate_existing=True)
    ).all()
    assert grants and all(not g.active for g in grants)


def test_modification_sends_confirmation_and_new_credentials(
    app, firm, responsable, run_jobs, mailbox
):
    """Modifier: language changed, the member gets the confirmation and a new linking code."""
    answer = submit(
        responsable,
        firm,
        "update-contact",
        {
            "contact_id": firm.marie_helene,
            "sections": ["coordonnees"],
            "language": "en",
            "issue_linking_code": True,
            "attestation": True,
        },
    )
    assert answer.status_code == 202, answer.json
    run_jobs()
    assert state_of(answer.json["number"]) == "applied"
    assert db.session.get(Contact, firm.marie_helene, populate_existing=True).language == "en"
    subjects = sorted(m["Subject"] for m in mailbox.to("mh.demierre.1@laforce.example"))
    assert subjects == [
        "Confirmation of the changes to your file",
        "Your linking credentials for the online services",
    ]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({**ADD_NEW, "relation_type": "pdg"}, "variables.relation_type"),
        ({**ADD_NEW, "attestation": False}, "variables.attestation"),
        ({**ADD_NEW, "state": "applied"}, "variables.state"),
        (
            {**ADD_NEW, "new_contact": {**NEW_MEMBER, "birth_date": "17/05/1990"}},
            "variables.new_contact.birth_date",
        ),
        (
            {
                **ADD_NEW,
                "subjects": [],
                "other_organisation": True,
                "related_organisation_id": 999999,
                "organisation_subjects": ["rapport_mensuel"],
            },
            "variables.related_organisation_id",
        ),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(app, firm, responsable, variables, field):
    """Bad variables: 422 naming the field, in French; no request is created."""
    answer = submit(responsable, firm, "add-relation", variables)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"], answer.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(Request)) == 0


def test_server_owned_fields_at_the_top_level_are_refused(app, firm, responsable):
    """A body carrying `state` beside the form is a 422 naming it."""
    answer = responsable.post(
        f"/api/profiles/{firm.firm}/requests",
        json={"item": "add-relation", "variables": ADD_NEW, "state": "applied"},
    )
    assert answer.status_code == 422
    assert "state" in answer.json["errors"]


def test_email_in_the_modification_form_points_to_account_settings(app, firm, responsable):
    """The email is not editable here: the error says where to change it."""
    answer = submit(
        responsable,
        firm,
        "update-contact",
        {
            "contact_id": firm.marie_helene,
            "sections": ["coordonnees"],
            "email": "x@y.example",
            "attestation": True,
        },
    )
    assert answer.status_code == 422
    assert "Paramètres du compte" in " ".join(answer.json["errors"]["variables.email"])


def test_unknown_form_is_a_clear_error(app, firm, responsable):
    """An item that is not in the catalogue: 404 in French."""
    answer = submit(responsable, firm, "ajouter-un-pdg", {})
    assert answer.status_code == 404 and answer.json["detail"]


def test_idempotency_key_replays_the_same_answer(app, firm, responsable):
    """The same key and body give back the same request; another body is refused (R10)."""
    first = submit(responsable, firm, "add-relation", ADD_NEW, **{"Idempotency-Key": "k-1"})
    again = submit(responsable, firm, "add-relation", ADD_NEW, **{"Idempotency-Key": "k-1"})
    assert (again.status_code, again.json) == (first.status_code, first.json)
    other = submit(
        responsable, firm, "add-relation", {**ADD_NEW, "subjects": []}, **{"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Request)) == 1


def test_cancel_before_approval_and_not_after(app, firm, responsable, run_jobs):
    """The submitter cancels a waiting request; an applied one answers 409 with the rule."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    waiting = submit(responsable, firm, "add-relation", variables).json["number"]
    applied = submit(
        responsable,
        firm,
        "add-relation",
        {
            **ADD_NEW,
            "new_contact": {
                **NEW_MEMBER,
                "email": "autre@laforce.example",
                "first_name": "Paul",
                "last_name": "Ouellet",
            },
        },
    ).json["number"]
    run_jobs()
    assert responsable.post(f"/api/requests/{waiting}/cancel").status_code == 200
    assert state_of(waiting) == "cancelled"
    late = responsable.post(f"/api/requests/{applied}/cancel")
    assert late.status_code == 409 and late.json["allowed"] == []


def test_member_without_authority_gets_403(app, firm):
    """A membre du personnel cannot use the Autorisations forms."""
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    answer = submit(member, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 403 and "autorisations requises" in answer.json["detail"]


def test_another_firms_profile_and_requests_answer_404(app, firm, responsable, run_jobs):
    """A second firm's responsable sees neither the profile nor its requests (S7)."""
    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    stranger = login_client(app)
    link_account(app, stranger.account.id, contact_id=other.rebecca, organisation_id=other.firm)
    assert submit(stranger, firm, "add-relation", ADD_NEW).status_code == 404
    assert stranger.get(f"/api/requests/{number}").status_code == 404
    assert stranger.get(f"/api/profiles/{firm.firm}/requests").status_code == 404
    assert stranger.post(f"/api/requests/{number}/cancel").status_code == 404


def test_apply_fails_when_the_submitter_lost_authority(app, firm, responsable, run_jobs):
    """Apply re-checks: a submitter whose relation ended meanwhile → failed, with the reason."""
    from catalogue_svc.queue import drain

    number = submit(responsable, firm, "add-relation", ADD_NEW).json["number"]
    drain("request.check")
    relation = db.session.scalar(
        select(ContactRelation).where(ContactRelation.contact_id == firm.rebecca)
    )
    relation.active = False
    db.session.commit()
    run_jobs()
    detail = db.session.scalar(
        select(Request).where(Request.number == number).execution_options(populate_existing=True)
    )
    assert detail.state == "failed" and "accès" in detail.reason


def test_contact_of_another_firm_is_refused(app, firm, responsable):
    """Naming another firm's contact in a form: 422 on the field, nothing recorded."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    answer = submit(
        responsable,
        firm,
        "remove-relation",
        {"contact_id": other.marie_karine, "removal": "all_relations", "attestation": True},
    )
    assert answer.status_code == 422
    assert "variables.contact_id" in answer.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(Request)) == 0
