"""Calls that really overlap: idempotency keys (R10), agents racing on one request (R8), and the
same pipeline message run by two workers at once (R5).

Every racing call runs in its own thread with its own test client (hence its own session and
database connection); a barrier releases them together. No retries hide a failure: a 500 (for
instance SQLite's ``database is locked``) fails the test. ``CATALOGUE_R8_TRIALS`` sets the number
of agent races per test (the R8 target is 200).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from catalogue_svc import queue
from catalogue_svc.accounts.models import Account
from catalogue_svc.db import db
from catalogue_svc.errors import Conflict
from catalogue_svc.profiles.models import Contact, ProfileChange
from catalogue_svc.requests import service
from catalogue_svc.requests.models import IdempotencyKey, Request, RequestEvent
from tests.accounts_helpers import link_account, login_client, new_email
from tests.factories import Firm, guide_firm
from tests.submissions import add_new_member

TRIALS = int(os.environ.get("CATALOGUE_R8_TRIALS", "40"))
T = TypeVar("T")


def _person(n: int, *, client_number: bool = False) -> dict[str, Any]:
    person: dict[str, Any] = {
        "first_name": "Julie",
        "last_name": f"Lévesque-{n}",
        "birth_date": f"19{50 + n % 50:02d}-0{1 + n % 9}-1{n % 10}",
        "email": f"julie.{n}@laforce.example",
        "language": "fr",
    }
    if client_number:
        person["client_number"] = f"{7000000 + n}"
    return person


def _add_new(n: int, *, client_number: bool = False) -> dict[str, Any]:
    return add_new_member(_person(n, client_number=client_number))


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, released together by a barrier; results in order."""
    db.session.remove()  # the test's own session holds nothing while the calls race
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


def _post(client: FlaskClient, url: str, **kwargs: Any) -> Callable[[], tuple[int, Any]]:
    def call() -> tuple[int, Any]:
        answer = client.post(url, **kwargs)
        return answer.status_code, answer.get_json()

    return call


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture()
def firm(app: Flask) -> Firm:
    """The guide's firm."""
    return guide_firm(app)


@pytest.fixture()
def responsable(app: Flask, firm: Firm) -> Account:
    """REBECCA's account, linked to the firm as its responsable."""
    client = login_client(
        app, email=new_email("rebecca"), first_name="REBECCA", last_name="DESCOTEAUX-LAFORCE"
    )
    account: Account = client.account  # type: ignore[attr-defined]
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return account


def _submit(responsable: Account, firm: Firm, variables: dict[str, Any]) -> None:
    service.submit(
        account_id=responsable.id,
        account_name="REBECCA DESCOTEAUX-LAFORCE",
        profile_id=firm.firm,
        item="add-relation",
        variables=variables,
    )


@pytest.fixture()
def waiting(app: Flask, firm: Firm, responsable: Account) -> list[Request]:
    """TRIALS requests in agent validation (new members who already have a client number)."""
    for n in range(TRIALS):
        _submit(responsable, firm, _add_new(n, client_number=True))
    queue.run_until_idle()
    requests = list(db.session.scalars(select(Request).order_by(Request.id)))
    assert [r.state for r in requests] == ["agent_validation"] * TRIALS
    return requests


@pytest.fixture()
def two_agents(app: Flask) -> tuple[FlaskClient, FlaskClient]:
    """Two agents, each logged in with their own client."""
    return (
        login_client(app, role="agent", first_name="Alex", last_name="Agent"),
        login_client(app, role="agent", first_name="Sam", last_name="Agent"),
    )


def _triggers(request_id: int) -> Counter[str]:
    return Counter(
        db.session.scalars(
            select(RequestEvent.trigger).where(RequestEvent.request_id == request_id)
        ).all()
    )


def _apply_messages() -> Counter[int]:
    """Apply messages per request id."""
    return Counter(
        payload["request_id"]
        for payload in db.session.scalars(
            select(queue.OutboxMessage.payload).where(
                queue.OutboxMessage.topic == service.APPLY_TOPIC
            )
        )
    )


# ---------------------------------------------------------------- R10: idempotency keys


def test_same_key_ten_times_at_once_creates_one_request(app, firm, responsable):
    """Ten concurrent submissions with one Idempotency-Key: one request, ten identical answers."""
    clients = [login_client(app, email=responsable.email) for _ in range(10)]
    url = f"/api/profiles/{firm.firm}/requests"
    body = {"item": "add-relation", "variables": _add_new(1)}
    answers = at_once(
        [_post(c, url, json=body, headers={"Idempotency-Key": "cle-r10"}) for c in clients]
    )
    assert {status for status, _ in answers} == {202}, answers
    assert all(answer == answers[0] for answer in answers), answers
    assert _count(Request) == 1
    assert _count(IdempotencyKey) == 1
    assert _count(queue.OutboxMessage, queue.OutboxMessage.topic == service.CHECK_TOPIC) == 1


def test_same_key_with_two_bodies_at_once_refuses_the_loser(app, firm, responsable):
    """One key, two bodies racing: one body wins everywhere, the other always gets 422."""
    clients = [login_client(app, email=responsable.email) for _ in range(10)]
    url = f"/api/profiles/{firm.firm}/requests"
    bodies = [{"item": "add-relation", "variables": _add_new(i % 2)} for i in range(10)]
    answers = at_once(
        [
            _post(c, url, json=b, headers={"Idempotency-Key": "cle-r10"})
            for c, b in zip(clients, bodies, strict=True)
        ]
    )
    by_body: dict[int, set[int]] = {0: set(), 1: set()}
    for i, (status, _) in enumerate(answers):
        by_body[i % 2].add(status)
    assert sorted(map(sorted, by_body.values())) == [[202], [422]], answers
    winner = next(i for i, (status, _) in enumerate(answers) if status == 202)
    assert all(a == answers[winner] for i, a in enumerate(answers) if i % 2 == winner % 2)
    refused = next(body for status, body in answers if status == 422)
    assert "Idempotency-Key" in refused["errors"], refused
    assert _count(Request) == 1


def test_keys_are_scoped_per_account(app, firm, responsable):
    """Two accounts using the same key at the same time each get their own request."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    stranger = login_client(app)
    link_account(app, stranger.account.id, contact_id=other.rebecca, organisation_id=other.firm)
    mine = login_client(app, email=responsable.email)
    answers = at_once(
        [
            _post(
                client,
                f"/api/profiles/{profile}/requests",
                json={"item": "add-relation", "variables": _add_new(1)},
                headers={"Idempotency-Key": "cle-partagee"},
            )
            for client, profile in ((mine, firm.firm), (stranger, other.firm))
        ]
    )
    assert [status for status, _ in answers] == [202, 202], answers
    assert answers[0][1]["number"] != answers[1][1]["number"]
    assert [answers[0][1]["profile_id"], answers[1][1]["profile_id"]] == [firm.firm, other.firm]
    assert _count(Request) == 2
    assert _count(IdempotencyKey) == 2


# ---------------------------------------------------------------- R8: agents racing


def test_two_agents_approving_at_once_approve_once(app, waiting, two_agents):
    """Two agents approve the same request at once: one 200, one 409, one approval, one apply."""
    outcomes = []
    for request in waiting:
        url = f"/api/agent/requests/{request.number}/approve"
        answers = at_once([_post(agent, url, json={}) for agent in two_agents])
        outcomes.append(sorted(status for status, _ in answers))
    assert outcomes == [[200, 409]] * len(waiting), Counter(map(tuple, outcomes))
    applies = _apply_messages()
    for request in waiting:
        assert _triggers(request.id)["approve"] == 1, request.number
        assert applies[request.id] == 1, request.number


def test_approve_and_reject_at_once_decide_once(app, waiting, two_agents):
    """One agent approves while another rejects: exactly one decision stands, the other is 409."""
    alex, sam = two_agents
    outcomes, winners = [], {}
    for request in waiting:
        base = f"/api/agent/requests/{request.number}"
        answers = at_once(
            [
                _post(alex, f"{base}/approve", json={}),
                _post(sam, f"{base}/reject", json={"reason": "Numéro de client d'un autre."}),
            ]
        )
        outcomes.append(sorted(status for status, _ in answers))
        winners[request.id] = "approved" if answers[0][0] == 200 else "rejected"
    assert outcomes == [[200, 409]] * len(waiting), Counter(map(tuple, outcomes))
    applies = _apply_messages()
    for request in waiting:
        stored = db.session.get(Request, request.id, populate_existing=True)
        assert stored is not None and stored.state == winners[request.id], request.number
        triggers = _triggers(request.id)
        assert triggers["approve"] + triggers["reject"] == 1, (request.number, triggers)
        assert applies[request.id] == (1 if stored.state == "approved" else 0), request.number


def test_two_agents_claiming_at_once_claim_once(app, waiting, two_agents):
    """Two agents claim the same request at once: one gets it, the other a 409."""
    outcomes, winners = [], {}
    for request in waiting:
        url = f"/api/agent/requests/{request.number}/claim"
        answers = at_once([_post(agent, url) for agent in two_agents])
        outcomes.append(sorted(status for status, _ in answers))
        winner = two_agents[0 if answers[0][0] == 200 else 1]
        winners[request.id] = winner.account.id  # type: ignore[attr-defined]
    assert outcomes == [[200, 409]] * len(waiting), Counter(map(tuple, outcomes))
    for request in waiting:
        stored = db.session.get(Request, request.id, populate_existing=True)
        assert stored is not None
        assert stored.claimed_by_account_id == winners[request.id], request.number
        assert _triggers(request.id)["claim"] == 1, request.number


# ---------------------------------------------------------------- R5: concurrent redelivery


def _run_handler_in_thread(app: Flask, topic: str, request_id: int) -> Callable[[], str]:
    def call() -> str:
        with app.app_context():
            copy = queue.OutboxMessage(topic=topic, payload={"request_id": request_id})
            try:
                queue.handler_for(topic).func(copy)
                db.session.commit()
                return "ran"
            except Conflict:  # the CAS lost to the other worker: RQ would retry, a no-op then
                db.session.rollback()
                return "conflict"

    return call


def test_same_pipeline_message_run_twice_at_once_takes_effect_once(app, firm, responsable):
    """Two workers run the same check, then the same apply, at once: one transition, one effect each."""
    for n in range(max(1, TRIALS // 4)):
        _submit(responsable, firm, _add_new(1000 + n))
    ids = list(db.session.scalars(select(Request.id).order_by(Request.id)))
    for topic in (service.CHECK_TOPIC, service.APPLY_TOPIC):  # every check before any apply
        for request_id in ids:
            results = at_once([_run_handler_in_thread(app, topic, request_id)] * 2)
            assert "ran" in results, results
    queue.run_until_idle()
    for request_id in ids:
        request = db.session.get(Request, request_id, populate_existing=True)
        assert request is not None and request.state == "applied"
        triggers = _triggers(request_id)
        assert triggers == Counter(submit=1, start_check=1, pass_check=1, apply=1), triggers
        assert _count(ProfileChange, ProfileChange.request_id == request_id) == len(
            request.changeset or []
        )
        assert _count(Contact, Contact.created_by_request_id == request_id) == 1
