"""Issue 18, item 3: *Envoyer les coordonnées de liaison aux membres* — one request, one fresh code
by email per member chosen (the previous one voided), once however often the apply runs."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.linking.models import LinkingCredential
from catalogue_svc.linking.service import issue
from catalogue_svc.profiles.models import ContactRelation
from catalogue_svc.requests import service
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import submit_form as submit
from tests.factories import guide_firm
from tests.integration.test_requests_flow import state_of
from tests.servers import body

SLUG = "send-linking-credentials"
KARINE = "mk.berard.1@laforce.example"
HELENE = "mh.demierre.1@laforce.example"


def send(client, firm, *contact_ids):
    """Submit the bulk sending for these contacts."""
    return submit(client, firm, SLUG, {"contact_ids": list(contact_ids), "attestation": True})


def credentials(contact_id: int) -> dict[str, int]:
    """How many of the contact's credentials are in each state."""
    states = db.session.scalars(
        select(LinkingCredential.state)
        .where(LinkingCredential.contact_id == contact_id)
        .execution_options(populate_existing=True)
    ).all()
    return {state: states.count(state) for state in set(states)}


def test_each_member_chosen_gets_one_fresh_code_by_email(app, firm, responsable, mailbox, run_jobs):
    """Two members, one request applied; each one email with a code, each one active code."""
    answer = send(responsable, firm, firm.marie_karine, firm.marie_helene)
    assert answer.status_code == 202, answer.json
    run_jobs()
    assert state_of(answer.json["number"]) == "applied"
    for address, contact_id in ((KARINE, firm.marie_karine), (HELENE, firm.marie_helene)):
        [email] = mailbox.to(address)
        assert re.search(r"L-[A-Z0-9]{4}-[A-Z0-9]{4}", body(email))
        assert credentials(contact_id) == {"active": 1}


def test_the_previous_code_is_voided(app, firm, responsable, run_jobs):
    """A member who had a code: it is void, the new one active."""
    issue(contact_id=firm.marie_karine, organisation_id=firm.firm)
    db.session.commit()
    assert send(responsable, firm, firm.marie_karine).status_code == 202
    run_jobs()
    assert credentials(firm.marie_karine) == {"active": 1, "void": 1}


def test_a_redelivered_apply_sends_nobody_a_second_code(app, firm, responsable, mailbox, run_jobs):
    """The check and the apply run three times: one code and one email per member."""
    number = send(responsable, firm, firm.marie_karine, firm.marie_helene).json["number"]
    request = db.session.scalar(select(Request).where(Request.number == number))
    for _ in range(3):
        service.run_check(
            queue.OutboxMessage(topic="request.check", payload={"request_id": request.id})
        )
        db.session.commit()
        service.run_apply(
            queue.OutboxMessage(topic="request.apply", payload={"request_id": request.id})
        )
        db.session.commit()
    run_jobs()
    assert credentials(firm.marie_karine) == {"active": 1}
    assert credentials(firm.marie_helene) == {"active": 1}
    assert len(mailbox.to(KARINE)) == len(mailbox.to(HELENE)) == 1


def test_a_contact_of_another_firm_is_a_422_naming_it(app, firm, responsable):
    """Another firm's member among those chosen: 422 on that position, nothing requested."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    answer = send(responsable, firm, firm.marie_karine, other.marie_karine)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == ["variables.contact_ids.1"]
    assert f"n° {other.marie_karine}" in answer.json["errors"]["variables.contact_ids.1"][0]
    assert db.session.scalar(select(Request.id)) is None


def test_an_inactive_member_is_a_422_naming_it(app, firm, responsable):
    """A member whose relation ended: 422 on that position."""
    db.session.execute(
        update(ContactRelation)
        .where(ContactRelation.id == firm.marie_helene_relation)
        .values(active=False, end_date=dt.date(2025, 1, 1))
    )
    db.session.commit()
    answer = send(responsable, firm, firm.marie_helene)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == ["variables.contact_ids.0"]
    assert "membre actif" in answer.json["errors"]["variables.contact_ids.0"][0]


def test_no_member_or_the_same_twice_is_a_422(firm, responsable):
    """An empty choice, or one member twice: 422 on ``contact_ids``, in French."""
    empty = send(responsable, firm)
    assert empty.status_code == 422
    assert "au moins" in empty.json["errors"]["variables.contact_ids"][0]
    twice = send(responsable, firm, firm.marie_karine, firm.marie_karine)
    assert twice.status_code == 422
    assert "une fois" in twice.json["errors"]["variables.contact_ids"][0]


def test_a_member_without_authority_may_not_send(app, firm, run_jobs):
    """The form needs the authority on the profile, as every Autorisations form: 403."""
    from tests.accounts_helpers import link_account, login_client

    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    assert send(member, firm, firm.marie_helene).status_code == 403
