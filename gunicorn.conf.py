"""gunicorn's settings for the Procfile's ``web`` role (``gunicorn -c gunicorn.conf.py``).

- Metrics true across workers: ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory unless the
  operator gives one, emptied at start) makes every worker write its figures there, and a scrape
  of any worker adds them up; a dead worker's live figures are dropped (``child_exit``).
- ``/metrics`` off the public port: with ``CATALOGUE_METRICS=[host:]port`` the master serves it
  there (``when_ready``), adding up every worker's files like a worker would, and the workers
  answer 404 for it.
- Logs an operator can ship: gunicorn's error and access logs are JSON lines like the service's
  (``catalogue_svc.logs.JsonFormatter``), the access line carrying the request id the service
  echoed in ``X-Request-Id``.

Bind, workers and timeout come from ``PORT``, ``WEB_CONCURRENCY`` and ``GUNICORN_TIMEOUT``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

from catalogue_svc.config import load_web_settings, metrics_directory, use_metrics_directory

_dir = metrics_directory()
if not _dir:
    _dir = tempfile.mkdtemp(prefix="catalogue-metrics-")
    use_metrics_directory(_dir)
else:  # the previous run's files would count twice
    shutil.rmtree(_dir, ignore_errors=True)
    os.makedirs(_dir, exist_ok=True)

_web = load_web_settings()  # a bad value stops the start, naming the variable
bind = _web.bind
workers = _web.workers
timeout = _web.timeout
accesslog = "-"
errorlog = "-"
loglevel = _web.loglevel


def on_starting(server):  # type: ignore[no-untyped-def]
    """Check every setting before any worker starts: a bad one stops gunicorn with the French
    sentence naming it (status 1), instead of workers exiting and being restarted forever."""
    from catalogue_svc.config import load_settings

    load_settings()


def when_ready(server):  # type: ignore[no-untyped-def]
    """Open the metrics listener in the master (one process, so one port, for every worker).

    Its app never serves the public and runs no job; its database connections are not pooled, so
    a worker forked meanwhile holds none of them.
    """
    from catalogue_svc.config import load_settings

    listen = load_settings().metrics_listen
    if listen is None:
        return
    from sqlalchemy.pool import NullPool

    from catalogue_svc import create_app
    from catalogue_svc.ops.metrics import serve_privately

    app = create_app(
        {"CATALOGUE_JOBS_AUTOSTART": False, "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}}
    )
    serve_privately(app, *listen)
    server.log.info("Metrics listening at: http://%s:%s/metrics", *listen)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker ended: its gauges' files go (its counters stay, so totals never go down)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _json_logger_class():  # type: ignore[no-untyped-def]
    from gunicorn.glogging import Logger

    from catalogue_svc.logs import JsonFormatter

    class AccessJsonFormatter(JsonFormatter):
        """One access line: the request's figures as fields, its id as the service's lines."""

        def format(self, record: logging.LogRecord) -> str:
            atoms = record.args if isinstance(record.args, dict) else {}
            rid = atoms.get("{x-request-id}o")
            record.fields = {
                "method": atoms.get("m"),
                "path": atoms.get("U"),
                "status": _int(atoms.get("s")),
                "bytes": _int(atoms.get("B")),
                "duration_ms": round(int(atoms.get("D", 0) or 0) / 1000, 1),
                "remote_addr": atoms.get("h"),
                "user_agent": atoms.get("a"),
                **({"request_id": rid} if rid and rid != "-" else {}),
            }
            record.msg, record.args = "request", ()
            return super().format(record)

    class JsonLogger(Logger):
        def setup(self, cfg):  # type: ignore[no-untyped-def]
            super().setup(cfg)
            for log, formatter in (
                (self.error_log, JsonFormatter()),
                (self.access_log, AccessJsonFormatter()),
            ):
                for handler in log.handlers:
                    handler.setFormatter(formatter)

    return JsonLogger


def _int(value):  # type: ignore[no-untyped-def]
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
logger_class = _json_logger_class()
