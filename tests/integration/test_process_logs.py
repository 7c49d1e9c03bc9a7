"""Logs an operator can ship: gunicorn (``gunicorn.conf.py``), the dev server and Alembic write
JSON lines, the access line carrying the request id, no terminal colours inside."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.http_helpers import gunicorn

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def _env(app, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CATALOGUE_SECRET_KEY": app.config["SECRET_KEY"],
        "CATALOGUE_INSTANCE_PATH": app.instance_path,
        "FLASK_APP": "catalogue_svc",
    }
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _serve(
    command: list[str], env: dict[str, str], port: int, log_path: Path, banner: bool = False
) -> list[dict]:
    """Run a server, call /healthz with a request id, stop it; its log lines, parsed (with
    ``banner``, the lines flask run prints itself, not through logging, are left out)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while _get(port, "/healthz") != 200:
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert _get(port, "/healthz", {"X-Request-Id": "ops-check-42"}) == 200
            assert _get(port, "/no-such-page") == 404  # werkzeug colours a 404's line
            time.sleep(0.5)  # the access line is written after the answer
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    text = log_path.read_text()
    assert "\x1b" not in text and "\\u001b" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    if banner:
        lines = [line for line in lines if not line.startswith(" * ")]
    try:
        return [json.loads(line) for line in lines]
    except json.JSONDecodeError as exc:
        raise AssertionError(f"a line is not JSON: {text}") from exc


def test_gunicorn_logs_are_json_lines_with_the_request_id(app, tmp_path):
    """Under gunicorn.conf.py every error and access line is JSON; the access line of a call
    carries the request id the service echoed."""
    port = _free_port()
    records = _serve(
        gunicorn(port, "-c", "gunicorn.conf.py"),
        _env(app, tmp_path),
        port,
        tmp_path / "gunicorn.log",
    )
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert any(
        r.get("request_id") == "ops-check-42" and r["path"] == "/healthz" and r["status"] == 200
        for r in access
    ), access
    assert any(r["logger"] == "gunicorn.error" for r in records)


def test_dev_server_request_lines_are_json_without_colours(app, tmp_path):
    """flask run's request lines (werkzeug colours them) are JSON lines without ANSI codes."""
    port = _free_port()
    records = _serve(
        [
            sys.executable,
            "-m",
            "flask",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-reload",
        ],
        _env(app, tmp_path),
        port,
        tmp_path / "flask.log",
        banner=True,
    )
    assert any("/no-such-page" in r["msg"] and r["logger"] == "werkzeug" for r in records)


def test_alembic_lines_are_json(tmp_path):
    """flask migrate on a fresh database: Alembic's lines are JSON lines, without colours."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "CATALOGUE_INSTANCE_PATH": str(tmp_path),
        "FLASK_APP": "catalogue_svc",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "\x1b" not in result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert any(r["logger"].startswith("alembic") for r in records), result.stderr
