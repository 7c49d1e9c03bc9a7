"""*Relations et autorisations* as propagated, access control that never waits, *Mes dossiers*."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue_svc.clock import clock
from catalogue_svc.db import db
from tests.accounts_helpers import link_account, login_client
from tests.factories import add_grant, guide_firm
from tests.integration.test_requests_flow import ADD_NEW, submit

DAY = dt.timedelta(hours=24)


def later(app, client, delta):
    """Move the clock, and log the same account in again (its session timed out meanwhile)."""
    clock.advance(delta)
    return login_client(app, email=client.account.email)


@pytest.fixture()
def firm(app):
    """The guide's firm."""
    return guide_firm(app)


@pytest.fixture()
def responsable(app, firm):
    """The firm's responsable, logged in and linked."""
    client = login_client(app)
    link_account(app, client.account.id, contact_id=firm.rebecca, organisation_id=firm.firm)
    return client


def rows(client, firm, which, **query):
    """One list's answer."""
    answer = client.get(f"/api/profiles/{firm.firm}/{which}", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json


def test_relations_list_matches_the_guide(app, firm, responsable):
    """Relations de l'organisation: the guide's two rows, Rangées 1 - 2 de 2."""
    page = rows(responsable, firm, "relations")
    assert page["total"] == 2
    assert [
        (r["organisation"]["name"], r["type_label"], r["related_organisation"]["name"], r["actif"])
        for r in page["items"]
    ] == [
        (
            "ENTREPRISE SHAW INC.",
            "a comme firme comptable ou serv. de paie",
            "LAFORCE COMPTABLE INC",
            True,
        ),
        (
            "PLOMBERIE RICHARD BELANGER",
            "a comme firme comptable ou serv. de paie",
            "LAFORCE COMPTABLE INC",
            True,
        ),
    ]


def test_contacts_list_shows_relations_dates_and_actif(app, firm, responsable):
    """Contacts de l'organisation: name, relation, start and end dates, Actif."""
    items = rows(responsable, firm, "contacts")["items"]
    assert {
        (i["name"], i["relation_label"], i["start_date"], i["end_date"], i["actif"]) for i in items
    } == {
        ("REBECCA DESCOTEAUX-LAFORCE", "Responsable", "2024-01-01", "9999-12-31", True),
        ("Marie-Karine Bérard", "Membre du personnel", "2024-01-01", "9999-12-31", True),
        ("Marie-Hélène Demierre", "Membre du personnel", "2024-01-01", "9999-12-31", True),
    }


def test_authorizations_list_shows_the_firms_own_subjects_first(app, firm, responsable):
    """Autorisations: 'Rapport mensuel - ENTREPRISE SHAW INC.' in Écriture, the firm's first."""
    add_grant(firm, "paiements", contact=firm.marie_karine, relation=firm.marie_karine_relation)
    db.session.commit()
    items = rows(responsable, firm, "authorizations")["items"]
    assert [(i["subject"], i["right_label"], i["contact"]) for i in items[:3]] == [
        ("Main-d'œuvre - PLOMBERIE RICHARD BELANGER", "Écriture", None),
        ("Rapport mensuel - ENTREPRISE SHAW INC.", "Écriture", None),
        ("Rapport mensuel - PLOMBERIE RICHARD BELANGER", "Écriture", None),
    ]
    assert items[3]["contact"]["name"] == "Marie-Karine Bérard"
    assert items[3]["function"] == "Membre du personnel"
    filtered = rows(responsable, firm, "authorizations", contact_id=firm.marie_karine)
    assert filtered["total"] == 1 and filtered["items"][0]["subject"] == (
        "Paiements - LAFORCE COMPTABLE INC"
    )


def test_new_member_appears_only_after_the_propagation_delay(app, firm, responsable, run_jobs):
    """A member added at T shows in the contacts list at T + 24 h, not before."""
    submit(responsable, firm, "add-relation", ADD_NEW)
    run_jobs()

    def names(client):
        return {i["name"] for i in rows(client, firm, "contacts")["items"]}

    assert "Julie Lévesque" not in names(responsable)
    almost = later(app, responsable, DAY - dt.timedelta(minutes=1))
    assert "Julie Lévesque" not in names(almost)
    assert "Julie Lévesque" in names(later(app, responsable, dt.timedelta(minutes=2)))


def test_removed_member_loses_access_at_once_but_shows_active_until_propagated(
    app, firm, responsable, run_jobs
):
    """Removal: Actif stays Vrai for 24 h, but the member's account is refused right away."""
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    assert member.get(f"/api/profiles/{firm.firm}/requests").status_code == 200
    submit(
        responsable,
        firm,
        "remove-relation",
        {"contact_id": firm.marie_karine, "removal": "all_relations", "attestation": True},
    )
    run_jobs()
    assert member.get(f"/api/profiles/{firm.firm}/requests").status_code == 404
    assert all(p["profile_id"] != firm.firm for p in member.get("/api/profiles").json["items"])

    def actif(client) -> bool:
        [row] = [
            i
            for i in rows(client, firm, "contacts")["items"]
            if i["contact_id"] == firm.marie_karine
        ]
        return row["actif"]

    assert actif(responsable) is True
    assert actif(later(app, responsable, DAY - dt.timedelta(minutes=1))) is True
    assert actif(later(app, responsable, dt.timedelta(minutes=2))) is False


def test_delegation_shows_both_organisations_and_in_mes_dossiers(app, firm, responsable, run_jobs):
    """Une autre organisation: the delegated subject lists SHAW and the firm; Mes dossiers too."""
    answer = submit(
        responsable,
        firm,
        "add-relation",
        {
            "contact_id": firm.marie_karine,
            "relation_type": "membre_personnel",
            "other_organisation": True,
            "related_organisation_id": firm.shaw,
            "organisation_subjects": ["rapport_mensuel"],
            "attestation": True,
            "attestation_consent": True,
        },
    )
    assert answer.status_code == 202, answer.json
    run_jobs()
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_karine, organisation_id=firm.firm)
    dossiers = member.get(f"/api/profiles/{firm.firm}/authorized-dossiers").json
    assert [d["organisation"]["name"] for d in dossiers["items"]] == ["ENTREPRISE SHAW INC."]
    assert {s["name"] for s in dossiers["unavailable_services"]} == {
        "Gestion de main-d'œuvre",
        "Identification de chantier",
        "Lettre d'état de situation",
    }
    responsable = later(app, responsable, DAY + dt.timedelta(seconds=1))
    [row] = rows(responsable, firm, "authorizations", contact_id=firm.marie_karine)["items"]
    assert row["subject"] == "Rapport mensuel - ENTREPRISE SHAW INC."
    assert row["related_organisation"]["name"] == "LAFORCE COMPTABLE INC"


def test_propagate_now_command_shows_pending_changes(app, firm, responsable, run_jobs):
    """The operator command makes every pending change visible at once."""
    submit(responsable, firm, "add-relation", ADD_NEW)
    run_jobs()
    result = app.test_cli_runner().invoke(args=["propagate-now"])
    assert result.exit_code == 0, result.output
    assert "Julie Lévesque" in {i["name"] for i in rows(responsable, firm, "contacts")["items"]}


@pytest.mark.parametrize(
    "query", [{"page": 0}, {"per_page": 1000}, {"page": "x"}, {"sort": "name"}, {"contact_id": -1}]
)
def test_bad_list_arguments_are_a_clear_422(app, firm, responsable, query):
    """Out-of-range pages, unknown filters: 422 naming the argument, never a 500."""
    answer = responsable.get(f"/api/profiles/{firm.firm}/authorizations", query_string=query)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == set(query)


def test_another_firms_contact_as_filter_gives_an_empty_page(app, firm, responsable):
    """A contact id of another firm filters to nothing, never to its data."""
    other = guide_firm(app, prefix="2", name="AUTRE FIRME INC")
    page = rows(responsable, firm, "authorizations", contact_id=other.marie_karine)
    assert page["total"] == 0 and page["items"] == []


def test_pagination_reports_the_total(app, firm, responsable):
    """Rangées 1 - 2 de 3: the page, its size and the total."""
    page = rows(responsable, firm, "contacts", per_page=2)
    assert (len(page["items"]), page["page"], page["per_page"], page["total"]) == (2, 1, 2, 3)
    assert len(rows(responsable, firm, "contacts", per_page=2, page=2)["items"]) == 1


def test_member_without_authority_cannot_read_the_lists(app, firm):
    """The lists are the responsable's: a membre du personnel gets 403."""
    member = login_client(app)
    link_account(app, member.account.id, contact_id=firm.marie_helene, organisation_id=firm.firm)
    assert member.get(f"/api/profiles/{firm.firm}/contacts").status_code == 403


def test_authorizations_total_is_a_lower_bound_past_the_cap(app, firm, responsable, monkeypatch):
    """Past the count cap the total says 'at least', and the pages still come."""
    from catalogue_svc.profiles import lists

    add_grant(firm, "paiements", contact=firm.marie_karine, relation=firm.marie_karine_relation)
    add_grant(firm, "coordonnees", contact=firm.marie_helene, relation=firm.marie_helene_relation)
    db.session.commit()
    monkeypatch.setattr(lists, "COUNT_CAP", 1)
    page = rows(responsable, firm, "authorizations", per_page=50)
    assert page["total_exact"] is False and page["total"] == 3 + 1
    assert len(page["items"]) == 5
    monkeypatch.setattr(lists, "COUNT_CAP", 10_000)
    assert rows(responsable, firm, "authorizations")["total_exact"] is True
