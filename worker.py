"""The RQ worker: ``python worker.py [queue]``, one queue per process (RELIABILITY.md 5).

It runs a ``SimpleWorker`` (no fork per job: about 4x the throughput of the forking worker on
this machine, see PERFORMANCE.md); jobs are idempotent drains of the database outbox, so a killed
worker loses nothing, and a sweeper thread republishes whatever was left behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading

from redis import Redis
from rq import SimpleWorker, Worker

from catalogue_svc import create_app, jobs, queue
from catalogue_svc.db import db
from catalogue_svc.logs import configure

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


def main(argv: list[str] | None = None) -> None:
    """Start one worker on one queue, with a sweeper thread."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("queue", nargs="?", default=os.environ.get("CATALOGUE_QUEUE", "pipeline"))
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--fork", action="store_true", help="fork a work-horse per job")
    parser.add_argument(
        "--sweep-interval",
        type=float,
        default=float(os.environ.get("CATALOGUE_SWEEP_INTERVAL", "10")),
    )
    args = parser.parse_args(argv)

    configure()
    app = create_app({"CATALOGUE_QUEUE_MODE": "rq"})
    settings = app.config["CATALOGUE_SETTINGS"]
    if not settings.redis_url:
        raise SystemExit("REDIS_URL est requis pour lancer un worker RQ.")
    jobs.bind(app)
    stop = threading.Event()
    if args.sweep_interval > 0:
        threading.Thread(
            target=_sweeper, args=(app, args.sweep_interval, stop), daemon=True, name="sweeper"
        ).start()
    redis = Redis.from_url(settings.redis_url)
    worker_class = Worker if args.fork else SimpleWorker
    worker = worker_class([args.queue], connection=redis)
    try:
        worker.work(burst=args.burst, with_scheduler=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
