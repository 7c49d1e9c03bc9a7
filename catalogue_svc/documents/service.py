"""Joining a document to a request, listing and reading them: the access rules of the request
(``requests.reads.get_for_account``), and the request's state for joining."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from workflows import UNDECIDED_STATES

from .. import audit
from ..access import profile_access
from ..db import db
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..requests.models import Request
from ..requests.reads import get_for_account
from . import storage
from .listing import describe
from .models import RequestDocument

FILE = "file"


def directory() -> str:
    """The storage directory (``CATALOGUE_DOCUMENTS_DIR``; by default ``instance/documents``)."""
    settings = current_app.config["CATALOGUE_SETTINGS"]
    return settings.documents_dir or str(Path(settings.instance_path) / "documents")


def join(
    number: str,
    *,
    account_id: int,
    account_name: str,
    role: str,
    upload: Callable[[], tuple[str | None, bytes]],
) -> dict[str, Any]:
    """Join a file to a request (its submitter, or a manager of the firm), while it is not
    decided; at most :data:`storage.MAX_DOCUMENTS`. Nothing is stored when it is refused.

    ``upload`` reads the file's name and content: called once the access and the state are
    checked, so a refusal (404, 409) never depends on the body."""
    request, is_agent = get_for_account(number, account_id, role=role)
    if is_agent:
        raise Forbidden(
            "Les agents ne joignent pas de documents : demandez-les au demandeur dans un "
            "commentaire."
        )
    access = profile_access(account_id, request.organisation_id)
    if access is None:  # get_for_account checked it; the type checker does not know
        raise NotFound()
    # The row lock serialises two uploads to one request (the count below stays true).
    db.session.execute(select(Request.id).where(Request.id == request.id).with_for_update())
    # A document helps an agent decide: once decided (or cancelled), a request takes no more.
    if request.state not in UNDECIDED_STATES:
        raise Conflict(
            "La demande est déjà décidée (ou annulée) : on ne peut plus y joindre de document.",
            state=request.state,
            allowed=[],
        )
    filename, content = upload()
    try:
        checked = storage.check(content)
    except storage.Refused as exc:
        raise ValidationFailed(errors={FILE: [str(exc)]}) from None
    count = db.session.scalar(
        select(func.count())
        .select_from(RequestDocument)
        .where(RequestDocument.request_id == request.id)
    )
    if (count or 0) >= storage.MAX_DOCUMENTS:
        raise ValidationFailed(
            errors={FILE: [f"Une demande compte au plus {storage.MAX_DOCUMENTS} documents joints."]}
        )
    same = db.session.scalar(
        select(RequestDocument.id).where(
            RequestDocument.request_id == request.id, RequestDocument.sha256 == checked.sha256
        )
    )
    if same is not None:
        raise ValidationFailed(errors={FILE: ["Ce fichier est déjà joint à la demande."]})
    document = RequestDocument(
        request_id=request.id,
        sha256=checked.sha256,
        size=checked.size,
        media_type=checked.media_type,
        display_name=storage.display_name(filename, checked.media_type),
        uploaded_by_account_id=account_id,
        uploaded_by_name=account_name,
    )
    db.session.add(document)
    db.session.flush()
    # Ids, type and size only: a document's name and content are never logged.
    audit.record(
        "request.document",
        actor_account_id=account_id,
        actor_kind="user",
        subject_type="request",
        subject_id=request.number,
        details={"document_id": document.id, "media_type": checked.media_type},
    )
    # The file first, then the row: a crash between them leaves an unreferenced file (harmless,
    # and the same content joined again reuses it), never a row without its file.
    storage.store(directory(), content, checked.sha256)
    db.session.commit()
    return describe(document, request.number or "")


def for_download(number: str, document_id: int, *, account_id: int, role: str) -> Any:
    """``(path, media type, display name)`` of a document the account may read; 404 to anyone
    the request itself answers 404 to, and for a document of another request."""
    request, _ = get_for_account(number, account_id, role=role)
    document = db.session.get(RequestDocument, document_id)
    if document is None or document.request_id != request.id:
        raise NotFound()
    path = storage.path_of(directory(), document.sha256)
    if not path.is_file():
        raise NotFound("Le fichier de ce document est introuvable.")
    return path, document.media_type, document.display_name
