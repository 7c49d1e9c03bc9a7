"""The validation's service level as agents and submitters meet it: a due time on Québec
business days from entering the queue, paused by an agent's question and resumed by the answer,
stopped at the decision, each step in the request's history (issue 17, items 2 and 5)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from catalogue_svc.clock import clock
from catalogue_svc.config import ConfigError, load_settings
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request, RequestComment
from tests.accounts_helpers import link_account, login_client
from tests.factories import guide_firm
from tests.queue_helpers import queued_request

MONTREAL = ZoneInfo("America/Montreal")
# A Friday afternoon: two business days later is Tuesday at the same time.
FRIDAY_16H = dt.datetime(2026, 12, 11, 16, 0, tzinfo=MONTREAL)


@pytest.fixture()
def app(make_app, request):
    """The app on a frozen clock (Friday 11 December 2026, 16 h in Montréal, unless the test
    gives another instant), with sessions and claims that outlast the days the tests move
    through."""
    application = make_app(
        CATALOGUE_SESSION_IDLE="86400",
        CATALOGUE_SESSION_ABSOLUTE=str(7 * 86400),
        CATALOGUE_CLAIM_LAPSE=str(7 * 86400),
    )
    clock.freeze(getattr(request, "param", FRIDAY_16H).astimezone(dt.UTC))
    with application.app_context():
        yield application


def _stored(number: str) -> Request:
    return db.session.scalar(
        select(Request).where(Request.number == number).execution_options(populate_existing=True)
    )


def _move_to(at: dt.datetime, *people) -> None:
    """Time passes until ``at``; ``people`` use the service twice a day meanwhile (their
    sessions stay open, as an agent's at work)."""
    target = at.astimezone(dt.UTC)
    while clock.now() < target:
        clock.freeze(min(target, clock.now() + dt.timedelta(hours=12)))
        for client in people:
            assert client.get("/api/catalogue").status_code == 200


def _triggers(client, number: str) -> list[str]:
    return [h["trigger"] for h in client.get(f"/api/requests/{number}").json["history"]]


def test_entering_the_queue_sets_a_due_time_two_business_days_later(
    app, firm, responsable, run_jobs
):
    """Friday 16 h + 2 business days (16 business hours) = Tuesday 16 h; the history says so."""
    number = queued_request(responsable, firm, run_jobs)
    assert _stored(number).due_at == dt.datetime(2026, 12, 15, 16, 0, tzinfo=MONTREAL)
    start = next(
        h
        for h in responsable.get(f"/api/requests/{number}").json["history"]
        if h["trigger"] == "clock_start"
    )
    assert start["reason"] == (
        "Délai de validation : 2 jours ouvrables, échéance le 15 décembre 2026 à 16 h 00."
    )


def test_the_submitter_sees_the_expected_decision_date(app, firm, responsable, run_jobs):
    """Mes demandes and the request's page say « Décision prévue au plus tard le … »."""
    number = queued_request(responsable, firm, run_jobs)
    listed = responsable.get(f"/api/profiles/{firm.firm}/requests").json["items"][0]
    detail = responsable.get(f"/api/requests/{number}").json
    for body in (listed, detail):
        assert body["expected_decision"] == "2026-12-15"
        assert body["expected_decision_text"] == "Décision prévue au plus tard le 15 décembre 2026"


@pytest.mark.parametrize(
    "app", [dt.datetime(2026, 12, 24, 16, 0, tzinfo=MONTREAL)], indirect=True, ids=["24-12"]
)
def test_the_due_time_skips_holidays(app, firm, responsable, run_jobs):
    """Entering the queue on 24 December 2026 at 16 h: Noël and the weekend are not counted."""
    number = queued_request(responsable, firm, run_jobs)
    # 30 min on the 24th, 8 h on Monday 28, 7 h 30 on Tuesday 29.
    assert _stored(number).due_at == dt.datetime(2026, 12, 29, 16, 0, tzinfo=MONTREAL)


def test_a_forms_target_comes_from_the_configuration(make_app, run_jobs):
    """CATALOGUE_VALIDATION_TARGETS gives add-relation 4 business hours: due Monday 12 h."""
    other = make_app(CATALOGUE_VALIDATION_TARGETS="add-relation=4")
    clock.freeze(FRIDAY_16H.astimezone(dt.UTC))
    with other.app_context():
        firm = guide_firm(other)
        client = login_client(other, email="rebecca@laforce.example")
        link_account(other, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
        number = queued_request(client, firm, run_jobs)
        stored = _stored(number)
        assert stored.sla_target_minutes == 240
        assert stored.due_at == dt.datetime(2026, 12, 14, 12, 0, tzinfo=MONTREAL)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CATALOGUE_VALIDATION_TARGET", "0"),
        ("CATALOGUE_VALIDATION_TARGET", "deux jours"),
        ("CATALOGUE_VALIDATION_TARGETS", "add-relation=-3"),
        ("CATALOGUE_VALIDATION_TARGETS", "formulaire-inconnu=8"),
        ("CATALOGUE_CLOSURE_DAYS", "2026-12-32"),
        ("CATALOGUE_BUSINESS_HOURS", "16:30-08:30"),
        ("CATALOGUE_BUSINESS_DAYS", "8"),
        ("CATALOGUE_ESCALATION_SHARE", "100"),
        ("CATALOGUE_ESCALATION_SHARE", "trois quarts"),
        ("CATALOGUE_OVERDUE_CLAIM_LAPSE", "0"),
    ],
)
def test_a_bad_service_level_setting_stops_the_start_naming_it(
    tmp_path, name: str, value: str
) -> None:
    """A target that is not a positive duration, a closure day that is not a date…: the
    service refuses to start, with a French sentence naming the variable."""
    with pytest.raises(ConfigError) as info:
        load_settings({"CATALOGUE_INSTANCE_PATH": str(tmp_path), name: value})
    assert str(info.value).startswith(f"{name} : ")


def test_an_agents_question_pauses_and_the_answer_moves_the_due_time(
    app, firm, responsable, agent, run_jobs
):
    """Asked on Monday at 10 h, answered on Tuesday at 9 h: 7 business hours waited, and the
    due time moves from Tuesday 16 h to Wednesday 15 h; both steps are in the history."""
    number = queued_request(responsable, firm, run_jobs)
    _move_to(dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/claim")
    asked = agent.post(
        f"/api/requests/{number}/comments",
        json={"body": "Quelle est la date d'entrée en fonction ?", "asks_answer": True},
    )
    assert asked.status_code == 201, asked.json
    assert asked.json["asks_answer"] is True
    waiting = responsable.get(f"/api/requests/{number}").json
    assert waiting["expected_decision"] is None
    assert waiting["awaiting_answer_since"] is not None
    assert waiting["expected_decision_text"].startswith(
        "En attente de votre réponse depuis le 14 décembre 2026 à 10 h 00"
    )
    _move_to(dt.datetime(2026, 12, 15, 9, 0, tzinfo=MONTREAL), responsable, agent)
    answered = responsable.post(f"/api/requests/{number}/comments", json={"body": "Le 4 janvier."})
    assert answered.status_code == 201, answered.json
    assert _stored(number).due_at == dt.datetime(2026, 12, 16, 15, 0, tzinfo=MONTREAL)
    history = responsable.get(f"/api/requests/{number}").json["history"]
    resumed = next(h for h in history if h["trigger"] == "clock_resume")
    assert "7 h ouvrables d'attente" in resumed["reason"]
    assert "16 décembre 2026 à 15 h 00" in resumed["reason"]
    assert [t for t in _triggers(responsable, number) if t.startswith("clock_")] == [
        "clock_start",
        "clock_pause",
        "clock_resume",
    ]
    detail = responsable.get(f"/api/requests/{number}").json
    assert detail["expected_decision_text"] == "Décision prévue au plus tard le 16 décembre 2026"


def test_a_second_question_while_waiting_pauses_once(app, firm, responsable, agent, run_jobs):
    """Two questions before the answer: one pause in the history, and the waited time counted
    from the first."""
    number = queued_request(responsable, firm, run_jobs)
    _move_to(dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/claim")
    for text in ("Première question ?", "Et une deuxième ?"):
        agent.post(f"/api/requests/{number}/comments", json={"body": text, "asks_answer": True})
        _move_to(dt.datetime(2026, 12, 14, 11, 0, tzinfo=MONTREAL), responsable, agent)
    assert _triggers(responsable, number).count("clock_pause") == 1
    assert _stored(number).sla_paused_at == dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL)


@pytest.mark.parametrize("who", ["responsable", "other_agent", "internal"])
def test_a_question_from_anyone_but_the_claiming_agent_is_refused(
    app, firm, responsable, agent, run_jobs, who
):
    """The submitter, an agent who has not claimed the request, or an internal comment cannot
    pause the clock: 422 naming asks_answer, no comment written, the clock running."""
    number = queued_request(responsable, firm, run_jobs)
    agent.post(f"/api/agent/requests/{number}/claim")
    author = {
        "responsable": responsable,
        "other_agent": login_client(app, role="agent", first_name="Bea", last_name="Autre"),
        "internal": agent,
    }[who]
    answer = author.post(
        f"/api/requests/{number}/comments",
        json={"body": "Une précision ?", "asks_answer": True, "internal": who == "internal"},
    )
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == ["asks_answer"]
    assert _stored(number).sla_paused_at is None
    assert db.session.scalar(select(RequestComment.id)) is None


def test_the_decision_stops_the_clock_within_target(app, firm, responsable, agent, run_jobs):
    """Approved before the due time: the history says the decision was within the target."""
    number = queued_request(responsable, firm, run_jobs)
    _move_to(dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/agent/requests/{number}/approve", json={"create_new_contact": True})
    stored = _stored(number)
    assert stored.sla_stopped_at == dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL)
    stop = next(
        h
        for h in responsable.get(f"/api/requests/{number}").json["history"]
        if h["trigger"] == "clock_stop"
    )
    assert stop["reason"] == "Délai de validation arrêté : décision dans le délai."
    assert responsable.get(f"/api/requests/{number}").json["expected_decision"] is None


def test_a_late_decision_says_by_how_much(app, firm, responsable, agent, run_jobs):
    """Refused on Wednesday at 16 h, due Tuesday at 16 h: late by 1 business day."""
    number = queued_request(responsable, firm, run_jobs)
    _move_to(dt.datetime(2026, 12, 16, 16, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/claim")
    refused = agent.post(f"/api/agent/requests/{number}/reject", json={"reason": "Doublon."})
    assert refused.status_code == 200, refused.json
    stop = next(
        h
        for h in responsable.get(f"/api/requests/{number}").json["history"]
        if h["trigger"] == "clock_stop"
    )
    assert stop["reason"] == ("Délai de validation arrêté : décision en retard de 1 jour ouvrable.")


def test_a_decision_while_waiting_does_not_count_the_wait(app, firm, responsable, agent, run_jobs):
    """Asked Monday 10 h, decided Wednesday 16 h without an answer: the wait is not held against
    the agent (the due time moves by it), so the decision is within target."""
    number = queued_request(responsable, firm, run_jobs)
    _move_to(dt.datetime(2026, 12, 14, 10, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/claim")
    agent.post(f"/api/requests/{number}/comments", json={"body": "Date ?", "asks_answer": True})
    _move_to(dt.datetime(2026, 12, 16, 16, 0, tzinfo=MONTREAL), responsable, agent)
    agent.post(f"/api/agent/requests/{number}/reject", json={"reason": "Sans réponse."})
    stored = _stored(number)
    assert stored.sla_paused_at is None
    # Tuesday 16 h + the 22 business hours waited (Monday 10 h to Wednesday 16 h).
    assert stored.due_at == dt.datetime(2026, 12, 18, 14, 0, tzinfo=MONTREAL)
    assert "dans le délai" in next(
        h["reason"]
        for h in responsable.get(f"/api/requests/{number}").json["history"]
        if h["trigger"] == "clock_stop"
    )
