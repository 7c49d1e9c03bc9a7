"""French everywhere: marshmallow's default messages, and addresses checked by email-validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalogue_svc.imports.service import ImportRejected, import_document
from tests.accounts_helpers import anonymous_client
from tests.integration.test_accounts import sign_up_body

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"


@pytest.mark.parametrize("domain", ["localhost", "bureau.local", "cache.onion", "x.invalid"])
def test_sign_up_refuses_a_domain_that_receives_no_mail(make_app, domain):
    """Créer un compte with user@localhost or a .local address is a 422 naming the email."""
    app = make_app()
    answer = anonymous_client(app).post("/api/accounts", json=sign_up_body(f"camille@{domain}"))

    assert answer.status_code == 422
    [message] = answer.json["errors"]["email"]
    assert message.startswith("Adresse courriel invalide")


def _import_errors(document: dict) -> list[tuple[str, str]]:
    with pytest.raises(ImportRejected) as rejected:
        import_document(document)
    return [(e.path, e.message) for e in rejected.value.errors]


def test_import_reports_a_wrong_type_in_french(app):
    """An address given as text, not an object, is reported in French at its JSON path."""
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["organisations"][0]["address"] = "12 rue Principale"

    assert _import_errors(document) == [("$.organisations[0].address", "Type de donnée invalide.")]


def test_import_reports_a_bad_email_domain_in_french(app):
    """A contact's email on a domain that receives no mail (demo.local) is refused, in French."""
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["contacts"][0]["email"] = "marie@bureau.local"

    [(path, message)] = _import_errors(document)
    assert path == "$.contacts[0].email"
    assert message == (
        "Adresse courriel invalide : le domaine « bureau.local » ne reçoit pas de courriel "
        "d'Internet."
    )
