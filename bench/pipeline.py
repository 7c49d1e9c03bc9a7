"""The background pipeline: requests from ``submitted`` to ``applied`` per second, beside RQ itself.

Starts a throwaway PostgreSQL, redis-server and SMTP sink on loopback (tests/servers.py), then:

1. **Baseline**: RQ's own no-op job drain rate with 2 ``SimpleWorker`` processes on the same
   Redis: N no-op jobs are enqueued first (``enqueue_many`` on a pipeline), the workers start, and
   the rate is N / (last job's ``ended_at`` − first job's ``started_at``).
2. **Pipeline**: N *Ajouter une relation* submissions of new people (the guide's main form:
   duplicate check, no agent needed, a relation, a grant, linking credentials and two emails each)
   are recorded by ``submit()`` with the workers stopped; then 2 ``worker.py pipeline`` processes
   and one ``worker.py email`` start, and the rate is N / (last ``apply`` event − first
   ``start_check`` event), read from the requests' history in the database.
3. **Light load**: once the emails of step 2 are delivered, 20 submissions per second for a few
   seconds with the workers running; submission → applied latency is each request's
   ``applied_at − created_at``.
4. **Memory**: peak RSS (``VmHWM``) of each worker process after the run.

A script that prints figures, never a timed test::

    .venv/bin/python -m bench.pipeline                # PostgreSQL + Redis
    .venv/bin/python -m bench.pipeline --requests 5000 --noop-jobs 5000

Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import statements
from bench.common import SECRET, analyze, bench_app, start_servers, stop_processes
from bench.table import Row, at_most, info, print_table, ratio_at_least

ROOT = Path(__file__).resolve().parent.parent


def noop() -> None:
    """The baseline's job: nothing at all."""


@dataclass
class Figures:
    """What one run measured."""

    noop_rate: float
    pipeline_rate: float
    requests: int
    applied: int
    latency_p50_ms: float
    latency_p99_ms: float
    light_requests: int
    worker_rss_mb: list[float]
    mailer_rss_mb: float
    emails: int
    segments_ms: dict[str, tuple[float, float]]  # where the light load's time goes: p50, p99


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


# --------------------------------------------------------------------------- baseline


def noop_drain_rate(redis_url: str, jobs: int, workers: int, logdir: Path) -> float:
    """RQ's own drain rate of no-op jobs with ``workers`` SimpleWorkers (jobs per second)."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    redis = Redis.from_url(redis_url)
    queue = Queue("bench-noop", connection=redis)
    queue.empty()
    ids: list[str] = []
    for start in range(0, jobs, 1000):
        data = [
            Queue.prepare_data("bench.pipeline.noop", result_ttl=3600)
            for _ in range(min(1000, jobs - start))
        ]
        with redis.pipeline() as pipe:
            ids += [job.id for job in queue.enqueue_many(data, pipeline=pipe)]
            pipe.execute()
    rq = str(Path(sys.executable).with_name("rq"))
    procs = [
        _spawn(
            [rq, "worker", "--burst", "-w", "rq.SimpleWorker", "--url", redis_url, "bench-noop"],
            dict(os.environ),
            logdir / f"noop-{i}.log",
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.wait(timeout=600)
    started, ended = [], []
    for start in range(0, len(ids), 1000):
        for job in Job.fetch_many(ids[start : start + 1000], connection=redis):
            if job is not None and job.started_at and job.ended_at:
                started.append(job.started_at)
                ended.append(job.ended_at)
    if len(ended) != jobs:
        raise SystemExit(f"baseline: {len(ended)} of {jobs} no-op jobs finished")
    return jobs / (max(ended) - min(started)).total_seconds()


# --------------------------------------------------------------------------- the pipeline


SYLLABLES = [c + v for c in "bcdfgjklmnprstvz" for v in "aeiou"]


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def new_member(i: int) -> dict[str, Any]:
    """*Ajouter une relation* of a new person, unlike every other one (no duplicate, no agent).

    Names are random syllables (80 ** 4 last names): the store's duplicate check runs for real,
    finds small blocks and no candidate, as for most new members of a firm.
    """
    rng = random.Random(i)
    return {
        "contact_does_not_exist": True,
        "new_contact": {
            "first_name": _name(rng, 3),
            "last_name": _name(rng, 4),
            "birth_date": f"19{50 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "email": f"banc{i}@laforce.example",
            "language": "fr",
        },
        "relation_type": "membre_personnel",
        "subjects": ["rapport_mensuel"],
        "attestation": True,
        "attestation_consent": True,
    }


def prepare(url: str) -> tuple[int, int]:
    """Schema, the guide's firm and its responsable's linked account: (account id, firm id)."""
    from catalogue_svc.migrate import upgrade
    from tests.accounts_helpers import create_account, link_account
    from tests.factories import guide_firm

    app = bench_app(url, CATALOGUE_QUEUE_MODE="manual")
    upgrade(app)
    firm = guide_firm(app)
    account = create_account(app, email="rebecca@laforce.example")
    link_account(app, account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return account.id, firm.firm


def submit_batch(app: Any, account_id: int, firm_id: int, first: int, count: int) -> None:
    """``count`` submissions, each in its own transaction as the API records them."""
    from catalogue_svc.db import db
    from catalogue_svc.requests.service import submit

    with app.app_context():
        for i in range(first, first + count):
            answer = submit(
                account_id=account_id,
                account_name="REBECCA",
                profile_id=firm_id,
                item="add-relation",
                variables=new_member(i),
            )
            assert answer["state"] == "submitted"
        db.session.remove()


def _state_counts(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request

    with app.app_context():
        rows = db.session.execute(select(Request.state, func.count()).group_by(Request.state))
        counts: dict[str, int] = {str(state): int(n) for state, n in rows}
        db.session.remove()
    return counts


def wait_applied(app: Any, expected: int, timeout: float) -> dict[str, int]:
    """Poll until ``expected`` requests are in a final state; the counts by state."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = _state_counts(app)
        final = sum(n for s, n in counts.items() if s in ("applied", "failed", "rejected"))
        if final + counts.get("agent_validation", 0) >= expected:
            return counts
        # Every half second: the count reads every request, and a poll every 50 ms was 7 % of
        # the server's time during the drain (pg_stat_statements). The figures come from the
        # requests' history, not from when this loop sees them.
        time.sleep(0.5)
    return counts


def drain_window(app: Any) -> float:
    """Seconds from the first ``start_check`` to the last ``apply`` in the requests' history."""
    from sqlalchemy import func, select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import RequestEvent

    with app.app_context():
        first = db.session.scalar(
            select(func.min(RequestEvent.at)).where(RequestEvent.trigger == "start_check")
        )
        last = db.session.scalar(
            select(func.max(RequestEvent.at)).where(RequestEvent.trigger == "apply")
        )
        db.session.remove()
    if first is None or last is None:
        return float("nan")
    return float((last - first).total_seconds())


def latencies_ms(app: Any, after_id: int) -> list[float]:
    """Submitted → applied of the requests after ``after_id``, in milliseconds: from the
    request's ``created_at`` to its ``apply`` transition, stamped once its operations are written
    (just before the commit), not ``applied_at``, which the apply stamps as it starts."""
    from sqlalchemy import select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request, RequestEvent

    with app.app_context():
        rows = db.session.execute(
            select(Request.created_at, RequestEvent.at)
            .join(RequestEvent, RequestEvent.request_id == Request.id)
            .where(Request.id > after_id, RequestEvent.trigger == "apply")
        ).all()
        db.session.remove()
    return [(a - c).total_seconds() * 1000 for c, a in rows if a is not None and c is not None]


# Where a light-load request's time goes, from its history: each segment between two instants.
SEGMENTS = (
    ("wake-up: submitted → check starts", "created", "start_check"),
    ("check: starts → decided", "start_check", "pass_check"),
    ("hop: decided → apply starts", "pass_check", "applied"),
    ("apply: starts → applied", "applied", "apply"),
)


def latency_segments_ms(app: Any, after_id: int) -> dict[str, list[float]]:
    """For each of :data:`SEGMENTS`, its milliseconds for every request after ``after_id``.

    The instants are the history's ``at`` (the clock when the transition ran, inside its
    transaction), the request's ``created_at`` and ``applied_at`` (stamped as the apply starts,
    before its operations); the ``apply`` transition comes after the operations, just before
    the commit."""
    from sqlalchemy import select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request, RequestEvent

    with app.app_context():
        instants: dict[int, dict[str, Any]] = {}
        for rid, created, applied in db.session.execute(
            select(Request.id, Request.created_at, Request.applied_at).where(
                Request.id > after_id, Request.applied_at.is_not(None)
            )
        ):
            instants[rid] = {"created": created, "applied": applied}
        for rid, trigger, at in db.session.execute(
            select(RequestEvent.request_id, RequestEvent.trigger, RequestEvent.at).where(
                RequestEvent.request_id > after_id
            )
        ):
            if rid in instants:
                instants[rid][trigger] = at
        db.session.remove()
    out: dict[str, list[float]] = {name: [] for name, _, _ in SEGMENTS}
    for points in instants.values():
        for name, start, end in SEGMENTS:
            if start in points and end in points:
                out[name].append((points[end] - points[start]).total_seconds() * 1000)
    return out


def _max_request_id(app: Any) -> int:
    from sqlalchemy import func, select

    from catalogue_svc.db import db
    from catalogue_svc.requests.models import Request

    with app.app_context():
        value = db.session.scalar(select(func.max(Request.id))) or 0
        db.session.remove()
    return int(value)


def _wait_emails(smtp: Any, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < expected and time.monotonic() < deadline:
        time.sleep(0.1)


def worker_env(database_url: str, redis_url: str, smtp_url: str) -> dict[str, str]:
    """The environment of the benchmark's ``worker.py`` processes."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CATALOGUE_SMTP_URL": smtp_url,
        "CATALOGUE_SECRET_KEY": SECRET,
        "CATALOGUE_SWEEP_INTERVAL": "1",
        "CATALOGUE_LOG_LEVEL": "WARNING",
    }


def run(args: argparse.Namespace) -> Figures:
    """Start the servers, measure the baseline and the pipeline in the same run."""
    with ExitStack() as stack:
        logdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
        pg, redis, smtp = start_servers(
            stack, pg_options=statements.OPTIONS if args.statements else ""
        )

        noop_rate = noop_drain_rate(redis.url, args.noop_jobs, 2, logdir)
        print(f"  RQ no-op drain, 2 SimpleWorkers: {noop_rate:,.0f} jobs/s", flush=True)

        account_id, firm_id = prepare(pg.url)
        manual = bench_app(pg.url, CATALOGUE_QUEUE_MODE="manual")
        t = time.perf_counter()
        submit_batch(manual, account_id, firm_id, 0, args.requests)
        print(
            f"  {args.requests:,} submissions recorded in {time.perf_counter() - t:.1f} s "
            "(workers stopped)",
            flush=True,
        )

        analyze(pg.url)  # as autovacuum would have, after the submissions recorded
        if args.statements:
            statements.reset(pg.url)
        env = worker_env(pg.url, redis.url, smtp.url)
        py = sys.executable
        workers = [
            _spawn([py, "worker.py", "pipeline"], env, logdir / f"worker-{i}.log") for i in range(2)
        ]
        mailer = _spawn([py, "worker.py", "email"], env, logdir / "mailer.log")
        stack.callback(stop_processes, [*workers, mailer])
        counts = wait_applied(manual, args.requests, timeout=args.timeout)
        applied = counts.get("applied", 0)
        window = drain_window(manual)
        print(f"  states after the drain: {counts} in {window:.1f} s", flush=True)
        if args.statements:
            print(f"  the drain's {args.statements} costliest statements:", flush=True)
            statements.top(pg.url, args.statements)
        # The light load is measured alone: not while the mailer still sends the emails of the
        # drain above (two per request), which would share the machine with the pipeline.
        t = time.perf_counter()
        _wait_emails(smtp, 2 * args.requests, timeout=args.timeout)
        print(
            f"  {len(smtp.messages):,} emails delivered {time.perf_counter() - t:.1f} s later",
            flush=True,
        )

        rq_app = bench_app(pg.url, REDIS_URL=redis.url, CATALOGUE_QUEUE_MODE="rq")
        after = _max_request_id(manual)
        light = args.light_rate * args.light_seconds
        analyze(pg.url)  # and after the drain
        if args.statements:
            statements.reset(pg.url)
        with rq_app.app_context():
            start = time.perf_counter()
            for i in range(light):
                submit_batch(rq_app, account_id, firm_id, args.requests + i, 1)
                pause = start + (i + 1) / args.light_rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
        wait_applied(manual, args.requests + light, timeout=60)
        lat = latencies_ms(manual, after)
        segments = {
            name: (_percentile(values, 50), _percentile(values, 99))
            for name, values in latency_segments_ms(manual, after).items()
        }

        _wait_emails(smtp, 2 * (args.requests + light), timeout=60)
        if args.statements:
            print(f"  the light load's {args.statements} costliest statements:", flush=True)
            statements.top(pg.url, args.statements)

        return Figures(
            noop_rate=noop_rate,
            pipeline_rate=applied / window if window > 0 else float("nan"),
            requests=args.requests,
            applied=applied,
            latency_p50_ms=_percentile(lat, 50),
            latency_p99_ms=_percentile(lat, 99),
            light_requests=len(lat),
            worker_rss_mb=[_peak_rss_mb(w.pid) for w in workers],
            mailer_rss_mb=_peak_rss_mb(mailer.pid),
            emails=len(smtp.messages),
            segments_ms=segments,
        )


def rows(args: argparse.Namespace) -> list[Row]:
    """The benchmark's rows for ``bench/run.py``'s table."""
    f = run(args)
    return [
        ratio_at_least(
            "pipeline",
            "submitted → applied, requests/s (2 workers)",
            f.pipeline_rate,
            f.noop_rate,
            1.0,
        ),
        at_most(
            "pipeline",
            f"submit → applied p50 (ms) at {args.light_rate}/s",
            f.latency_p50_ms,
            50,
            "ms",
        ),
        at_most(
            "pipeline",
            f"submit → applied p99 (ms) at {args.light_rate}/s",
            f.latency_p99_ms,
            250,
            "ms",
        ),
        *(
            info("pipeline", f"  {name}, {q} (ms)", value)
            for name, (p50, p99) in f.segments_ms.items()
            for q, value in (("p50", p50), ("p99", p99))
        ),
        at_most(
            "memory", "pipeline worker peak RSS (MiB, max of 2)", max(f.worker_rss_mb), 250, "MiB"
        ),
        info("memory", "mailer peak RSS (MiB)", f.mailer_rss_mb),
    ]


def parser() -> argparse.ArgumentParser:
    """The command line (shared with bench/run.py)."""
    p = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    p.add_argument("--requests", type=int, default=3000, help="submissions drained")
    p.add_argument("--noop-jobs", type=int, default=5000, help="no-op jobs of the baseline")
    p.add_argument("--light-rate", type=int, default=20, help="submissions per second")
    p.add_argument("--light-seconds", type=int, default=10)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument(
        "--statements",
        type=int,
        default=0,
        metavar="N",
        help="print the drain's and the light load's N costliest SQL statements",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print the figures."""
    args = parser().parse_args(argv)
    logging.getLogger("catalogue_svc").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the SMTP sink's line per command
    from bench.duplicates import load_average, machine

    print(f"machine: {machine()}; load average {load_average()}", flush=True)
    print_table(rows(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
