"""Modify and remove a member, Mes dossiers autorisés, Paramètres du compte, logout, and
Mot de passe oublié?, in a real browser."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect
from sqlalchemy import select

from catalogue_svc.profiles.models import Contact, ContactRelation, Organisation
from tests.browser.conftest import (
    FIRM_NUMBER,
    Portal,
    Screens,
    firm_responsable,
    log_in,
    open_firm,
    open_menu_item,
)
from tests.browser.test_forms import attest

JULIE = "julie.gagnon@laforce-comptable.example"


def open_contact(page, name: str) -> None:
    """Relations et autorisations › Contacts de l'organisation › the contact's details."""
    open_menu_item(page, "Relations et autorisations")
    expect(page.get_by_role("heading", name="Contacts de l'organisation")).to_be_visible()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("region", name=name)).to_be_visible()


def follow_until_applied(page) -> None:
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    page.get_by_role("link", name="Suivre la demande").click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()


def new_member(portal: Portal, first: str, last: str) -> None:
    """A member of the firm, set up in the database."""
    with portal.db() as session:
        firm = session.scalar(select(Organisation).where(Organisation.client_number == FIRM_NUMBER))
        contact = Contact(first_name=first, last_name=last, email=f"{first.lower()}@exemple.test")
        session.add(contact)
        session.flush()
        session.add(
            ContactRelation(
                contact_id=contact.id,
                organisation_id=firm.id,
                type="membre_personnel",
                start_date=dt.date(2024, 1, 1),
            )
        )
        session.commit()


def test_modify_a_member_add_a_phone_and_reissue_her_linking_code(
    portal: Portal, screens: Screens
) -> None:
    """The current values shown, a phone added, a new linking code emailed to the member."""
    page = screens.page
    log_in(page, firm_responsable(portal))
    open_firm(page)
    open_contact(page, "Julie Gagnon")
    page.get_by_role("link", name=re.compile("^Modifier ses informations personnelles")).click()
    expect(
        page.get_by_role("heading", name=re.compile("^Modifier les informations"))
    ).to_be_visible()
    page.get_by_role("checkbox", name="Coordonnées de communication").check()
    expect(page.get_by_text("Valeur actuelle").first).to_be_visible()
    expect(page.get_by_text(re.compile("Valeur actuelle.*English")).first).to_be_visible()
    phone = page.get_by_role("group", name="Numéro principal")
    phone.get_by_label(re.compile("^Type de numéro de téléphone")).select_option(label="Cellulaire")
    phone.get_by_label("Numéro de téléphone", exact=True).fill("514 555-0199")
    page.get_by_label("Émettre un nouveau code de liaison").check()
    attest(page)
    screens.look("Modifier un membre, rempli")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    follow_until_applied(page)
    screens.look("Modification appliquée")
    mail = portal.mail_text(JULIE)
    assert re.search(r"\b[A-Z0-9]{1,4}-[A-Z0-9-]+\b", mail), mail

    open_contact(page, "Julie Gagnon")
    expect(page.get_by_role("region", name="Julie Gagnon")).to_contain_text("514 555-0199")


def test_remove_a_member_from_all_relations(portal: Portal, screens: Screens) -> None:
    """« Toutes les relations »: the member's relation ends and she leaves the active list."""
    new_member(portal, "Gabriel", "Fortin")
    page = screens.page
    email = firm_responsable(portal)
    log_in(page, email)
    open_firm(page)
    open_contact(page, "Gabriel Fortin")
    page.get_by_role("link", name="Lui retirer une relation ou des sujets autorisés").click()
    expect(
        page.get_by_role(
            "heading", name="Retirer une relation ou des sujets autorisés à un contact"
        )
    ).to_be_visible()
    page.get_by_role("radio", name="Toutes les relations").check()
    attest(page)
    screens.look("Retirer un membre")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.locator("#announcer")).to_contain_text("soumise")
    number = page.locator(".alert--success strong").inner_text()
    # The next person at this computer hears nothing of the last one's work.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    expect(page.locator("#announcer")).to_be_empty()
    log_in(page, email)
    open_firm(page)
    open_menu_item(page, "Mes demandes")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    open_contact(page, "Gabriel Fortin")
    expect(page.get_by_role("row").filter(has_text="Gabriel Fortin")).to_contain_text("Faux")


def test_dossiers_account_settings_logout_and_forgotten_password(
    portal: Portal, screens: Screens
) -> None:
    """Mes dossiers autorisés, Paramètres du compte, Se déconnecter (the status region emptied),
    then Mot de passe oublié? with the emailed code and a login with the new password."""
    page = screens.page
    email = firm_responsable(portal, first_name="Rébecca")
    log_in(page, email)
    open_firm(page)
    open_menu_item(page, "Mes dossiers autorisés")
    expect(page.get_by_role("heading", name="Mes dossiers autorisés", level=1)).to_be_visible()
    expect(
        page.get_by_text("Aucun dossier d'une autre organisation ne vous est délégué")
    ).to_be_visible()
    screens.look("Mes dossiers autorisés")

    page.get_by_role("link", name="Paramètres du compte").click()
    expect(page.get_by_role("heading", name="Paramètres du compte", level=1)).to_be_visible()
    expect(page.get_by_label(re.compile("^Prénom"))).to_have_value("Rébecca")
    screens.look("Paramètres du compte")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    expect(page.locator("#announcer")).to_be_empty()

    page.get_by_role("link", name="Mot de passe oublié?").click()
    expect(page.get_by_role("heading", name="Mot de passe oublié?")).to_be_visible()
    screens.look("Mot de passe oublié")
    page.get_by_label("Adresse courriel").first.fill(email)
    page.get_by_role("button", name="Recevoir un code").click()
    expect(page.get_by_role("heading", name="Choisir un nouveau mot de passe")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", portal.mail_text(email))
    assert code
    part = page.get_by_role("region", name="Choisir un nouveau mot de passe")
    part.get_by_label(re.compile("^Code reçu par courriel")).fill(code.group(1))
    part.get_by_label(re.compile("^Nouveau mot de passe")).fill("Girafe-Bleue-Quai-2027")
    part.get_by_label(re.compile("^Confirmez le nouveau mot de passe")).fill(
        "Girafe-Bleue-Quai-2027"
    )
    screens.look("Choisir un nouveau mot de passe")
    part.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    page.get_by_label(re.compile(r"^Mot de passe")).fill("Girafe-Bleue-Quai-2027")
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", name="Sélectionnez un profil")).to_be_visible()
