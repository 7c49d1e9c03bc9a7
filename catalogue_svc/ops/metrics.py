"""``/metrics`` (Prometheus text): the pipeline as the database sees it, and HTTP timing.

Private: a 404 unless the caller holds ``CATALOGUE_METRICS_TOKEN`` or, without one, calls from
this machine (``may_read_metrics``).

Database figures are global (every process sees the same); HTTP figures are this process's own.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict

from flask import Flask, Response, current_app, g, request
from sqlalchemy import func, select

from workflows import AWAITING_SYSTEM

from ..clock import now
from ..db import db
from ..errors import problem
from ..web import is_loopback

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))
STUCK_AFTER_SECONDS = 3600


class _Http:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.counts[(method, route, status)] += 1
            bucket = self.buckets[(method, route)]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    bucket[i] += 1
            self.sums[(method, route)] += seconds


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(http: _Http) -> str:
    """Every metric, as text."""
    from ..notifications.models import Email
    from ..queue import OutboxMessage
    from ..requests.models import Request
    from ..sla import figures as sla_figures

    lines: list[str] = []
    at = now()
    lines += ["# HELP catalogue_requests Requests by state.", "# TYPE catalogue_requests gauge"]
    for state, count in db.session.execute(
        select(Request.state, func.count()).group_by(Request.state)
    ).all():
        lines.append(f'catalogue_requests{{state="{_esc(state)}"}} {count}')
    lines += [
        "# HELP catalogue_request_oldest_age_seconds Age of the oldest request in a state.",
        "# TYPE catalogue_request_oldest_age_seconds gauge",
    ]
    for state, oldest in db.session.execute(
        select(Request.state, func.min(Request.state_changed_at))
        .where(Request.state.not_in(["applied", "rejected", "cancelled"]))
        .group_by(Request.state)
    ).all():
        if oldest is not None:
            age = (at - _aware(oldest)).total_seconds()
            lines.append(f'catalogue_request_oldest_age_seconds{{state="{_esc(state)}"}} {age:.0f}')
    stuck = (
        db.session.scalar(
            select(func.count())
            .select_from(Request)
            .where(
                Request.state.in_([state.value for state in AWAITING_SYSTEM]),
                Request.state_changed_at < at - _seconds(STUCK_AFTER_SECONDS),
            )
        )
        or 0
    )
    lines += [
        "# HELP catalogue_requests_stuck Requests in a system step for over an hour.",
        "# TYPE catalogue_requests_stuck gauge",
        f"catalogue_requests_stuck {stuck}",
    ]
    lines += sla_figures.metric_lines(at)  # overdue, decisions within target (catalogue_svc.sla)
    lines += [
        "# HELP catalogue_outbox_pending Undone outbox messages by topic.",
        "# TYPE catalogue_outbox_pending gauge",
    ]
    rows = db.session.execute(
        select(OutboxMessage.topic, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.done_at.is_(None))
        .group_by(OutboxMessage.topic)
    ).all()
    for topic, count, _oldest in rows:
        lines.append(f'catalogue_outbox_pending{{topic="{_esc(topic)}"}} {count}')
    lines += [
        "# HELP catalogue_outbox_lag_seconds Age of the oldest undone message by topic.",
        "# TYPE catalogue_outbox_lag_seconds gauge",
    ]
    for topic, _count, oldest in rows:
        lines.append(
            f'catalogue_outbox_lag_seconds{{topic="{_esc(topic)}"}} '
            f"{(at - _aware(oldest)).total_seconds():.1f}"
        )
    lines += [
        "# HELP catalogue_outbox_failed_total Messages that exhausted their attempts.",
        "# TYPE catalogue_outbox_failed_total counter",
    ]
    for topic, count in db.session.execute(
        select(OutboxMessage.topic, func.count())
        .where(OutboxMessage.failed.is_(True))
        .group_by(OutboxMessage.topic)
    ).all():
        lines.append(f'catalogue_outbox_failed_total{{topic="{_esc(topic)}"}} {count}')
    pending = (
        db.session.scalar(
            select(func.count())
            .select_from(Email)
            .where(Email.sent_at.is_(None), Email.failed.is_(False))
        )
        or 0
    )
    failed = (
        db.session.scalar(select(func.count()).select_from(Email).where(Email.failed.is_(True)))
        or 0
    )
    lines += [
        "# TYPE catalogue_emails_pending gauge",
        f"catalogue_emails_pending {pending}",
        "# TYPE catalogue_emails_failed gauge",
        f"catalogue_emails_failed {failed}",
    ]
    db.session.rollback()
    lines += [
        "# HELP catalogue_http_requests_total HTTP answers of this process.",
        "# TYPE catalogue_http_requests_total counter",
    ]
    with http.lock:
        for (method, route, status), count in sorted(http.counts.items()):
            lines.append(
                f'catalogue_http_requests_total{{method="{method}",route="{_esc(route)}",'
                f'status="{status}"}} {count}'
            )
        lines += ["# TYPE catalogue_http_request_duration_seconds histogram"]
        for (method, route), bucket in sorted(http.buckets.items()):
            labels = f'method="{method}",route="{_esc(route)}"'
            for bound, count in zip(BUCKETS, bucket, strict=True):
                le = "+Inf" if bound == float("inf") else f"{bound}"
                lines.append(
                    f'catalogue_http_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}'
                )
            lines.append(
                f"catalogue_http_request_duration_seconds_sum{{{labels}}} "
                f"{http.sums[(method, route)]:.6f}"
            )
            lines.append(f"catalogue_http_request_duration_seconds_count{{{labels}}} {bucket[-1]}")
    return "\n".join(lines) + "\n"


def _aware(value):  # type: ignore[no-untyped-def]
    import datetime as dt

    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _seconds(n: int):  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.timedelta(seconds=n)


def init_app(app: Flask) -> None:
    """Time every request and serve ``/metrics``."""
    http = _Http()

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            http.observe(request.method, route, response.status_code, time.perf_counter() - started)
        return response

    @app.route("/metrics")
    def metrics() -> Response:
        if not may_read_metrics():
            return problem(404)
        return Response(render(http), mimetype="text/plain; version=0.0.4")


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
