"""The validation queue's figures: ``GET /api/agent/stats`` for supervisors, and the queue's lines
of ``/metrics`` (overdue, decisions within target as counters) (issue 17, item 6)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalogue_svc.clock import clock
from tests.queue_helpers import nth_in_queue

MONTREAL = ZoneInfo("America/Montreal")


@pytest.fixture()
def app(make_app):
    """The app on a frozen clock (Monday 14 December 2026, 9 h), add-relation due in 4 business
    hours."""
    application = make_app(
        CATALOGUE_VALIDATION_TARGETS="add-relation=4",
        CATALOGUE_CLAIM_LAPSE="86400",
        CATALOGUE_SESSION_IDLE="86400",
    )
    clock.freeze(dt.datetime(2026, 12, 14, 9, 0, tzinfo=MONTREAL).astimezone(dt.UTC))
    with application.app_context():
        yield application


def _at(hour: int, minute: int = 0) -> None:
    clock.freeze(dt.datetime(2026, 12, 14, hour, minute, tzinfo=MONTREAL).astimezone(dt.UTC))


def _decide(agent, number: str) -> None:
    agent.post(f"/api/agent/requests/{number}/claim")
    answer = agent.post(f"/api/agent/requests/{number}/reject", json={"reason": "Doublon."})
    assert answer.status_code == 200, answer.json


def test_a_supervisor_reads_the_queue_and_each_forms_figures(
    app, firm, responsable, supervisor, agent, run_jobs
):
    """Three received; one decided in 1 business hour, one in 5 (late); one still waiting and
    overdue at 14 h: received 3, decided 2, within target 1, median 3 business hours."""
    fast, slow, waiting = (nth_in_queue(responsable, firm, run_jobs, n) for n in range(3))
    _at(10, 0)
    _decide(agent, fast)
    _at(14, 0)
    _decide(agent, slow)
    stats = supervisor.get("/api/agent/stats")
    assert stats.status_code == 200, stats.json
    assert stats.json["queue"] == {
        "agent_validation": 1,
        "failed": 0,
        "overdue": 1,
        "awaiting_answer": 0,
        "oldest_age_seconds": 5 * 3600,
    }
    [form] = stats.json["forms"]
    assert form == {
        "form": "add-relation",
        "title": form["title"],
        "received": 3,
        "decided": 2,
        "within_target": 1,
        "median_business_hours": 3.0,
    }
    assert waiting


def test_the_stats_are_for_supervisors_only(app, agent, responsable):
    """A plain agent gets 403 in French; a firm's account too."""
    for client in (agent, responsable):
        answer = client.get("/api/agent/stats")
        assert answer.status_code == 403
        assert "superviseurs" in answer.json["detail"] or "agents" in answer.json["detail"]


def test_metrics_count_overdue_requests_and_decisions_within_target(
    app, firm, responsable, agent, run_jobs, client
):
    """/metrics: one overdue, one decision within target and one late, as counters."""
    fast, slow, _ = (nth_in_queue(responsable, firm, run_jobs, n) for n in range(3))
    _at(10, 0)
    _decide(agent, fast)
    _at(14, 0)
    _decide(agent, slow)
    text = client.get("/metrics").get_data(as_text=True)
    assert "catalogue_validation_overdue 1.0\n" in text
    assert 'catalogue_validation_decisions_total{within_target="true"} 1.0\n' in text
    assert 'catalogue_validation_decisions_total{within_target="false"} 1.0\n' in text
