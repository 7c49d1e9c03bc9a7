"""``/api/requests/{number}/documents``: joining a file to a request and downloading it."""

from __future__ import annotations

from typing import Any

from flask import request as http_request
from flask import send_file
from werkzeug.exceptions import RequestEntityTooLarge

from forms.messages import REQUIRED, UNKNOWN

from ..access import require_any
from ..accounts.sessions import account_required
from ..errors import DomainError, NotFound, ValidationFailed
from ..extensions import LOGGED_IN, READ, Blueprint
from . import service, storage
from .schemas import DocumentSchema, DocumentUploadSchema

blp = Blueprint(
    "documents", __name__, url_prefix="/api", description="Documents joints aux demandes"
)

NO_REQUEST = "Aucune demande de ce numéro n'est accessible à ce compte."
TOO_LARGE = "Le fichier dépasse la taille permise de 10 Mo."
# The body of one file of 10 MB and its multipart envelope; the app's limit stays 256 KB.
UPLOAD_LIMIT = storage.MAX_BYTES + 64 * 1024


FILE_ANSWER = {
    "description": "Le fichier, toujours en pièce jointe (Content-Disposition: attachment)",
    "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}
        for media_type in storage.EXTENSIONS
    },
}


class _TooLarge(DomainError):
    status, slug = 413, "content-too-large"


def _name(account: Any) -> str:
    return f"{account.first_name} {account.last_name}"


def _the_file() -> tuple[str | None, bytes]:
    """The one ``file`` part of the multipart body (read once the access is checked)."""
    http_request.max_content_length = UPLOAD_LIMIT
    try:
        files, form = http_request.files, http_request.form
    except RequestEntityTooLarge:
        raise _TooLarge(TOO_LARGE, errors={service.FILE: [TOO_LARGE]}) from None
    unknown = {key: [UNKNOWN] for key in [*files, *form] if key != service.FILE}
    if unknown:
        raise ValidationFailed(errors=unknown)
    parts = files.getlist(service.FILE)
    if not parts:
        raise ValidationFailed(errors={service.FILE: [REQUIRED]})
    if len(parts) > 1:
        raise ValidationFailed(errors={service.FILE: ["Un seul fichier à la fois."]})
    content = parts[0].stream.read(storage.MAX_BYTES + 1)
    return parts[0].filename, content


@blp.route("/requests/<number>/documents", methods=["POST"])
@account_required
@blp.doc(
    security=LOGGED_IN,
    requestBody={
        "required": True,
        "content": {"multipart/form-data": {"schema": DocumentUploadSchema}},
    },
)
@blp.answers(201, DocumentSchema, description="Document joint")
@blp.alt_response(403, description="Les agents ne joignent pas de documents.")
@blp.alt_response(404, description=NO_REQUEST)
@blp.alt_response(409, description="La demande est décidée (ou annulée).")
@blp.alt_response(413, description=TOO_LARGE)
def join(number: str) -> Any:
    """Joindre un document à une demande pas encore décidée (demandeur ou gestionnaire).

    Au plus 5 documents par demande, chacun PDF, PNG ou JPEG d'au plus 10 Mo ; le type est lu
    dans le contenu (une page Web nommée « .pdf » est refusée), le nom ne sert qu'à
    l'affichage. Un envoi refusé (422 sur ``file``) ne conserve rien.
    """
    account = require_any()
    if len(number) > 20:
        raise NotFound()
    body = service.join(
        number,
        account_id=account.id,
        account_name=_name(account),
        role=account.role,
        upload=_the_file,
    )
    return body, 201


@blp.route("/requests/<number>/documents/<int:document_id>")
@account_required
@blp.doc(security=READ)
@blp.doc(responses={"200": FILE_ANSWER})
@blp.alt_response(404, description=NO_REQUEST + " Ou aucun document de ce numéro.")
def download(number: str, document_id: int) -> Any:
    """Télécharger un document : le demandeur, les gestionnaires de l'organisation, les agents.

    Toujours en pièce jointe (``Content-Disposition: attachment``), jamais affiché par le
    navigateur (``X-Content-Type-Options: nosniff``).
    """
    account = require_any()
    if len(number) > 20:
        raise NotFound()
    path, media_type, name = service.for_download(
        number, document_id, account_id=account.id, role=account.role
    )
    response = send_file(
        path, mimetype=media_type, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
