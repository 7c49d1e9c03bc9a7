"""The documents of a request as its readers see them (read by the request's detail)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..db import db
from ..requests.models import Request
from .models import RequestDocument


def describe(document: RequestDocument, number: str) -> dict[str, Any]:
    """A document as the request's readers see it."""
    return {
        "id": document.id,
        "name": document.display_name,
        "media_type": document.media_type,
        "size": document.size,
        "uploaded_at": document.created_at.isoformat(),
        "uploaded_by": document.uploaded_by_name,
        "url": f"/api/requests/{number}/documents/{document.id}",
    }


def documents_of(request: Request) -> list[dict[str, Any]]:
    """The documents joined to a request, in the order they were joined."""
    rows = db.session.scalars(
        select(RequestDocument)
        .where(RequestDocument.request_id == request.id)
        .order_by(RequestDocument.id)
    ).all()
    return [describe(d, request.number or "") for d in rows]
