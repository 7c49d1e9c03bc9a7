"""The embedded mode sends what the CLI queued as soon as the service runs, without a request.

The embedded mode is SQLite without Redis: these tests run the real ``flask`` commands in
subprocesses on their own SQLite file, whatever ``CATALOGUE_TEST_DB`` says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalogue_svc.demo import DOSSIERS
from tests.servers import SmtpSink, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"
WAIT_SECONDS = 60  # an upper bound for a loaded machine, not a timing expectation


def _responsable_email() -> str:
    """The demo's responsable (the documented example's too), who gets the linking email."""
    document = json.loads(DOSSIERS.read_text(encoding="utf-8"))
    return next(c["email"] for c in document["contacts"] if c.get("send_linking_credentials"))


@pytest.fixture()
def embedded_env(tmp_path: Path, mailbox: SmtpSink) -> dict[str, str]:
    """The environment of an embedded service on a fresh SQLite file, mailing to the sink."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CATALOGUE_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        FLASK_APP="catalogue_svc",
        DATABASE_URL=f"sqlite:///{tmp_path / 'catalogue.sqlite3'}",
        CATALOGUE_INSTANCE_PATH=str(tmp_path / "instance"),
        CATALOGUE_SMTP_URL=mailbox.url,
    )
    return env


def _flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "command",
    [("load-demo",), ("import-dossiers", str(EXAMPLE), "--quiet")],
    ids=["load-demo", "import-dossiers"],
)
def test_queued_emails_leave_when_the_service_starts_without_a_request(
    embedded_env, mailbox, command
):
    """The CLI queues the courriel explicatif; `flask run` sends it with no request."""
    _flask(embedded_env, "migrate")
    said = _flask(embedded_env, *command)
    to = _responsable_email()
    assert mailbox.to(to) == []  # the CLI command's app queues; it never sends
    assert "Les courriels partent dès que le service tourne" in said or (
        "Les courriels partiront dès que le service tournera" in said
    )

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)],
        env={**embedded_env, "CATALOGUE_BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not mailbox.to(to) and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        received = mailbox.to(to)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    assert [m["Subject"] for m in received] == [
        "Vos coordonnées de liaison aux services en ligne"
    ], errors
