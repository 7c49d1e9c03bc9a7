"""What the portal asks the API for the supervisor's view of the File de validation: whether
the agent supervises, the agents a request can be handed to; a plain agent is refused each
supervisor's call in French (issue 17, item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue_svc.accounts.models import Account
from catalogue_svc.clock import now
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import login_client
from tests.queue_helpers import queued_request

REFUSED = "Réservé aux superviseurs de la file de validation."


@pytest.fixture()
def waiting(app, firm, responsable, run_jobs) -> str:
    """A request in the queue (Julie Levesque, in the store, is its probable duplicate)."""
    return queued_request(responsable, firm, run_jobs)


def test_the_portal_learns_whether_an_agent_supervises(app, supervisor, agent):
    """GET /api/agent/me: Sophie supervises, Alex does not; both by name."""
    sophie = supervisor.get("/api/agent/me")
    alex = agent.get("/api/agent/me")
    assert sophie.status_code == alex.status_code == 200
    assert (sophie.json["name"], sophie.json["supervisor"]) == ("Sophie Superviseure", True)
    assert (alex.json["name"], alex.json["supervisor"]) == ("Alex Agent", False)
    assert alex.json["account_id"] == agent.account.id


def test_an_account_that_is_not_an_agent_has_no_agent_me(app, responsable):
    """A responsable asking GET /api/agent/me gets 403."""
    assert responsable.get("/api/agent/me").status_code == 403


def test_a_supervisor_lists_the_agents_a_request_can_go_to(
    app,
    supervisor,
    agent,
    responsable,
):
    """Every agent not disabled, by last name; no submitter, no disabled agent."""
    gone = login_client(app, role="agent", first_name="Zoé", last_name="Partie")
    db.session.get(Account, gone.account.id).disabled_at = now()
    db.session.commit()
    answer = supervisor.get("/api/agent/agents")
    assert answer.status_code == 200, answer.json
    names = [a["name"] for a in answer.json["items"]]
    assert names == ["Alex Agent", "Sophie Superviseure"]
    assert answer.json["items"][0]["account_id"] == agent.account.id


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/agent/agents"),
        ("GET", "/api/agent/stats"),
        ("POST", "/api/agent/requests/{number}/reassign"),
    ],
    ids=["agents", "stats", "reassign"],
)
def test_a_plain_agent_is_refused_the_supervisors_calls_in_french(
    app,
    waiting,
    agent,
    method,
    path,
):
    """403 with a French sentence, and the request's claim does not move."""
    answer = agent.open(
        path.format(number=waiting),
        method=method,
        json={"account_id": agent.account.id} if method == "POST" else None,
    )
    assert answer.status_code == 403, answer.json
    assert answer.json["detail"] == REFUSED
    claimer = db.session.scalar(
        select(Request.claimed_by_account_id)
        .where(Request.number == waiting)
        .execution_options(populate_existing=True)
    )
    assert claimer is None


def test_a_request_cannot_be_handed_to_a_disabled_agent(
    app,
    waiting,
    supervisor,
):
    """An agent whose account is disabled: 422 naming account_id, nothing changed."""
    gone = login_client(app, role="agent", first_name="Zoé", last_name="Partie")
    db.session.get(Account, gone.account.id).disabled_at = now()
    db.session.commit()
    answer = supervisor.post(
        f"/api/agent/requests/{waiting}/reassign", json={"account_id": gone.account.id}
    )
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == ["account_id"]
