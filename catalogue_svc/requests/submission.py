"""A submission, its cancellation and comments: what a person does to a request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import workflows
from forms import registry, sentences
from forms.base import FORM_LEVEL, BuildOptions, FormDefinition, FormValidationError
from forms.changeset import IssueLinkingCredentials, is_new
from forms.registry import contacts_named
from forms.send_linking_credentials import UNLINKED_MEMBERS
from workflows import Trigger

from .. import audit
from ..access import access_from_rows
from ..accounts import limits
from ..accounts.links import unlinked_members
from ..clock import now
from ..db import db
from ..errors import Forbidden, NotFound, ValidationFailed
from ..profiles.snapshot import contacts_view
from ..sla import service as sla
from . import lifecycle, sql
from .conflicts import record_keys
from .models import IdempotencyKey, Request, RequestComment
from .reads import get_for_account, summary


def form_or_404(slug: str) -> FormDefinition:
    """The form named ``slug``, or 404."""
    form = registry.get(slug)
    if form is None:
        raise NotFound("Ce formulaire n'existe pas dans le catalogue.")
    return form


# The defaults the service computes for a profile (a field's ``default_source``).
FORM_DEFAULTS: dict[str, Callable[[int], Any]] = {UNLINKED_MEMBERS: unlinked_members}


def form_default(source: str, organisation_id: int) -> Any:
    """The default of a field's ``default_source`` for the organisation (None if unknown)."""
    compute = FORM_DEFAULTS.get(source)
    return compute(organisation_id) if compute is not None else None


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


def submit(
    *,
    account_id: int,
    account_name: str,
    profile_id: int,
    item: str,
    variables: Any,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Validate and record a submission (one transaction); returns its summary, or the answer
    first given for the same ``idempotency_key``."""
    # The access check and the key's earlier answer, if any, in one round trip.
    rows = db.session.execute(
        sql.access_and_key_query(),
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
        view = contacts_view(profile_id, contact_ids=contacts_named(cleaned), parts=form.view_parts)
        operations = form.changeset(cleaned, view, BuildOptions(today=today))
    except FormValidationError as exc:
        raise ValidationFailed(errors=variables_errors(exc.errors)) from None
    codes_to = [
        op.contact
        for op in operations
        if isinstance(op, IssueLinkingCredentials) and not is_new(op.contact)
    ]
    if codes_to:
        limits.linking_sends(account_id, [int(c) for c in codes_to])
    created_at = now()
    changeset = [op.to_dict() for op in operations]
    labels = sentences.labels_of(view, changeset)
    # The answer is the summary every read gives (a request not yet written: its number is
    # known once written).
    body = summary(
        Request(
            number="",
            form_slug=form.slug,
            state=workflows.State.SUBMITTED.value,
            organisation_id=profile_id,
            created_at=created_at,
            submitted_by_name=account_name,
            submitted_by_account_id=account_id,
        )
    )
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
        request_id, number = sql.write_submission(created_at.year, params)
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
    return body


def _replayed(stored: Any, body_hash: str) -> dict[str, Any]:
    """The answer stored with an idempotency key ``(body hash, status, answer)``; 422 when the
    key served another body."""
    stored_hash, _status, response = stored
    if stored_hash != body_hash:
        raise ValidationFailed(
            "Cette clé d'idempotence a déjà servi pour une autre demande.",
            errors={"Idempotency-Key": ["Clé déjà utilisée avec un contenu différent."]},
        )
    return dict(response or {})


def _replay(account_id: int, key: str, body_hash: str) -> dict[str, Any] | None:
    keys = IdempotencyKey.__table__
    stored = db.session.execute(
        select(keys.c.body_hash, keys.c.status, keys.c.response).where(
            keys.c.account_id == account_id, keys.c.key == key
        )
    ).first()
    return None if stored is None else _replayed(stored, body_hash)


def cancel(*, number: str, account_id: int, account_name: str) -> dict[str, Any]:
    """The submitter cancels before approval."""
    request, _ = get_for_account(number, account_id, role="user")
    if request.submitted_by_account_id != account_id:
        raise Forbidden("Seul le demandeur peut annuler sa demande.")
    lifecycle.transition(
        request, Trigger.CANCEL, lifecycle.Actor("submitter", account_id, account_name)
    )
    db.session.commit()
    return summary(request)


def add_comment(
    *,
    number: str,
    account_id: int,
    account_name: str,
    role: str,
    body: str,
    internal: bool,
    asks_answer: bool = False,
) -> dict[str, Any]:
    """A comment by the submitter's side or an agent (``internal``: agents only; ``asks_answer``:
    the claiming agent's question, which pauses the validation's clock until the answer)."""
    request, is_agent = get_for_account(number, account_id, role=role)
    if internal and not is_agent:
        raise Forbidden("Seuls les agents peuvent écrire un commentaire interne.")
    if asks_answer:
        sla.check_question(request, is_agent=is_agent, internal=internal, account_id=account_id)
    comment = RequestComment(
        request_id=request.id,
        author_account_id=account_id,
        author_kind="agent" if is_agent else "submitter",
        author_name=account_name,
        body=body,
        internal=internal,
        asks_answer=asks_answer,
    )
    db.session.add(comment)
    actor = lifecycle.Actor("agent" if is_agent else "submitter", account_id, account_name)
    sla.on_comment(request, actor, is_agent=is_agent, asks_answer=asks_answer)
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
        "asks_answer": asks_answer,
    }
