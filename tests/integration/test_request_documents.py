"""Issue 18, item 2: documents joined to a request — up to 5 PDF, PNG or JPEG of at most 10 MB,
the type read from the content, stored by SHA-256, downloaded as an attachment by the submitter,
the firm's managers and agents only."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalogue_svc.db import db
from catalogue_svc.documents.models import RequestDocument
from tests.accounts_helpers import link_account, login_client
from tests.integration.test_firm_requests import set_relation
from tests.integration.test_requests_flow import ADD_NEW, submit
from tests.sample_files import HTML_PAGE, jpeg, pdf, png


@pytest.fixture()
def number(firm, responsable):
    """A request of REBECCA's, waiting (not decided)."""
    answer = submit(responsable, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 202, answer.json
    return answer.json["number"]


def join(client, number, content, name="attestation.pdf", **extra):
    """POST one file to a request's documents."""
    data = {"file": (io.BytesIO(content), name), **extra}
    return client.post(
        f"/api/requests/{number}/documents", data=data, content_type="multipart/form-data"
    )


def stored_files(app) -> list[Path]:
    """Every file under the documents' directory (temporary ones included)."""
    root = Path(app.config["CATALOGUE_SETTINGS"].instance_path) / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def document_rows() -> int:
    """How many documents the database holds."""
    return db.session.scalar(select(func.count()).select_from(RequestDocument)) or 0


@pytest.mark.parametrize(
    ("content", "name", "media_type", "shown"),
    [
        (pdf(), "attestation.pdf", "application/pdf", "attestation.pdf"),
        (png(), "capture.PNG", "image/png", "capture.png"),
        (jpeg(), "photo.jpeg", "image/jpeg", "photo.jpg"),
    ],
)
def test_a_pdf_png_or_jpeg_is_joined_listed_and_stored_by_its_digest(
    app, responsable, number, content, name, media_type, shown
):
    """201 with the type read from the content; the detail lists it; the file is its SHA-256."""
    answer = join(responsable, number, content, name)
    assert answer.status_code == 201, answer.json
    assert (answer.json["media_type"], answer.json["name"]) == (media_type, shown)
    assert answer.json["size"] == len(content)
    assert answer.json["uploaded_by"] == "REBECCA DESCOTEAUX-LAFORCE"
    [listed] = responsable.get(f"/api/requests/{number}").json["documents"]
    assert listed == answer.json
    digest = hashlib.sha256(content).hexdigest()
    [path] = stored_files(app)
    assert path.name == digest and path.parent.name == digest[:2]
    assert path.read_bytes() == content


def test_the_submitter_downloads_it_as_an_attachment_never_inline(responsable, number):
    """The same bytes, ``Content-Disposition: attachment`` with the display name, nosniff."""
    document = join(responsable, number, pdf(), "Preuve d'emploi.pdf").json
    answer = responsable.get(document["url"])
    assert answer.status_code == 200
    assert answer.get_data() == pdf()
    assert answer.headers["Content-Type"] == "application/pdf"
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Preuve" in disposition
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_with_javascript_is_still_a_pdf_served_as_an_attachment(responsable, number):
    """Accepted (it is a PDF), and only ever downloaded, never shown by the browser."""
    document = join(responsable, number, pdf(javascript=True)).json
    answer = responsable.get(document["url"])
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in answer.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "vide.pdf"),
        (HTML_PAGE, "facture.pdf"),
        (b"%PDF-1.4\n" + HTML_PAGE, "tronque.pdf"),
        (pdf()[:200], "coupe.pdf"),
        (png(text=HTML_PAGE), "image.png"),
        (pdf() + b"PK\x05\x06" + b"\x00" * 18, "archive.pdf"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image.gif"),
        (b"Bonjour, voici le document.", "note.txt"),
    ],
    ids=[
        "empty",
        "html-named-pdf",
        "html-after-pdf-magic",
        "truncated-pdf",
        "png-html",
        "zip",
        "gif",
        "text",
    ],
)
def test_an_empty_disguised_or_polyglot_file_is_refused_and_nothing_is_stored(
    app, responsable, number, content, name
):
    """422 on ``file`` in French; no row, no file on disk."""
    answer = join(responsable, number, content, name)
    assert answer.status_code == 422, answer.json
    [message] = answer.json["errors"]["file"]
    assert message[0].isupper() and message.endswith(".")
    assert document_rows() == 0 and stored_files(app) == []


def test_a_file_over_10_mb_is_refused_naming_it(app, responsable, number):
    """One byte over 10 MB: 422 on ``file``; far over: 413 on ``file``; nothing stored."""
    over = pdf() + b"\x00" * (10 * 1024 * 1024 + 1 - len(pdf()))
    answer = join(responsable, number, over)
    assert answer.status_code == 422
    assert "10 Mo" in answer.json["errors"]["file"][0]
    far = join(responsable, number, b"%PDF-" + b"\x00" * (12 * 1024 * 1024))
    assert far.status_code == 413
    assert "10 Mo" in far.json["errors"]["file"][0]
    assert document_rows() == 0 and stored_files(app) == []


def test_a_sixth_document_is_refused(app, responsable, number):
    """Five are joined; the sixth answers 422 and is not stored."""
    for page in range(5):
        assert join(responsable, number, pdf(f"page {page}")).status_code == 201
    answer = join(responsable, number, pdf("page 6"))
    assert answer.status_code == 422
    assert "5 documents" in answer.json["errors"]["file"][0]
    assert document_rows() == 5 and len(stored_files(app)) == 5


def test_a_body_without_a_file_or_with_another_field_is_a_422_naming_it(responsable, number):
    """No ``file`` part: 422 on ``file``; an unknown part: 422 naming it."""
    empty = responsable.post(
        f"/api/requests/{number}/documents", data={}, content_type="multipart/form-data"
    )
    assert empty.status_code == 422 and list(empty.json["errors"]) == ["file"]
    extra = join(responsable, number, pdf(), note="x")
    assert extra.status_code == 422 and list(extra.json["errors"]) == ["note"]


def test_no_document_joins_a_decided_request(app, responsable, number):
    """A cancelled request takes no document: 409 in French, nothing stored."""
    assert responsable.post(f"/api/requests/{number}/cancel").status_code == 200
    answer = join(responsable, number, pdf())
    assert answer.status_code == 409
    assert "décidée" in answer.json["detail"]
    assert document_rows() == 0 and stored_files(app) == []


def test_the_name_is_for_display_only_and_sanitised(responsable, number):
    """A path, markup, a tab and a wrong extension in the name: shown without them, with
    the extension of the type read from the content."""
    answer = join(responsable, number, pdf(), "../../<facture>\t2026.html")
    assert answer.status_code == 201, answer.json
    assert answer.json["name"] == "facture 2026.html.pdf"
    disposition = responsable.get(answer.json["url"]).headers["Content-Disposition"]
    assert "facture" in disposition and "\n" not in disposition


def test_the_same_file_twice_is_refused(responsable, number):
    """The same content joined twice to one request: 422, one document."""
    assert join(responsable, number, pdf()).status_code == 201
    again = join(responsable, number, pdf(), "copie.pdf")
    assert again.status_code == 422
    assert document_rows() == 1


def test_an_agent_downloads_but_does_not_join(responsable, agent, number):
    """Agents read every request's documents; they ask for one in a comment instead."""
    document = join(responsable, number, pdf()).json
    assert agent.get(document["url"]).status_code == 200
    refused = join(agent, number, png())
    assert refused.status_code == 403
    assert "commentaire" in refused.json["detail"]


def test_another_manager_of_the_firm_joins_and_downloads(app, firm, responsable, number):
    """An administratrice of the firm (not the submitter) may join and download."""
    helene = login_client(app)
    link_account(app, helene.account.id, contact_id=firm.marie_helene, organisation_id=firm.firm)
    set_relation(firm.marie_helene, "administrateur_dossier")
    document = join(helene, number, png()).json
    assert responsable.get(document["url"]).status_code == 200
    assert helene.get(join(responsable, number, pdf()).json["url"]).status_code == 200


def test_a_member_who_is_not_the_submitter_and_another_firm_get_404(app, firm, responsable, number):
    """A plain member of the firm and a person of another firm: 404 to join and download."""
    document = join(responsable, number, pdf()).json
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    outsider = login_client(app)
    for client in (member, outsider):
        assert client.get(document["url"]).status_code == 404
        assert join(client, number, png()).status_code == 404
    assert document_rows() == 1


def test_a_document_of_another_request_is_404(firm, responsable, number):
    """A document id read through another request's number: 404."""
    document = join(responsable, number, pdf()).json
    other = submit(
        responsable,
        firm,
        "update-contact",
        {
            "contact_id": firm.marie_karine,
            "sections": ["coordonnees"],
            "language": "en",
            "attestation": True,
        },
    ).json["number"]
    assert responsable.get(f"/api/requests/{other}/documents/{document['id']}").status_code == 404
