"""``CATALOGUE_METRICS``: ``/metrics`` refused on the service's port (``off``) or served only on a
port of its own (``[host:]port``), under gunicorn's workers and under ``flask run``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalogue_svc.config import ConfigError, load_settings
from catalogue_svc.ops.metrics import serve_privately
from tests.http_helpers import gunicorn
from tests.http_helpers import healthz_count as _healthz_count
from tests.http_helpers import http_get as _get

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(app, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REDIS_URL", "CATALOGUE_METRICS_TOKEN", "CATALOGUE_METRICS")
    }
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        CATALOGUE_SECRET_KEY=app.config["SECRET_KEY"],
        CATALOGUE_INSTANCE_PATH=app.instance_path,
        **extra,
    )
    return env


def _start(command: list[str], env: dict[str, str], log_path: Path, port: int):
    log = open(log_path, "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while _get(port, "/healthz")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(log_path.read_text())
        time.sleep(0.2)
    return process, log


def _stop(process, log) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        log.close()


@pytest.mark.parametrize("value", ["abc", "9102:hote", "99999", "127.0.0.1:", ":", "0"])
def test_a_malformed_metrics_setting_is_refused_by_name(value, tmp_path):
    """CATALOGUE_METRICS other than app, off, a port or host:port stops the start, naming it."""
    with pytest.raises(ConfigError, match="CATALOGUE_METRICS doit valoir app, off"):
        load_settings({"CATALOGUE_INSTANCE_PATH": str(tmp_path), "CATALOGUE_METRICS": value})


def test_a_bare_port_listens_on_loopback(tmp_path):
    """CATALOGUE_METRICS=9102 means 127.0.0.1:9102, never every interface."""
    settings = load_settings(
        {"CATALOGUE_INSTANCE_PATH": str(tmp_path), "CATALOGUE_METRICS": "9102"}
    )
    assert (settings.metrics, settings.metrics_listen) == ("listen", ("127.0.0.1", 9102))


def test_metrics_off_refuses_even_a_scraper_on_this_machine(make_app):
    """With CATALOGUE_METRICS=off the service's port answers 404 to a loopback caller too."""
    assert make_app().test_client().get("/metrics").status_code == 200
    client = make_app(CATALOGUE_METRICS="off").test_client()
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.get_json()["title"] == "Ressource introuvable"


def test_the_metrics_port_asks_for_the_token_when_one_is_set(make_app):
    """With CATALOGUE_METRICS_TOKEN set, the listener answers only its bearer; other paths 404."""
    port = _free_port()
    app = make_app(CATALOGUE_METRICS=str(port), CATALOGUE_METRICS_TOKEN=TOKEN)
    server = serve_privately(app, "127.0.0.1", port)
    try:
        assert _get(port, "/metrics")[0] == 404
        assert _get(port, "/metrics", {"Authorization": "Bearer faux"})[0] == 404
        status, text = _get(port, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert "catalogue_tracked_requests" in text
        assert _get(port, "/healthz", {"Authorization": f"Bearer {TOKEN}"})[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_gunicorn_serves_metrics_only_on_the_private_port(app, tmp_path):
    """Under gunicorn.conf.py with two workers and CATALOGUE_METRICS=127.0.0.1:PORT, the public
    port answers 404 for /metrics, and each scrape of the private one counts every call so far."""
    public, private = _free_port(), _free_port()
    env = _env(
        app,
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        CATALOGUE_METRICS=f"127.0.0.1:{private}",
    )
    command = gunicorn(public, "-c", "gunicorn.conf.py")
    process, log = _start(command, env, tmp_path / "gunicorn.log", public)
    try:
        calls, seen = 1, []
        for _ in range(10):
            assert _get(public, "/metrics")[0] == 404
            assert _get(public, "/healthz")[0] == 200
            calls += 1
            status, text = _get(private, "/metrics")
            assert status == 200
            seen.append(_healthz_count(text))
        assert seen == sorted(seen), seen
        assert seen[-1] == calls, seen
        assert _get(private, "/healthz")[0] == 404
    finally:
        _stop(process, log)
    assert "Metrics listening at: http://127.0.0.1:" in (tmp_path / "gunicorn.log").read_text()


def test_a_taken_metrics_port_stops_gunicorn_naming_the_variable(app, tmp_path):
    """A metrics port already in use stops gunicorn with a French sentence and status 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(app, CATALOGUE_METRICS=str(port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "m"))
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        command += ["--bind", f"127.0.0.1:{_free_port()}", "catalogue_svc:create_app()"]
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        f"CATALOGUE_METRICS : impossible d'écouter sur 127.0.0.1:{port} (le port est déjà pris)."
        in done.stderr
    )


def test_flask_run_serves_metrics_only_on_the_private_port(app, tmp_path):
    """The dev server with CATALOGUE_METRICS=PORT answers /metrics on that port, 404 on its own."""
    public, private = _free_port(), _free_port()
    env = _env(app, CATALOGUE_METRICS=str(private))
    command = [sys.executable, "-m", "flask", "--app", "catalogue_svc", "run"]
    command += ["--port", str(public), "--no-reload"]
    process, log = _start(command, env, tmp_path / "flask.log", public)
    try:
        assert _get(public, "/metrics")[0] == 404
        status, text = _get(private, "/metrics")
        assert status == 200
        assert _healthz_count(text) >= 1
    finally:
        _stop(process, log)
