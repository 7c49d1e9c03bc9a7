"""An email rendered from an older outbox row still goes out."""

from __future__ import annotations

from catalogue_svc.notifications.templates import render
from catalogue_svc.requests import templates  # noqa: F401 - registers the request emails


def test_a_row_queued_before_a_placeholder_existed_still_renders():
    """A rejection queued without ``rejected_at`` (added later): rendered, not an error that
    fails every attempt until the message is exhausted."""
    subject, body = render(
        "request_rejected",
        "fr",
        {"first_name": "M", "number": "DEM-2026-000001", "title": "T", "reason": "R"},
    )
    assert subject == "Votre demande DEM-2026-000001 a été refusée"
    assert "Motif : R" in body


def test_the_applied_email_without_a_summary_has_no_gap():
    """``summary`` defaults to nothing: the paragraph is simply absent."""
    _, body = render(
        "request_applied",
        "fr",
        {
            "first_name": "M",
            "number": "DEM-2026-000001",
            "title": "T",
            "applied_at": "x",
            "visible_at": "y",
        },
    )
    assert "\n\n\n" not in body
