"""Peak RSS of a gunicorn web worker after the submission load, and of an RQ worker after it
drained the submitted requests.

Read from ``/proc/<pid>/status`` (``VmHWM``, the high-water mark of the resident set) while the
processes are still alive, so it is each process's own peak:

* the web workers: the two gunicorn workers of ``bench.submission``'s PostgreSQL rounds, after
  their last request (the largest of the two); baseline: the bare insert app's workers, after
  the same load;
* the worker: ``python -m catalogue_svc.worker`` (or ``worker.py`` where that module does not
  exist) on the ``pipeline`` queue, started once the submissions are in, read when no submitted
  request is waiting any more (every one applied, or waiting for an agent); baseline: the same
  worker started on an empty queue, once it waits for jobs.

Runs within ``bench.submission`` (the servers must be alive); ``rows(args)`` runs the submission
benchmark if it has not run yet with the same options::

    .venv/bin/python -m bench.memory --seconds 10 --no-embedded
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import run_alone, stop_processes
from bench.table import Row, at_most

BENCH = "memory"
ROOT = Path(__file__).resolve().parent.parent
WAITING = ("submitted", "duplicate_check", "approved")


def peak_rss_mib(pid: int) -> float:
    """``VmHWM`` of a live process, in MiB (NaN if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _worker_command(queue: str) -> list[str]:
    module = (
        "catalogue_svc.worker" if importlib.util.find_spec("catalogue_svc.worker") else "worker"
    )
    return [sys.executable, "-m", module, queue]


def _start_worker(queue: str, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _worker_command(queue),
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in env}, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _idle_worker_rss(env: dict[str, str], log: Any) -> float:
    """Peak RSS of a worker that has started and waits on an empty queue."""
    from redis import Redis
    from rq import Queue, Worker

    queue = "bench-idle"
    proc = _start_worker(queue, env, log)
    try:
        redis = Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(w.pid == proc.pid for w in Worker.all(queue=Queue(queue, connection=redis))):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # past the registration, into the wait for a job
        return peak_rss_mib(proc.pid)
    finally:
        stop_processes([proc], timeout=30)


def after_submissions(
    *,
    url: str,
    env: dict[str, str],
    web_workers: list[int],
    baseline_workers: list[int],
    logdir: str,
    timeout: float,
) -> dict[str, Any]:
    """The web workers' peaks now; then drain the submitted requests with one worker and read
    its peak. Called by ``bench.submission`` while its servers run."""
    from sqlalchemy import create_engine, text

    result: dict[str, Any] = {
        "web": max((peak_rss_mib(p) for p in web_workers), default=math.nan),
        "web_baseline": max((peak_rss_mib(p) for p in baseline_workers), default=math.nan),
    }
    engine = create_engine(url)
    waiting = text(f"SELECT count(*) FROM requests WHERE state IN {WAITING!r}")
    with open(os.path.join(logdir, "worker.log"), "wb") as log:
        result["worker_idle"] = _idle_worker_rss(env, log)
        with engine.connect() as conn:
            before = int(conn.execute(waiting).scalar_one())
        proc = _start_worker("pipeline", env, log)
        start = time.perf_counter()
        left = before
        try:
            while time.perf_counter() - start < timeout and proc.poll() is None:
                time.sleep(0.5)
                with engine.connect() as conn:
                    left = int(conn.execute(waiting).scalar_one())
                if left == 0:
                    break
            seconds = time.perf_counter() - start
            result["worker"] = peak_rss_mib(proc.pid)
        finally:
            stop_processes([proc], timeout=30)
        with engine.connect() as conn:
            query = text("SELECT state, count(*) FROM requests GROUP BY state")
            states: dict[str, int] = {str(row[0]): int(row[1]) for row in conn.execute(query)}
    engine.dispose()
    result.update(drained=before - left, left=left, seconds=seconds, states=states)
    print(
        f"  [memory] worker drained {before - left:,} of {before:,} waiting requests in "
        f"{seconds:.1f} s ({(before - left) / seconds:.0f}/s); states now {states}; peak RSS: "
        f"web worker {result['web']:.0f} MiB, worker {result['worker']:.0f} MiB "
        f"(idle {result['worker_idle']:.0f} MiB)",
        flush=True,
    )
    return result


def rows(args: argparse.Namespace) -> list[Row]:
    """Peak RSS of a web worker and of a worker, after the submission benchmark's load."""
    from bench import submission

    mem = submission.measure(args)["postgresql"].memory
    note = "" if mem["left"] == 0 else f", {mem['left']:,} requests NOT drained"
    return [
        at_most(
            BENCH,
            "peak RSS of a gunicorn web worker after the submissions (MiB)",
            mem["web"],
            150,
            "MiB",
            mem["web_baseline"],
            0,
        ),
        at_most(
            BENCH,
            f"peak RSS of a worker after draining {mem['drained']:,} requests (MiB){note}",
            mem["worker"],
            250,
            "MiB",
            mem["worker_idle"],
            0,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the submission benchmark and print only the memory figures."""
    from bench import submission

    return run_alone(argv, "bench.memory", __doc__, submission.add_arguments, rows)


if __name__ == "__main__":
    sys.exit(main())
