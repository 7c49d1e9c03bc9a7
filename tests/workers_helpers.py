"""Real `worker.py` processes for the integration tests: their environment (the test's database,
Redis and SMTP sink), a long-running one, and a ``--burst`` run that must end cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# A killed worker's messages come back soon: a short lease and a sweeper every half second.
SHORT_LEASES = {"CATALOGUE_SWEEP_INTERVAL": "0.5", "CATALOGUE_OUTBOX_LEASE": "2"}


def worker_env(app: Any, redis_url: str, smtp_url: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process sharing the test's database, with ``settings``
    (more ``CATALOGUE_*`` variables) on top."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "CATALOGUE_SMTP_URL": smtp_url,
        "CATALOGUE_SECRET_KEY": app.config["SECRET_KEY"],
        "CATALOGUE_INSTANCE_PATH": app.instance_path,
        **settings,
    }


def start_worker(env: dict[str, str], queue_name: str) -> subprocess.Popen[bytes]:
    """One `worker.py` process on one queue."""
    return subprocess.Popen(
        [sys.executable, "worker.py", queue_name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_burst(env: dict[str, str], queue_name: str, *, timeout: float) -> None:
    """`worker.py <queue> --burst` (no sweeper of its own) until the queue is empty; it exits 0."""
    result = subprocess.run(
        [sys.executable, "worker.py", queue_name, "--burst", "--sweep-interval", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-2000:]
