"""Submit, move and apply requests. Every state change is a compare-and-set with its history row."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, String, case, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

import workflows
from forms import registry
from forms.base import BuildOptions, FormDefinition, FormValidationError

from .. import audit, queue
from ..access import ProfileAccess, profile_access, require_profile
from ..clock import now
from ..db import begin_writing, compare_and_set, db
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..profiles.apply import ApplyContext, ApplyError, apply_operation
from ..profiles.models import Contact, Organisation
from ..profiles.snapshot import profile_view
from . import templates  # noqa: F401 - registers the emails
from .conflicts import find_and_link, linked, record_keys
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
    if not compare_and_set(
        Request, request.id, {"state": request.state, "version": request.version}, changes
    ):
        raise Conflict("La demande a été modifiée entre-temps. Rechargez-la et réessayez.")
    db.session.add(
        RequestEvent(
            request_id=request.id,
            at=at,
            trigger=trigger,
            from_state=request.state,
            to_state=target.value,
            actor_account_id=actor.account_id,
            actor_kind=actor.kind,
            actor_name=actor.name,
            reason=reason,
            version=request.version,
        )
    )
    audit.record(
        "request.transition",
        actor_account_id=actor.account_id,
        actor_kind=actor.kind,
        subject_type="request",
        subject_id=request.number,
        details={"trigger": trigger, "from": request.state, "to": target.value},
    )
    for key, value in changes.items():
        setattr(request, key, value)
    return request


# ---------------------------------------------------------------- submission


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


def _id_and_number(year: int) -> tuple[ColumnElement[int], ColumnElement[str]]:
    """SQL for a new request's id and its number, for its INSERT."""
    return _id_and_number_sql(db.session.get_bind().dialect.name, year)


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
    access = require_profile(account_id, profile_id)
    body_hash = _body_hash(item, variables)
    if idempotency_key is not None:
        replay = _replay(account_id, idempotency_key, body_hash)
        if replay is not None:
            return replay
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
        view = profile_view(profile_id, contact_ids=_contacts_named(cleaned), parts=form.view_parts)
        operations = form.changeset(cleaned, view, BuildOptions(today=today))
    except FormValidationError as exc:
        raise ValidationFailed(
            errors={f"variables.{k}": v for k, v in exc.errors.items()}
        ) from None
    created_at = now()
    new_id, number = _id_and_number(created_at.year)
    request = Request(
        id=new_id,
        number=number,
        form_slug=form.slug,
        form_version=form.version,
        organisation_id=profile_id,
        submitted_by_account_id=account_id,
        submitted_by_name=account_name,
        variables=variables,
        changeset=[op.to_dict() for op in operations],
        validation_rule=form.validation_rule,
        state="submitted",
        version=1,
        created_at=created_at,
    )
    db.session.add(request)
    db.session.flush()
    # The INSERT wrote the number (``number_sql``); the same text here spares reading it back.
    set_committed_value(request, "number", _number(request))
    record_keys(request)
    db.session.add(
        RequestEvent(
            request_id=request.id,
            at=request.created_at,
            trigger="submit",
            from_state=None,
            to_state="submitted",
            actor_account_id=account_id,
            actor_kind="submitter",
            actor_name=account_name,
            version=0,
        )
    )
    queue.emit(CHECK_TOPIC, {"request_id": request.id}, dedupe_key=f"check:{request.id}")
    audit.record(
        "request.submit",
        actor_account_id=account_id,
        actor_kind="account",
        subject_type="request",
        subject_id=request.number,
        details={"form": form.slug, "profile_id": profile_id},
    )
    body = summary(request)
    if idempotency_key is not None:
        db.session.add(
            IdempotencyKey(
                account_id=account_id,
                key=idempotency_key,
                body_hash=body_hash,
                request_id=request.id,
                status=202,
                response=body,
            )
        )
    try:
        db.session.commit()
    except IntegrityError:
        # The same key raced us: answer what the winner answered.
        db.session.rollback()
        if idempotency_key is not None:
            replay = _replay(account_id, idempotency_key, body_hash)
            if replay is not None:
                return replay
        raise
    return 202, body


def _contacts_named(variables: Any, *extra: int | None) -> set[int]:
    """The existing contacts a submission is about (its view of the profile is scoped to them)."""
    named = {variables.get("contact_id") if isinstance(variables, dict) else None, *extra}
    return {i for i in named if isinstance(i, int)}


def _replay(account_id: int, key: str, body_hash: str) -> tuple[int, dict[str, Any]] | None:
    stored = db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id, IdempotencyKey.key == key
        )
    )
    if stored is None:
        return None
    if stored.body_hash != body_hash:
        raise ValidationFailed(
            "Cette clé d'idempotence a déjà servi pour une autre demande.",
            errors={"Idempotency-Key": ["Clé déjà utilisée avec un contenu différent."]},
        )
    return int(stored.status or 202), dict(stored.response or {})


# ---------------------------------------------------------------- background steps


def find_candidates(person: dict[str, Any]) -> list[dict[str, Any]]:
    """Duplicate candidates of a new person (the duplicates domain registers the finder)."""
    finder = current_app.extensions["catalogue_duplicate_finder"]
    return finder(person)  # type: ignore[no-any-return]


def run_check(message: queue.OutboxMessage) -> None:
    """Outbox handler: duplicate check, then agent validation or straight to approval."""
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state not in ("submitted", "duplicate_check"):
        return  # a redelivery, or the request moved on (cancelled…)
    if request.state == "submitted":
        transition(request, "start_check", SYSTEM_ACTOR)
    form = registry.get(request.form_slug)
    person = (
        form.new_person(form.validate(request.variables, today=request.created_at.date()))
        if form
        else None
    )
    candidates = find_candidates(person) if person else []
    conflicts = find_and_link(request)
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
    """Outbox handler: re-check, apply the changeset and move to ``applied`` in one transaction."""
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state != "approved":
        return
    problem = _apply_problem(request)
    if problem is not None:
        transition(request, "fail", SYSTEM_ACTOR, reason=problem, values={"reason": problem})
        return
    form = registry.get(request.form_slug)
    assert form is not None
    at = now()
    visible_at = at + propagation_delay()
    try:
        submitted_on = request.created_at.date()
        operations = form.changeset(
            form.validate(request.variables, today=submitted_on),
            profile_view(
                request.organisation_id,
                contact_ids=_contacts_named(request.variables, request.merge_with_contact_id),
                parts=form.view_parts,
            ),
            BuildOptions(merge_with_contact_id=request.merge_with_contact_id, today=submitted_on),
        )
    except FormValidationError as exc:
        reason = "La demande ne correspond plus au dossier : " + "; ".join(
            f"{k} : {' '.join(v)}" for k, v in exc.errors.items()
        )
        transition(request, "fail", SYSTEM_ACTOR, reason=reason, values={"reason": reason})
        return
    ctx = ApplyContext(
        request_id=request.id,
        actor_account_id=request.submitted_by_account_id,
        at=at,
        visible_at=visible_at,
    )
    # A savepoint, not the whole transaction: other requests of the same batch share it.
    begin_writing()
    savepoint = db.session.begin_nested()
    try:
        transition(
            request,
            "apply",
            SYSTEM_ACTOR,
            values={
                "applied_at": at,
                "visible_at": visible_at,
                "changeset": [op.to_dict() for op in operations],
            },
        )
        for index, operation in enumerate(operations):
            apply_operation(operation, index, ctx)
        savepoint.commit()
    except ApplyError as exc:
        savepoint.rollback()
        db.session.refresh(request)
        transition(request, "fail", SYSTEM_ACTOR, reason=str(exc), values={"reason": str(exc)})
        return
    _queue_apply_emails(request, ctx)


def _apply_problem(request: Request) -> str | None:
    """Why the request can no longer be applied (the submitter lost access…), or None."""
    access = profile_access(request.submitted_by_account_id, request.organisation_id)
    form = registry.get(request.form_slug)
    if form is None:
        return "Le formulaire de cette demande n'existe plus."
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
    from ..linking.service import issue
    from ..notifications.service import queue_email

    organisation = db.session.get(Organisation, request.organisation_id)
    assert organisation is not None
    for index, item in enumerate(ctx.emails):
        contact = db.session.get(Contact, item["contact_id"])
        if contact is None or not contact.email:
            continue
        if item["kind"] == "linking":
            credential, code = issue(
                contact_id=contact.id,
                organisation_id=item["organisation_id"],
                request_id=request.id,
                actor_account_id=request.submitted_by_account_id,
            )
            target = db.session.get(Organisation, item["organisation_id"]) or organisation
            queue_email(
                to=contact.email,
                template="linking_credentials",
                language=contact.language,
                params={
                    "first_name": contact.first_name,
                    "last_name": contact.last_name,
                    "organisation_name": target.name,
                    "organisation_client_number": target.client_number,
                    "identifier": credential.identifier,
                    "code": code,
                    "expires_on": credential.expires_at.date().isoformat(),
                },
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
                "applied_at": ctx.at.strftime("%Y-%m-%d %H:%M UTC"),
                "visible_at": ctx.visible_at.strftime("%Y-%m-%d %H:%M UTC"),
            },
            account_id=request.submitted_by_account_id,
            request_id=request.id,
            dedupe_key=f"request:{request.id}:applied",
        )


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
                "title": form.title_fr if form else request.form_slug,
                "reason": request.reason or "",
            },
            account_id=request.submitted_by_account_id,
            request_id=request.id,
            dedupe_key=f"request:{request.id}:rejected",
        )


def _apply_exhausted(message: queue.OutboxMessage, error: str) -> None:
    request = db.session.get(Request, message.payload["request_id"])
    if request is not None and request.state == "approved":
        reason = f"L'application a échoué après plusieurs tentatives ({error[:200]})."
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
    for topic, handler, exhausted, autoflush in (
        (CHECK_TOPIC, run_check, _check_exhausted, False),
        (APPLY_TOPIC, run_apply, _apply_exhausted, True),
    ):
        queue.register(
            topic,
            queue.Handler(
                func=handler,
                on_exhausted=exhausted,
                batched=True,
                prefetch=_prefetch,
                autoflush=autoflush,
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
    return body


def get_for_account(number: str, account_id: int, *, role: str) -> tuple[Request, bool]:
    """A request the account may read (submitter's organisation or agent); 404 otherwise."""
    request = db.session.scalar(select(Request).where(Request.number == number))
    if request is None:
        raise NotFound()
    if role == "agent":
        return request, True
    if profile_access(account_id, request.organisation_id) is None:
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
