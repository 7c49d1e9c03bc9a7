"""Every form of the guide, end to end: HTTP → real RQ worker processes (or the embedded thread)
→ applied → the profile store changed → the emails at the SMTP server."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from catalogue_svc import queue
from catalogue_svc.db import db
from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
from catalogue_svc.requests.models import Request
from tests.accounts_helpers import link_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.factories import guide_firm
from tests.integration.test_requests_flow import ADD_NEW
from tests.workers_helpers import run_burst, worker_env

ADDRESS = {"street": "1200 rue Sherbrooke Est", "city": "Montréal", "postal_code": "h2l 1l9"}


def variables(slug, firm):
    """One valid submission of each form, against the guide's firm."""
    return {
        "add-relation": ADD_NEW,
        "remove-relation": {
            "contact_id": firm.marie_karine,
            "removal": "all_relations",
            "attestation": True,
        },
        "update-contact": {
            "contact_id": firm.marie_helene,
            "sections": ["coordonnees"],
            "language": "en",
            "attestation": True,
        },
        "update-contact-address": {
            "contact_id": firm.marie_helene,
            "address": ADDRESS,
            "attestation": True,
        },
        "update-organisation": {"name": "LAFORCE COMPTABLE S.E.N.C.", "attestation": True},
        "update-organisation-address": {"address": ADDRESS, "attestation": True},
        "send-linking-credentials": {
            "contact_ids": [firm.marie_karine, firm.marie_helene],
            "attestation": True,
        },
    }[slug]


def store_shows(slug, firm) -> bool:
    """Whether the profile store holds the change of ``slug``."""
    db.session.rollback()
    if slug == "add-relation":
        return db.session.scalar(select(Contact).where(Contact.last_name == "Lévesque")) is not None
    if slug == "remove-relation":
        return db.session.get(ContactRelation, firm.marie_karine_relation).active is False
    if slug == "update-contact":
        return db.session.get(Contact, firm.marie_helene).language == "en"
    if slug == "update-contact-address":
        return db.session.get(Contact, firm.marie_helene).address["city"] == "Montréal"
    if slug == "update-organisation":
        return db.session.get(Organisation, firm.firm).name == "LAFORCE COMPTABLE S.E.N.C."
    if slug == "send-linking-credentials":
        from catalogue_svc.linking.models import LinkingCredential

        active = db.session.scalars(
            select(LinkingCredential.contact_id).where(LinkingCredential.state == "active")
        ).all()
        return sorted(active) == sorted([firm.marie_karine, firm.marie_helene])
    return db.session.get(Organisation, firm.firm).address["postal_code"] == "H2L 1L9"


EXPECTED_EMAILS = {  # recipient → subjects, besides the submitter's "appliquée" notice
    "add-relation": {"julie.levesque@laforce.example"},
    "remove-relation": set(),
    "update-contact": {"mh.demierre.1@laforce.example"},
    "update-contact-address": {"mh.demierre.1@laforce.example"},
    "update-organisation": set(),
    "update-organisation-address": set(),
    "send-linking-credentials": {"mk.berard.1@laforce.example", "mh.demierre.1@laforce.example"},
}
SLUGS = sorted(EXPECTED_EMAILS)


def run_workers(app, redis_url, smtp_url):
    """Real `worker.py --burst` processes on each queue, until the outbox is empty."""
    env = worker_env(app, redis_url, smtp_url)
    for _ in range(6):
        for name in ("pipeline", "email"):
            run_burst(env, name, timeout=120)
        db.session.rollback()
        if not queue.backlog():
            return
        queue.sweep()
    raise AssertionError(f"outbox not empty: {queue.backlog()}")


def rebecca_submits(app, slug):
    """The guide's firm, and its responsable Rebecca submitting ``slug`` with its variables:
    the firm and the request's number (accepted, 202)."""
    firm = guide_firm(app)
    client = login_client(app, email="rebecca@laforce.example")
    link_account(app, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    answer = submit(client, firm, slug, variables(slug, firm))
    assert answer.status_code == 202, answer.json
    return firm, answer.json["number"]


def check(slug, firm, number, mailbox):
    """The request is applied, the store changed, the emails arrived."""
    db.session.rollback()
    assert db.session.scalar(select(Request.state).where(Request.number == number)) == "applied"
    assert store_shows(slug, firm)
    for address in EXPECTED_EMAILS[slug]:
        assert mailbox.to(address), f"no email to {address}"
    [notice] = mailbox.to("rebecca@laforce.example")
    assert number in notice["Subject"]


@pytest.mark.parametrize("slug", SLUGS)
def test_form_applies_through_real_rq_workers(make_app, redis_server, mailbox, slug):
    """With REDIS_URL: the commit wakes real worker processes that apply and send."""
    app = make_app(REDIS_URL=redis_server.url, CATALOGUE_QUEUE_MODE="rq")
    with app.app_context():
        firm, number = rebecca_submits(app, slug)
        run_workers(app, redis_server.url, mailbox.url)
        check(slug, firm, number, mailbox)


@pytest.mark.parametrize("slug", SLUGS)
def test_form_applies_in_the_embedded_mode(make_app, mailbox, slug):
    """Without Redis: the web process's own thread runs the same steps."""
    app = make_app(CATALOGUE_QUEUE_MODE="thread")
    with app.app_context():
        firm, number = rebecca_submits(app, slug)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.rollback()
            if not queue.backlog():
                break
            time.sleep(0.1)
        check(slug, firm, number, mailbox)
