"""Alembic, driven from the app.

``flask migrate`` runs every migration (the Procfile's ``release``). ``flask db …`` gives
operators Alembic's usual commands on the app's database: ``current``, ``history``,
``upgrade [REV]``, ``downgrade REV`` (``-1``, a revision id or ``base``), ``heads``, and
``--sql`` on ``upgrade``/``downgrade`` to print the SQL instead of running it (offline mode, for
a DBA to review; ``FROM:TO`` ranges as Alembic's).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic() -> ModuleType:
    """Alembic's commands, imported when one runs: every process registers ``flask db``, few run
    it, and importing Alembic is a fifth of a second of each worker's start."""
    from alembic import command

    return command


def alembic_config(app: Flask) -> Config:
    """An Alembic config pointing at this app's database."""
    from alembic.config import Config

    config = Config(stdout=sys.stdout)  # the current one (a CLI runner replaces it)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", app.config["SQLALCHEMY_DATABASE_URI"].replace("%", "%%")
    )
    config.attributes["flask_app"] = app
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring the database schema to ``revision``."""
    _alembic().upgrade(alembic_config(app), revision)


def revision(app: Flask, message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    _alembic().revision(alembic_config(app), message=message, autogenerate=True)


@click.group("db")
def db_group() -> None:
    """Alembic's commands on the app's database (current, history, upgrade, downgrade)."""


@db_group.command("current")
@click.option("--verbose", "-v", is_flag=True, help="Show the revision's details.")
@with_appcontext
def current_command(verbose: bool) -> None:
    """Show the revision the database is at."""
    _alembic().current(alembic_config(current_app), verbose=verbose)


@db_group.command("history")
@click.option("--verbose", "-v", is_flag=True, help="Show each revision's details.")
@click.option("--range", "-r", "rev_range", default=None, help="A range, e.g. base:head.")
@with_appcontext
def history_command(verbose: bool, rev_range: str | None) -> None:
    """List the migrations, newest first (the one the database is at marked current)."""
    _alembic().history(
        alembic_config(current_app), rev_range=rev_range, verbose=verbose, indicate_current=True
    )


@db_group.command("heads")
@with_appcontext
def heads_command() -> None:
    """Show the newest migration(s): a single head is expected."""
    _alembic().heads(alembic_config(current_app))


@db_group.command("upgrade")
@click.argument("revision", default="head")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it (offline).")
@with_appcontext
def upgrade_command(revision: str, sql: bool) -> None:
    """Bring the schema up to REVISION (default: head)."""
    _alembic().upgrade(alembic_config(current_app), revision, sql=sql)


@db_group.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it (offline).")
@with_appcontext
def downgrade_command(revision: str, sql: bool) -> None:
    """Take the schema back to REVISION (-1 for one step, base for an empty schema)."""
    _alembic().downgrade(alembic_config(current_app), revision, sql=sql)
