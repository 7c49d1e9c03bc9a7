"""Requests waiting in the agents' validation queue, and the supervisor who watches it, for the
tests of the queue, its due times, its escalation and its figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from catalogue_svc.agents.service import make_supervisor
from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact
from tests.accounts_helpers import login_client
from tests.factories import Firm, add_julie_levesque
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER, state_of, submit

SUPERVISOR = "sophie.superviseure@catalogue.example"


def logged_in_supervisor(app: Any) -> Any:
    """Sophie, an agent made supervisor, logged in."""
    client = login_client(
        app, role="agent", email=SUPERVISOR, first_name="Sophie", last_name="Superviseure"
    )
    make_supervisor(email=SUPERVISOR)
    db.session.commit()
    return client


def queued_request(client: Any, firm: Firm, run_jobs: Callable[[], int]) -> str:
    """The number of a request in the queue: Julie Levesque, already in the store (added on the
    first call), is its probable duplicate."""
    if db.session.scalar(select(Contact.id).where(Contact.last_name == "Levesque")) is None:
        add_julie_levesque()
    answer = submit(client, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 202, answer.json
    run_jobs()
    number: str = answer.json["number"]
    assert state_of(number) == "agent_validation"
    return number


def nth_in_queue(client: Any, firm: Firm, run_jobs: Callable[[], int], n: int) -> str:
    """The number of a request in the queue for the n-th new person (a probable duplicate of one
    in the store, added for it)."""
    person = {**NEW_MEMBER, "last_name": f"Nom{n}", "email": f"p{n}@laforce.example"}
    db.session.add(
        Contact(
            first_name=person["first_name"],
            last_name=person["last_name"],
            birth_date=dt.date(1990, 5, 17),
            email=f"autre{n}@ailleurs.example",
        )
    )
    db.session.commit()
    answer = submit(client, firm, "add-relation", {**ADD_NEW, "new_contact": person})
    assert answer.status_code == 202, answer.json
    run_jobs()
    number: str = answer.json["number"]
    assert state_of(number) == "agent_validation"
    return number
