"""The pipeline's background steps: the duplicate check and the apply, and their registration.

Each is an outbox handler (``queue.Handler(batched=True)``): a chunk of up to 50 messages runs
in one transaction, its reads made once (:func:`_prefetch_check`, :mod:`.chunk`); a chunk where
anything fails runs again message by message, where each failure is isolated and retried.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forms import registry, sentences
from forms.base import BuildOptions, FormValidationError
from forms.profile import ProfileView, ViewPart
from forms.registry import contacts_named
from workflows import AWAITING_CHECK, State, Trigger, needs_agent

from .. import queue, unit
from ..access import profile_access
from ..clock import now
from ..db import db, reserve_ahead
from ..duplicates.members import active_members_named, with_same_name_members
from ..profiles.apply import ADDS_A_ROW, ApplyContext, ApplyError, apply_operation
from ..profiles.snapshot import contacts_view
from . import chunk, emails
from .conflicts import find_and_link, pending_conflicts
from .lifecycle import APPLY_TOPIC, CHECK_TOPIC, SYSTEM_ACTOR, propagation_delay, transition
from .models import Request


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


def _prefetch_check(messages: list[queue.OutboxMessage], running: unit.Chunk) -> None:
    """A check chunk's reads in a few queries: its requests, then every new person's duplicate
    candidates and every conflicting pending request. The chunk's checks write neither
    contacts nor conflict keys, so what they would each read is what is read here first."""
    _prefetch(messages, running)
    state = running.state(chunk.ChunkState)
    pending = [r for r in running.prefetched if r.state in AWAITING_CHECK]
    state.conflicts = pending_conflicts(pending)
    for request in pending:
        try:
            state.people[request.id] = _new_person(request)
        except FormValidationError:
            continue  # its own check says so, one by one
    named = {r.id: (r.organisation_id, p) for r in pending if (p := state.people.get(r.id))}
    members = active_members_named(named.values())
    for request_id, (organisation_id, _) in named.items():
        state.members[request_id] = members.get(organisation_id, [])
    finders = current_app.extensions.get("catalogue_duplicate_finder_many")
    if finders is None or finders[0] is not current_app.extensions["catalogue_duplicate_finder"]:
        return  # a finder of its own: asked person by person
    people = {i: person for i, person in state.people.items() if person}
    if people:
        state.candidates = dict(zip(people, finders[1](list(people.values())), strict=True))


def run_check(message: queue.OutboxMessage) -> None:
    """Outbox handler: duplicate check, then agent validation or straight to approval."""
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state not in AWAITING_CHECK:
        return  # a redelivery, or the request moved on (cancelled…)
    if request.state == State.SUBMITTED:
        transition(request, Trigger.START_CHECK, SYSTEM_ACTOR)
    state = chunk.current()
    person = state.people[request.id] if request.id in state.people else _new_person(request)
    if request.id in state.candidates:
        candidates = state.candidates[request.id]
    else:
        candidates = find_candidates(person) if person else []
    if person:
        candidates = with_same_name_members(_members(request, person, state), person, candidates)
    conflicts = find_and_link(request, state.conflicts)
    needs = needs_agent(
        request.validation_rule,
        conflicts=bool(conflicts),
        candidates=bool(candidates),
        client_number=bool(person and person.get("client_number")),
    )
    values: dict[str, Any] = {"duplicate_candidates": candidates, "needs_validation": needs}
    if conflicts:
        values["reason"] = " ".join(conflicts)
    if needs:
        transition(request, Trigger.REQUIRE_VALIDATION, SYSTEM_ACTOR, values=values)
    else:
        # Entering approved schedules the apply (lifecycle.ON_ENTER).
        transition(request, Trigger.PASS_CHECK, SYSTEM_ACTOR, needs_validation=False, values=values)


def _members(
    request: Request, person: dict[str, Any], state: chunk.ChunkState
) -> list[tuple[int, str, str]]:
    """The organisation's active members who may be named as ``person`` (read for the whole
    chunk by its prefetch: the check writes no contact)."""
    if request.id not in state.members:
        named = active_members_named([(request.organisation_id, person)])
        state.members[request.id] = named.get(request.organisation_id, [])
    return state.members[request.id]


def _check_exhausted(message: queue.OutboxMessage, error: str) -> None:
    request = db.session.get(Request, message.payload["request_id"])
    if request is None:
        return
    # Every failed attempt was rolled back whole, its ``start_check`` included: the request is
    # still ``submitted`` here, and must not stay there for good.
    if request.state == State.SUBMITTED:
        transition(request, Trigger.START_CHECK, SYSTEM_ACTOR)
    if request.state == State.DUPLICATE_CHECK:
        transition(
            request,
            Trigger.REQUIRE_VALIDATION,
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

    In a chunk the request's rows are only added to the session, with reserved ids: the chunk
    writes them all at its end, one statement per table. A changeset that no longer applies
    then fails the chunk, and each message runs again on its own, where a savepoint undoes that
    request's writes alone (:meth:`chunk.ChunkState.attempt`).
    """
    request = db.session.get(Request, message.payload["request_id"])
    if request is None or request.state != State.APPROVED:
        return
    state = chunk.current()
    problem = _apply_problem(request, state)
    if problem is not None:
        transition(request, Trigger.FAIL, SYSTEM_ACTOR, reason=problem, values={"reason": problem})
        return
    form = registry.get(request.form_slug)
    assert form is not None
    at = now()
    visible_at = at + propagation_delay()
    try:
        submitted_on = request.created_at.date()
        view = _view(
            request.organisation_id,
            contacts_named(request.variables, request.merge_with_contact_id),
            form.view_parts,
            state,
        )
        operations = form.changeset(
            form.validate(request.variables, today=submitted_on),
            view,
            BuildOptions(merge_with_contact_id=request.merge_with_contact_id, today=submitted_on),
        )
    except FormValidationError as exc:
        reason = "La demande ne correspond plus au dossier : " + form.explain(exc.errors) + "."
        transition(request, Trigger.FAIL, SYSTEM_ACTOR, reason=reason, values={"reason": reason})
        return
    changeset = [op.to_dict() for op in operations]
    labels = sentences.merge_labels(request.labels, sentences.labels_of(view, changeset))
    apply_reason = emails.merge_outcome(request, changeset, labels)
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
    # The operations first, then the move to applied: entering it queues the emails the
    # operations asked for (``ctx.emails``, lifecycle.ON_ENTER).

    def apply() -> None:
        for index, operation in enumerate(operations):
            apply_operation(operation, index, ctx)
        transition(
            request, Trigger.APPLY, SYSTEM_ACTOR, reason=apply_reason, values=values, applied=ctx
        )

    # In a chunk a failing changeset fails the chunk; alone, its own writes are undone.
    failure = state.attempt(apply, (ApplyError, IntegrityError))
    if failure is None:
        if ctx.touches_existing:
            state.forget_reads()
        return
    db.session.refresh(request)
    # An ApplyError says in French what no longer holds (« La relation du contact n'est plus
    # active. »); a constraint of the store says nothing a person can read.
    reason = (
        str(failure)
        if isinstance(failure, ApplyError)
        else "La modification contredit une donnée déjà enregistrée (par exemple un numéro de "
        "client ou une adresse courriel déjà attribués à un autre contact)."
    )
    transition(request, Trigger.FAIL, SYSTEM_ACTOR, reason=reason, values={"reason": reason})


def _view(
    organisation_id: int,
    contact_ids: set[int],
    parts: Collection[ViewPart],
    state: chunk.ChunkState,
) -> ProfileView:
    """The profile view an apply computes its changeset against (shared within a chunk): the
    submission's own reader, so both steps see the profile through the same code."""
    views = state.views
    key = (organisation_id, frozenset(contact_ids), frozenset(parts))
    if key not in views:
        views[key] = contacts_view(organisation_id, contact_ids=contact_ids, parts=parts)
    return views[key]


def _apply_problem(request: Request, state: chunk.ChunkState) -> str | None:
    """Why the request can no longer be applied (the submitter lost access…), or None."""
    form = registry.get(request.form_slug)
    if form is None:
        return "Le formulaire de cette demande n'existe plus."
    key = (request.submitted_by_account_id, request.organisation_id)
    cache = state.access
    if key not in cache:
        cache[key] = profile_access(*key)
    access = cache[key]
    if access is None:
        return "Le demandeur n'a plus accès au dossier de l'organisation."
    if form.requires_authority and not access.can_manage:
        return "Le demandeur n'a plus l'autorité requise sur le dossier de l'organisation."
    return None


def _apply_exhausted(message: queue.OutboxMessage, error: str) -> None:
    request = db.session.get(Request, message.payload["request_id"])
    if request is not None and request.state == State.APPROVED:
        # ``error`` is a technical text (an exception): for the logs, not for people.
        reason = (
            "L'application de la demande a échoué après plusieurs tentatives (incident "
            "technique). Un agent peut la relancer depuis la file de validation."
        )
        transition(request, Trigger.FAIL, SYSTEM_ACTOR, reason=reason, values={"reason": reason})


def _prefetch(messages: list[queue.OutboxMessage], running: unit.Chunk) -> None:
    """Load a chunk's requests in one query (the handlers' ``get`` then hit the identity map)."""
    ids = [m.payload.get("request_id") for m in messages]
    # Held until the transaction ends: the identity map only keeps weak references.
    running.prefetched = list(
        db.session.scalars(select(Request).where(Request.id.in_([i for i in ids if i]))).all()
    )


def _prefetch_apply(messages: list[queue.OutboxMessage], running: unit.Chunk) -> None:
    """The chunk's requests, and the ids of the rows their changesets add, reserved in one
    statement (with an email each beside its credentials' emails)."""
    _prefetch(messages, running)
    rows: dict[str, int] = {"emails": len(running.prefetched)}
    for request in running.prefetched:
        for operation in request.changeset or ():
            table = ADDS_A_ROW.get(operation.get("op"))
            if table is not None:
                rows[table] = rows.get(table, 0) + 1
                if table == "linking_credentials":
                    rows["emails"] += 1
    reserve_ahead(rows)


def init_app(app: Flask) -> None:
    """Register the pipeline's topics (database effects only: batched)."""
    # The check reads only committed rows (other requests, match and conflict keys): its chunk
    # runs without autoflush. The apply reads what its own operations wrote: it keeps autoflush.
    # A following drain (the RQ job's) applies the requests its check chunk approves in that
    # chunk's own transaction: no apply message written, committed, and claimed again.
    for topic, handler, exhausted, prefetch, autoflush, then in (
        (CHECK_TOPIC, run_check, _check_exhausted, _prefetch_check, False, APPLY_TOPIC),
        (APPLY_TOPIC, run_apply, _apply_exhausted, _prefetch_apply, True, None),
    ):
        queue.register(
            app,
            topic,
            queue.Handler(
                func=handler,
                on_exhausted=exhausted,
                batched=True,
                prefetch=prefetch,
                autoflush=autoflush,
                finish=chunk.finish,
                then=then,
                take_up=then is not None,
            ),
        )
