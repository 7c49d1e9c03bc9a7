"""A server the tests start on loopback: gunicorn's command line, a GET by plain HTTP, and the
count of ``/healthz`` answers in its Prometheus text."""

from __future__ import annotations

import http.client
import sys

from prometheus_client.parser import text_string_to_metric_families


def gunicorn(port: int, *options: str) -> list[str]:
    """The command line of gunicorn serving the app on 127.0.0.1:``port``, with ``options``."""
    bind = ["--bind", f"127.0.0.1:{port}", "catalogue_svc:create_app()"]
    return [sys.executable, "-m", "gunicorn", *options, *bind]


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The status and text of ``GET path`` on 127.0.0.1:``port``; (0, "") when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""
    finally:
        conn.close()


def healthz_count(text: str) -> float:
    """How many ``GET /healthz`` answered 200, as the metrics text counts them."""
    for family in text_string_to_metric_families(text):
        if family.name == "catalogue_http_requests":
            return sum(
                s.value
                for s in family.samples
                if s.labels.get("route") == "/healthz" and s.labels.get("status") == "200"
            )
    return 0
