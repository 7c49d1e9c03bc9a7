"""Fixtures: the app on SQLite or PostgreSQL (``CATALOGUE_TEST_DB``), real Redis and SMTP servers.

In CI (``CI=true``) a server that cannot start fails the tests that need it instead of skipping
them, so a green run always means the PostgreSQL and Redis tests ran.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask

from catalogue_svc import create_app, passwords
from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests import accounts_helpers, people_text
from tests.servers import Postgres, RedisServer, ServerUnavailable, SmtpSink, body

BACKEND = os.environ.get("CATALOGUE_TEST_DB", "sqlite")
SECRET = "test-secret-key-" + "x" * 32


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unavailable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Postgres]:
    """A PostgreSQL server for the whole session."""
    try:
        server = Postgres.start()
    except (ServerUnavailable, OSError, Exception) as exc:
        _unavailable("PostgreSQL", exc)
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the whole session."""
    try:
        server = RedisServer.start()
    except (ServerUnavailable, OSError) as exc:
        _unavailable("Redis", exc)
        raise
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_redis(request: pytest.FixtureRequest) -> None:
    """Each test that uses Redis starts with it empty (no job, wake-up or limit of another)."""
    if "redis_server" in request.fixturenames:
        from redis import Redis

        server: RedisServer = request.getfixturevalue("redis_server")
        with Redis.from_url(server.url) as client:
            client.flushall()


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def _cheap_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost in the tests' own process, except where a test is about the
    cost itself (``@pytest.mark.production_hashing``).

    The production cost (3 passes over 64 MiB) is a third of a second a hash or a check, which
    the suite's thousand sign-ups, logins and password changes paid for nothing: they are about
    the service, not the hash. The algorithm stays Argon2id; servers the tests start in their
    own processes (gunicorn, RQ workers) keep the production cost.
    """
    if request.node.get_closest_marker("production_hashing"):
        monkeypatch.setattr(accounts_helpers, "_hashes", {})  # none of the cheap hashes
        return
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture()
def mailbox(smtp_server: SmtpSink) -> SmtpSink:
    """The SMTP sink, emptied for this test."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test database (schema created once), on the backend chosen by CATALOGUE_TEST_DB."""
    folder = None
    if BACKEND == "postgresql":
        server: Postgres = request.getfixturevalue("pg_server")
        url = server.url
    else:
        # In memory where the machine has a tmpfs: the same SQLite, without the disk's syncs at
        # each test's last close (its WAL checkpoint), 9 ms a test here.
        memory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        folder = tempfile.mkdtemp(prefix="catalogue-test-", dir=memory)
        url = f"sqlite:///{Path(folder) / 'test.sqlite3'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
            "CATALOGUE_SECRET_KEY": SECRET,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    yield url
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _wipe() -> None:
    """Empty every table and restart its ids, as a fresh database would be.

    Row by row, children first: on tables this small ``DELETE`` is about five times faster
    than ``TRUNCATE`` (which rewrites 27 files: 50 ms a test on PostgreSQL, against 9). The
    statements are plain SQL text, not compiled by SQLAlchemy (each test's app is a new engine,
    whose statement cache starts empty), and go in one round trip on PostgreSQL.
    """
    deletes = [f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        restart = (
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
            " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
        )
        db.session.connection().exec_driver_sql("; ".join([*deletes, restart]))
    else:
        connection = db.session.connection()
        for delete in deletes:
            connection.exec_driver_sql(delete)
        if connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'"
        ).first():
            connection.exec_driver_sql("DELETE FROM sqlite_sequence")
    db.session.commit()


@pytest.fixture()
def make_app(
    database_url: str, smtp_server: SmtpSink, tmp_path: Path
) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database; keyword arguments override its config.

    Every answer of these apps and every email the SMTP sink receives meanwhile is read as a
    person would (tests/people_text.py): an internal key in them fails the test at teardown.
    """
    made: list[Flask] = []
    unfit: list[str] = []
    first_email = len(smtp_server.messages)

    def read_as_a_person(response: Any) -> Any:
        if not response.direct_passthrough and not response.is_streamed:
            unfit.extend(
                people_text.check_response(
                    response.status_code, response.content_type or "", response.get_data()
                )
            )
        return response

    def factory(**overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "DATABASE_URL": database_url,
            "CATALOGUE_SMTP_URL": smtp_server.url,
            "CATALOGUE_SECRET_KEY": SECRET,
            "CATALOGUE_INSTANCE_PATH": str(tmp_path / "instance"),
            "CATALOGUE_PROPAGATION_DELAY": "86400",
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
        }
        config.update(overrides)
        app = create_app(config)
        app.after_request(read_as_a_person)
        made.append(app)
        return app

    clock.reset()
    yield factory
    clock.reset()
    for message in list(smtp_server.messages)[first_email:]:
        unfit.extend(people_text.check_email(message, body(message)))
    for app in made:
        transport = app.extensions.get("catalogue_transport")
        if transport is not None:
            transport.close()
        with app.app_context():
            db.session.remove()
    if made:
        with made[0].app_context():
            _wipe()
            db.session.remove()
            db.engine.dispose()
    for app in made[1:]:
        with app.app_context():
            db.engine.dispose()
    assert not unfit, "texts unfit for people:\n" + "\n".join(dict.fromkeys(unfit))


@pytest.fixture()
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """The app with a manual queue (tests run background work with ``run_jobs``)."""
    application = make_app()
    with application.app_context():
        yield application


@pytest.fixture()
def client(app: Flask) -> Any:
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture()
def run_jobs(app: Flask) -> Callable[[], int]:
    """Process every pending background job now."""
    from catalogue_svc.queue import run_until_idle

    def run() -> int:
        return run_until_idle()

    return run
