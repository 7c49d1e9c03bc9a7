"""A supervisor reassigns a request of the queue to another agent; anyone else, or a target that
is not an agent, is refused and nothing changes (issue 17, item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import login_client
from tests.queue_helpers import queued_request


@pytest.fixture()
def waiting(app, firm, responsable, run_jobs) -> str:
    """A request in the queue (Julie Levesque, in the store, is its probable duplicate)."""
    return queued_request(responsable, firm, run_jobs)


def _claimer(number: str) -> int | None:
    return db.session.scalar(
        select(Request.claimed_by_account_id)
        .where(Request.number == number)
        .execution_options(populate_existing=True)
    )


def test_a_supervisor_hands_a_claimed_request_to_another_agent(app, waiting, supervisor, agent):
    """Claimed by Bea, reassigned to Alex: Alex holds it, may decide, and the history says so."""
    bea = login_client(app, role="agent", first_name="Bea", last_name="Autre")
    bea.post(f"/api/agent/requests/{waiting}/claim")
    answer = supervisor.post(
        f"/api/agent/requests/{waiting}/reassign", json={"account_id": agent.account.id}
    )
    assert answer.status_code == 200, answer.json
    assert _claimer(waiting) == agent.account.id
    history = agent.get(f"/api/requests/{waiting}").json["history"]
    assert history[-1]["trigger"] == "reassign"
    assert history[-1]["reason"] == "Confiée à Alex Agent."
    decided = agent.post(f"/api/agent/requests/{waiting}/reject", json={"reason": "Doublon."})
    assert decided.status_code == 200, decided.json


def test_only_a_supervisor_reassigns(app, waiting, agent):
    """A plain agent gets 403; the claim does not move."""
    answer = agent.post(
        f"/api/agent/requests/{waiting}/reassign", json={"account_id": agent.account.id}
    )
    assert answer.status_code == 403
    assert _claimer(waiting) is None


@pytest.mark.parametrize("target", ["responsable", "nobody"])
def test_a_reassignment_to_an_account_that_is_not_an_agent_is_refused(
    app, waiting, supervisor, responsable, target
):
    """The submitter's account, or an account that does not exist: 422 naming account_id."""
    account_id = responsable.account.id if target == "responsable" else 999_999
    answer = supervisor.post(
        f"/api/agent/requests/{waiting}/reassign", json={"account_id": account_id}
    )
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == ["account_id"]
    assert _claimer(waiting) is None


def test_a_decided_request_cannot_be_reassigned(app, waiting, supervisor, agent):
    """Once rejected, 409."""
    agent.post(f"/api/agent/requests/{waiting}/claim")
    agent.post(f"/api/agent/requests/{waiting}/reject", json={"reason": "Doublon."})
    answer = supervisor.post(
        f"/api/agent/requests/{waiting}/reassign", json={"account_id": agent.account.id}
    )
    assert answer.status_code == 409
