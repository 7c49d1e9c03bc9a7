"""A request, its history, comments and idempotency keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..db import JSONType, UTCDateTime, db


class Request(db.Model):  # type: ignore[name-defined, misc]
    """One form submission. ``state`` only moves by compare-and-set (see ``service.transition``)."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    form_slug: Mapped[str] = mapped_column(String(80))
    form_version: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_account_id: Mapped[int] = mapped_column(Integer, index=True)
    submitted_by_name: Mapped[str] = mapped_column(String(200))
    variables: Mapped[dict[str, Any]] = mapped_column(JSONType)
    changeset: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    version: Mapped[int] = mapped_column(Integer, default=1)
    validation_rule: Mapped[str] = mapped_column(String(40))
    needs_validation: Mapped[bool | None] = mapped_column(Boolean)
    duplicate_candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    merge_with_contact_id: Mapped[int | None] = mapped_column(Integer)
    claimed_by_account_id: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visible_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    # The names the changeset refers to, as they were when it was built (``forms.sentences``):
    # the request still tells whom it was about after a contact is removed or renamed.
    labels: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The agent validation's service-level clock (catalogue_svc.sla): started on entering
    # agent_validation, paused while waiting for the submitter's answer, stopped at the decision.
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sla_target_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sla_stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[RequestEvent]] = relationship(
        order_by="RequestEvent.id", viewonly=True, lazy="select"
    )

    __table_args__ = (
        Index("ix_requests_org_created", "organisation_id", "created_at"),
        Index("ix_requests_state_changed", "state", "state_changed_at"),
        Index("ix_requests_state_due", "state", "due_at"),
    )


class RequestEvent(db.Model):  # type: ignore[name-defined, misc]
    """One entry of a request's history: who, when, from, to, trigger, why."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    actor_account_id: Mapped[int | None] = mapped_column(Integer)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)

    # A state change happens once: the version it moved from is unique per request.
    __table_args__ = (UniqueConstraint("request_id", "version"),)


class RequestComment(db.Model):  # type: ignore[name-defined, misc]
    """A comment on a request, from the submitter or an agent (internal ones only for agents)."""

    __tablename__ = "request_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    author_account_id: Mapped[int] = mapped_column(Integer)
    author_kind: Mapped[str] = mapped_column(String(20))
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # An agent's question that waits for the submitter's answer (it pauses the clock).
    asks_answer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class IdempotencyKey(db.Model):  # type: ignore[name-defined, misc]
    """An ``Idempotency-Key`` of one account, the hash of its body and the answer it got."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("account_id", "key"),)


class RequestLink(db.Model):  # type: ignore[name-defined, misc]
    """Two pending requests of one organisation that conflict (recorded, never dropped)."""

    __tablename__ = "request_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    other_request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("request_id", "other_request_id"),)


class RequestConflictKey(db.Model):  # type: ignore[name-defined, misc]
    """What a request adds or removes, as keys another pending request of the organisation can
    conflict with (``person:…``, ``add:<contact>``, ``remove:<contact>``); written at submission,
    so the duplicate check finds conflicts with one indexed query instead of reading every
    pending request of the organisation."""

    __tablename__ = "request_conflict_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(400))

    __table_args__ = (Index("ix_request_conflict_keys_org_key", "organisation_id", "key"),)
