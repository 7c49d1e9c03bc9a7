"""Operator commands: ``flask --app catalogue_svc <command>``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import click
from flask import Flask

_T = TypeVar("_T")


def _commit_or_exit(change: Callable[[], _T]) -> _T:
    """Run ``change`` and commit; values refused: roll back, each field's messages on stderr,
    exit status 1."""
    from .db import db
    from .errors import ValidationFailed

    try:
        result = change()
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        for field, messages in exc.errors.items():
            click.echo(f"{field} : {' '.join(messages)}", err=True)
        raise SystemExit(1) from None
    return result


def register_commands(app: Flask) -> None:
    """Attach every command to the app's CLI."""
    from .migrate import db_group

    app.cli.add_command(db_group)  # flask db current|history|upgrade|downgrade [--sql]

    @app.cli.command("migrate")
    def migrate_command() -> None:
        """Bring the database schema up to date (Alembic upgrade head)."""
        from .migrate import upgrade

        upgrade(app)
        click.echo("Schéma de la base de données à jour.")

    @app.cli.command("import-dossiers")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--quiet", is_flag=True, help="no progress bar")
    @click.option(
        "--dry-run", is_flag=True, help="validate and count what would change; write nothing"
    )
    @click.option(
        "--report",
        "report_path",
        type=click.Path(dir_okay=False, writable=True),
        help="write the outcome as JSON: every error with its JSON path, or the counts",
    )
    def import_dossiers_command(
        path: str, quiet: bool, dry_run: bool, report_path: str | None
    ) -> None:
        """Import the legacy site's dossiers from a JSON file (see docs/import-format.md)."""
        from .imports.service import ImportRejected, import_file

        def write_report(outcome: dict[str, object]) -> None:
            if report_path:
                outcome = {"file": path, "dry_run": dry_run, **outcome}
                with open(report_path, "w", encoding="utf-8") as out:
                    json.dump(outcome, out, ensure_ascii=False, indent=2)
                    out.write("\n")

        try:
            summary = import_file(path, progress=not quiet, dry_run=dry_run)
        except ImportRejected as exc:
            write_report(
                {
                    "valid": False,
                    "errors": [{"path": e.path, "message": e.message} for e in exc.errors],
                }
            )
            click.echo(
                f"Fichier refusé : {len(exc.errors)} erreur(s). Rien n'a été modifié.", err=True
            )
            for error in exc.errors:
                click.echo(f"  {error.path} : {error.message}", err=True)
            if report_path:
                click.echo(f"Rapport écrit dans {report_path}.", err=True)
            raise SystemExit(1) from None
        write_report({"valid": True, "errors": [], "counts": summary})
        if dry_run:
            click.echo("Essai à blanc : fichier valide, rien n'a été écrit. Il ferait :")
        for kind, counts in summary.items():
            click.echo(
                f"{kind:<24} créés {counts['created']:>8}  mis à jour {counts['updated']:>8}"
                f"  inchangés {counts['unchanged']:>8}"
            )
        from .transports import ThreadTransport

        if not dry_run and isinstance(app.extensions.get("catalogue_transport"), ThreadTransport):
            # The embedded mode: this command's app never sends (jobs.init_app).
            click.echo(
                "Les courriels partiront dès que le service tournera (make run ou flask run), "
                "ou maintenant avec flask run-jobs."
            )

    @app.cli.command("load-demo")
    def load_demo_command() -> None:
        """Load the demo data (the guide's firm, its clients and members, one agent)."""
        from .demo import load_demo

        click.echo(load_demo())

    @app.cli.command("propagate-now")
    def propagate_now_command() -> None:
        """Make every applied change visible in the portal's lists now."""
        from .profiles.lists import propagate_now

        click.echo(f"{propagate_now()} changement(s) rendu(s) visible(s).")

    @app.cli.command("create-agent")
    @click.option("--email", required=True)
    @click.option("--first-name", required=True)
    @click.option("--last-name", required=True)
    @click.password_option(prompt="Mot de passe de l'agent")
    def create_agent_command(email: str, first_name: str, last_name: str, password: str) -> None:
        """Create an agent account (validation queues); the password is asked, never echoed."""
        from .agents.service import create_agent

        account = _commit_or_exit(
            lambda: create_agent(
                email=email, password=password, first_name=first_name, last_name=last_name
            )
        )
        click.echo(f"Agent créé (compte n° {account.id}).")

    @app.cli.command("create-supervisor")
    @click.option("--email", required=True)
    def create_supervisor_command(email: str) -> None:
        """Make an existing agent a supervisor of the validation queue (escalation emails)."""
        from .agents.service import make_supervisor

        account = _commit_or_exit(lambda: make_supervisor(email=email))
        click.echo(f"Superviseur désigné (compte n° {account.id}).")

    @app.cli.command("run-jobs")
    def run_jobs_command() -> None:
        """Process every pending background job now, in this process."""
        from .queue import run_until_idle

        click.echo(f"{run_until_idle()} tâche(s) traitée(s).")

    from .maintenance import COMMANDS as MAINTENANCE

    for command in MAINTENANCE:  # outbox-failed, outbox-requeue, purge
        app.cli.add_command(command)
