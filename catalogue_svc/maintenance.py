"""Operators' maintenance: failed outbox messages (list, requeue), the retention purge and
disabling an account.

``flask --app catalogue_svc outbox-failed | outbox-requeue | purge | disable-account``.
What is purged is only bookkeeping whose use has passed: outbox rows done without failure,
sessions ended (expired or revoked), one-time codes past their expiry, idempotency keys. Nothing
of the requests' history, the audit, the emails or the profile store is ever purged (STYLE.md,
habit 5), and failed outbox messages stay until an operator requeues them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, or_, select, update

from . import queue
from .clock import now
from .db import db


def failed_messages(topic: str | None = None) -> list[queue.OutboxMessage]:
    """Outbox messages that exhausted their attempts, oldest first."""
    stmt = select(queue.OutboxMessage).where(queue.OutboxMessage.failed.is_(True))
    if topic:
        stmt = stmt.where(queue.OutboxMessage.topic == topic)
    return list(db.session.scalars(stmt.order_by(queue.OutboxMessage.id)))


def requeue(ids: Sequence[int] = (), *, topic: str | None = None) -> int:
    """Make failed messages (``ids``, or every failed one of ``topic``, or all) pending again
    with fresh attempts, and wake the workers; how many were requeued. Committed here."""
    from .notifications.models import Email
    from .notifications.service import TOPIC as EMAIL_TOPIC

    chosen = [m for m in failed_messages(topic) if not ids or m.id in set(ids)]
    if not chosen:
        return 0
    chosen_ids = [m.id for m in chosen]
    db.session.execute(
        update(queue.OutboxMessage)
        .where(queue.OutboxMessage.id.in_(chosen_ids), queue.OutboxMessage.failed.is_(True))
        .values(
            failed=False,
            done_at=None,
            attempts=0,
            available_at=now(),
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    # An email that exhausted its attempts is marked failed too: it is pending again.
    email_ids = [m.payload.get("email_id") for m in chosen if m.topic == EMAIL_TOPIC]
    if email_ids:
        db.session.execute(
            update(Email)
            .where(Email.id.in_(email_ids), Email.sent_at.is_(None))
            .values(failed=False)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    queue.sweep()  # wake the workers of every topic with ready work
    return len(chosen)


def purge(days: int) -> dict[str, int]:
    """Delete the bookkeeping older than ``days`` (see the module's docstring); the counts."""
    from .accounts.models import AccountSession, OneTimeCode
    from .requests.models import IdempotencyKey

    cutoff = now() - dt.timedelta(days=days)
    outbox = queue.OutboxMessage
    statements = {
        "outbox": delete(outbox).where(
            outbox.done_at.is_not(None), outbox.failed.is_(False), outbox.done_at < cutoff
        ),
        "sessions": delete(AccountSession).where(
            or_(AccountSession.expires_at < cutoff, AccountSession.revoked_at < cutoff)
        ),
        "codes": delete(OneTimeCode).where(OneTimeCode.expires_at < cutoff),
        "idempotency_keys": delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff),
    }
    counts = {
        kind: int(
            db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        )
        for kind, stmt in statements.items()
    }
    db.session.commit()
    return counts


PURGED = {
    "outbox": "message(s) de la file terminés",
    "sessions": "session(s) échue(s) ou révoquée(s)",
    "codes": "code(s) à usage unique expiré(s)",
    "idempotency_keys": "clé(s) d'idempotence",
}


@click.command("outbox-failed")
@click.option("--topic", help="only this topic (email.send, request.check…)")
@with_appcontext
def outbox_failed_command(topic: str | None) -> None:
    """List the outbox messages that exhausted their attempts, with their last error."""
    messages = failed_messages(topic)
    for m in messages:
        error = (m.last_error or "").splitlines()[0][:120] if m.last_error else ""
        done = m.done_at.isoformat(timespec="seconds") if m.done_at else ""
        click.echo(f"{m.id:>8}  {m.topic:<20} {m.attempts:>3} essai(s)  {done}  {error}")
    click.echo(f"{len(messages)} message(s) en échec.")


@click.command("outbox-requeue")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--topic", help="every failed message of this topic")
@click.option("--all-failed", is_flag=True, help="every failed message")
@with_appcontext
def outbox_requeue_command(ids: tuple[int, ...], topic: str | None, all_failed: bool) -> None:
    """Put failed outbox messages back in the queue with fresh attempts (IDS, --topic or
    --all-failed)."""
    if not ids and not topic and not all_failed:
        raise click.UsageError("Indiquez les numéros des messages, --topic SUJET ou --all-failed.")
    done = requeue(ids, topic=topic)
    if ids and done < len(set(ids)):
        click.echo(
            f"{len(set(ids)) - done} numéro(s) ne désignent pas un message en échec.", err=True
        )
    click.echo(f"{done} message(s) remis dans la file.")


@click.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="retention in days (default: CATALOGUE_RETENTION_DAYS)",
)
@with_appcontext
def purge_command(days: int | None) -> None:
    """Delete done outbox rows, ended sessions, expired codes and idempotency keys older than
    the retention; never the requests' history nor the profile store."""
    kept = days or current_app.config["CATALOGUE_SETTINGS"].retention_days
    counts = purge(kept)
    click.echo(f"Conservation : {kept} jour(s).")
    for kind, count in counts.items():
        click.echo(f"  {count:>8} {PURGED[kind]} supprimé(s)")


COMMANDS = [outbox_failed_command, outbox_requeue_command, purge_command]


def disable_account(email: str) -> tuple[int, int] | None:
    """Disable the account of ``email``: no more logins, every session ended, audited; its
    requests, links and history stay. (account id, sessions ended), or None if no account."""
    from . import audit
    from .accounts.service import find_by_email
    from .accounts.sessions import revoke_all

    account = find_by_email(email)
    if account is None:
        return None
    if account.disabled_at is None:
        account.disabled_at = now()
    ended = revoke_all(account.id, "disabled")
    audit.record(
        "account.disable",
        actor_kind="operator",
        subject_type="account",
        subject_id=account.id,
        details={"sessions_ended": ended},
    )
    db.session.commit()
    return account.id, ended


@click.command("disable-account")
@click.option("--email", required=True, help="the account's email address")
@with_appcontext
def disable_account_command(email: str) -> None:
    """Disable an account: it can no longer log in and its open sessions end at once."""
    outcome = disable_account(email)
    if outcome is None:
        click.echo(f"Aucun compte n'a l'adresse {email}.", err=True)
        raise SystemExit(1)
    account_id, ended = outcome
    click.echo(f"Compte n° {account_id} désactivé; {ended} session(s) fermée(s).")


COMMANDS.append(disable_account_command)
