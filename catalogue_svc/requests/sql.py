"""The requests' SQL that is built, not written by the ORM: every dialect branch in one place.

Statements are built once (``functools.cache``): building them costs more than running them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import ClauseElement

from .. import audit, queue, unit
from ..access import access_statement
from ..db import db
from .models import IdempotencyKey, Request, RequestEvent
from .topics import CHECK_TOPIC


def number_sql(year: int, request_id: ColumnElement[int]) -> ColumnElement[str]:
    """SQL for the text of :func:`_number`: ``DEM-<year>-<id, on 6 digits at least>``."""
    zeros = case(*((request_id < 10**width, "0" * (6 - width)) for width in range(1, 6)), else_="")
    return literal(f"DEM-{year}-", String) + zeros + cast(request_id, String)


@functools.cache  # immutable SQL, one per year: building it costs more than running it
def _id_and_number_sql(dialect: str, year: int) -> tuple[ColumnElement[int], ColumnElement[str]]:
    """SQL for a new request's id and its number, on ``dialect``.

    Both come from the next id read in the INSERT itself, so the number needs no UPDATE after
    the flush. PostgreSQL: one ``nextval`` in a CTE (a volatile CTE is evaluated once).
    SQLite: the next rowid, read twice in the same statement under the single writer's lock;
    no CTE there, as the driver opens its transaction only before a statement that starts with
    ``INSERT`` (a ``WITH … INSERT`` would commit on its own).
    """
    table = Request.__table__
    new_id: ColumnElement[int]
    if dialect == "postgresql":
        sequence = func.nextval(func.pg_get_serial_sequence(table.name, "id"))
        next_id = select(sequence.label("id")).cte("next_request_id")
        new_id = select(next_id.c.id).scalar_subquery()
    else:
        new_id = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
    return new_id, number_sql(year, new_id)


@functools.cache
def access_and_key_query() -> Any:
    """The access check (:func:`access_statement`) and, joined to it, the body hash, status and
    answer stored for ``idempotency_key`` (NULL when none, or no key); built once."""
    keys = IdempotencyKey.__table__
    return (
        access_statement()
        .add_columns(keys.c.body_hash, keys.c.status, keys.c.response)
        .outerjoin(
            keys,
            and_(
                keys.c.account_id == bindparam("account_id", type_=Integer()),
                keys.c.key == bindparam("idempotency_key", type_=String()),
            ),
        )
    )


def write_submission(year: int, params: dict[str, Any]) -> tuple[int, str]:
    """Write a valid submission: the request (its number too), its first history row, the
    duplicate check's outbox row, the audit row and the idempotency key (when one was sent);
    returns the request's id and number. The outbox topic is published after commit.

    PostgreSQL: one statement (the inserts as data-modifying CTEs of the request's); SQLite,
    which has no such CTEs: one statement per table, each without a network round trip.
    """
    dialect = db.session.get_bind().dialect.name
    with_key = params["p_key"] is not None
    statements = _submission_sql(dialect, year, with_key)
    if dialect == "postgresql":
        # The stored answer gets its number in SQL (``||``): the rest of it is known now.
        answer = {k: v for k, v in params["p_response"].items() if k != "number"}
        params = {**params, "p_response": answer}
        request_id, number = db.session.execute(statements[0], params).one()
    else:
        request_id = db.session.execute(statements[0], params).scalar_one()
        number = f"DEM-{year}-{request_id:06d}"
        params = {
            **params,
            "p_request_id": request_id,
            "p_number": number,
            "p_payload": {"request_id": request_id},
            "p_dedupe_key": f"check:{request_id}",
            "p_response": {**params["p_response"], "number": number},
        }
        for statement in statements[1:]:
            db.session.execute(statement, params)
    unit.of(db.session).outbox_topics.add(CHECK_TOPIC)  # as queue.emit
    return int(request_id), str(number)


def _as_sql(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with each plain value a literal of its column's type (SQL expressions kept)."""
    return {
        key: value if isinstance(value, ClauseElement) else literal(value, table.c[key].type)
        for key, value in row.items()
    }


@functools.cache
def _submission_sql(dialect: str, year: int, with_key: bool) -> tuple[Any, ...]:
    """The statements of :func:`_write_submission`, built once (building them costs more than
    running them). Bind parameters are ``p_…``; the rows are those ``queue.emit`` and
    ``audit.record`` add."""
    from sqlalchemy import insert
    from sqlalchemy.dialects.postgresql import JSONB

    requests, events, keys = Request.__table__, RequestEvent.__table__, IdempotencyKey.__table__
    outbox, audits = queue.OutboxMessage.__table__, audit.AuditEvent.__table__

    def p(name: str, column: Any) -> Any:
        return bindparam(f"p_{name}", type_=column.type)

    at = p("at", requests.c.created_at)
    request_values = {
        "form_slug": p("form_slug", requests.c.form_slug),
        "form_version": p("form_version", requests.c.form_version),
        "organisation_id": p("organisation_id", requests.c.organisation_id),
        "submitted_by_account_id": p("account_id", requests.c.submitted_by_account_id),
        "submitted_by_name": p("account_name", requests.c.submitted_by_name),
        "variables": p("variables", requests.c.variables),
        "changeset": p("changeset", requests.c.changeset),
        "labels": p("labels", requests.c.labels),
        "validation_rule": p("validation_rule", requests.c.validation_rule),
        "state": literal("submitted", String),
        "version": literal(1, Integer),
        "created_at": at,
        "state_changed_at": at,
    }

    def rows_of(request_id: Any, number: Any, payload: Any, dedupe_key: Any) -> list[Any]:
        event = {
            "request_id": request_id,
            "at": at,
            "trigger": literal("submit", String),
            "to_state": literal("submitted", String),
            "actor_account_id": p("account_id", events.c.actor_account_id),
            "actor_kind": literal("submitter", String),
            "actor_name": p("account_name", events.c.actor_name),
            "version": literal(0, Integer),
        }
        # The outbox's and the audit's own rows, their plain values made SQL literals.
        message = _as_sql(
            outbox, queue.outbox_row(CHECK_TOPIC, payload, dedupe_key=dedupe_key, at=at)
        )
        audit_values = _as_sql(
            audits,
            audit.audit_row(
                "request.submit",
                "success",
                actor_account_id=p("account_id", audits.c.actor_account_id),
                actor_kind="account",
                ip=p("ip", audits.c.ip),
                subject_type="request",
                subject_id=number,
                details=p("audit_details", audits.c.details),
                at=at,
            ),
        )
        key = {
            "account_id": p("account_id", keys.c.account_id),
            "key": p("key", keys.c.key),
            "body_hash": p("body_hash", keys.c.body_hash),
            "request_id": request_id,
            "status": literal(202, Integer),
            "response": p("response", keys.c.response),
            "created_at": at,
        }
        tables = [(events, event), (outbox, message), (audits, audit_values)]
        return tables + ([(keys, key)] if with_key else [])

    if dialect == "postgresql":
        sequence = func.nextval(func.pg_get_serial_sequence(requests.name, "id"))
        next_id = select(sequence.label("id")).subquery("next_request_id")
        new = (
            insert(requests)
            .from_select(
                ["id", "number", *request_values],
                select(next_id.c.id, number_sql(year, next_id.c.id), *request_values.values()),
                include_defaults=False,
            )
            .returning(requests.c.id, requests.c.number)
            .cte("new_request")
        )
        number = new.c.number
        rows = rows_of(
            new.c.id,
            number,
            func.jsonb_build_object("request_id", new.c.id),
            literal("check:", String) + cast(new.c.id, String),
        )
        ctes = []
        for table, row in rows:
            if table is keys:  # the answer: its number is the new request's
                row["response"] = row["response"].op("||", return_type=JSONB)(
                    func.jsonb_build_object("number", number)
                )
            ctes.append(
                insert(table)
                .from_select(
                    list(row), select(*row.values()).select_from(new), include_defaults=False
                )
                .cte(f"new_{table.name}")
            )
        return (select(new.c.id, new.c.number).add_cte(*ctes),)
    new_id, new_number = _id_and_number_sql(dialect, year)
    first = (
        insert(requests)
        .values(id=new_id, number=new_number, **request_values)
        .returning(requests.c.id)
    )
    rows = rows_of(
        p("request_id", events.c.request_id),
        p("number", audits.c.subject_id),
        p("payload", outbox.c.payload),
        p("dedupe_key", outbox.c.dedupe_key),
    )
    return (first, *(insert(table).values(**row) for table, row in rows))


@functools.cache
def deferred_cas_statement(columns: Sequence[str]) -> Any:
    """The compare-and-set of a chunk's requests that change ``columns`` (bind parameters
    ``_id``, ``_state``, ``_version`` and ``v_<column>``)."""
    table = Request.__table__
    return (
        table.update()
        .where(
            table.c.id == bindparam("_id"),
            table.c.state == bindparam("_state"),
            table.c.version == bindparam("_version"),
        )
        .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )
