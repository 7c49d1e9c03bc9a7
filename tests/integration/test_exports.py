"""Issue 18, item 4: the three lists and the firm's requests as CSV (UTF-8 BOM, ``;``, the screens'
French headers) and as the API's JSON, streamed."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import update

from catalogue_svc.db import db
from catalogue_svc.profiles.lists import propagate_now
from catalogue_svc.profiles.models import Contact
from tests.accounts_helpers import link_account, login_client
from tests.factories import add_grant
from tests.integration.test_firm_requests import update_contact
from tests.integration.test_requests_flow import submit

LISTS = ["contacts", "relations", "authorizations"]


@pytest.fixture()
def shown(app, firm):
    """The firm's rows visible in the lists (propagated)."""
    propagate_now()
    return firm


def export(client, firm, kind, query=""):
    """GET an export of the firm."""
    return client.get(f"/api/profiles/{firm.firm}/exports/{kind}{query}")


def rows_of(answer):
    """The CSV's rows (header first), read as a spreadsheet would: BOM, then ``;``."""
    text = answer.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def every_item(client, firm, kind):
    """Every item of a list endpoint, page after page."""
    items, page = [], 1
    while True:
        answer = client.get(f"/api/profiles/{firm.firm}/{kind}?page={page}&per_page=2").json
        items += answer["items"]
        if len(answer["items"]) < 2:
            return items
        page += 1


@pytest.mark.parametrize("kind", LISTS)
def test_the_json_export_is_the_lists_json_whole(responsable, shown, kind):
    """``format=json``: the items of every page of the list, in its order, streamed."""
    answer = export(responsable, shown, kind, "?format=json")
    assert answer.status_code == 200
    assert answer.is_streamed
    assert answer.mimetype == "application/json"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(answer.get_data()) == every_item(responsable, shown, kind)


@pytest.mark.parametrize(
    ("kind", "header"),
    [
        (
            "contacts",
            ["Nom", "Adresse courriel", "Relation", "Date de début", "Date de fin", "Actif"],
        ),
        (
            "authorizations",
            [
                "Sujet autorisé",
                "Droit",
                "Organisation (titulaire du dossier)",
                "Organisation (en relation)",
                "Contact de l'organisation",
                "Fonction",
                "Actif",
            ],
        ),
    ],
)
def test_the_csv_export_has_a_bom_semicolons_and_the_screens_french_headers(
    responsable, shown, kind, header
):
    """UTF-8 with BOM, ``;``, the French headers, one line per item of the list."""
    answer = export(responsable, shown, kind)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = rows_of(answer)
    assert rows[0] == header
    assert len(rows) - 1 == len(every_item(responsable, shown, kind))


def test_the_contacts_csv_reads_as_on_screen(responsable, shown):
    """Marie-Hélène's line: her name, relation in French, dates, Oui for Actif."""
    rows = rows_of(export(responsable, shown, "contacts"))
    [helene] = [r for r in rows if r[0] == "Marie-Hélène Demierre"]
    assert helene[2:] == ["Membre du personnel", "2024-01-01", "9999-12-31", "Oui"]


def test_a_cell_a_spreadsheet_would_run_is_quoted(responsable, shown):
    """A name beginning with ``=`` is written with a leading apostrophe, never as a formula."""
    db.session.execute(
        update(Contact).where(Contact.id == shown.marie_karine).values(first_name="=1+1")
    )
    db.session.commit()
    names = [r[0] for r in rows_of(export(responsable, shown, "contacts"))]
    assert "'=1+1 Bérard" in names


def test_the_requests_export_follows_the_firms_requests_and_their_filters(firm, responsable, shown):
    """Every request of the firm, newest first, with the list's filters; JSON as the API's."""
    first = submit(responsable, firm, "update-contact", update_contact(firm.marie_karine)).json
    second = submit(responsable, firm, "update-contact", update_contact(firm.marie_helene)).json
    rows = rows_of(export(responsable, firm, "requests"))
    assert rows[0] == [
        "Numéro",
        "Formulaire",
        "État",
        "Soumise le",
        "Par",
        "Visible dans les listes",
    ]
    assert [r[0] for r in rows[1:]] == [second["number"], first["number"]]
    filtered = export(responsable, firm, "requests", f"?format=json&contact={firm.marie_karine}")
    assert [i["number"] for i in json.loads(filtered.get_data())] == [first["number"]]
    listed = responsable.get(f"/api/profiles/{firm.firm}/requests").json["items"]
    assert json.loads(export(responsable, firm, "requests", "?format=json").get_data()) == listed


def test_a_member_exports_their_own_requests_but_not_the_lists(app, firm, responsable, shown):
    """A member without authority: 403 on the lists' exports, their own (none) requests."""
    submit(responsable, firm, "update-contact", update_contact(firm.marie_karine))
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    for kind in LISTS:
        assert export(member, firm, kind).status_code == 403
    answer = export(member, firm, "requests", "?format=json")
    assert answer.status_code == 200 and json.loads(answer.get_data()) == []


@pytest.mark.parametrize("kind", [*LISTS, "requests"])
def test_another_firm_gets_404(app, shown, kind):
    """A person of another firm: 404 on every export."""
    assert export(login_client(app), shown, kind).status_code == 404


@pytest.mark.parametrize(
    ("kind", "query", "parameter"),
    [
        ("contacts", "?format=xlsx", "format"),
        ("requests", "?format=pdf", "format"),
        ("requests", "?page=2", "page"),
        ("requests", "?from=hier", "from"),
    ],
)
def test_a_bad_argument_is_a_422_naming_it(responsable, shown, kind, query, parameter):
    """An unknown format, a page (an export has none), a bad date: 422 naming the parameter."""
    answer = export(responsable, shown, kind, query)
    assert answer.status_code == 422
    assert list(answer.json["errors"]) == [parameter]


def test_every_members_grant_is_exported_past_the_lists_count_cap(
    app, firm, responsable, monkeypatch
):
    """The contacts' part counted only up to the cap on screen (2 here, of 3), read whole by
    the export contact by contact, in the list's order, page after page (of one row here)."""
    from catalogue_svc.exports import service
    from catalogue_svc.profiles import lists

    for contact, relation, code in [
        (firm.marie_karine, firm.marie_karine_relation, "paiements"),
        (firm.marie_helene, firm.marie_helene_relation, "coordonnees"),
        (firm.marie_helene, firm.marie_helene_relation, "paiements"),
    ]:
        add_grant(firm, code, contact=contact, relation=relation)
    db.session.commit()
    propagate_now()
    whole = every_item(responsable, firm, "authorizations")
    assert sum(1 for i in whole if i["contact"]) == 3
    monkeypatch.setattr(lists, "COUNT_CAP", 2)  # the screen's part: 2 of the 3 counted
    monkeypatch.setattr(service, "PAGE", 1)
    answer = export(responsable, firm, "authorizations", "?format=json")
    assert json.loads(answer.get_data()) == whole


def test_a_grant_shown_before_its_holders_relation_is_exported(app, firm, responsable):
    """A member's grant already shown while their relation still waits for the propagation
    (not yet in the contacts list): the export holds it, as the list does."""
    import datetime as dt

    from catalogue_svc.clock import now
    from catalogue_svc.profiles.models import ContactRelation

    propagate_now()
    relation = db.session.get(ContactRelation, firm.marie_karine_relation)
    relation.visible_at = now() + dt.timedelta(hours=12)
    add_grant(firm, "paiements", contact=firm.marie_karine, relation=firm.marie_karine_relation)
    db.session.commit()
    whole = every_item(responsable, firm, "authorizations")
    assert any(i["contact"] and i["contact"]["id"] == firm.marie_karine for i in whole)
    answer = export(responsable, firm, "authorizations", "?format=json")
    assert json.loads(answer.get_data()) == whole
