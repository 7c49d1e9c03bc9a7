"""One rule per field through HTTP and the import: client numbers, hostile text, look-alike emails."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import func, select

from catalogue_svc.accounts.models import Account
from catalogue_svc.db import db
from catalogue_svc.imports.service import import_document
from catalogue_svc.notifications.models import Email
from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
from catalogue_svc.requests.models import Request
from forms import messages
from tests.accounts_helpers import DEFAULT_PASSWORD, anonymous_client, login_client
from tests.accounts_helpers import submit_form as submit
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER

SIGN_UP = {
    "password": "Lune-Boreale-Quai-42",
    "password_confirmation": "Lune-Boreale-Quai-42",
    "first_name": "Camille",
    "last_name": "Tremblay",
    "terms_accepted": True,
}


def count(model) -> int:
    """Rows of ``model``."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def sign_up(app, email: str, **overrides):
    """POST /api/accounts from a fresh browser."""
    return anonymous_client(app).post(
        "/api/accounts", json={**SIGN_UP, "email": email, **overrides}
    )


def client_number_to_add(number: str) -> str:
    """The client number the request's changeset gives the new contact (built by the check)."""
    db.session.rollback()
    request = db.session.scalar(select(Request).where(Request.number == number))
    [add] = [op for op in request.changeset if op["op"] == "add_contact"]
    return add["client_number"]


def stored_emails() -> list[str]:
    """Every account's stored address."""
    db.session.rollback()
    return sorted(db.session.scalars(select(Account.email)))


# --------------------------------------------------------------------------- client numbers


@pytest.mark.parametrize(
    ("typed", "stored"), [("ab-12 34", "AB-1234"), (" 4021-587 ", "4021-587"), ("Q 77", "Q77")]
)
def test_add_relation_accepts_a_client_number_in_the_import_format(
    app, firm, responsable, run_jobs, typed, stored
):
    """A new member's client number with letters, hyphens, lower case and spaces is accepted."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": typed}}

    answer = submit(responsable, firm, "add-relation", variables)

    assert answer.status_code == 202, answer.json
    run_jobs()
    assert client_number_to_add(answer.json["number"]) == stored


def test_a_client_number_the_import_stored_can_be_typed_in_the_form(
    app, firm, responsable, run_jobs
):
    """The import's ``ab-77`` (stored AB-77) is the number the form's ``AB 77`` names."""
    import_document(
        {
            "contacts": [
                {"ref": "X-1", "client_number": "ab-77", "first_name": "Léa", "last_name": "Roy"}
            ]
        },
        source="import",
    )
    db.session.commit()
    typed = "Ab-77 "
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": typed}}

    answer = submit(responsable, firm, "add-relation", variables)

    assert answer.status_code == 202, answer.json
    run_jobs()
    stored = db.session.scalar(select(Contact.client_number).where(Contact.import_ref == "X-1"))
    assert stored == client_number_to_add(answer.json["number"]) == "AB-77"


def test_import_matches_client_numbers_whatever_their_case(app):
    """An organisation imported as ``ab-1`` is the ``AB-1`` a relation of the file names."""
    import_document(
        {
            "organisations": [{"client_number": "ab-1", "name": "ACME", "kind": "employer"}],
            "contacts": [{"ref": "X-2", "first_name": "Léa", "last_name": "Roy"}],
            "contact_relations": [
                {
                    "contact": "X-2",
                    "organisation": "AB-1 ",
                    "type": "responsable",
                    "start_date": "2020-01-01",
                }
            ],
        },
        source="import",
    )
    db.session.commit()
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == "ACME"))
    assert organisation.client_number == "AB-1"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ContactRelation)
            .where(ContactRelation.organisation_id == organisation.id)
        )
        == 1
    )


# --------------------------------------------------------------------------- hostile text


@pytest.mark.parametrize(
    "first_name",
    [
        "Julie\r\n\r\nVotre compte est suspendu : écrivez à support@ailleurs.example",
        "Julie\u202e",
        "Ju\u200blie",
    ],
)
def test_new_member_name_with_control_characters_is_refused(
    app, firm, responsable, run_jobs, mailbox, first_name
):
    """CR/LF or an invisible character in a new member's first name: 422 naming it, nothing sent."""
    requests, emails = count(Request), count(Email)
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "first_name": first_name}}

    answer = submit(responsable, firm, "add-relation", variables)
    run_jobs()

    assert answer.status_code == 422
    assert answer.json["errors"] == {"variables.new_contact.first_name": [messages.HOSTILE_TEXT]}
    assert (count(Request), count(Email)) == (requests, emails)
    assert mailbox.to(NEW_MEMBER["email"]) == []


def test_update_organisation_refuses_a_name_with_cr_lf(app, firm, responsable, run_jobs):
    """update-organisation with CR/LF in the name: 422 naming it; the name is unchanged."""
    variables = {"name": "LAFORCE\r\nCOMPTABLE", "attestation": True}

    answer = submit(responsable, firm, "update-organisation", variables)
    run_jobs()

    assert answer.status_code == 422
    assert answer.json["errors"] == {"variables.name": [messages.HOSTILE_TEXT]}
    db.session.rollback()
    assert "\n" not in db.session.get(Organisation, firm.firm).name


def test_sign_up_refuses_a_name_with_a_bidi_override(app):
    """An account's name gets the forms' rule and message."""
    answer = sign_up(app, "camille.bidi@exemple.test", last_name="\u202eyalbmerT")

    assert answer.status_code == 422
    assert answer.json["errors"] == {"last_name": [messages.HOSTILE_TEXT]}
    assert stored_emails() == []


# --------------------------------------------------------------------------- look-alike emails


def test_full_width_sign_up_lands_on_the_same_account(app, run_jobs):
    """A full-width spelling of a registered address is that address, not a second account."""
    assert sign_up(app, "julie.roy@exemple.test").status_code == 201

    answer = sign_up(app, "ｊｕｌｉｅ.ｒｏｙ@ｅｘｅｍｐｌｅ.ｔｅｓｔ")

    assert answer.status_code == 201
    assert stored_emails() == ["julie.roy@exemple.test"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("jul\u0456e.roy@exemple.test", messages.EMAIL_MIXED_SCRIPTS),  # Cyrillic і
        ('"julie.roy"@exemple.test', messages.EMAIL_QUOTED),
        ("julie.roy@\u0435xemple.test", messages.EMAIL_MIXED_SCRIPTS),  # Cyrillic е
    ],
)
def test_look_alike_sign_up_is_refused(app, email, message):
    """Cyrillic look-alikes and quoted local parts make no account beside the ASCII one."""
    assert sign_up(app, "julie.roy@exemple.test").status_code == 201

    answer = sign_up(app, email)

    assert answer.status_code == 422
    assert answer.json["errors"] == {"email": [message]}
    assert stored_emails() == ["julie.roy@exemple.test"]


def test_nfd_address_is_accepted_as_its_nfc_form(app):
    """The decomposed spelling of rené@… signs up, as the composed one, onto one account."""
    nfc = "ren\u00e9.roy@exemple.test"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc

    first = sign_up(app, nfd)
    second = sign_up(app, nfc)

    assert (first.status_code, second.status_code) == (201, 201), first.json
    assert stored_emails() == [nfc]


def test_email_change_refuses_a_look_alike_address(app):
    """Paramètres du compte: a new address mixing Latin and Cyrillic is refused, in French."""
    client = login_client(app)

    answer = client.post(
        "/api/account/email",
        json={"current_password": DEFAULT_PASSWORD, "email": "j\u043ehn@exemple.test"},
    )

    assert answer.status_code == 422
    assert answer.json["errors"] == {"email": [messages.EMAIL_MIXED_SCRIPTS]}


def test_login_finds_the_account_from_a_full_width_spelling(app):
    """The lookup folds the address as sign-up stored it."""
    login_client(app, email="lea.roy@exemple.test")
    client = anonymous_client(app)

    answer = client.post(
        "/api/session", json={"email": "ＬＥＡ.ＲＯＹ@exemple.test", "password": DEFAULT_PASSWORD}
    )

    assert answer.status_code == 200, answer.json
