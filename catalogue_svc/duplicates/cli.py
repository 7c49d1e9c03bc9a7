"""Operator command: ``flask --app catalogue_svc reindex-duplicates``."""

from __future__ import annotations

import sys
from typing import Any

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

    done = reindex_all(batch=batch, progress=None if quiet else _Progress())
    click.echo(f"Clés de détection des doublons recalculées pour {done} contact(s).")


class _Progress:
    """Like the import's (``imports.report.Progress``): a bar on a terminal, a line every 10 %
    otherwise (a log), on stderr so that the summary on stdout stays alone."""

    label = "Clés de détection des doublons"

    def __init__(self) -> None:
        self.bar: Any = None
        self.tenths = 0

    def __call__(self, done: int, total: int) -> None:
        if sys.stderr.isatty():
            if self.bar is None:
                self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.bar.pos)
            if done >= total:
                self.bar.__exit__(None, None, None)
            return
        tenths = done * 10 // max(total, 1)
        if tenths > self.tenths or done >= total:
            self.tenths = tenths
            click.echo(f"{self.label} : {done}/{total} contacts", err=True)
