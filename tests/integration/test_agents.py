"""Agents: duplicate candidates, claims, approval with merge, rejection, conflicts, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactRelation
from catalogue_svc.requests.models import Request, RequestEvent
from tests.accounts_helpers import link_account, login_client
from tests.factories import add_julie_levesque, guide_firm
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER, state_of, submit
from tests.servers import body


@pytest.fixture()
def firm(app):
    """The guide's firm, with an existing person outside it who has a client number."""
    built = guide_firm(app)
    add_julie_levesque(client_number="7654321")
    return built


@pytest.fixture()
def responsable(app, firm):
    """The firm's responsable, logged in and linked."""
    client = login_client(app, email="rebecca@laforce.example")
    link_account(app, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return client


@pytest.fixture()
def waiting(app, firm, responsable, run_jobs):
    """A new member with the existing person's client number, waiting for an agent."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    number = submit(responsable, firm, "add-relation", variables).json["number"]
    run_jobs()
    return number


def existing_julie() -> int:
    """The id of the person who already has the client number."""
    return db.session.scalar(select(Contact.id).where(Contact.client_number == "7654321"))


def test_candidates_come_with_scores_and_reasons(app, waiting, agent):
    """The agent sees the existing person as a candidate, with why."""
    detail = agent.get(f"/api/requests/{waiting}").json
    [candidate] = detail["duplicate_candidates"]
    assert candidate["contact_id"] == existing_julie()
    assert candidate["score"] > 0.9
    assert {r["field"] for r in candidate["reasons"]} >= {"client_number", "name"}


def test_submitter_does_not_see_the_candidates(app, waiting, responsable):
    """Candidates are other people's data: agents only."""
    assert "duplicate_candidates" not in responsable.get(f"/api/requests/{waiting}").json


def test_approve_with_merge_uses_the_existing_contact(
    app, firm, waiting, agent, responsable, run_jobs, mailbox
):
    """Approve with a merge: no new contact; the relation goes to the existing person."""
    julie = existing_julie()
    assert agent.post(f"/api/agent/requests/{waiting}/claim").status_code == 200
    answer = agent.post(
        f"/api/agent/requests/{waiting}/approve", json={"merge_with_contact_id": julie}
    )
    assert answer.status_code == 200, answer.json
    run_jobs()
    assert state_of(waiting) == "applied"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.last_name.in_(["Levesque", "Lévesque"]))
        )
        == 1
    )
    relation = db.session.scalar(select(ContactRelation).where(ContactRelation.contact_id == julie))
    assert relation.organisation_id == firm.firm
    history = responsable.get(f"/api/requests/{waiting}").json["history"]
    approve = next(h for h in history if h["trigger"] == "approve")
    assert approve["actor"] == "Alex Agent" and str(julie) in approve["reason"]
    assert [m["Subject"] for m in mailbox.to("rebecca@laforce.example")] == [
        f"Votre demande {waiting} a été appliquée"
    ]


def test_second_agent_cannot_claim_until_released_or_lapsed(app, waiting, agent):
    """A claim is exclusive; released or lapsed, another agent may take it."""
    other = login_client(app, role="agent")
    assert agent.post(f"/api/agent/requests/{waiting}/claim").status_code == 200
    assert other.post(f"/api/agent/requests/{waiting}/claim").status_code == 409
    assert other.post(f"/api/agent/requests/{waiting}/approve", json={}).status_code == 409
    assert agent.post(f"/api/agent/requests/{waiting}/release").status_code == 200
    assert other.post(f"/api/agent/requests/{waiting}/claim").status_code == 200
    clock.advance(dt.timedelta(hours=2))
    third = login_client(app, role="agent")
    assert third.post(f"/api/agent/requests/{waiting}/claim").status_code == 200


def test_queue_is_oldest_first_with_age_and_filters(app, firm, responsable, agent, run_jobs):
    """The queue: oldest first, with its age; filter by claimed/unclaimed and by form."""
    numbers = []
    for i in range(3):
        person = {
            **NEW_MEMBER,
            "email": f"p{i}@laforce.example",
            "last_name": f"Nom{i}",
            "client_number": f"800000{i}",
        }
        numbers.append(
            submit(responsable, firm, "add-relation", {**ADD_NEW, "new_contact": person}).json[
                "number"
            ]
        )
        clock.advance(dt.timedelta(minutes=1))
    run_jobs()
    page = agent.get("/api/agent/queue").json
    assert [i["number"] for i in page["items"]] == numbers
    assert page["items"][0]["age_seconds"] >= page["items"][-1]["age_seconds"]
    agent.post(f"/api/agent/requests/{numbers[1]}/claim")
    assert [i["number"] for i in agent.get("/api/agent/queue?claimed=true").json["items"]] == [
        numbers[1]
    ]
    assert agent.get("/api/agent/queue?form=remove-relation").json["total"] == 0


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"reason": "   "}, 422, "reason"),
        ({}, 422, "reason"),
    ],
)
def test_reject_needs_a_reason(app, waiting, agent, payload, status, field):
    """A rejection without a reason is refused; nothing changes."""
    answer = agent.post(f"/api/agent/requests/{waiting}/reject", json=payload)
    assert answer.status_code == status and field in answer.json["errors"]
    assert state_of(waiting) == "agent_validation"


def test_merge_with_a_contact_that_is_not_a_candidate_is_refused(app, firm, waiting, agent):
    """Merging with someone the check did not propose: 422, nothing changes."""
    answer = agent.post(
        f"/api/agent/requests/{waiting}/approve", json={"merge_with_contact_id": firm.marie_karine}
    )
    assert answer.status_code == 422 and "merge_with_contact_id" in answer.json["errors"]
    assert state_of(waiting) == "agent_validation"


def test_action_on_a_request_not_in_validation_is_a_409(app, firm, responsable, agent, run_jobs):
    """Approving an applied request: 409 in French, nothing changes."""
    number = submit(
        responsable,
        firm,
        "add-relation",
        {
            **ADD_NEW,
            "new_contact": {
                **NEW_MEMBER,
                "email": "z@laforce.example",
                "first_name": "Zoé",
                "last_name": "Zed",
            },
        },
    ).json["number"]
    run_jobs()
    answer = agent.post(f"/api/agent/requests/{number}/approve", json={})
    assert answer.status_code == 409 and "Appliquée" in answer.json["detail"]
    events = db.session.scalar(
        select(func.count())
        .select_from(RequestEvent)
        .join(Request, Request.id == RequestEvent.request_id)
        .where(Request.number == number)
    )
    assert events == 4


def test_firms_never_reach_agent_calls_and_agents_never_reach_firm_calls(
    app, firm, waiting, responsable, agent
):
    """Roles are separate: 403 both ways."""
    assert responsable.get("/api/agent/queue").status_code == 403
    assert responsable.post(f"/api/agent/requests/{waiting}/approve", json={}).status_code == 403
    assert agent.get(f"/api/profiles/{firm.firm}/requests").status_code == 403
    assert (
        agent.post(
            f"/api/profiles/{firm.firm}/requests",
            json={"item": "add-relation", "variables": ADD_NEW},
        ).status_code
        == 403
    )


def test_internal_comments_stay_with_agents(app, waiting, agent, responsable):
    """A visible comment reaches the submitter; an internal one does not."""
    agent.post(f"/api/requests/{waiting}/comments", json={"body": "Vérifié au registre."})
    agent.post(f"/api/requests/{waiting}/comments", json={"body": "Note interne", "internal": True})
    seen = [c["body"] for c in responsable.get(f"/api/requests/{waiting}").json["comments"]]
    assert seen == ["Vérifié au registre."]
    assert (
        responsable.post(
            f"/api/requests/{waiting}/comments", json={"body": "x", "internal": True}
        ).status_code
        == 403
    )


def test_the_same_new_person_twice_links_the_requests(app, firm, responsable, agent, run_jobs):
    """Two pending requests adding one person: the second waits for an agent, linked."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    first = submit(responsable, firm, "add-relation", variables).json["number"]
    second = submit(responsable, firm, "add-relation", {**ADD_NEW, "subjects": ["paiements"]}).json[
        "number"
    ]
    run_jobs()
    assert state_of(second) == "agent_validation"
    links = agent.get(f"/api/requests/{second}").json["linked_requests"]
    assert [link["number"] for link in links] == [first]
    assert [
        link["number"] for link in agent.get(f"/api/requests/{first}").json["linked_requests"]
    ] == [second]


def test_rejection_email_carries_the_reason(app, waiting, agent, run_jobs, mailbox):
    """The submitter receives the reason by email."""
    agent.post(f"/api/agent/requests/{waiting}/reject", json={"reason": "Personne différente."})
    run_jobs()
    [email] = mailbox.to("rebecca@laforce.example")
    assert "Personne différente." in body(email)


def test_a_nul_byte_in_a_reason_or_a_comment_is_a_422_naming_it(app, waiting, agent):
    """A hidden character (a NUL byte, which PostgreSQL refuses in text: a 500) in a refusal's
    reason or in a comment is refused in French, naming the field; nothing is recorded."""
    reason = agent.post(
        f"/api/agent/requests/{waiting}/reject", json={"reason": "Non\x00 conforme"}
    )
    comment = agent.post(f"/api/requests/{waiting}/comments", json={"body": "Vu\x00"})

    for answer, field in ((reason, "reason"), (comment, "body")):
        assert answer.status_code == 422, answer.json
        assert answer.json["errors"][field] == [
            "Ne doit contenir aucun caractère de contrôle (tabulation…) ni caractère invisible; "
            "seuls les sauts de ligne sont permis."
        ]
    assert state_of(waiting) == "agent_validation"
    assert agent.get(f"/api/requests/{waiting}").json["comments"] == []
    line_breaks = agent.post(f"/api/requests/{waiting}/comments", json={"body": "Vu.\nMerci."})
    assert line_breaks.status_code == 201, line_breaks.json
