"""Submit, move and apply requests. Every state change is a compare-and-set with its history row."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

import workflows
from forms import registry, sentences
from forms.base import FORM_LEVEL, BuildOptions, FormDefinition, FormValidationError
from forms.profile import ProfileView, ViewPart

from .. import audit, queue
from ..access import (
    ProfileAccess,
    access_from_rows,
    access_statement,
    profile_access,
)
from ..clock import now
from ..db import add_row, begin_writing, compare_and_set, db
from ..duplicates.service import active_member_names, with_same_name_members
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..profiles.apply import ApplyContext, ApplyError, apply_operation
from ..profiles.models import Contact, Organisation
from ..profiles.snapshot import contacts_view
from . import templates  # noqa: F401 - registers the emails
from .conflicts import PendingConflicts, find_and_link, linked, pending_conflicts, record_keys
from .models import IdempotencyKey, Request, RequestComment, RequestEvent

CHECK_TOPIC = "request.check"
APPLY_TOPIC = "request.apply"
SYSTEM = "Système"


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger."""

    kind: str  # system | agent | submitter
    account_id: int | None = None
    name: str = SYSTEM


SYSTEM_ACTOR = Actor("system")


def propagation_delay() -> dt.timedelta:
    """How long an applied change takes to show in the portal's lists."""
    return dt.timedelta(seconds=current_app.config["CATALOGUE_SETTINGS"].propagation_delay)


def form_or_404(slug: str) -> FormDefinition:
    """The form named ``slug``, or 404."""
    form = registry.get(slug)
    if form is None:
        raise NotFound("Ce formulaire n'existe pas dans le catalogue.")
    return form


# ---------------------------------------------------------------- transitions


def transition(
    request: Request,
    trigger: str,
    actor: Actor,
    *,
    reason: str | None = None,
    needs_validation: bool | None = None,
    values: dict[str, Any] | None = None,
) -> Request:
    """Fire ``trigger``: legal move (workflows), CAS on state and version, history row."""
    ctx = workflows.Context(actor_kind=actor.kind, reason=reason, needs_validation=needs_validation)
    try:
        target = workflows.next_state(request.state, trigger, ctx)
    except workflows.IllegalTransition as exc:
        if exc.failed_guards and any(g.startswith("actor_") for g in exc.failed_guards):
            raise Forbidden(exc.reason) from None
        if exc.failed_guards:
            raise ValidationFailed(exc.reason, errors={"reason": [exc.reason]}) from None
        raise Conflict(exc.reason, allowed=exc.allowed, state=request.state) from None
    at = now()
    changes = {
        "state": target.value,
        "version": request.version + 1,
        "state_changed_at": at,
        **(values or {}),
    }
    expected = {"state": request.state, "version": request.version}
    if queue.in_chunk():
        _chunk().defer_cas(request.id, expected, changes)
    elif not compare_and_set(Request, request.id, expected, changes):
        raise Conflict("La demande a été modifiée entre-temps. Rechargez-la et réessayez.")
    add_row(
        RequestEvent,
        {
            "request_id": request.id,
            "at": at,
            "trigger": trigger,
            "from_state": request.state,
            "to_state": target.value,
            "actor_account_id": actor.account_id,
            "actor_kind": actor.kind,
            "actor_name": actor.name,
            "reason": reason,
            "version": request.version,
        },
    )
    audit.record(
        "request.transition",
        actor_account_id=actor.account_id,
        actor_kind=actor.kind,
        subject_type="request",
        subject_id=request.number,
        details={"trigger": trigger, "from": request.state, "to": target.value},
    )
    # Written by the compare-and-set already: the unit of work must not write them again.
    for key, value in changes.items():
        set_committed_value(request, key, value)
    return request


@dataclass
class _ChunkState:
    """What a chunk of pipeline messages shares (``queue.in_chunk``), dropped when it ends.

    * The requests' compare-and-sets, deferred: one statement for the chunk at its end (several
      transitions of one request merge into one). If any row moved meanwhile, the chunk fails
      and each message runs again on its own, where the compare-and-set is immediate.
    * The profile views and access checks the chunk's applies read. A view stays valid for the
      next request as long as the applied changesets only created new people with their new
      relations and subjects (``ApplyContext.touches_existing`` false): nothing a view holds
      changed. Anything else empties the caches, and the next read sees the chunk's own writes.
    """

    cas: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    views: dict[tuple[Any, ...], ProfileView] = field(default_factory=dict)
    access: dict[tuple[int, int], ProfileAccess | None] = field(default_factory=dict)
    # The check's reads, made for the whole chunk before its first check.
    people: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    candidates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    conflicts: PendingConflicts | None = None
    members: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)

    def defer_cas(self, request_id: int, expected: dict[str, Any], changes: dict[str, Any]) -> None:
        if request_id in self.cas:
            self.cas[request_id][1].update(changes)  # expected stays the first transition's
        else:
            self.cas[request_id] = (dict(expected), dict(changes))

    def forget_reads(self) -> None:
        self.views.clear()
        self.access.clear()


def _chunk() -> _ChunkState:
    state = db.session.info.get("chunk_state")
    if state is None:
        state = db.session.info["chunk_state"] = _ChunkState()
    return state  # type: ignore[no-any-return]


def _finish_chunk() -> None:
    """Write the chunk's deferred compare-and-sets: one statement per set of columns."""
    state = db.session.info.get("chunk_state")
    if state is None or not state.cas:
        return
    table = Request.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for request_id, (expected, changes) in state.cas.items():
        params = {"_id": request_id, "_state": expected["state"], "_version": expected["version"]}
        params.update({f"v_{key}": value for key, value in changes.items()})
        groups.setdefault(tuple(sorted(changes)), []).append(params)
    state.cas.clear()
    for columns, rows in groups.items():
        stmt = (
            table.update()
            .where(
                table.c.id == bindparam("_id"),
                table.c.state == bindparam("_state"),
                table.c.version == bindparam("_version"),
            )
            .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
        )
        changed = db.session.execute(stmt, rows).rowcount  # type: ignore[attr-defined]
        if changed != len(rows):
            raise Conflict("Une demande du lot a été modifiée entre-temps.")


# ---------------------------------------------------------------- submission


def variables_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """A form's errors keyed as the submission's body: ``variables.<path>``, and the form's
    own errors (not about one field) under ``variables``."""
    return {
        "variables" if path == FORM_LEVEL else f"variables.{path}": texts
        for path, texts in errors.items()
    }


def _body_hash(item: str, variables: Any) -> str:
    canonical = json.dumps(
        {"item": item, "variables": variables}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _number(request: Request) -> str:
    return f"DEM-{request.created_at.year}-{request.id:06d}"


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


def submit(
    *,
    account_id: int,
    account_name: str,
    profile_id: int,
    item: str,
    variables: Any,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Validate and record a submission; returns (HTTP status, body). One transaction."""
    # The access check and the key's earlier answer, if any, in one round trip.
    rows = db.session.execute(
        _access_and_key_query(),
        {"account_id": account_id, "profile_id": profile_id, "idempotency_key": idempotency_key},
    ).all()
    access = access_from_rows(account_id, rows)
    if access is None:
        raise NotFound()
    body_hash = _body_hash(item, variables)
    if idempotency_key is not None and rows[0][3] is not None:
        return _replayed(rows[0][3:], body_hash)
    form = form_or_404(item) if isinstance(item, str) else None
    if form is None:
        raise ValidationFailed(errors={"item": ["Formulaire inconnu."]})
    if form.requires_authority and not access.can_manage:
        raise Forbidden(
            "Seules les personnes possédant les autorisations requises (personnes responsables, "
            "administratrices, dirigeantes) peuvent soumettre ce formulaire."
        )
    if not isinstance(variables, dict):
        raise ValidationFailed(errors={"variables": ["Doit être un objet."]})
    try:
        today = now().date()
        cleaned = form.validate(variables, today=today)
        view = contacts_view(
            profile_id, contact_ids=_contacts_named(cleaned), parts=form.view_parts
        )
        operations = form.changeset(cleaned, view, BuildOptions(today=today))
    except FormValidationError as exc:
        raise ValidationFailed(errors=variables_errors(exc.errors)) from None
    created_at = now()
    changeset = [op.to_dict() for op in operations]
    labels = sentences.labels_of(view, changeset)
    body = {
        "number": "",  # known once written
        "item": form.slug,
        "title": form.title_fr,
        "state": "submitted",
        "state_label": workflows.label("submitted"),
        "profile_id": profile_id,
        "submitted_at": created_at.isoformat(),
        "submitted_by": account_name,
        "applied_at": None,
        "visible_at": None,
    }
    params = {
        "p_form_slug": form.slug,
        "p_form_version": form.version,
        "p_organisation_id": profile_id,
        "p_account_id": account_id,
        "p_account_name": account_name,
        "p_variables": variables,
        "p_changeset": changeset,
        "p_labels": labels,
        "p_validation_rule": form.validation_rule,
        "p_at": created_at,
        "p_ip": audit.client_ip(),
        "p_audit_details": {"form": form.slug, "profile_id": profile_id},
        "p_key": idempotency_key,
        "p_body_hash": body_hash,
        "p_response": body,
    }
    try:
        request_id, number = _write_submission(created_at.year, params)
        record_keys(request_id, profile_id, changeset)
        db.session.commit()
    except IntegrityError:
        # The same key raced us: answer what the winner answered.
        db.session.rollback()
        if idempotency_key is not None:
            replay = _replay(account_id, idempotency_key, body_hash)
            if replay is not None:
                return replay
        raise
    body["number"] = number
    # The row went in with the request's (``_write_submission``): its log line, once committed.
    audit.log_line("request.submit", "success", account_id, "request", number)
    return 202, body


@functools.cache
def _access_and_key_query() -> Any:
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


def _write_submission(year: int, params: dict[str, Any]) -> tuple[int, str]:
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
    db.session.info.setdefault("outbox_topics", set()).add(CHECK_TOPIC)  # as queue.emit
    return int(request_id), str(number)


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
        message = {
            "topic": literal(CHECK_TOPIC, String),
            "payload": payload,
            "dedupe_key": dedupe_key,
            "created_at": at,
            "available_at": at,
            "attempts": literal(0, Integer),
            "failed": literal(False),
        }
        audit_row = {
            "at": at,
            "action": literal("request.submit", String),
            "outcome": literal("success", String),
            "actor_account_id": p("account_id", audits.c.actor_account_id),
            "actor_kind": literal("account", String),
            "ip": p("ip", audits.c.ip),
            "subject_type": literal("request", String),
            "subject_id": number,
            "details": p("audit_details", audits.c.details),
        }
        key = {
            "account_id": p("account_id", keys.c.account_id),
            "key": p("key", keys.c.key),
            "body_hash": p("body_hash", keys.c.body_hash),
            "request_id": request_id,
            "status": literal(202, Integer),
            "response": p("response", keys.c.response),
            "created_at": at,
        }
        tables = [(events, event), (outbox, message), (audits, audit_row)]
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


def _replayed(stored: Any, body_hash: str) -> tuple[int, dict[str, Any]]:
    """The answer stored with an idempotency key ``(body hash, status, answer)``; 422 when the
    key served another body."""
    stored_hash, status, response = stored
    if stored_hash != body_hash:
        raise ValidationFailed(
            "Cette clé d'idempotence a déjà servi pour une autre demande.",
            errors={"Idempotency-Key": ["Clé déjà utilisée avec un contenu différent."]},
        )
    return int(status or 202), dict(response or {})


def _contacts_named(variables: Any, *extra: int | None) -> set[int]:
    """The existing contacts a submission is about (its view of the profile is scoped to them)."""
    named = {variables.get("contact_id") if isinstance(variables, dict) else None, *extra}
    return {i for i in named if isinstance(i, int)}


def _replay(account_id: int, key: str, body_hash: str) -> tuple[int, dict[str, Any]] | None:
    keys = IdempotencyKey.__table__
    stored = db.session.execute(
        select(keys.c.body_hash, keys.c.status, keys.c.response).where(
            keys.c.account_id == account_id, keys.c.key == key
        )
    ).first()
    return None if stored is None else _replayed(stored, body_hash)


# ---------------------------------------------------------------- background steps


def find_candidates(person: dict[str, Any]) -> list[dict[str, Any]]:
    """Duplicate candidates of a new person (the duplicates domain registers the finder)."""
    finder = current_app.extensions["catalogue_duplicate_finder"]
    return finder(person)  # type: ignore[no-any-return]


def _new_person(request: Request) -> dict[str, Any] | None:
    """The new person a request adds (what the duplicate check looks for), or None."""
    form = registry.get(request.form_slug)
    if form is None:
        return None
    return form.new_person(form.validate(request.variables, today=request.created_at.date()))


def _prefetch_check(messages: list[queue.OutboxMessage]) -> None:
    """A check chunk's reads in a few queries: its requests, then every new person's duplicate
    candidates and every conflicting pending request. The chunk's checks write neither
    contacts nor conflict keys, so what they would each read is what is read here first."""
    _prefetch(messages)
    state = _chunk()
    pending = [
        r for r in db.session.info["prefetched"] if r.state in ("submitted", "duplicate_check")
    ]
    state.conflicts = pending_conflicts(pending)
    for request in pending:
        try:
            state.people[request.id] = _new_person(request)
        except FormValidationError:
            continue  # its own check says so, one by one
    finders = current_app.extensions.get("catalogue_duplicate_finder_many")
    if finders is None or finders[0] is not current_app.extensions["catalogue_duplicate_finder"]:
        return  # a finder of its own: asked person by person
    people = {i: person for i, person in state.people.items() if person}
    if people:
        state.candidates = dict(zip(people, finders[1](list(people.values())), strict=True))


def run_check(message: queue.OutboxMessage) -> None:
    """Outbox handler: duplicate check, then agent validation or straight to approval."""
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state not in ("submitted", "duplicate_check"):
        return  # a redelivery, or the request moved on (cancelled…)
    if request.state == "submitted":
        transition(request, "start_check", SYSTEM_ACTOR)
    state = _chunk() if queue.in_chunk() else None
    if state is not None and request.id in state.people:
        person = state.people[request.id]
    else:
        person = _new_person(request)
    if state is not None and request.id in state.candidates:
        candidates = state.candidates[request.id]
    else:
        candidates = find_candidates(person) if person else []
    if person:
        candidates = with_same_name_members(
            _members(request.organisation_id, state), person, candidates
        )
    conflicts = find_and_link(request, state.conflicts if state is not None else None)
    rule = request.validation_rule
    needs = (
        bool(conflicts)
        or rule == "always"
        or (
            rule == "client_number_or_candidates"
            and bool(candidates or (person and person.get("client_number")))
        )
    )
    values: dict[str, Any] = {"duplicate_candidates": candidates, "needs_validation": needs}
    if conflicts:
        values["reason"] = " ".join(conflicts)
    if needs:
        transition(request, "require_validation", SYSTEM_ACTOR, values=values)
    else:
        transition(request, "pass_check", SYSTEM_ACTOR, needs_validation=False, values=values)
        queue.emit(APPLY_TOPIC, {"request_id": request.id}, dedupe_key=f"apply:{request.id}")


def _members(organisation_id: int, state: _ChunkState | None) -> list[tuple[int, str, str]]:
    """The organisation's active members' names (read once per chunk and organisation: the
    check writes no contact)."""
    if state is None:
        return active_member_names(organisation_id)
    if organisation_id not in state.members:
        state.members[organisation_id] = active_member_names(organisation_id)
    return state.members[organisation_id]


def _check_exhausted(message: queue.OutboxMessage, error: str) -> None:
    request = db.session.get(Request, message.payload["request_id"])
    if request is None:
        return
    # Every failed attempt was rolled back whole, its ``start_check`` included: the request is
    # still ``submitted`` here, and must not stay there for good.
    if request.state == "submitted":
        transition(request, "start_check", SYSTEM_ACTOR)
    if request.state == "duplicate_check":
        transition(
            request,
            "require_validation",
            SYSTEM_ACTOR,
            values={
                "needs_validation": True,
                "reason": (
                    "La vérification automatique des doublons a échoué : un agent doit valider."
                ),
            },
        )


def run_apply(message: queue.OutboxMessage) -> None:
    """Outbox handler: re-check, apply the changeset and move to ``applied`` in one transaction.

    In a chunk (``queue.in_chunk``) the request's rows are only added to the session, with
    reserved ids: the chunk writes them all at its end, one statement per table. A changeset
    that no longer applies then fails the chunk, and each message runs again on its own, where
    a savepoint undoes that request's writes alone.
    """
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state != "approved":
        return
    chunked = queue.in_chunk()
    problem = _apply_problem(request, chunked)
    if problem is not None:
        transition(request, "fail", SYSTEM_ACTOR, reason=problem, values={"reason": problem})
        return
    form = registry.get(request.form_slug)
    assert form is not None
    at = now()
    visible_at = at + propagation_delay()
    try:
        submitted_on = request.created_at.date()
        view = _view(
            request.organisation_id,
            _contacts_named(request.variables, request.merge_with_contact_id),
            form.view_parts,
            chunked,
        )
        operations = form.changeset(
            form.validate(request.variables, today=submitted_on),
            view,
            BuildOptions(merge_with_contact_id=request.merge_with_contact_id, today=submitted_on),
        )
    except FormValidationError as exc:
        reason = "La demande ne correspond plus au dossier : " + form.explain(exc.errors) + "."
        transition(request, "fail", SYSTEM_ACTOR, reason=reason, values={"reason": reason})
        return
    changeset = [op.to_dict() for op in operations]
    labels = sentences.merge_labels(request.labels, sentences.labels_of(view, changeset))
    apply_reason = _merge_outcome(request, changeset, labels)
    ctx = ApplyContext(
        request_id=request.id,
        actor_account_id=request.submitted_by_account_id,
        at=at,
        visible_at=visible_at,
    )
    values = {
        "applied_at": at,
        "visible_at": visible_at,
        "changeset": changeset,
        "labels": labels,
    }
    if chunked:
        transition(request, "apply", SYSTEM_ACTOR, reason=apply_reason, values=values)
        for index, operation in enumerate(operations):
            apply_operation(operation, index, ctx)  # an ApplyError fails the chunk
        if ctx.touches_existing:
            _chunk().forget_reads()
    else:
        # A savepoint: a failing changeset leaves the request's own writes out, nothing else.
        begin_writing()
        savepoint = db.session.begin_nested()
        try:
            transition(request, "apply", SYSTEM_ACTOR, reason=apply_reason, values=values)
            for index, operation in enumerate(operations):
                apply_operation(operation, index, ctx)
            savepoint.commit()
        except (ApplyError, IntegrityError) as exc:
            savepoint.rollback()
            db.session.refresh(request)
            reason = "La modification n'a pas pu être appliquée au dossier : " + (
                str(exc)
                if isinstance(exc, ApplyError)
                else "elle contredit une donnée déjà enregistrée (par exemple un numéro de "
                "client ou une adresse courriel déjà attribués à un autre contact)."
            )
            transition(request, "fail", SYSTEM_ACTOR, reason=reason, values={"reason": reason})
            return
    _queue_apply_emails(request, ctx)


def _merge_outcome(
    request: Request, changeset: list[dict[str, Any]], labels: dict[str, Any]
) -> str | None:
    """What the history says of an apply that kept an existing contact (an agent's merge)."""
    if request.merge_with_contact_id is None:
        return None
    contacts = labels.setdefault("contacts", {})
    key = str(request.merge_with_contact_id)
    if key not in contacts:
        contact = db.session.get(Contact, request.merge_with_contact_id)
        if contact is not None:
            contacts[key] = f"{contact.first_name} {contact.last_name}"
    name = contacts.get(key)
    kept = f"Contact existant conservé : {name}." if name else "Contact existant conservé."
    if not changeset:
        return f"{kept} Il détenait déjà tout ce que la demande ajoutait : rien n'a changé."
    return f"{kept} Modifications : " + " ; ".join(sentences.describe(changeset, labels)) + "."


def _view(
    organisation_id: int, contact_ids: set[int], parts: Collection[ViewPart], chunked: bool
) -> ProfileView:
    """The profile view an apply computes its changeset against (shared within a chunk): the
    submission's own reader, so both steps see the profile through the same code."""
    if not chunked:
        return contacts_view(organisation_id, contact_ids=contact_ids, parts=parts)
    views = _chunk().views
    key = (organisation_id, frozenset(contact_ids), frozenset(parts))
    if key not in views:
        views[key] = contacts_view(organisation_id, contact_ids=contact_ids, parts=parts)
    return views[key]


def _apply_problem(request: Request, chunked: bool = False) -> str | None:
    """Why the request can no longer be applied (the submitter lost access…), or None."""
    form = registry.get(request.form_slug)
    if form is None:
        return "Le formulaire de cette demande n'existe plus."
    key = (request.submitted_by_account_id, request.organisation_id)
    cache = _chunk().access if chunked else {}
    if key not in cache:
        cache[key] = profile_access(*key)
    access = cache[key]
    if access is None:
        return "Le demandeur n'a plus accès au dossier de l'organisation."
    if form.requires_authority and not access.can_manage:
        return "Le demandeur n'a plus l'autorité requise sur le dossier de l'organisation."
    return None


def _submitter(request: Request) -> tuple[str | None, str, str]:
    from ..accounts.models import Account

    account = db.session.get(Account, request.submitted_by_account_id)
    if account is None:
        return None, "fr", ""
    return account.email, account.language or "fr", account.first_name


def _queue_apply_emails(request: Request, ctx: ApplyContext) -> None:
    from ..linking.service import issue, queue_credentials_email
    from ..notifications.service import queue_email

    organisation = db.session.get(Organisation, request.organisation_id)
    assert organisation is not None
    for index, item in enumerate(ctx.emails):
        contact = ctx.new_contacts.get(item["contact_id"]) or db.session.get(
            Contact, item["contact_id"]
        )
        if contact is None or not contact.email:
            continue
        if item["kind"] == "linking":
            credential, code = issue(
                contact_id=contact.id,
                organisation_id=item["organisation_id"],
                request_id=request.id,
                actor_account_id=request.submitted_by_account_id,
                new_contact=contact.id in ctx.new_contacts,
            )
            target = db.session.get(Organisation, item["organisation_id"]) or organisation
            queue_credentials_email(
                to=contact.email,
                language=contact.language,
                first_name=contact.first_name,
                last_name=contact.last_name,
                organisation_name=target.name,
                organisation_client_number=target.client_number,
                credential=credential,
                code=code,
                migrated=False,  # added or re-sent by a form: nothing was migrated for them
                contact_id=contact.id,
                request_id=request.id,
                dedupe_key=f"request:{request.id}:email:{index}",
            )
        else:
            queue_email(
                to=contact.email,
                template=item["template"],
                language=contact.language,
                params={
                    "first_name": contact.first_name,
                    "last_name": contact.last_name,
                    "organisation_name": organisation.name,
                    "number": request.number,
                    **item["params"],
                },
                contact_id=contact.id,
                request_id=request.id,
                dedupe_key=f"request:{request.id}:email:{index}",
            )
    email, language, first_name = _submitter(request)
    form = registry.get(request.form_slug)
    if email:
        queue_email(
            to=email,
            template="request_applied",
            language=language,
            params={
                "first_name": first_name,
                "number": request.number,
                "title": form.title_en
                if form and language == "en"
                else (form.title_fr if form else request.form_slug),
                # Datetimes: the template writes them in words, on the portal's clock.
                "applied_at": ctx.at,
                "visible_at": ctx.visible_at,
                "summary": _applied_summary(request, language),
            },
            account_id=request.submitted_by_account_id,
            request_id=request.id,
            dedupe_key=f"request:{request.id}:applied",
        )


def _applied_summary(request: Request, language: str) -> str:
    """What the applied email says was done (its own paragraph, or nothing): the contact an
    agent's merge kept, and the operations in French sentences."""
    changeset, labels = request.changeset or [], dict(request.labels or {})
    if language == "en":
        if request.merge_with_contact_id is None:
            return ""
        if not changeset:
            return "An existing contact was kept: nothing had to change in your file.\n\n"
        return "An existing contact was kept instead of creating a new one.\n\n"
    if request.merge_with_contact_id is not None:
        return f"{_merge_outcome(request, changeset, labels)}\n\n"
    done = sentences.describe(changeset, labels)
    if not done:
        return ""
    return "Ce qui a été fait :\n" + "\n".join(f"- {sentence}" for sentence in done) + "\n\n"


def notify_rejected(request: Request) -> None:
    """Queue the rejection email to the submitter (in the caller's transaction)."""
    from ..notifications.service import queue_email

    email, language, first_name = _submitter(request)
    form = registry.get(request.form_slug)
    if email:
        queue_email(
            to=email,
            template="request_rejected",
            language=language,
            params={
                "first_name": first_name,
                "number": request.number,
                "title": form.title_en
                if form and language == "en"
                else (form.title_fr if form else request.form_slug),
                "reason": request.reason or "",
                # The rejection commits with this email: its time is now (written in words).
                "rejected_at": now(),
            },
            account_id=request.submitted_by_account_id,
            request_id=request.id,
            dedupe_key=f"request:{request.id}:rejected",
        )


def _apply_exhausted(message: queue.OutboxMessage, error: str) -> None:
    request = db.session.get(Request, message.payload["request_id"])
    if request is not None and request.state == "approved":
        # ``error`` is a technical text (an exception): for the logs, not for people.
        reason = (
            "L'application de la demande a échoué après plusieurs tentatives (incident "
            "technique). Un agent peut la relancer depuis la file de validation."
        )
        transition(request, "fail", SYSTEM_ACTOR, reason=reason, values={"reason": reason})


def _prefetch(messages: list[queue.OutboxMessage]) -> None:
    """Load a chunk's requests in one query (the handlers' ``get`` then hit the identity map)."""
    ids = [m.payload.get("request_id") for m in messages]
    # Held until the transaction ends: the identity map only keeps weak references.
    db.session.info["prefetched"] = db.session.scalars(
        select(Request).where(Request.id.in_([i for i in ids if i]))
    ).all()


def init_app() -> None:
    """Register the pipeline's topics (database effects only: batched)."""
    # The check reads only committed rows (other requests, match and conflict keys): its chunk
    # runs without autoflush. The apply reads what its own operations wrote: it keeps autoflush.
    for topic, handler, exhausted, prefetch, autoflush, then in (
        (CHECK_TOPIC, run_check, _check_exhausted, _prefetch_check, False, APPLY_TOPIC),
        (APPLY_TOPIC, run_apply, _apply_exhausted, _prefetch, True, None),
    ):
        queue.register(
            topic,
            queue.Handler(
                func=handler,
                on_exhausted=exhausted,
                batched=True,
                prefetch=prefetch,
                autoflush=autoflush,
                finish=_finish_chunk,
                then=then,
            ),
        )


# ---------------------------------------------------------------- reading


def summary(request: Request) -> dict[str, Any]:
    """The short form of a request (as answered to a submission and in lists)."""
    form = registry.get(request.form_slug)
    return {
        "number": request.number,
        "item": request.form_slug,
        "title": form.title_fr if form else request.form_slug,
        "state": request.state,
        "state_label": workflows.label(request.state),
        "profile_id": request.organisation_id,
        "submitted_at": request.created_at.isoformat(),
        "submitted_by": request.submitted_by_name,
        "applied_at": request.applied_at.isoformat() if request.applied_at else None,
        "visible_at": request.visible_at.isoformat() if request.visible_at else None,
    }


def detail(request: Request, *, for_agent: bool) -> dict[str, Any]:
    """Everything about a request that its reader may see."""
    body = summary(request)
    labels = request.labels or {}
    body["organisation"] = _organisation_name(request.organisation_id)
    body["operations"] = sentences.describe(request.changeset, labels)
    body["contacts"] = [
        {"id": int(contact_id), "name": name}
        for contact_id, name in (labels.get("contacts") or {}).items()
    ]
    body["variables"] = request.variables
    body["reason"] = request.reason
    body["history"] = [
        {
            "at": e.at.isoformat(),
            "trigger": e.trigger,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "to_state_label": workflows.label(e.to_state) if e.to_state else None,
            "actor": e.actor_name,
            "reason": e.reason,
        }
        for e in request.events
    ]
    comments = db.session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request.id)
        .order_by(RequestComment.id)
    ).all()
    body["comments"] = [
        {
            "at": c.created_at.isoformat(),
            "author": c.author_name,
            "author_kind": c.author_kind,
            "body": c.body,
            "internal": c.internal,
        }
        for c in comments
        if for_agent or not c.internal
    ]
    body["visibility"] = (
        {
            "visible_at": request.visible_at.isoformat(),
            "visible": bool(request.visible_at and request.visible_at <= now()),
        }
        if request.visible_at
        else None
    )
    body["linked_requests"] = linked(request)
    if for_agent:
        body["duplicate_candidates"] = request.duplicate_candidates or []
        body["claimed_by_account_id"] = request.claimed_by_account_id
        body["changeset"] = request.changeset
        body["merge_with_contact_id"] = request.merge_with_contact_id
    return body


def _organisation_name(organisation_id: int) -> dict[str, Any]:
    organisation = db.session.get(Organisation, organisation_id)
    assert organisation is not None  # a request's organisation is never deleted
    return {
        "id": organisation.id,
        "name": organisation.name,
        "client_number": organisation.client_number,
    }


def get_for_account(number: str, account_id: int, *, role: str) -> tuple[Request, bool]:
    """A request the account may read, and whether it reads as an agent; 404 otherwise.

    Visible to agents, to its submitter while they still have access to the profile, and to
    those who may manage the organisation (responsables, administrateurs, dirigeants). Anyone
    else gets the same 404 as for a number that does not exist: numbers are sequential, and a
    different answer would let a member walk the firm's requests.
    """
    request = db.session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise NotFound()
    if role == "agent":
        return request, True
    access = profile_access(account_id, request.organisation_id)
    if access is None:
        raise NotFound()
    if request.submitted_by_account_id != account_id and not access.can_manage:
        raise NotFound()
    return request, False


def list_for_profile(
    access: ProfileAccess, *, state: str | None, page: int, per_page: int
) -> dict[str, Any]:
    """*Mes demandes*: the profile's requests, newest first."""
    stmt = select(Request).where(Request.organisation_id == access.organisation_id)
    if not access.can_manage:
        stmt = stmt.where(Request.submitted_by_account_id == access.account_id)
    if state:
        stmt = stmt.where(Request.state == state)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Request.created_at.desc(), Request.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return {"items": [summary(r) for r in rows], "page": page, "per_page": per_page, "total": total}


def cancel(number: str, account_id: int, account_name: str) -> dict[str, Any]:
    """The submitter cancels before approval."""
    request, _ = get_for_account(number, account_id, role="user")
    if request.submitted_by_account_id != account_id:
        raise Forbidden("Seul le demandeur peut annuler sa demande.")
    transition(request, "cancel", Actor("submitter", account_id, account_name))
    db.session.commit()
    return summary(request)


def add_comment(
    number: str, account_id: int, account_name: str, role: str, body: str, internal: bool
) -> dict[str, Any]:
    """A comment by the submitter's side or an agent (``internal``: agents only)."""
    request, is_agent = get_for_account(number, account_id, role=role)
    if internal and not is_agent:
        raise Forbidden("Seuls les agents peuvent écrire un commentaire interne.")
    comment = RequestComment(
        request_id=request.id,
        author_account_id=account_id,
        author_kind="agent" if is_agent else "submitter",
        author_name=account_name,
        body=body,
        internal=internal,
    )
    db.session.add(comment)
    audit.record(
        "request.comment",
        actor_account_id=account_id,
        actor_kind=role,
        subject_type="request",
        subject_id=request.number,
    )
    db.session.commit()
    return {
        "at": comment.created_at.isoformat(),
        "author": account_name,
        "author_kind": comment.author_kind,
        "body": body,
        "internal": internal,
    }
