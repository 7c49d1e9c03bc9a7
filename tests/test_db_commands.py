"""``flask db current|history|upgrade|downgrade [--sql]``: Alembic's usual commands for operators,
next to ``flask migrate``."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from catalogue_svc import create_app
from catalogue_svc.migrate import alembic_config
from tests.conftest import BACKEND, SECRET
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture


def _app(url: str):  # type: ignore[no-untyped-def]
    return create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
            "CATALOGUE_SECRET_KEY": SECRET,
        }
    )


def _flask(app, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url):  # noqa: F811
    """upgrade to head, downgrade to base (every table gone), upgrade again: current says head
    each time it should, and the schema works afterwards."""
    app = _app(empty_database_url)
    head = ScriptDirectory.from_config(alembic_config(app)).get_current_head()
    assert head is not None
    _flask(app, "db", "upgrade")
    assert head in _flask(app, "db", "current")
    _flask(app, "db", "downgrade", "-1")
    assert head not in _flask(app, "db", "current")
    _flask(app, "db", "downgrade", "base")
    from sqlalchemy import inspect

    from catalogue_svc.db import db

    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
    _flask(app, "db", "upgrade", "head")
    assert head in _flask(app, "db", "current")
    _flask(app, "migrate")  # the release command: nothing left to do
    with app.app_context():
        assert "requests" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_history_lists_every_migration_and_marks_current(empty_database_url):  # noqa: F811
    """flask db history names every revision, the one the database is at marked (current)."""
    app = _app(empty_database_url)
    _flask(app, "db", "upgrade")
    history = _flask(app, "db", "history")
    revisions = [
        s.revision for s in ScriptDirectory.from_config(alembic_config(app)).walk_revisions()
    ]
    assert all(revision in history for revision in revisions)
    assert "(current)" in history


def test_upgrade_sql_prints_the_migrations_without_running_them(empty_database_url):  # noqa: F811
    """flask db upgrade --sql prints PostgreSQL's DDL for a DBA and leaves the database empty;
    it needs no server at all (run on SQLite, it is given an address nothing answers)."""
    real = BACKEND == "postgresql"
    app = _app(empty_database_url if real else "postgresql+psycopg://dba@127.0.0.1:9/hors-ligne")
    sql = _flask(app, "db", "upgrade", "--sql")
    assert "CREATE TABLE requests" in sql and "alembic_version" in sql
    assert "CREATE TABLE request_documents" in sql  # every migration, not only the first
    if not real:
        return
    from sqlalchemy import inspect

    from catalogue_svc.db import db

    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()
