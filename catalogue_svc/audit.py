"""The audit trail: who did what, when, from where, with what outcome. Never a secret in it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .clock import now
from .db import JSONType, UTCDateTime, add_row, db

log = logging.getLogger("catalogue_svc.audit")


class AuditEvent(db.Model):  # type: ignore[name-defined, misc]
    """One audited action."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    action: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(20))
    actor_account_id: Mapped[int | None] = mapped_column(Integer)
    actor_kind: Mapped[str] = mapped_column(String(20), default="anonymous")
    ip: Mapped[str | None] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
    )


def client_ip() -> str | None:
    """The caller's address: the direct peer, or the client a trusted proxy names
    (``CATALOGUE_TRUSTED_PROXIES``, ``web.trust_proxies``)."""
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    outcome: str = "success",
    *,
    actor_account_id: int | None = None,
    actor_kind: str = "anonymous",
    subject_type: str | None = None,
    subject_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the current transaction and log it (ids only, never secrets)."""
    add_row(
        AuditEvent,
        audit_row(
            action,
            outcome,
            actor_account_id=actor_account_id,
            actor_kind=actor_kind,
            ip=client_ip(),
            subject_type=subject_type,
            subject_id=None if subject_id is None else str(subject_id),
            details=details,
        ),
    )
    log_line(action, outcome, actor_account_id, subject_type, subject_id)


def audit_row(
    action: Any,
    outcome: Any,
    *,
    actor_account_id: Any,
    actor_kind: Any,
    ip: Any,
    subject_type: Any,
    subject_id: Any,
    details: Any,
    **more: Any,
) -> dict[str, Any]:
    """The values of an audit row: :func:`record` adds one; the submission's single statement
    (``requests.sql``) writes one with SQL expressions as values (and its ``at``)."""
    return {
        "action": action,
        "outcome": outcome,
        "actor_account_id": actor_account_id,
        "actor_kind": actor_kind,
        "ip": ip,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
        **more,
    }


def log_line(
    action: str,
    outcome: str,
    actor_account_id: int | None,
    subject_type: str | None,
    subject_id: object | None,
) -> None:
    """The log line of an audit row (for a row written by other means than :func:`record`)."""
    log.info(
        "audit",
        extra={
            "fields": {
                "action": action,
                "outcome": outcome,
                "actor": actor_account_id,
                "subject": f"{subject_type}:{subject_id}" if subject_type else None,
            }
        },
    )
