"""The RQ worker: ``python worker.py [queue]``, one queue per process (RELIABILITY.md 5).

It runs a ``SimpleWorker`` (no fork per job: about 4x the throughput of the forking worker on
this machine, see PERFORMANCE.md); jobs are idempotent drains of the database outbox, so a killed
worker loses nothing, and a sweeper thread republishes whatever was left behind. ``--fork`` runs
RQ's forking ``Worker`` instead (a work-horse per job).

``--job-timeout`` (``CATALOGUE_JOB_TIMEOUT``) caps how long RQ lets one job run before it kills
it, whatever timeout the job was enqueued with; keep it below the outbox lease
(``CATALOGUE_OUTBOX_LEASE``) so that a hung job is killed before its messages can be leased to
another worker.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.timeouts import BaseDeathPenalty, JobTimeoutException, UnixSignalDeathPenalty

from catalogue_svc import create_app, jobs, queue
from catalogue_svc.config import ConfigError, load_settings
from catalogue_svc.db import db
from catalogue_svc.logs import configure
from catalogue_svc.ops import metrics

log = logging.getLogger("catalogue_svc.worker")


def _sweeper(app, interval: float, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    while not stop.wait(interval):
        with app.app_context():
            try:
                queue.sweep()
            except Exception:
                log.exception("sweep failed")
            finally:
                db.session.remove()


class JobTimeout(JobTimeoutException, KeyboardInterrupt):
    """RQ's job timeout, which psycopg also takes for an interruption.

    A timeout raised while psycopg waits for the server (a statement blocked on a row lock) left
    the connection busy: the drain's rollback failed, so the message's failure was never recorded
    (no back-off, no attempt towards exhaustion). On an interruption psycopg cancels the statement
    in the server first, so the rollback and the failure's record go through. It is still an
    ``Exception``: the drain records it as the failure of the message it interrupted.
    """


class RepeatingDeathPenalty(UnixSignalDeathPenalty):
    """RQ's job timeout, raised again every ``timeout`` seconds until the job ends.

    RQ raises its timeout once, in the job. A drain catches each message's exception to record
    it and goes on with the next message, so a second hang in the same job was never
    interrupted: the worker stayed hung for good, holding its transaction's row locks, and every
    worker that later took one of its messages blocked on them.
    """

    def __init__(self, timeout: int, exception: type[BaseException] = JobTimeout, **kwargs: Any):
        if exception is JobTimeoutException:
            exception = JobTimeout
        super().__init__(timeout, exception, **kwargs)

    def handle_death_penalty(self, signum, frame):  # type: ignore[no-untyped-def]
        signal.alarm(self._timeout)
        super().handle_death_penalty(signum, frame)


class _CatalogueWorker:
    """Our timeouts (:class:`RepeatingDeathPenalty`, ``job_timeout_cap``), and whether a shutdown
    was asked for (SIGTERM, SIGINT) or RQ gave up on its own."""

    death_penalty_class: type[BaseDeathPenalty] = RepeatingDeathPenalty
    job_timeout_cap: int | None = None
    shutdown_requested = False

    def request_stop(self, signum: int, frame: Any) -> None:
        self.shutdown_requested = True
        super().request_stop(signum, frame)  # type: ignore[misc]

    def execute_job(self, job: Any, queue: Any) -> Any:
        cap = self.job_timeout_cap
        if cap and (job.timeout is None or job.timeout < 0 or job.timeout > cap):
            job.timeout = cap
        started = time.perf_counter()
        try:
            return super().execute_job(job, queue)  # type: ignore[misc]
        finally:
            if job.func_name.endswith("drain_topic") and job.args:
                metrics.observe_job(str(job.args[0]), time.perf_counter() - started)


class CatalogueSimpleWorker(_CatalogueWorker, SimpleWorker):
    """The default worker: jobs run in the worker process."""


class CatalogueForkWorker(_CatalogueWorker, Worker):
    """``--fork``: each job runs in a forked work-horse."""


def _forget_connections_after_fork(app) -> None:  # type: ignore[no-untyped-def]
    # A forked work-horse inherits the parent's pooled database connections, which the parent's
    # sweeper thread keeps using: two processes on one socket corrupt the protocol (PostgreSQL)
    # or the file locks (SQLite). The child drops its copies without closing them and opens its
    # own (SQLAlchemy's "using connection pools with multiprocessing").
    with app.app_context():
        engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def main(argv: list[str] | None = None) -> None:
    """Start one worker on one queue, with a sweeper thread; start again if RQ gives up."""
    try:
        # Checked before anything starts: a bad setting stops here with its French message.
        defaults = load_settings()
    except ConfigError as exc:
        raise SystemExit(f"Configuration invalide : {exc}") from None
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("queue", nargs="?", default=defaults.worker_queue)
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--fork", action="store_true", help="fork a work-horse per job")
    parser.add_argument("--sweep-interval", type=float, default=defaults.sweep_interval)
    parser.add_argument(
        "--job-timeout",
        type=int,
        default=defaults.job_timeout,
        help="kill a job after this many seconds (default: the timeout it was enqueued with)",
    )
    args = parser.parse_args(argv)

    configure(defaults.log_level)
    app = create_app({"CATALOGUE_QUEUE_MODE": "rq"})
    settings = app.config["CATALOGUE_SETTINGS"]
    if not settings.redis_url:
        raise SystemExit("REDIS_URL est requis pour lancer un worker RQ.")
    jobs.bind(app)
    if args.fork:
        _forget_connections_after_fork(app)
    stop = threading.Event()
    if args.sweep_interval > 0:
        threading.Thread(
            target=_sweeper, args=(app, args.sweep_interval, stop), daemon=True, name="sweeper"
        ).start()
    redis = Redis.from_url(settings.redis_url)
    worker_class = CatalogueForkWorker if args.fork else CatalogueSimpleWorker
    try:
        while True:
            worker = None
            try:
                worker = worker_class([args.queue], connection=redis)
                worker.job_timeout_cap = args.job_timeout or None
                worker.work(burst=args.burst, with_scheduler=False)
            except RedisError as exc:  # Redis down at start, or during RQ's own teardown
                log.warning("worker stopped", extra={"fields": {"error": type(exc).__name__}})
            if args.burst or (worker is not None and worker.shutdown_requested):
                break
            # RQ quits its work loop when Redis fails outside a job (a restart, a failover):
            # start a new loop once Redis answers, rather than exit and wait for a restart.
            _wait_for(redis)
    finally:
        stop.set()


def _wait_for(redis: Redis) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # RQ's handlers belong to the ended loop
    signal.signal(signal.SIGINT, signal.default_int_handler)
    while True:
        time.sleep(1)
        try:
            redis.ping()
            return
        except RedisError:
            continue


if __name__ == "__main__":
    main()
