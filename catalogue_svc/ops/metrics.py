"""``/metrics`` (Prometheus text, ``prometheus-client``): the pipeline as the database sees it,
HTTP answers and timings, and the workers' job durations.

Private: a 404 unless the caller holds ``CATALOGUE_METRICS_TOKEN`` or, without one, calls from
this machine (``may_read_metrics``). ``CATALOGUE_METRICS`` moves it: ``off`` refuses it (404) on
the service's port, and ``[host:]port`` serves it only on a listener of its own
(:func:`serve_privately`: gunicorn's master opens it in ``gunicorn.conf.py``, ``flask run`` in
its own process), a port the operator keeps on loopback or an internal network, never the
public's; the service's port then answers 404 too.

The database figures are read at each scrape by :class:`DatabaseCollector` (every process sees
the same). The process figures (HTTP counters and timings, job durations) live in
``prometheus-client`` metrics: with ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets
it for the web workers; give the workers the same directory on the same host), every process
writes its own files there and a scrape of any web worker adds them all up, so counters never
jump between workers. Without it (``flask run``, the embedded mode) they are this process's own.
"""

from __future__ import annotations

import datetime as dt
import errno
import hmac
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from workflows import AWAITING_SYSTEM, FINAL_STATES
from workflows.requests import State

from ..clock import now
from ..config import ConfigError, metrics_directory
from ..db import db
from ..errors import problem
from ..process import serving_command
from ..web import is_loopback

STUCK_AFTER_SECONDS = 3600
OPEN_STATES = [s.value for s in State if s not in FINAL_STATES]  # every state but the final ones

if metrics_directory():  # a missing directory would fail every request
    os.makedirs(str(metrics_directory()), exist_ok=True)
disable_created_metrics()  # no ``*_created`` series: they double every family for nothing

# The process's own figures, in the default registry (or the multiprocess directory's files).
HTTP_REQUESTS = Counter(
    "catalogue_http_requests",
    "HTTP answers, by method, route and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "catalogue_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf")),
)
JOB_DURATION = Histogram(
    "catalogue_job_duration_seconds",
    "Time a worker's job (one drain of an outbox topic) ran, by topic.",
    ["topic"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf")),
)


def known_topics() -> list[str]:
    """Every outbox topic a handler is registered for."""
    from .. import queue

    return sorted(queue.handlers())


def observe_job(topic: str, seconds: float) -> None:
    """Record one job's duration (``worker.py`` times each ``drain_topic`` job)."""
    JOB_DURATION.labels(topic=topic).observe(seconds)


class DatabaseCollector:
    """The database's figures, read at each scrape: requests by state, outbox and emails, the
    validation queue. Every labelled family lists each state or topic, at 0 when none."""

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect()
        finally:
            db.session.rollback()

    def _collect(self) -> Iterator[Metric]:
        from ..notifications.models import Email
        from ..queue import OutboxMessage
        from ..requests.models import Request
        from ..sla import figures as sla_figures

        at = now()
        by_state = dict(
            db.session.execute(select(Request.state, func.count()).group_by(Request.state)).all()
        )
        states = GaugeMetricFamily(
            "catalogue_tracked_requests",
            "Tracked requests (the service's requests, not HTTP ones) in each state.",
            labels=["state"],
        )
        for state in sorted({s.value for s in State} | set(by_state)):
            states.add_metric([state], by_state.get(state, 0))
        yield states
        oldest_age = GaugeMetricFamily(
            "catalogue_tracked_request_oldest_age_seconds",
            "Age of the oldest tracked request in each open state (0 when none).",
            labels=["state"],
        )
        oldest = dict(
            db.session.execute(
                select(Request.state, func.min(Request.state_changed_at))
                .where(Request.state.in_(OPEN_STATES))
                .group_by(Request.state)
            ).all()
        )
        for state in OPEN_STATES:
            value = oldest.get(state)
            oldest_age.add_metric(
                [state], (at - _aware(value)).total_seconds() if value is not None else 0
            )
        yield oldest_age
        stuck = db.session.scalar(
            select(func.count())
            .select_from(Request)
            .where(
                Request.state.in_([state.value for state in AWAITING_SYSTEM]),
                Request.state_changed_at < at - dt.timedelta(seconds=STUCK_AFTER_SECONDS),
            )
        )
        yield GaugeMetricFamily(
            "catalogue_tracked_requests_stuck",
            "Tracked requests in a system step for over an hour.",
            value=stuck or 0,
        )
        topics = known_topics()
        rows = {
            topic: (count, first)
            for topic, count, first in db.session.execute(
                select(OutboxMessage.topic, func.count(), func.min(OutboxMessage.created_at))
                .where(OutboxMessage.done_at.is_(None), OutboxMessage.failed.is_(False))
                .group_by(OutboxMessage.topic)
            ).all()
        }
        failed = dict(
            db.session.execute(
                select(OutboxMessage.topic, func.count())
                .where(OutboxMessage.failed.is_(True))
                .group_by(OutboxMessage.topic)
            ).all()
        )
        pending = GaugeMetricFamily(
            "catalogue_outbox_pending",
            "Outbox messages waiting to be processed (not failed), by topic.",
            labels=["topic"],
        )
        lag = GaugeMetricFamily(
            "catalogue_outbox_lag_seconds",
            "Age of the oldest waiting outbox message, by topic (0 when none).",
            labels=["topic"],
        )
        failed_family = GaugeMetricFamily(
            "catalogue_outbox_failed_messages",
            "Outbox messages that exhausted their attempts (flask outbox-requeue), by topic.",
            labels=["topic"],
        )
        for topic in sorted(set(topics) | set(rows) | set(failed)):
            count, first = rows.get(topic, (0, None))
            pending.add_metric([topic], count)
            lag.add_metric([topic], (at - _aware(first)).total_seconds() if first else 0)
            failed_family.add_metric([topic], failed.get(topic, 0))
        yield pending
        yield lag
        yield failed_family
        emails_pending = db.session.scalar(
            select(func.count())
            .select_from(Email)
            .where(Email.sent_at.is_(None), Email.failed.is_(False))
        )
        emails_failed = db.session.scalar(
            select(func.count()).select_from(Email).where(Email.failed.is_(True))
        )
        yield GaugeMetricFamily(
            "catalogue_emails_pending", "Emails not sent yet.", value=emails_pending or 0
        )
        yield GaugeMetricFamily(
            "catalogue_emails_failed",
            "Emails the relay refused for good.",
            value=emails_failed or 0,
        )
        # The validation queue's families (catalogue_svc.sla), written as text by its module.
        yield from text_string_to_metric_families("\n".join(sla_figures.metric_lines(at)) + "\n")


def registry_for_scrape() -> CollectorRegistry:
    """The registry a scrape reads: every process's files in multiprocess mode, else this
    process's metrics; and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if metrics_directory():
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in (HTTP_REQUESTS, HTTP_DURATION, JOB_DURATION):
            registry.register(metric)
    registry.register(DatabaseCollector())  # type: ignore[arg-type]
    return registry


def render() -> bytes:
    """Every metric, as Prometheus text."""
    for topic in known_topics():
        JOB_DURATION.labels(topic=topic)  # each topic's series, at 0 until a job ran
    return generate_latest(registry_for_scrape())


def _aware(value: Any) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def init_app(app: Flask) -> None:
    """Time every request and serve ``/metrics`` where ``CATALOGUE_METRICS`` says."""

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
            HTTP_DURATION.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    settings = app.config["CATALOGUE_SETTINGS"]
    if settings.metrics == "app":

        @app.route("/metrics")
        def metrics() -> Response:
            if not may_read_metrics():
                return problem(404)
            return Response(render(), content_type=CONTENT_TYPE_LATEST)

    # The process ``flask run`` serves from: no other opens the listener (gunicorn's master does
    # it for its workers, a CLI command or a test serves nothing).
    elif settings.metrics_listen is not None and serving_command():
        serve_privately(app, *settings.metrics_listen)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def metrics_app(app: Flask) -> WsgiApp:
    """The metrics listener's WSGI application: ``GET /metrics`` and nothing else (404).

    Whoever reaches the listener may read (its address is the operator's fence), unless
    ``CATALOGUE_METRICS_TOKEN`` is set: then only ``Authorization: Bearer <token>``.
    """
    token = app.config["CATALOGUE_SETTINGS"].metrics_token

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = str(environ.get("HTTP_AUTHORIZATION", ""))
        allowed = not token or hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
        with app.app_context():
            if (
                environ.get("PATH_INFO") == "/metrics"
                and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
                and allowed
            ):
                response = Response(render(), content_type=CONTENT_TYPE_LATEST)
            else:
                response = problem(404)
            return response(environ, start_response)

    return wsgi


class _ListenerServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds the process up at exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per scrape: Prometheus calls every few seconds, forever."""


_BIND_ERRORS = {
    errno.EADDRINUSE: "le port est déjà pris",
    errno.EACCES: "ce port demande des droits que le service n'a pas",
    errno.EADDRNOTAVAIL: "cette adresse n'est pas celle de cette machine",
}


def serve_privately(app: Flask, host: str, port: int) -> WSGIServer:
    """Open the metrics listener on ``host:port``, in a thread of this process.

    A port that cannot be opened stops the start with a sentence naming ``CATALOGUE_METRICS``.
    """
    try:
        server = make_server(host, port, metrics_app(app), _ListenerServer, _QuietHandler)
    except OSError as exc:
        if isinstance(exc, socket.gaierror):
            reason = "ce nom d'hôte est inconnu"
        else:
            reason = _BIND_ERRORS.get(exc.errno or 0, f"erreur système {exc.errno}")
        raise ConfigError(
            f"CATALOGUE_METRICS : impossible d'écouter sur {host}:{port} ({reason})."
        ) from None
    with app.app_context():
        engine = db.engine
    # gunicorn's master forks its workers while this thread may hold a database connection: a
    # worker must never close it (that would end the master's session), only forget it.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    threading.Thread(target=server.serve_forever, name="catalogue-metrics", daemon=True).start()
    return server


def may_read_metrics() -> bool:
    """Whether this call may read ``/metrics`` (its figures say how busy and how stuck the
    service is: not for the public).

    With ``CATALOGUE_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` may. Unset, only a
    scraper on this machine: a loopback address with no proxy header, since a reverse proxy on
    the same host would make every outside call look local.
    """
    token = current_app.config["CATALOGUE_SETTINGS"].metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return is_loopback(request.remote_addr) and not forwarded
