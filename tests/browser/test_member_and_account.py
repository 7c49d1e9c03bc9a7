"""Modify and remove a member, Mes dossiers autorisés, Paramètres du compte, logout, and
Mot de passe oublié?, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

JULIE = "julie.gagnon@laforce-comptable.example"


def test_modify_a_member_add_a_phone_and_reissue_her_linking_code(
    portal: Portal, screens: Screens
) -> None:
    """The current values shown, a phone added, a new linking code emailed to the member."""
    page = screens.page
    j.responsable_at_home(portal, page)
    j.open_modify_form(page, "Julie Gagnon")
    page.get_by_role("checkbox", name="Coordonnées de communication").check()
    expect(page.get_by_text("Valeur actuelle").first).to_be_visible()
    expect(page.get_by_text(re.compile("Valeur actuelle.*English")).first).to_be_visible()
    phone = page.get_by_role("group", name="Numéro principal")
    phone.get_by_label(re.compile("^Type de numéro de téléphone")).select_option(label="Cellulaire")
    phone.get_by_label("Numéro de téléphone", exact=True).fill("514 555-0199")
    page.get_by_label("Émettre un nouveau code de liaison").check()
    j.attest(page)
    screens.look("Modifier un membre, rempli")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    j.follow_until_applied(page)
    screens.look("Modification appliquée")
    mail = portal.mail_text(JULIE)
    assert re.search(r"\b[A-Z0-9]{1,4}-[A-Z0-9-]+\b", mail), mail

    j.open_contact(page, "Julie Gagnon")
    expect(page.get_by_role("region", name="Julie Gagnon")).to_contain_text("514 555-0199")


def test_remove_a_member_from_all_relations(portal: Portal, screens: Screens) -> None:
    """« Toutes les relations »: the member's relation ends and she leaves the active list."""
    j.new_member(portal, "Gabriel", "Fortin")
    page = screens.page
    email = j.responsable_at_home(portal, page)
    j.open_remove_form(page, "Gabriel Fortin")
    page.get_by_role("radio", name="Toutes les relations").check()
    j.attest(page)
    screens.look("Retirer un membre")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.locator("#announcer")).to_contain_text("soumise")
    number = page.locator(".alert--success strong").inner_text()
    # The next person at this computer hears nothing of the last one's work.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    expect(page.locator("#announcer")).to_be_empty()
    j.log_in(page, email)
    j.open_firm(page)
    j.open_menu_item(page, "Mes demandes")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    j.open_contact(page, "Gabriel Fortin")
    expect(page.get_by_role("row").filter(has_text="Gabriel Fortin")).to_contain_text("Faux")


def test_dossiers_account_settings_logout_and_forgotten_password(
    portal: Portal, screens: Screens
) -> None:
    """Mes dossiers autorisés, Paramètres du compte, Se déconnecter (the status region emptied),
    then Mot de passe oublié? with the emailed code and a login with the new password."""
    page = screens.page
    email = j.responsable_at_home(portal, page, first_name="Rébecca")
    j.open_menu_item(page, "Mes dossiers autorisés")
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
