"""Escalation of the validation queue: the supervisors get one email when a request has used 75 %
of its target and one when it is overdue, never twice, even when messages are delivered again;
a pause holds the reminders back (issue 17, item 4)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from catalogue_svc import queue
from catalogue_svc.agents.service import make_supervisor
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.errors import ValidationFailed
from tests.accounts_helpers import login_client
from tests.queue_helpers import SUPERVISOR, queued_request

MONTREAL = ZoneInfo("America/Montreal")
MONDAY_9H = dt.datetime(2026, 12, 14, 9, 0, tzinfo=MONTREAL)


@pytest.fixture()
def app(make_app):
    """The app on a frozen clock (Monday 14 December 2026, 9 h), with a 4-business-hour target
    for add-relation: 75 % is at 12 h, overdue at 13 h."""
    application = make_app(
        CATALOGUE_VALIDATION_TARGETS="add-relation=4",
        CATALOGUE_CLAIM_LAPSE="86400",
        CATALOGUE_SESSION_IDLE="86400",
    )
    clock.freeze(MONDAY_9H.astimezone(dt.UTC))
    with application.app_context():
        yield application


def _at(hour: int, minute: int = 0, day: int = 14) -> None:
    clock.freeze(dt.datetime(2026, 12, day, hour, minute, tzinfo=MONTREAL).astimezone(dt.UTC))


def _escalations(mailbox, run_jobs) -> list[str]:
    run_jobs()
    return [m["Subject"] for m in mailbox.to(SUPERVISOR)]


def test_the_supervisor_is_told_at_75_percent_then_when_overdue(
    app, firm, responsable, supervisor, run_jobs, mailbox
):
    """Nothing before 12 h; at 12 h one email (75 %), at 13 h one more (overdue), then no more."""
    number = queued_request(responsable, firm, run_jobs)
    _at(11, 59)
    assert _escalations(mailbox, run_jobs) == []
    _at(12, 0)
    assert _escalations(mailbox, run_jobs) == [f"Demande {number} : 75 % du délai écoulé"]
    _at(13, 0)
    assert _escalations(mailbox, run_jobs) == [
        f"Demande {number} : 75 % du délai écoulé",
        f"Demande {number} : en retard",
    ]
    _at(15, 0, day=15)
    assert len(_escalations(mailbox, run_jobs)) == 2


def test_redelivered_escalations_send_one_email_per_threshold(
    app, firm, responsable, supervisor, run_jobs, mailbox
):
    """The threshold's message delivered again (a worker killed after its commit, the sweeper
    republishing): still one email to each supervisor for each threshold."""
    number = queued_request(responsable, firm, run_jobs)
    _at(13, 0)
    run_jobs()
    done = db.session.scalars(
        select(queue.OutboxMessage).where(queue.OutboxMessage.topic == "sla.escalate")
    ).all()
    assert done
    # Every escalation message as if it had never been marked done.
    db.session.execute(
        update(queue.OutboxMessage)
        .where(queue.OutboxMessage.topic == "sla.escalate")
        .values(done_at=None, attempts=0, available_at=clock.now())
    )
    db.session.commit()
    assert sorted(_escalations(mailbox, run_jobs)) == [
        f"Demande {number} : 75 % du délai écoulé",
        f"Demande {number} : en retard",
    ]


def test_every_supervisor_gets_one_and_agents_none(
    app, firm, responsable, supervisor, agent, run_jobs, mailbox
):
    """Two supervisors: one email each per threshold; a plain agent gets none."""
    second = "marc.superviseur@catalogue.example"
    login_client(app, role="agent", email=second, first_name="Marc", last_name="Superviseur")
    make_supervisor(email=second)
    db.session.commit()
    queued_request(responsable, firm, run_jobs)
    _at(12, 30)
    run_jobs()
    assert len(mailbox.to(SUPERVISOR)) == 1
    assert len(mailbox.to(second)) == 1
    assert mailbox.to(agent.account.email) == []


def test_a_pause_holds_the_reminders_until_the_answer_moves_them(
    app, firm, responsable, supervisor, agent, run_jobs, mailbox
):
    """Asked at 10 h, answered at 11 h: 75 % moves to 13 h, overdue to 14 h."""
    number = queued_request(responsable, firm, run_jobs)
    _at(10, 0)
    agent.post(f"/api/agent/requests/{number}/claim")
    asked = agent.post(
        f"/api/requests/{number}/comments", json={"body": "Date ?", "asks_answer": True}
    )
    assert asked.status_code == 201, asked.json
    _at(11, 0)
    answered = responsable.post(f"/api/requests/{number}/comments", json={"body": "Le 4 janvier."})
    assert answered.status_code == 201, answered.json
    _at(12, 30)
    assert _escalations(mailbox, run_jobs) == []
    _at(13, 0)
    assert _escalations(mailbox, run_jobs) == [f"Demande {number} : 75 % du délai écoulé"]
    _at(14, 0)
    assert len(_escalations(mailbox, run_jobs)) == 2


def test_a_decided_request_is_not_escalated(
    app, firm, responsable, supervisor, agent, run_jobs, mailbox
):
    """Approved at 10 h: the reminders of 12 h and 13 h send nothing."""
    number = queued_request(responsable, firm, run_jobs)
    _at(10, 0)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/agent/requests/{number}/approve", json={"create_new_contact": True})
    _at(14, 0)
    assert _escalations(mailbox, run_jobs) == []


def test_only_an_agent_can_be_made_supervisor(app, responsable):
    """The operator's command refuses an account that is not an agent, naming the email."""
    with pytest.raises(ValidationFailed) as info:
        make_supervisor(email="rebecca@laforce.example")
    assert list(info.value.errors) == ["email"]


def test_the_cli_makes_a_supervisor(app, supervisor):
    """flask create-supervisor --email names an agent supervisor; an unknown one exits 1."""
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["create-supervisor", "--email", SUPERVISOR])
    assert ok.exit_code == 0 and "Superviseur désigné" in ok.output
    bad = runner.invoke(args=["create-supervisor", "--email", "personne@nulle.part"])
    assert bad.exit_code == 1
    assert "email : Aucun compte d'agent" in bad.output
