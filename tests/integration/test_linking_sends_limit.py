"""Issue 18, item 3: the linking codes a person emails are rate-limited, by member and by account.

Each code is an email to a member: a responsable may not flood one (at most 3 codes per member in
any 24 hours, whichever form sends them: the bulk send or *Émettre un nouveau code de liaison*),
nor submit more than 10 such sends in an hour. A refused submission is a 429 in French with
``Retry-After``, records nothing and counts against nobody.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import login_client
from tests.accounts_helpers import submit_form as submit
from tests.factories import add_member

SLUG = "send-linking-credentials"


def send(client, firm, *contact_ids):
    """Submit the bulk sending for these contacts."""
    return submit(client, firm, SLUG, {"contact_ids": list(contact_ids), "attestation": True})


def reissue(client, firm, contact_id):
    """*Modifier les informations…* with *Émettre un nouveau code de liaison* only."""
    variables = {
        "contact_id": contact_id,
        "sections": [],
        "issue_linking_code": True,
        "attestation": True,
    }
    return submit(client, firm, "update-contact", variables)


def requests_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Request)) or 0)


def test_a_fourth_code_to_one_member_within_a_day_is_refused_in_french(firm, responsable):
    """Three sends to Marie-Karine pass, the fourth is a 429 saying why and when, nothing kept."""
    for _ in range(3):
        assert send(responsable, firm, firm.marie_karine).status_code == 202
    refused = send(responsable, firm, firm.marie_karine)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3600
    assert "au plus 3 par 24 heures" in refused.json["detail"]
    assert "Réessayez dans" in refused.json["detail"]
    assert requests_count() == 3


def test_the_reissue_and_the_bulk_send_share_the_members_limit(firm, responsable):
    """Two reissues and one bulk send reach the limit; a fourth reissue is refused."""
    assert reissue(responsable, firm, firm.marie_helene).status_code == 202
    assert send(responsable, firm, firm.marie_helene).status_code == 202
    assert reissue(responsable, firm, firm.marie_helene).status_code == 202
    assert reissue(responsable, firm, firm.marie_helene).status_code == 429


def test_a_refused_bulk_send_counts_against_nobody(firm, responsable):
    """Marie-Karine at her limit: a send to her and Marie-Hélène is refused as a whole, and
    Marie-Hélène can still receive three codes."""
    for _ in range(3):
        assert send(responsable, firm, firm.marie_karine).status_code == 202
    assert send(responsable, firm, firm.marie_karine, firm.marie_helene).status_code == 429
    for _ in range(3):
        assert send(responsable, firm, firm.marie_helene).status_code == 202


def test_the_members_limit_frees_up_after_24_hours(app, firm, responsable):
    """A day later (logged in again) the member can receive a code again."""
    for _ in range(3):
        assert send(responsable, firm, firm.marie_karine).status_code == 202
    assert send(responsable, firm, firm.marie_karine).status_code == 429
    clock.advance(dt.timedelta(hours=24, seconds=1))
    again = login_client(app, email=responsable.account.email)
    assert send(again, firm, firm.marie_karine).status_code == 202


def members(app, firm, count: int) -> list[int]:
    """``count`` more active members of the firm, each with an email."""
    with app.app_context():
        ids = [
            add_member(
                firm.firm, first_name="Membre", last_name=f"N{i}", email=f"m{i}@laforce.example"
            )
            for i in range(count)
        ]
        db.session.commit()
        return ids


def test_one_account_submits_at_most_ten_sends_an_hour(app, firm, responsable):
    """Ten sends to ten members pass, the eleventh (to a new member) is refused; an hour later
    it passes."""
    chosen = members(app, firm, 11)
    for contact_id in chosen[:10]:
        assert send(responsable, firm, contact_id).status_code == 202
    refused = send(responsable, firm, chosen[10])
    assert refused.status_code == 429
    assert "au plus 10 envois par heure" in refused.json["detail"]
    assert requests_count() == 10
    clock.advance(dt.timedelta(hours=1, seconds=1))
    again = login_client(app, email=responsable.account.email)
    assert send(again, firm, chosen[10]).status_code == 202


def test_an_idempotent_replay_counts_nothing(firm, responsable):
    """The same submission replayed with its key answers the first answer, counting nothing."""
    variables = {"contact_ids": [firm.marie_karine], "attestation": True}
    key = {"Idempotency-Key": "envoi-1"}
    first = submit(responsable, firm, SLUG, variables, **key)
    assert first.status_code == 202
    for _ in range(5):
        again = submit(responsable, firm, SLUG, variables, **key)
        assert again.json["number"] == first.json["number"]
    assert send(responsable, firm, firm.marie_karine).status_code == 202
    assert send(responsable, firm, firm.marie_karine).status_code == 202
