"""Where PostgreSQL's time goes in a benchmark: ``pg_stat_statements`` on the server the
benchmark starts (``--statements N`` of ``bench/pipeline.py``).

:data:`OPTIONS` loads the extension at the server's start; :func:`reset` empties its counters
before the phase measured; :func:`top` prints the ``n`` statements that took the most time,
planning included: a statement planned on every call (a custom plan) shows it in its planning
time, a statement whose one generic plan is poor shows it in its execution time.
"""

from __future__ import annotations

from typing import Any

from bench.common import dsn

OPTIONS = (
    "-c shared_preload_libraries=pg_stat_statements "
    "-c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
)


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(dsn(url), autocommit=True)


def reset(url: str) -> None:
    """Create the extension if needed and empty its counters."""
    with _connect(url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")


def top(url: str, n: int, *, width: int = 110) -> None:
    """Print the ``n`` statements of most total time since :func:`reset`."""
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT calls, total_exec_time + total_plan_time, mean_exec_time, mean_plan_time,"
            " plans, rows, query FROM pg_stat_statements"
            " WHERE query NOT LIKE %s"
            " ORDER BY total_exec_time + total_plan_time DESC LIMIT %s",
            ("%pg_stat_statements%", n),
        ).fetchall()
    print(f"  {'calls':>7} {'total ms':>9} {'exec ms':>8} {'plan ms':>8} {'plans':>6} {'rows':>7}")
    for calls, total, mean_exec, mean_plan, plans, count, query in rows:
        text = " ".join(query.split())[:width]
        print(
            f"  {calls:7d} {total:9.1f} {mean_exec:8.3f} {mean_plan:8.3f} {plans:6d} {count:7d}"
            f"  {text}"
        )
