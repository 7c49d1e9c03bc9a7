"""The steps browser journeys share: the firm's people, set up in the server's database as the
portal would leave them, and what a person does in the portal (Se connecter, the firm's profile,
a menu item, the add form, a contact's details and forms).

Test files import this module (``from tests.browser import journeys as j``); the fixtures stay
in ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
from tests.accounts_helpers import create_account, link_account
from tests.browser.harness import Portal

FIRM = "LAFORCE COMPTABLE INC"
FIRM_NUMBER = "4021587"
PASSWORD = "Tournesol-Vert-2026!"
ADD = "Ajouter une relation ou des sujets autorisés à un contact"
ATTEST = re.compile("^J'atteste")
_people = iter(range(1, 10_000))
_accounts = itertools.count(1)


# ------------------------------------------------------------------------------- people


def add_to_firm(session: Any, first: str, last: str, email: str, relation: str) -> tuple[int, int]:
    """A new contact with a ``relation`` to the firm since 2024-01-01, flushed in ``session``;
    returns (contact id, firm id)."""
    firm = session.scalar(select(Organisation).where(Organisation.client_number == FIRM_NUMBER))
    assert firm is not None
    contact = Contact(first_name=first, last_name=last, email=email)
    session.add(contact)
    session.flush()
    session.add(
        ContactRelation(
            contact_id=contact.id,
            organisation_id=firm.id,
            type=relation,
            start_date=dt.date(2024, 1, 1),
        )
    )
    return contact.id, firm.id


def firm_responsable(portal: Portal, *, first_name: str = "Rebecca") -> str:
    """A new responsable of the firm (her contact and relation) and her confirmed account,
    linked to the firm's profile, set up in the database as a redeemed courriel explicatif
    would leave them; returns the account's email (password ``PASSWORD``)."""
    number = next(_people)
    email = f"responsable-{number}@laforce-comptable.example"
    last_name = f"Responsable-{number}"
    with portal.db() as session:
        contact_id, firm_id = add_to_firm(session, first_name, last_name, email, "responsable")
        session.commit()
        account = create_account(
            portal.app, email=email, password=PASSWORD, first_name=first_name, last_name=last_name
        )
        link_account(portal.app, account.id, contact_id=contact_id, organisation_id=firm_id)
    return email


def new_member(portal: Portal, first: str, last: str) -> None:
    """A member of the firm, set up in the database."""
    with portal.db() as session:
        add_to_firm(session, first, last, f"{first.lower()}@exemple.test", "membre_personnel")
        session.commit()


def an_account(portal: Portal) -> str:
    """A confirmed account linked to no profile (no contact added to the firm); its email."""
    email = f"compte-clavier-{next(_accounts)}@exemple.test"
    create_account(portal.app, email=email, password=PASSWORD, first_name="Zacharie")
    return email


# ------------------------------------------------------------------------------- steps


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Se connecter as a person does: the address, the password, « Connexion »."""
    page.goto("/#/connexion")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(password)
    page.get_by_role("button", name="Connexion").click()


def open_firm(page: Any) -> None:
    """After logging in: Sélectionnez un profil › the firm › Accueil."""
    expect(page.get_by_role("heading", name="Sélectionnez un profil")).to_be_visible()
    page.get_by_role("link", name=FIRM).click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()


def responsable_at_home(portal: Portal, page: Any, *, first_name: str = "Rebecca") -> str:
    """A new responsable of the firm logged in on ``page``, at the firm's Accueil; her email."""
    email = firm_responsable(portal, first_name=first_name)
    log_in(page, email)
    open_firm(page)
    return email


def open_menu_item(page: Any, name: str) -> None:
    """A link of the main menu, opening the menu first where it is collapsed (phone)."""
    nav = page.get_by_role("navigation", name="Menu principal")
    toggle = nav.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    if name == "Relations et autorisations":
        nav.get_by_role("button", name="Mon organisation").click()
    nav.get_by_role("link", name=name).click()


def open_add_form(page: Any) -> None:
    """Catalogue de services › Autorisations › the tile › the form."""
    open_menu_item(page, "Catalogue de services")
    expect(page.get_by_role("heading", name="Catalogue de services", level=1)).to_be_visible()
    page.get_by_role("link", name="Autorisations", exact=True).click()
    expect(page.get_by_role("heading", name="Autorisations", level=1)).to_be_visible()
    page.get_by_role("link", name=ADD).click()
    expect(page.get_by_role("heading", name=ADD, level=1)).to_be_visible()


def fill_new_member(
    page: Any, first: str, last: str, email: str, *, birth: str = "1990-05-17", client: str = ""
) -> None:
    """« Le contact n'existe pas » and the new member's information, as a Membre du personnel."""
    page.get_by_label("Le contact n'existe pas").check()
    group = page.get_by_role(
        "group", name=re.compile("Informations personnelles du nouveau membre")
    )
    expect(group).to_be_visible()
    group.get_by_label(re.compile("^Prénom")).fill(first)
    group.get_by_label(re.compile("^Nom")).fill(last)
    group.get_by_label(re.compile("^Date de naissance")).fill(birth)
    group.get_by_label(re.compile("^Adresse courriel")).fill(email)
    if client:
        group.get_by_label(re.compile("^Numéro de client")).fill(client)
    page.get_by_role("group", name=re.compile("^Choisir la relation à ajouter")).get_by_role(
        "radio", name="Membre du personnel"
    ).check()


def attest(page: Any) -> None:
    """Each « J'atteste… » ticked."""
    for box in page.get_by_role("checkbox", name=ATTEST).all():
        box.check()


def firm_email(first: str, last: str) -> str:
    """A person's address at the firm: ``prénom.nom@laforce-comptable.example``, unaccented."""
    plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return f"{plain.lower()}@laforce-comptable.example"


def submit_member(page: Any, first: str, last: str, *, birth: str, client: str) -> str:
    """Submit a new member with a client number (her address at the firm); returns the
    request's number."""
    open_add_form(page)
    fill_new_member(page, first, last, firm_email(first, last), birth=birth, client=client)
    attest(page)
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    expect(page.get_by_text("État : Soumise")).to_be_visible()
    return page.locator(".alert--success strong").inner_text()


def follow_until_applied(page: Any) -> None:
    """From the confirmation, « Suivre la demande »: the request's page says Appliquée."""
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    page.get_by_role("link", name="Suivre la demande").click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()


def open_contact(page: Any, name: str) -> None:
    """Relations et autorisations › Contacts de l'organisation › the contact's details."""
    open_menu_item(page, "Relations et autorisations")
    expect(page.get_by_role("heading", name="Contacts de l'organisation")).to_be_visible()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("region", name=name)).to_be_visible()


def open_modify_form(page: Any, name: str) -> None:
    """The contact's details › « Modifier ses informations personnelles » › the form."""
    open_contact(page, name)
    page.get_by_role("link", name=re.compile("^Modifier ses informations personnelles")).click()
    expect(
        page.get_by_role("heading", name=re.compile("^Modifier les informations"))
    ).to_be_visible()


def open_remove_form(page: Any, name: str) -> None:
    """The contact's details › « Lui retirer une relation ou des sujets autorisés » › the form."""
    open_contact(page, name)
    page.get_by_role("link", name="Lui retirer une relation ou des sujets autorisés").click()
    expect(
        page.get_by_role(
            "heading", name="Retirer une relation ou des sujets autorisés à un contact"
        )
    ).to_be_visible()
