"""Entry points of the background jobs: the RQ job, and when the embedded mode's thread starts.

Jobs take ids (here: a topic), never ORM objects.
"""

from __future__ import annotations

from flask import Flask, has_app_context

from . import queue
from .db import db
from .logs import job_id_var
from .process import serving_command

_app: Flask | None = None


def bind(app: Flask) -> None:
    """Give the jobs the app they run in (done once by ``worker.py``)."""
    global _app
    _app = app


def drain_topic(topic: str) -> int:
    """RQ job: process every ready outbox message of ``topic``."""
    from rq import get_current_job

    job = get_current_job()
    token = job_id_var.set(job.id if job else None)
    try:
        if has_app_context():
            return queue.drain(topic, follow=True)
        app = _app
        if app is None:
            from . import create_app

            app = create_app()
            bind(app)
        with app.app_context():
            try:
                return queue.drain(topic, follow=True)
            finally:
                db.session.remove()
    finally:
        job_id_var.reset(token)


def init_app(app: Flask) -> None:
    """Start the embedded mode's job thread as the service starts, not at its first request.

    Work queued while the service was stopped (by ``flask import-dossiers`` or ``load-demo``,
    whose apps never run jobs) then leaves at once, emails first among them. Outside the CLI
    (gunicorn, a test) the app is built to serve: started too, unless the Flask config says
    ``CATALOGUE_JOBS_AUTOSTART=False`` (the thread then starts at the first request or publish).
    """
    transport = app.extensions.get("catalogue_transport")
    if transport is not None:
        transport.begin(
            serving=serving_command(),
            autostart=bool(app.config.get("CATALOGUE_JOBS_AUTOSTART", True)),
        )
