"""The validation queue ordered by urgency, as agents use it: overdue first then by due time,
each row with its time left in business hours, filters by form, organisation, state, claim and a
search; a bad filter is a 422 naming the parameter (issue 17, item 3)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import link_account, login_client
from tests.factories import guide_firm
from tests.queue_helpers import nth_in_queue

MONTREAL = ZoneInfo("America/Montreal")
MONDAY_9H = dt.datetime(2026, 12, 14, 9, 0, tzinfo=MONTREAL)


@pytest.fixture()
def app(make_app):
    """The app on a frozen clock: Monday 14 December 2026, 9 h in Montréal; claims last a day,
    except on an overdue request (1 h)."""
    application = make_app(
        CATALOGUE_SESSION_ABSOLUTE=str(7 * 86400),
        CATALOGUE_SESSION_IDLE="86400",
        CATALOGUE_CLAIM_LAPSE="86400",
        CATALOGUE_OVERDUE_CLAIM_LAPSE="3600",
    )
    clock.freeze(MONDAY_9H.astimezone(dt.UTC))
    with application.app_context():
        yield application


def _set_due(number: str, at: dt.datetime) -> None:
    db.session.execute(update(Request).where(Request.number == number).values(due_at=at))
    db.session.commit()


def _numbers(agent, **query) -> list[str]:
    answer = agent.get("/api/agent/queue", query_string=query)
    assert answer.status_code == 200, answer.json
    return [item["number"] for item in answer.json["items"]]


def test_overdue_requests_come_first_then_by_due_time(app, firm, responsable, agent, run_jobs):
    """Whatever their age: the overdue one first, then the one due soonest."""
    first, second, third = (nth_in_queue(responsable, firm, run_jobs, n) for n in range(3))
    _set_due(first, dt.datetime(2026, 12, 16, 9, 0, tzinfo=MONTREAL))
    _set_due(second, dt.datetime(2026, 12, 15, 9, 0, tzinfo=MONTREAL))
    _set_due(third, dt.datetime(2026, 12, 14, 8, 45, tzinfo=MONTREAL))
    page = agent.get("/api/agent/queue").json
    assert [i["number"] for i in page["items"]] == [third, second, first]
    assert [i["overdue"] for i in page["items"]] == [True, False, False]


def test_each_row_says_its_time_left_in_business_hours(app, firm, responsable, agent, run_jobs):
    """Entered Monday 9 h: « Échéance dans 2 jours ouvrables »; on Wednesday at 11 h (due 9 h),
    « En retard de 2 h ouvrables » and overdue."""
    number = nth_in_queue(responsable, firm, run_jobs, 0)
    [row] = agent.get("/api/agent/queue").json["items"]
    assert dt.datetime.fromisoformat(row["due_at"]) == dt.datetime(
        2026, 12, 16, 9, 0, tzinfo=MONTREAL
    )
    assert row["due_text"] == "Échéance dans 2 jours ouvrables"
    assert row["overdue"] is False
    _set_due(number, dt.datetime(2026, 12, 14, 12, 0, tzinfo=MONTREAL))
    [row] = agent.get("/api/agent/queue").json["items"]
    assert row["due_text"] == "Échéance dans 3 h ouvrables"
    _set_due(number, dt.datetime(2026, 12, 11, 9, 0, tzinfo=MONTREAL))
    [row] = agent.get("/api/agent/queue").json["items"]
    assert row["due_text"] == "En retard de 1 jour ouvrable"
    assert row["overdue"] is True


def test_a_request_waiting_for_the_submitter_says_so(app, firm, responsable, agent, run_jobs):
    """Paused by the agent's question: not overdue, and the row says since when it waits."""
    number = nth_in_queue(responsable, firm, run_jobs, 0)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/requests/{number}/comments", json={"body": "Date ?", "asks_answer": True})
    _set_due(number, dt.datetime(2026, 12, 11, 9, 0, tzinfo=MONTREAL))
    [row] = agent.get("/api/agent/queue").json["items"]
    assert row["overdue"] is False
    assert row["due_text"] == (
        "En attente de la réponse du demandeur depuis le 14 décembre 2026 à 9 h 00"
    )


def test_claimed_filters_me_nobody_and_others(app, firm, responsable, agent, run_jobs):
    """claimed=me, nobody and others split the queue by who holds each request."""
    mine, theirs, free = (nth_in_queue(responsable, firm, run_jobs, n) for n in range(3))
    other = login_client(app, role="agent", first_name="Bea", last_name="Autre")
    agent.post(f"/api/agent/requests/{mine}/claim")
    other.post(f"/api/agent/requests/{theirs}/claim")
    assert _numbers(agent, claimed="me") == [mine]
    assert _numbers(agent, claimed="others") == [theirs]
    assert _numbers(agent, claimed="nobody") == [free]
    assert _numbers(other, claimed="me") == [theirs]
    assert sorted(_numbers(agent, claimed="true")) == sorted([mine, theirs])


def test_filters_by_organisation_form_and_state(app, firm, responsable, agent, run_jobs):
    """organisation keeps one profile's requests; form and state keep theirs."""
    ours = nth_in_queue(responsable, firm, run_jobs, 0)
    second = guide_firm(app, prefix="2", name="CABINET BOUCHARD")
    theirs_client = login_client(app, email="rebecca2@bouchard.example")
    link_account(
        app, theirs_client.account.id, contact_id=second.rebecca, organisation_id=second.firm
    )
    theirs = nth_in_queue(theirs_client, second, run_jobs, 1)
    assert _numbers(agent, organisation=firm.firm) == [ours]
    assert _numbers(agent, organisation=second.firm) == [theirs]
    assert _numbers(agent, form="add-relation", state="agent_validation") == [ours, theirs]
    assert _numbers(agent, form="update-contact") == []
    assert _numbers(agent, state="failed") == []


def test_search_by_number_organisation_name_or_client_number(
    app, firm, responsable, agent, run_jobs
):
    """q finds a request by its number, part of its organisation's name (any case) or the
    organisation's client number."""
    number = nth_in_queue(responsable, firm, run_jobs, 0)
    other = nth_in_queue(responsable, firm, run_jobs, 1)
    assert _numbers(agent, q=number) == [number]
    assert _numbers(agent, q="laforce") == [number, other]
    assert _numbers(agent, q="1000001") == [number, other]
    assert _numbers(agent, q="100%") == []
    assert _numbers(agent, q="ENTREPRISE SHAW") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("claimed", "moi"),
        ("organisation", "abc"),
        ("organisation", "0"),
        ("state", "applied"),
        ("form", "formulaire-inconnu"),
        ("q", ""),
        ("q", "x" * 101),
        ("tri", "urgence"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_parameter(app, agent, name, value):
    """A bad filter value answers 422 whose errors name the parameter, in French."""
    answer = agent.get("/api/agent/queue", query_string={name: value})
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == [name]
    message = answer.json["errors"][name][0]
    assert message[0].isupper() and message.endswith(".")
    assert "Must" not in message and "Not a valid" not in message


def test_the_decided_request_leaves_the_queue_with_its_clock_stopped(
    app, firm, responsable, agent, run_jobs
):
    """An approved request is no longer in the queue; its stored clock is stopped."""
    number = nth_in_queue(responsable, firm, run_jobs, 0)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/agent/requests/{number}/approve", json={"create_new_contact": True})
    assert _numbers(agent) == []
    stopped = db.session.scalar(
        select(Request.sla_stopped_at)
        .where(Request.number == number)
        .execution_options(populate_existing=True)
    )
    assert stopped is not None


def test_an_absent_agents_claim_on_an_overdue_request_lapses(
    app, firm, responsable, agent, run_jobs
):
    """Claimed at 9 h on a request due at 8 h 30: the claim holds until 10 h (an hour of
    CATALOGUE_OVERDUE_CLAIM_LAPSE while overdue), then goes back to the queue, and another agent
    who takes it gets an hour too."""
    number = nth_in_queue(responsable, firm, run_jobs, 0)
    _set_due(number, dt.datetime(2026, 12, 14, 8, 30, tzinfo=MONTREAL))
    agent.post(f"/api/agent/requests/{number}/claim")
    other = login_client(app, role="agent", first_name="Bea", last_name="Autre")
    clock.freeze(dt.datetime(2026, 12, 14, 9, 59, tzinfo=MONTREAL).astimezone(dt.UTC))
    assert _numbers(agent, claimed="me") == [number]
    assert other.post(f"/api/agent/requests/{number}/claim").status_code == 409
    clock.freeze(dt.datetime(2026, 12, 14, 10, 1, tzinfo=MONTREAL).astimezone(dt.UTC))
    assert _numbers(agent, claimed="me") == []
    assert _numbers(agent, claimed="nobody") == [number]
    [row] = agent.get("/api/agent/queue").json["items"]
    assert row["claimed_by_account_id"] is None
    taken = other.post(f"/api/agent/requests/{number}/claim")
    assert taken.status_code == 200, taken.json
    assert _numbers(other, claimed="me") == [number]
