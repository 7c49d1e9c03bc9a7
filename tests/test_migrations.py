"""Alembic: one head, and the migrations build exactly the schema the models describe."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from catalogue_svc import create_app
from catalogue_svc.db import db
from catalogue_svc.migrate import alembic_config, upgrade
from tests.conftest import BACKEND, SECRET


@pytest.fixture()
def empty_database_url(request, tmp_path):
    """A database with no table at all, on the backend under test."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.url_for(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_have_a_single_head(tmp_path):
    """Two developers' migrations never leave two heads."""
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
        }
    )
    heads = ScriptDirectory.from_config(alembic_config(app)).get_heads()
    assert len(heads) == 1


def test_migrations_build_the_models_schema(empty_database_url):
    """`flask migrate` on an empty database gives the tables, columns and indexes of the models."""
    app = create_app(
        {
            "DATABASE_URL": empty_database_url,
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
            "CATALOGUE_SECRET_KEY": SECRET,
        }
    )
    upgrade(app)
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata
        )
        db.engine.dispose()
    assert diff == []


def test_migrate_command_is_idempotent(empty_database_url):
    """Running the release step twice changes nothing and fails nothing."""
    app = create_app(
        {
            "DATABASE_URL": empty_database_url,
            "TESTING": True,
            "CATALOGUE_QUEUE_MODE": "manual",
            "CATALOGUE_SECRET_KEY": SECRET,
        }
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["migrate"]).exit_code == 0
    second = runner.invoke(args=["migrate"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        db.engine.dispose()
