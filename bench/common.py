"""What the benchmarks share: the app they measure, the database and servers a run starts, and
the ``main()`` of a benchmark run alone (its table only)."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from bench.table import Row, machine, print_table

SECRET = "bench-secret-key-" + "x" * 32


def bench_app(url: str, **config: Any) -> Any:
    """The service on the database at ``url``, with the benchmarks' secret and ``config``."""
    from catalogue_svc import create_app

    return create_app({"DATABASE_URL": url, "CATALOGUE_SECRET_KEY": SECRET, **config})


def manual_app(url: str) -> Any:
    """The service in test mode, its queue drained by hand: what a phase measures in-process."""
    return bench_app(url, TESTING=True, CATALOGUE_QUEUE_MODE="manual")


def database_url(stack: ExitStack, args: argparse.Namespace, sqlite_file: str) -> str:
    """With ``--start-postgres``, a PostgreSQL started here (stopped with ``stack``); otherwise
    ``--database``, or the SQLite file ``sqlite_file`` in the temporary folder."""
    if args.start_postgres:
        from tests.servers import Postgres

        server = Postgres.start()
        stack.callback(server.stop)
        return str(server.url)
    return args.database or f"sqlite:///{tempfile.gettempdir()}/{sqlite_file}"


def start_servers(stack: ExitStack, *, pg_options: str = "") -> tuple[Any, Any, Any]:
    """PostgreSQL (with ``pg_options``), Redis and an SMTP sink on loopback, stopped with
    ``stack``."""
    from tests.servers import Postgres, RedisServer, SmtpSink

    pg = Postgres.start(options=pg_options)
    stack.callback(pg.stop)
    redis = RedisServer.start()
    stack.callback(redis.stop)
    smtp = SmtpSink()
    stack.callback(smtp.stop)
    return pg, redis, smtp


def dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL, for psycopg itself."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def analyze(url: str) -> None:
    """``ANALYZE`` the database at ``url`` (PostgreSQL; nothing on SQLite): the statistics that
    autovacuum keeps in a database whose tables grew as the benchmark's just did. Without them,
    the planner took a table filled a few seconds before for the few rows it held at its last
    analysis (the duplicate-check keys read by a scan: about 1 ms a check at 18,000 keys)."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(dsn(url), autocommit=True) as connection:
        connection.execute("ANALYZE")


def stop_processes(procs: Sequence[subprocess.Popen[Any]], timeout: float = 10) -> None:
    """Terminate each process still running, wait up to ``timeout`` s for each, kill the rest."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_alone(
    argv: Sequence[str] | None,
    module: str,
    description: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    rows: Callable[[argparse.Namespace], list[Row]],
) -> int:
    """The ``main()`` of the benchmark ``module`` run alone: its arguments (``add_arguments``)
    and ``--database``, the machine, then the table of its ``rows``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.add_argument("--database", help="PostgreSQL URL (default: start one on loopback)")
    args = parser.parse_args(argv)
    print("\n".join(machine()), flush=True)
    result = rows(args)
    print()
    print_table(result)
    return 0
