"""Issue 18, item 1: the firm's requests — a manager sees every request of the profile with who
submitted it, a member their own; filters, newest first, pages, and a 422 naming a bad filter."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from catalogue_svc.profiles.models import ContactRelation
from tests.accounts_helpers import link_account, login_client
from tests.accounts_helpers import submit_form as submit
from tests.integration.test_requests_flow import ADD_NEW

# 15:00 UTC is 10:00 (EST) in Montréal: each day's submission falls on that day there.
DAY_1 = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)


def update_contact(contact_id: int) -> dict:
    """*Modifier les informations d'un contact*: their language only."""
    return {
        "contact_id": contact_id,
        "sections": ["coordonnees"],
        "language": "en",
        "attestation": True,
    }


def set_relation(contact_id: int, relation_type: str) -> None:
    """Give a contact's active relation another type (a promotion or a demotion)."""
    db.session.execute(
        update(ContactRelation)
        .where(ContactRelation.contact_id == contact_id)
        .values(type=relation_type)
    )
    db.session.commit()


@pytest.fixture()
def desk(app, firm, responsable):
    """Three requests of the firm on three days: two by REBECCA, one by Marie-Hélène (an
    administratrice then, a plain member now)."""
    helene = login_client(app, first_name="Marie-Hélène", last_name="Tremblay")
    link_account(app, helene.account.id, contact_id=firm.marie_helene, organisation_id=firm.firm)
    set_relation(firm.marie_helene, "administrateur_dossier")
    numbers = []
    clock.freeze(DAY_1)
    answer = submit(responsable, firm, "add-relation", ADD_NEW)
    assert answer.status_code == 202, answer.json
    numbers.append(answer.json["number"])
    clock.advance(dt.timedelta(days=1))
    answer = submit(helene, firm, "update-contact", update_contact(firm.marie_karine))
    assert answer.status_code == 202, answer.json
    numbers.append(answer.json["number"])
    clock.advance(dt.timedelta(days=1))
    answer = submit(responsable, firm, "update-contact", update_contact(firm.marie_helene))
    assert answer.status_code == 202, answer.json
    numbers.append(answer.json["number"])
    set_relation(firm.marie_helene, "membre_personnel")
    return {"numbers": numbers, "helene": helene}


def listing(client, firm, query: str = ""):
    """GET the firm's requests."""
    return client.get(f"/api/profiles/{firm.firm}/requests{query}")


def test_a_manager_sees_every_request_of_the_firm_with_who_submitted_it(firm, responsable, desk):
    """REBECCA sees Marie-Hélène's request too, newest first, each with its submitter."""
    answer = listing(responsable, firm)
    assert answer.status_code == 200, answer.json
    first, second, third = desk["numbers"]
    assert [i["number"] for i in answer.json["items"]] == [third, second, first]
    assert [i["submitted_by"] for i in answer.json["items"]] == [
        "REBECCA DESCOTEAUX-LAFORCE",
        "Marie-Hélène Tremblay",
        "REBECCA DESCOTEAUX-LAFORCE",
    ]
    assert answer.json["items"][1]["submitted_by_account_id"] == desk["helene"].account.id
    assert answer.json["total"] == 3
    assert [s["name"] for s in answer.json["submitters"]] == [
        "Marie-Hélène Tremblay",
        "REBECCA DESCOTEAUX-LAFORCE",
    ]


def test_a_member_sees_only_their_own_requests(firm, desk):
    """Marie-Hélène, a member again, sees the one she submitted, and only herself to filter on."""
    answer = listing(desk["helene"], firm)
    assert answer.status_code == 200, answer.json
    assert [i["number"] for i in answer.json["items"]] == [desk["numbers"][1]]
    assert answer.json["total"] == 1
    assert [s["name"] for s in answer.json["submitters"]] == ["Marie-Hélène Tremblay"]


def test_a_member_filtering_on_another_submitter_gets_nothing(firm, responsable, desk):
    """The submitter filter narrows what a member may read; it never widens it."""
    query = f"?submitter={responsable.account.id}"
    answer = listing(desk["helene"], firm, query)
    assert answer.status_code == 200
    assert answer.json["items"] == [] and answer.json["total"] == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?item=update-contact", [2, 1]),
        ("?item=add-relation", [0]),
        ("?state=submitted", [2, 1, 0]),
        ("?state=applied", []),
        ("?from=2026-03-03", [2, 1]),
        ("?to=2026-03-03", [1, 0]),
        ("?from=2026-03-03&to=2026-03-03", [1]),
        ("?item=update-contact&from=2026-03-04", [2]),
    ],
)
def test_filters_on_state_form_and_days(firm, responsable, desk, query, expected):
    """Each filter, and two together, keep exactly the matching requests, newest first."""
    answer = listing(responsable, firm, query)
    assert answer.status_code == 200, answer.json
    assert [i["number"] for i in answer.json["items"]] == [desk["numbers"][i] for i in expected]
    assert answer.json["total"] == len(expected)


def test_filters_on_submitter_and_on_the_contact_concerned(firm, responsable, desk):
    """``submitter`` keeps one person's requests; ``contact`` the requests about a contact."""
    by_helene = listing(responsable, firm, f"?submitter={desk['helene'].account.id}").json
    assert [i["number"] for i in by_helene["items"]] == [desk["numbers"][1]]
    about_karine = listing(responsable, firm, f"?contact={firm.marie_karine}").json
    assert [i["number"] for i in about_karine["items"]] == [desk["numbers"][1]]


def test_a_day_is_a_day_in_montreal(app, firm, responsable):
    """A request at 23:30 in Montréal (04:30 UTC the next day) is in that Montréal day."""
    clock.freeze(dt.datetime(2026, 3, 3, 4, 30, tzinfo=dt.UTC))
    number = submit(responsable, firm, "update-contact", update_contact(firm.marie_karine)).json[
        "number"
    ]
    same_day = listing(responsable, firm, "?from=2026-03-02&to=2026-03-02").json
    assert [i["number"] for i in same_day["items"]] == [number]
    assert listing(responsable, firm, "?from=2026-03-03").json["items"] == []


def test_pages_follow_each_other_newest_first(firm, responsable, desk):
    """Two per page: the first page the two newest, the second the oldest; the total is 3."""
    first = listing(responsable, firm, "?per_page=2&page=1").json
    second = listing(responsable, firm, "?per_page=2&page=2").json
    assert [i["number"] for i in first["items"] + second["items"]] == desk["numbers"][::-1]
    assert first["total"] == second["total"] == 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?state=nope", "state"),
        ("?item=no-such-form", "item"),
        ("?submitter=abc", "submitter"),
        ("?contact=0", "contact"),
        ("?from=2026-13-01", "from"),
        ("?to=demain", "to"),
        ("?from=2026-03-04&to=2026-03-02", "to"),
        ("?colour=blue", "colour"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it_in_french(firm, responsable, query, parameter):
    """A bad filter answers 422 whose errors name the parameter, in French."""
    answer = listing(responsable, firm, query)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == [parameter]
    [message] = answer.json["errors"][parameter]
    assert message[0].isupper() and message.endswith(".")
    assert "Not a valid" not in message and "Must be" not in message


def test_another_firm_gets_404_on_the_firms_requests(app, firm, desk):
    """A person of another firm: 404, as for every object of the firm."""
    outsider = login_client(app)
    assert listing(outsider, firm).status_code == 404
