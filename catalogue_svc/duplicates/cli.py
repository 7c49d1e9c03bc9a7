"""Operator command: ``flask --app catalogue_svc reindex-duplicates``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("reindex-duplicates")
@click.option(
    "--batch",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="contacts per transaction",
)
@click.option("--quiet", is_flag=True, help="no progress")
@with_appcontext
def reindex_duplicates_command(batch: int, quiet: bool) -> None:
    """Rebuild the duplicate-detection keys of every contact (after a Core bulk load, a rule
    change in matching.py, or to repair the table)."""
    from .service import reindex_all

    def progress(done: int, total: int) -> None:
        click.echo(f"  {done:>9} / {total} contacts", err=True)

    done = reindex_all(batch=batch, progress=None if quiet else progress)
    click.echo(f"Clés de détection des doublons recalculées pour {done} contact(s).")
