"""The emails a request sends: to new members and changed contacts, to its submitter.

Queued in the caller's transaction (outbox rows, sent after commit); :mod:`.lifecycle` decides
when (entering ``applied`` or ``rejected``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forms import registry, sentences

from ..clock import now
from ..db import db
from ..profiles.apply import ApplyContext
from ..profiles.models import Contact, Organisation
from . import templates  # noqa: F401 - registers the emails
from .models import Request


def _submitter(request: Request) -> tuple[str | None, str, str]:
    from ..accounts.models import Account

    account = db.session.get(Account, request.submitted_by_account_id)
    if account is None:
        return None, "fr", ""
    return account.email, account.language or "fr", account.first_name


def _notify_submitter(
    request: Request, outcome: str, params: Callable[[str], dict[str, Any]]
) -> None:
    """Queue the email ``request_<outcome>`` to the submitter, in their language: their first
    name, the request's number and title, then ``params(language)``."""
    from ..notifications.service import queue_email

    email, language, first_name = _submitter(request)
    form = registry.get(request.form_slug)
    if email:
        queue_email(
            to=email,
            template=f"request_{outcome}",
            language=language,
            params={
                "first_name": first_name,
                "number": request.number,
                "title": form.title_en
                if form and language == "en"
                else (form.title_fr if form else request.form_slug),
                **params(language),
            },
            account_id=request.submitted_by_account_id,
            request_id=request.id,
            dedupe_key=f"request:{request.id}:{outcome}",
        )


def queue_apply_emails(request: Request, ctx: ApplyContext) -> None:
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
    _notify_submitter(
        request,
        "applied",
        lambda language: {
            # Datetimes: the template writes them in words, on the portal's clock.
            "applied_at": ctx.at,
            "visible_at": ctx.visible_at,
            "summary": _applied_summary(request, language),
        },
    )


def merge_outcome(
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
        return f"{merge_outcome(request, changeset, labels)}\n\n"
    done = sentences.describe(changeset, labels)
    if not done:
        return ""
    return "Ce qui a été fait :\n" + "\n".join(f"- {sentence}" for sentence in done) + "\n\n"


def notify_rejected(request: Request) -> None:
    """Queue the rejection email to the submitter (in the caller's transaction)."""
    _notify_submitter(
        request,
        "rejected",
        lambda language: {
            "reason": request.reason or "",
            # The rejection commits with this email: its time is now (written in words).
            "rejected_at": now(),
        },
    )
