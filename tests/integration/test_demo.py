"""The demo data: the guide's firm, its clients and members, loaded through the import."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from catalogue_svc import demo
from catalogue_svc.db import db
from catalogue_svc.demo import load_demo
from catalogue_svc.linking.models import LegacyCredential
from catalogue_svc.profiles.models import (
    Contact,
    ContactRelation,
    Grant,
    Organisation,
    OrganisationRelation,
    ProfileChange,
    Subject,
)
from catalogue_svc.queue import run_until_idle

LAFORCE, SHAW, PLOMBERIE = (
    "LAFORCE COMPTABLE INC",
    "ENTREPRISE SHAW INC.",
    "PLOMBERIE RICHARD BELANGER",
)


def org(name: str) -> Organisation:
    """The demo organisation called ``name``."""
    return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()


def person(first_name: str, last_name: str) -> Contact:
    """The demo contact with these names."""
    return db.session.scalars(
        select(Contact).where(Contact.first_name == first_name, Contact.last_name == last_name)
    ).one()


def counts() -> dict[str, int]:
    """Rows of every table but the audit trail (each load is audited)."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name != "audit_events"
    }


def subjects_held(**where: object) -> set[tuple[str, str, str]]:
    """(subject code, right, owner name) of the active grants matching ``where``."""
    query = (
        select(Subject.code, Grant.right, Organisation.name)
        .join(Subject, Grant.subject_id == Subject.id)
        .join(Organisation, Grant.owner_organisation_id == Organisation.id)
        .where(Grant.active.is_(True), *[getattr(Grant, k) == v for k, v in where.items()])
    )
    return {tuple(row) for row in db.session.execute(query)}  # type: ignore[misc]


def test_demo_has_the_guides_organisations(app):
    """The firm and its two clients, with the kinds the guide gives them."""
    load_demo()
    kinds = dict(db.session.execute(select(Organisation.name, Organisation.kind)).all())
    assert kinds == {LAFORCE: "accounting_firm", SHAW: "employer", PLOMBERIE: "employer"}


@pytest.mark.parametrize("client", [SHAW, PLOMBERIE])
def test_demo_client_has_the_firm_as_accounting_firm(app, client):
    """Each client *a comme firme comptable ou serv. de paie* LAFORCE, active."""
    load_demo()
    relation = db.session.scalars(
        select(OrganisationRelation).where(OrganisationRelation.organisation_id == org(client).id)
    ).one()
    assert (relation.related_organisation_id, relation.type, relation.active) == (
        org(LAFORCE).id,
        "firme_comptable",
        True,
    )


def test_demo_firm_holds_the_guides_subjects(app):
    """LAFORCE holds Rapport mensuel on both clients and Main-d'œuvre on PLOMBERIE, in Écriture."""
    load_demo()
    assert subjects_held(holder_organisation_id=org(LAFORCE).id) == {
        ("rapport_mensuel", "write", SHAW),
        ("rapport_mensuel", "write", PLOMBERIE),
        ("main_oeuvre", "write", PLOMBERIE),
    }


@pytest.mark.parametrize(
    ("first_name", "last_name", "relation"),
    [
        ("REBECCA", "DESCOTEAUX-LAFORCE", "responsable"),
        ("Marie-Karine", "Bérard", "membre_personnel"),
        ("Marie-Hélène", "Demierre", "membre_personnel"),
        ("Julie", "Gagnon", "administrateur_dossier"),
    ],
)
def test_demo_firm_has_the_guides_members(app, first_name, last_name, relation):
    """The members shown in the guide's screens: their relation and own-firm subjects."""
    load_demo()
    member = person(first_name, last_name)
    types = db.session.scalars(
        select(ContactRelation.type).where(
            ContactRelation.contact_id == member.id,
            ContactRelation.organisation_id == org(LAFORCE).id,
            ContactRelation.active.is_(True),
        )
    ).all()
    assert types == [relation]
    assert any(owner == LAFORCE for _, _, owner in subjects_held(holder_contact_id=member.id))


def test_demo_member_holds_a_delegated_subject(app):
    """Marie-Karine Bérard holds Rapport mensuel on SHAW through both relations."""
    load_demo()
    member = person("Marie-Karine", "Bérard")
    grant = db.session.scalars(
        select(Grant).where(
            Grant.holder_contact_id == member.id, Grant.owner_organisation_id == org(SHAW).id
        )
    ).one()
    assert (
        db.session.get(ContactRelation, grant.contact_relation_id).organisation_id
        == org(LAFORCE).id
    )
    assert grant.organisation_relation_id is not None


def test_demo_has_a_legacy_credential_for_an_employer_contact_dossier(app):
    """One legacy credential links Marie-Karine Bérard's contact dossier at PLOMBERIE."""
    load_demo()
    credential = db.session.scalars(select(LegacyCredential)).one()
    assert credential.contact_id == person("Marie-Karine", "Bérard").id
    assert credential.organisation_id == org(PLOMBERIE).id
    assert credential.password_hash.startswith("$argon2id$")


def test_demo_loads_twice_without_change(app):
    """A second load changes no row and says so."""
    load_demo()
    before = counts()
    text = load_demo()
    assert counts() == before
    assert (
        db.session.scalar(
            select(func.count()).select_from(ProfileChange).where(ProfileChange.source != "demo")
        )
        == 0
    )
    assert "rien n'a changé" in text


def test_demo_text_tells_where_to_start(app):
    """The text gives the service's address and the responsable's email to sign up with."""
    text = load_demo()
    base = app.config["CATALOGUE_SETTINGS"].base_url
    assert f"Le service est à {base}" in text
    assert "rebecca.descoteaux-laforce@laforce-comptable.example" in text
    assert "Créer un compte" in text


def test_demo_courriel_explicatif_is_readable_at_dev_mail(make_app, tmp_path):
    """Embedded without SMTP, the responsable's email, credentials included, is at /dev/mail."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", CATALOGUE_SMTP_URL="")
    with app.app_context():
        db.create_all()
        text = load_demo()
        run_until_idle()
        page = app.test_client().get("/dev/mail").get_data(as_text=True)
    assert "/dev/mail" in text
    assert "rebecca.descoteaux-laforce@laforce-comptable.example" in page
    assert re.search(r"Identifiant de liaison : L-\w{4}-\w{4}", page)


def test_demo_agent_can_log_in_and_reach_the_queue(app):
    """The demo's agent exists once, is an agent, and its printed password works."""
    from sqlalchemy import func, select

    from catalogue_svc.accounts.models import Account
    from catalogue_svc.passwords import verify_password

    demo.load_demo()
    demo.load_demo()
    agents = db.session.scalars(select(Account).where(Account.role == "agent")).all()
    assert [a.email for a in agents] == [demo.DEMO_AGENT["email"]]
    assert verify_password(agents[0].password_hash, demo.DEMO_AGENT["password"])
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1
