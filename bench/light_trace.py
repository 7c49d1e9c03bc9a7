"""Where a light-load request's time goes, request by request: the history's instants beside RQ's
own timings of every job (``enqueued_at``, ``started_at``, ``ended_at``, kept 60 s). A diagnostic
script that prints figures, never a test (docs/performance.md, *Where a light-load request's time
goes*)::

    .venv/bin/python -m bench.light_trace                       # 40 requests, one every 250 ms
    .venv/bin/python -m bench.light_trace --requests 25 --gap 0.1 --workers 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import pipeline as bp
from bench.common import bench_app, start_servers, stop_processes


def _ms(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() * 1000


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _history(app: Any, after: int) -> list[tuple[int, dt.datetime, dict[str, dt.datetime]]]:
    """Each request after ``after``: its id, its submission and its transitions' instants."""
    from sqlalchemy import select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request, RequestEvent

    with app.app_context():
        requests = db.session.execute(
            select(Request.id, Request.created_at).where(Request.id > after).order_by(Request.id)
        ).all()
        events: dict[int, dict[str, dt.datetime]] = {}
        for rid, trigger, at in db.session.execute(
            select(RequestEvent.request_id, RequestEvent.trigger, RequestEvent.at).where(
                RequestEvent.request_id > after
            )
        ):
            events.setdefault(rid, {})[trigger] = at
        db.session.remove()
    return [(rid, created, events.get(rid, {})) for rid, created in requests]


def _jobs(redis_url: str) -> list[Any]:
    """The finished jobs of the pipeline queue, by enqueue time."""
    from redis import Redis
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    redis = Redis.from_url(redis_url)
    ids = FinishedJobRegistry("pipeline", connection=redis).get_job_ids()
    jobs = [j for j in Job.fetch_many(ids, connection=redis) if j and j.started_at]
    return sorted(jobs, key=lambda j: j.enqueued_at)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the servers and the workers, submit slowly, print each request's timeline."""
    parser = argparse.ArgumentParser(prog="python -m bench.light_trace", description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between submissions")
    parser.add_argument("--workers", type=int, default=2, help="pipeline workers")
    args = parser.parse_args(argv)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("catalogue_svc").setLevel(logging.WARNING)
    with ExitStack() as stack:
        pg, redis, smtp = start_servers(stack)
        account_id, firm_id = bp.prepare(pg.url)
        env = bp.worker_env(pg.url, redis.url, smtp.url)
        logs = Path(tempfile.mkdtemp(prefix="bench-trace-"))
        py = sys.executable
        procs = [
            bp._spawn([py, "worker.py", "pipeline"], env, logs / f"worker-{i}.log")
            for i in range(args.workers)
        ]
        procs.append(bp._spawn([py, "worker.py", "email"], env, logs / "mailer.log"))
        stack.callback(stop_processes, procs)
        rq_app = bench_app(pg.url, REDIS_URL=redis.url, CATALOGUE_QUEUE_MODE="rq")
        reader = bench_app(pg.url, CATALOGUE_QUEUE_MODE="manual")
        bp.submit_batch(rq_app, account_id, firm_id, 0, 3)  # warm the workers up
        bp.wait_applied(reader, 3, timeout=60)
        after = bp._max_request_id(reader)
        for i in range(args.requests):
            bp.submit_batch(rq_app, account_id, firm_id, 10 + i, 1)
            time.sleep(args.gap)
        bp.wait_applied(reader, 3 + args.requests, timeout=60)
        for name, values in bp.latency_segments_ms(reader, after).items():
            print(
                f"{name:38} p50 {bp._percentile(values, 50):7.1f}  p90 {bp._percentile(values, 90):7.1f}"
            )
        jobs = _jobs(redis.url)
        waits = [_ms(j.enqueued_at, j.started_at) for j in jobs]
        print(
            f"RQ enqueue → start p50 {bp._percentile(waits, 50):.1f} ms, p90 {bp._percentile(waits, 90):.1f}"
        )
        for rid, created, events in _history(reader, after):
            created = _utc(created)
            line = [f"request {rid}:"] + [
                f"{trigger} +{_ms(created, _utc(events[trigger])):.1f}"
                for trigger in ("start_check", "pass_check", "apply")
                if trigger in events
            ]
            for job in jobs:
                enqueued = _utc(job.enqueued_at)
                if -0.05 <= (enqueued - created).total_seconds() <= args.gap:
                    line.append(
                        f"| {job.args[0]} job: enqueued +{_ms(created, enqueued):.1f}"
                        f" started +{_ms(created, _utc(job.started_at)):.1f}"
                        f" ended +{_ms(created, _utc(job.ended_at)):.1f}"
                    )
            print(" ".join(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
