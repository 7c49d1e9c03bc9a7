"""Emails say one thing one way: one linking template, dates in French words on Montréal's clock."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from catalogue_svc.clock import clock
from catalogue_svc.notifications.templates import french_date, french_datetime, french_duration
from tests.accounts_helpers import anonymous_client, create_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.integration.test_requests_flow import ADD_NEW, NEW_MEMBER
from tests.servers import body

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dossiers-example.json"

# 02:30 UTC on 8 December is still the evening of 7 December in Montréal (UTC-5).
NOW = dt.datetime(2026, 12, 8, 2, 30, tzinfo=dt.UTC)
MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
FRENCH_DATE = rf"\d{{1,2}}(?:er)? (?:{MONTHS}) \d{{4}}"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

IMPORTED = ("REBECCA", "DESCOTEAUX-LAFORCE", "rebecca.descoteaux-laforce@laforce-comptable.example")


@pytest.fixture()
def frozen(make_app):
    """The service clock stopped at NOW (after make_app, which resets it)."""
    clock.freeze(NOW)
    yield clock
    clock.reset()


def _masked(text: str, *names: str) -> list[str]:
    """The email's paragraphs with what differs between two people replaced by placeholders."""
    text = re.sub(r"L-[A-Z0-9]{4}-[A-Z0-9]{4}", "<IDENTIFIANT>", text)
    text = re.sub(r"(Code de liaison : )\S+", r"\1<CODE>", text)
    text = re.sub(r"numéro de client \d+", "numéro de client <NUMÉRO>", text)
    for name in names:
        text = text.replace(name, "<NOM>")
    return text.split("\n\n")


def _expiry(text: str) -> str:
    found = re.search(r"Valides jusqu'au : (.+)", text)
    assert found, text
    return found.group(1)


def _form_linking_email(firm, responsable, mailbox, run_jobs) -> str:
    """Ajouter un membre (new person, no client number), applied: the member's linking email."""
    answer = submit(responsable, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 202, answer.json
    run_jobs()
    [message] = mailbox.to(NEW_MEMBER["email"])
    return text_of(message)


def text_of(message) -> str:
    """A received email's body, with the newlines it was written with."""
    return body(message).replace("\r\n", "\n")


def _assert_no_utc_nor_iso_date(mailbox) -> None:
    for message in mailbox.messages:
        text = text_of(message)
        assert "UTC" not in text, text
        assert not ISO_DATE.search(text), text


def test_form_and_import_linking_emails_are_the_same_email(
    frozen, app, firm, responsable, mailbox, run_jobs
):
    """The form's and `flask import-dossiers`' linking emails: same subject, sentences and dates."""
    form_text = _form_linking_email(firm, responsable, mailbox, run_jobs)
    result = app.test_cli_runner().invoke(args=["import-dossiers", str(EXAMPLE), "--quiet"])
    assert result.exit_code == 0, result.output
    run_jobs()
    [imported] = mailbox.to(IMPORTED[2])
    [from_form] = mailbox.to(NEW_MEMBER["email"])
    import_text = text_of(imported)

    assert imported["Subject"] == from_form["Subject"]
    form_parts = _masked(form_text, "Julie", "Lévesque", "LAFORCE COMPTABLE INC")
    import_parts = _masked(import_text, "REBECCA", "DESCOTEAUX-LAFORCE", "LAFORCE COMPTABLE INC")
    # Only the opening differs: the import's members were migrated, the form's was not.
    assert len(form_parts) == len(import_parts)
    differ = [i for i, (a, b) in enumerate(zip(form_parts, import_parts, strict=True)) if a != b]
    assert differ == [1], (form_parts, import_parts)
    assert "migrées" in import_parts[1] and "migr" not in form_text
    # Issued at NOW (7 December in Montréal) for 60 days: both say 5 February 2027.
    assert _expiry(form_text) == _expiry(import_text) == "5 février 2027"
    _assert_no_utc_nor_iso_date(mailbox)


def test_reissued_linking_email_is_the_form_email(app, firm, responsable, mailbox, run_jobs):
    """A reissue (Modifier, new linking code) sends the same email as a new member's."""
    form_text = _form_linking_email(firm, responsable, mailbox, run_jobs)
    answer = submit(
        responsable,
        firm,
        "update-contact",
        {
            "contact_id": firm.marie_helene,
            "sections": [],
            "issue_linking_code": True,
            "attestation": True,
        },
    )
    assert answer.status_code == 202, answer.json
    run_jobs()
    [reissued] = [
        m
        for m in mailbox.to("mh.demierre.1@laforce.example")
        if m["Subject"] == "Vos coordonnées de liaison aux services en ligne"
    ]
    reissue_text = text_of(reissued)

    assert _masked(reissue_text, "Marie-Hélène", "Demierre", "LAFORCE COMPTABLE INC") == _masked(
        form_text, "Julie", "Lévesque", "LAFORCE COMPTABLE INC"
    )
    assert re.fullmatch(FRENCH_DATE, _expiry(reissue_text))
    _assert_no_utc_nor_iso_date(mailbox)


def test_applied_email_gives_its_times_in_words_on_montreal_clock(
    frozen, app, firm, responsable, mailbox, run_jobs
):
    """Request applied: "le 7 décembre 2026 à 21 h 30" (Montréal), not a UTC ISO time."""
    _form_linking_email(firm, responsable, mailbox, run_jobs)
    [notice] = mailbox.to("rebecca@laforce.example")
    text = text_of(notice)

    assert "appliquée le 7 décembre 2026 à 21 h 30." in text
    assert "au plus tard le 8 décembre 2026 à 21 h 30." in text
    _assert_no_utc_nor_iso_date(mailbox)


def test_rejection_email_gives_its_time_in_words(frozen, app, firm, responsable, mailbox, run_jobs):
    """Request rejected: the email says when, in French words on Montréal's clock."""
    variables = {**ADD_NEW, "new_contact": {**NEW_MEMBER, "client_number": "7654321"}}
    number = submit(responsable, firm, "add-relation", variables).json["number"]
    run_jobs()
    agent = login_client(app, role="agent")
    assert agent.post(f"/api/agent/requests/{number}/claim").status_code == 200
    answer = agent.post(f"/api/agent/requests/{number}/reject", json={"reason": "Mauvais numéro."})
    assert answer.status_code == 200, answer.json
    run_jobs()
    [email] = mailbox.to("rebecca@laforce.example")

    assert "refusée par un agent le 7 décembre 2026 à 21 h 30." in text_of(email)
    _assert_no_utc_nor_iso_date(mailbox)


def test_too_many_attempts_say_when_to_retry_in_words(frozen, make_app):
    """A 429 says "Réessayez dans 1 heure", not a count of seconds."""
    app = make_app(CATALOGUE_RATELIMITS={"login-ip": (1, 3600)})
    account = create_account(app)
    client = anonymous_client(app)
    client.post("/api/session", json={"email": account.email, "password": "Mauvais-Mot-2-Passe"})

    refused = client.post("/api/session", json={"email": account.email, "password": "Autre-2-Mot"})

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert refused.json["detail"] == "Trop de tentatives. Réessayez dans 1 heure."


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 seconde"),
        (45, "45 secondes"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (900, "15 minutes"),
        (3600, "1 heure"),
        (3601, "2 heures"),
        (86400, "24 heures"),
    ],
)
def test_durations_are_said_in_the_largest_unit_rounded_up(seconds, words):
    """Waits are said in seconds, minutes or hours, singular or plural, never shorter than true."""
    assert french_duration(seconds) == words


@pytest.mark.parametrize(
    ("at", "date", "date_time"),
    [
        (NOW, "7 décembre 2026", "7 décembre 2026 à 21 h 30"),
        (
            dt.datetime(2026, 7, 1, 18, 5, tzinfo=dt.UTC),
            "1er juillet 2026",
            "1er juillet 2026 à 14 h 05",
        ),
    ],
)
def test_dates_are_written_in_french_on_montreal_clock(at, date, date_time):
    """Dates and times read as in Québec (summer and winter time), never in UTC."""
    assert (french_date(at), french_datetime(at)) == (date, date_time)
