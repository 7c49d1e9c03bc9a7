"""What one submission writes (one statement on PostgreSQL), answers, publishes and replays."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlalchemy import func, literal, select

from catalogue_svc.access import access_statement
from catalogue_svc.audit import AuditEvent
from catalogue_svc.db import db
from catalogue_svc.profiles.models import ContactPhone, ContactRelation
from catalogue_svc.profiles.snapshot import contacts_view, profile_view
from catalogue_svc.queue import OutboxMessage
from catalogue_svc.requests import service, sql
from catalogue_svc.requests.models import (
    IdempotencyKey,
    Request,
    RequestConflictKey,
    RequestEvent,
)
from forms.profile import VIEW_PARTS
from tests.accounts_helpers import link_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.factories import add_grant, guide_firm
from tests.submissions import add_new_member

NEW_NAME = {
    "contact_id": 0,  # set per test
    "sections": ["informations_personnelles"],
    "first_name": "Marie-Ève",
    "attestation": True,
}
NEW_MEMBER = add_new_member(
    {
        "first_name": "Julie",
        "last_name": "Lévesque",
        "birth_date": "1990-05-17",
        "email": "julie.levesque@laforce.example",
        "language": "fr",
    }
)


def count(model) -> int:
    """Rows of ``model``'s table."""
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def rename(firm) -> dict:
    """An update-contact submission renaming Marie-Karine."""
    return {**NEW_NAME, "contact_id": firm.marie_karine}


def test_submission_writes_request_history_outbox_audit_and_key(app, firm, responsable):
    """One accepted submission: its request, first history row, check message, audit row and
    key, all naming the same request; the answer is the request's summary."""
    answer = submit(responsable, firm, "update-contact", rename(firm), **{"Idempotency-Key": "w-1"})
    assert answer.status_code == 202
    db.session.expire_all()
    request = db.session.scalars(select(Request)).one()
    assert answer.json == service.summary(request)
    year = request.created_at.year
    assert request.number == f"DEM-{year}-{request.id:06d}"
    assert re.fullmatch(r"DEM-\d{4}-\d{6,}", answer.json["number"])
    assert (request.state, request.version, request.organisation_id) == (
        "submitted",
        1,
        firm.firm,
    )
    assert request.submitted_by_name == "REBECCA DESCOTEAUX-LAFORCE"
    assert request.variables == rename(firm)
    assert request.changeset and request.state_changed_at == request.created_at
    event = db.session.scalars(select(RequestEvent)).one()
    assert (event.request_id, event.trigger, event.from_state, event.to_state, event.version) == (
        request.id,
        "submit",
        None,
        "submitted",
        0,
    )
    assert (event.actor_kind, event.actor_account_id, event.at) == (
        "submitter",
        responsable.account.id,
        request.created_at,
    )
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.topic, message.payload, message.dedupe_key) == (
        service.CHECK_TOPIC,
        {"request_id": request.id},
        f"check:{request.id}",
    )
    assert (message.attempts, message.failed, message.done_at) == (0, False, None)
    assert message.available_at == message.created_at == request.created_at
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.submit")
    ).one()
    assert (audit.subject_type, audit.subject_id, audit.actor_account_id) == (
        "request",
        request.number,
        responsable.account.id,
    )
    assert (audit.outcome, audit.actor_kind, audit.ip) == ("success", "account", "127.0.0.1")
    assert audit.details == {"form": "update-contact", "profile_id": firm.firm}
    key = db.session.scalars(select(IdempotencyKey)).one()
    assert (key.account_id, key.key, key.request_id, key.status) == (
        responsable.account.id,
        "w-1",
        request.id,
        202,
    )
    assert key.response == answer.json


def test_numbers_follow_the_ids(app, firm, responsable):
    """Each submission's number is its own id on six digits."""
    numbers = [
        submit(responsable, firm, "update-contact", {**rename(firm), "first_name": f"N{i}"}).json[
            "number"
        ]
        for i in range(3)
    ]
    ids = list(db.session.scalars(select(Request.id).order_by(Request.id)))
    year = dt.datetime.now(dt.UTC).year
    assert numbers == [f"DEM-{year}-{i:06d}" for i in ids]


def test_wake_up_is_published_only_after_a_commit(app, firm, responsable):
    """The check topic is published once the submission commits, never for a refused one."""
    published = app.extensions["catalogue_transport"].published
    refused = submit(responsable, firm, "update-contact", {**rename(firm), "first_name": ""})
    assert refused.status_code == 422 and published == []
    assert submit(responsable, firm, "update-contact", rename(firm)).status_code == 202
    assert published == [service.CHECK_TOPIC]


def test_refused_submission_writes_nothing(app, firm, responsable):
    """A 422 leaves no request, history, message, audit row or key behind."""
    answer = submit(
        responsable,
        firm,
        "update-contact",
        {"contact_id": firm.marie_karine, "first_name": "X"},
        **{"Idempotency-Key": "w-2"},
    )
    assert answer.status_code == 422 and answer.json["errors"]
    for model in (Request, RequestEvent, OutboxMessage, IdempotencyKey):
        assert count(model) == 0
    assert count(AuditEvent) == db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "request.submit")
    )


def test_replay_answers_the_stored_answer_and_writes_nothing(app, firm, responsable):
    """The same key and body: the first answer again; another body: 422 on the header."""
    key = {"Idempotency-Key": "w-3"}
    first = submit(responsable, firm, "update-contact", rename(firm), **key)
    again = submit(responsable, firm, "update-contact", rename(firm), **key)
    assert (again.status_code, again.json) == (202, first.json)
    other = submit(responsable, firm, "update-contact", {**rename(firm), "first_name": "Z"}, **key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
    assert (count(Request), count(OutboxMessage), count(IdempotencyKey)) == (1, 1, 1)


def test_keys_belong_to_their_account(app, firm, responsable):
    """Another account's key of the same text is another key: its own request."""
    other_firm = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    other = login_client(app, email="autre@laforce.example")
    link_account(
        app, other.account.id, contact_id=other_firm.rebecca, organisation_id=other_firm.firm
    )
    key = {"Idempotency-Key": "shared"}
    first = submit(responsable, firm, "update-contact", rename(firm), **key)
    second = submit(other, other_firm, "update-contact", rename(other_firm), **key)
    assert first.status_code == second.status_code == 202
    assert first.json["number"] != second.json["number"]
    assert second.json["profile_id"] == other_firm.firm


def test_a_key_raced_by_another_submission_answers_the_winner(app, firm, responsable, monkeypatch):
    """When the key is written between our read and our write, the insert fails on the key's
    unique constraint: the whole submission rolls back and the winner's answer is given."""
    key = {"Idempotency-Key": "race"}
    first = submit(responsable, firm, "update-contact", rename(firm), **key)
    # The read no longer sees the stored key, as if the winner had not committed yet.
    blind = access_statement().add_columns(literal(None), literal(None), literal(None))
    monkeypatch.setattr(sql, "access_and_key_query", lambda: blind)
    again = submit(responsable, firm, "update-contact", rename(firm), **key)
    assert (again.status_code, again.json) == (202, first.json)
    other = submit(responsable, firm, "update-contact", {**rename(firm), "first_name": "Z"}, **key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
    assert (count(Request), count(RequestEvent), count(OutboxMessage)) == (1, 1, 1)
    assert count(IdempotencyKey) == 1


def test_conflict_keys_are_recorded_with_the_request(app, firm, responsable):
    """A submission adding a new person stores its conflict keys in its transaction."""
    answer = submit(responsable, firm, "add-relation", NEW_MEMBER)
    assert answer.status_code == 202
    request_id = db.session.scalar(select(Request.id))
    keys = set(
        db.session.scalars(
            select(RequestConflictKey.key).where(
                RequestConflictKey.request_id == request_id,
                RequestConflictKey.organisation_id == firm.firm,
            )
        )
    )
    assert "person:email:julie.levesque@laforce.example" in keys
    assert "person:name:julie|levesque|1990-05-17" in keys


def test_two_requests_adding_the_same_person_are_linked(app, firm, responsable, run_jobs):
    """The duplicate check links two pending requests that add the same new person."""
    first = submit(responsable, firm, "add-relation", NEW_MEMBER).json["number"]
    second = submit(responsable, firm, "add-relation", NEW_MEMBER).json["number"]
    run_jobs()
    linked = responsable.get(f"/api/requests/{second}").json["linked_requests"]
    assert [link["number"] for link in linked] == [first]
    assert "nouvelle personne" in linked[0]["reason"]


def test_audit_line_names_ids_only(app, firm, responsable, caplog):
    """The submission's audit log line carries the request number and account id, no name."""
    with caplog.at_level(logging.INFO, logger="catalogue_svc.audit"):
        number = submit(responsable, firm, "update-contact", rename(firm)).json["number"]
    lines = [
        r for r in caplog.records if getattr(r, "fields", {}).get("action") == "request.submit"
    ]
    assert len(lines) == 1
    assert lines[0].fields == {
        "action": "request.submit",
        "outcome": "success",
        "actor": responsable.account.id,
        "subject": f"request:{number}",
    }
    text = " ".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    assert "Marie-Ève" not in text and "REBECCA" not in text


def _sorted(view):
    return (
        view.organisation,
        view.contacts,
        sorted(view.relations, key=lambda r: r.id),
        view.related_organisations,
        sorted(view.org_relations, key=lambda r: r.id),
        sorted(view.grants, key=lambda g: g.id),
        view.subjects,
    )


@pytest.mark.parametrize("scope", ["all", "one", "none"])
def test_contacts_view_is_profile_view(app, firm, scope):
    """The one-query view of the contacts equals profile_view's: contacts with their phones in
    order, a contact with two relations, inactive relations left out."""
    db.session.add_all(
        [
            ContactPhone(contact_id=firm.marie_karine, position=1, type="travail", number="2"),
            ContactPhone(contact_id=firm.marie_karine, position=0, type="cellulaire", number="1"),
            ContactPhone(contact_id=firm.rebecca, position=0, type="principal", number="3"),
            ContactRelation(
                contact_id=firm.marie_karine,
                organisation_id=firm.firm,
                type="administrateur_dossier",
                start_date=dt.date(2024, 2, 1),
            ),
            ContactRelation(
                contact_id=firm.marie_helene,
                organisation_id=firm.firm,
                type="dirigeant",
                start_date=dt.date(2024, 2, 1),
                active=False,
            ),
        ]
    )
    db.session.commit()
    contact_ids = {"all": None, "one": {firm.marie_karine}, "none": set()}[scope]
    expected = profile_view(firm.firm, contact_ids=contact_ids, parts={"contacts"})
    got = contacts_view(firm.firm, contact_ids=contact_ids, parts={"contacts"})
    assert _sorted(got) == _sorted(expected)
    assert [p.number for p in got.contacts[firm.marie_karine].phones] == ["1", "2"]


def test_contacts_view_sees_the_sessions_pending_changes(app, firm):
    """As an ORM query would (autoflush): a contact changed and a phone added, not yet flushed,
    are in the view (a chunk's later apply reads what an earlier one wrote)."""
    from catalogue_svc.profiles.models import Contact

    db.session.get(Contact, firm.marie_karine).first_name = "Marie-Claude"
    db.session.add(ContactPhone(contact_id=firm.rebecca, position=0, type="principal", number="9"))
    got = contacts_view(firm.firm, contact_ids={firm.marie_karine}, parts=VIEW_PARTS)
    assert got.contacts[firm.marie_karine].first_name == "Marie-Claude"
    assert [p.number for p in got.contacts[firm.rebecca].phones] == ["9"]
    db.session.rollback()


def test_contacts_view_of_an_organisation_without_contacts(app, firm):
    """An organisation with no active relation: the organisation alone; unknown: LookupError."""
    for scope in (None, {firm.rebecca}):
        got = contacts_view(firm.shaw, contact_ids=scope, parts={"contacts"})
        assert _sorted(got) == _sorted(
            profile_view(firm.shaw, contact_ids=scope, parts={"contacts"})
        )
        assert got.contacts == {} and got.relations == ()
    with pytest.raises(LookupError):
        contacts_view(10**6, parts={"contacts"})


@pytest.mark.parametrize(
    "parts",
    [
        frozenset(),
        frozenset({"contacts", "grants"}),
        frozenset({"contacts", "organisations"}),
        frozenset({"contacts", "subjects"}),
        VIEW_PARTS,
    ],
)
@pytest.mark.parametrize("scope", ["all", "one"])
def test_contacts_view_of_any_parts_is_profile_view(app, firm, parts, scope):
    """Every part read as Core rows is profile_view's: the firm's relations to its clients with
    the related organisations, the grants held by the firm or its contacts, the subjects; a
    grant held by a contact out of the scope left out."""
    subject = sorted(firm.subjects)[0]
    add_grant(firm, subject, contact=firm.marie_karine, relation=firm.marie_karine_relation)
    add_grant(firm, subject, contact=firm.marie_helene, relation=firm.marie_helene_relation)
    db.session.commit()
    contact_ids = {"all": None, "one": {firm.marie_karine}}[scope]
    got = contacts_view(firm.firm, contact_ids=contact_ids, parts=parts)
    expected = profile_view(firm.firm, contact_ids=contact_ids, parts=parts)
    assert _sorted(got) == _sorted(expected)
    if "organisations" in parts:
        assert got.org_relations and got.related_organisations
    if "grants" in parts:
        holders = {g.holder_contact_id for g in got.grants} - {None}
        everyone = {firm.marie_karine, firm.marie_helene}
        assert holders == (everyone if scope == "all" else {firm.marie_karine})
