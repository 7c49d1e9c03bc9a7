"""Entry points of the background jobs: the RQ job, and when the embedded mode's thread starts.

Jobs take ids (here: a topic), never ORM objects.
"""

from __future__ import annotations

import click
from flask import Flask, has_app_context
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from . import queue
from .db import db
from .logs import job_id_var

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


def _serving_command() -> bool | None:
    """None outside the ``flask`` CLI; inside it, whether the command serves the app.

    The CLI loads the app before running a command (``flask load-demo``) or inside the command
    (``flask run``, ``flask shell``): the innermost click context names it. ``flask run`` with
    the reloader loads the app in a watching parent process too, which serves nothing.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    if ctx.command.name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


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
            serving=_serving_command(),
            autostart=bool(app.config.get("CATALOGUE_JOBS_AUTOSTART", True)),
        )
