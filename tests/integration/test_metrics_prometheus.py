"""``/metrics`` through ``prometheus-client``: valid Prometheus text named by the conventions,
and counters that add up across gunicorn's workers (``gunicorn.conf.py``'s multiprocess mode)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.http_helpers import gunicorn
from tests.http_helpers import healthz_count as _healthz_count
from tests.http_helpers import http_get as _get

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("_seconds", "_bytes", "_ratio")
COUNTS = ("requests", "messages", "emails", "pending", "failed", "overdue", "answer", "stuck")


def _families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_parse_and_follow_the_naming_rules(app, client):
    """Every family parses, has a HELP, a catalogue_ prefix, a unit or a count in its name,
    and counters end in _total."""
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    families = list(text_string_to_metric_families(text))
    assert families
    for family in families:
        assert family.name.startswith("catalogue_"), family.name
        assert family.documentation, family.name
        assert re.fullmatch(r"[a-z_]+", family.name), family.name
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        elif family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        else:
            assert family.name.endswith(UNITS) or family.name.endswith(COUNTS), family.name
    names = {family.name for family in families}
    assert "catalogue_tracked_requests" in names  # request states, named apart from HTTP
    assert "catalogue_http_requests" in names


def test_labelled_series_are_present_at_zero_from_the_start(app, client):
    """On an empty database each state, each topic's backlog, failed messages and job
    durations are already listed, at 0."""
    families = _families(client.get("/metrics").get_data(as_text=True))
    states = {s.labels["state"]: s.value for s in families["catalogue_tracked_requests"].samples}
    assert states["applied"] == 0 and states["agent_validation"] == 0
    failed = {
        s.labels["topic"]: s.value for s in families["catalogue_outbox_failed_messages"].samples
    }
    assert failed.get("email.send") == 0
    assert families["catalogue_outbox_failed_messages"].type == "gauge"
    jobs = families["catalogue_job_duration_seconds"]
    assert jobs.type == "histogram"
    counts = {s.labels["topic"]: s.value for s in jobs.samples if s.name.endswith("_count")}
    assert counts.get("email.send") == 0


def test_a_failed_outbox_message_shows_as_a_gauge(app, client):
    """A message that exhausted its attempts is counted in catalogue_outbox_failed_messages."""
    from catalogue_svc import queue
    from catalogue_svc.db import db

    queue.emit("email.send", {"email_id": 0})
    db.session.commit()
    db.session.execute(queue.OutboxMessage.__table__.update().values(failed=True))
    db.session.commit()
    families = _families(client.get("/metrics").get_data(as_text=True))
    failed = {
        s.labels["topic"]: s.value for s in families["catalogue_outbox_failed_messages"].samples
    }
    assert failed["email.send"] == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gunicorn_workers_scraped_several_times_count_every_call(app, tmp_path):
    """Under gunicorn.conf.py with two workers, each scrape counts every call so far, whichever
    worker answers: the counts only grow and end at the number of calls."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CATALOGUE_SECRET_KEY": app.config["SECRET_KEY"],
        "CATALOGUE_INSTANCE_PATH": app.instance_path,
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        gunicorn(port, "-c", "gunicorn.conf.py"),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while _get(port, "/healthz")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "gunicorn.log"
            ).read_text()
            time.sleep(0.2)
        calls, seen = 1, []
        for _ in range(20):
            assert _get(port, "/healthz")[0] == 200
            calls += 1
            status, text = _get(port, "/metrics")
            assert status == 200
            seen.append(_healthz_count(text))
        assert seen == sorted(seen), seen
        assert seen[-1] == calls, seen
        pids = {
            line.split("pid: ")[1].split()[0]
            for line in (tmp_path / "gunicorn.log").read_text().splitlines()
            if "Booting worker with pid" in line
        }
        assert len(pids) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
