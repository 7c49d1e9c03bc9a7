"""The responsable's first connection, as the guide tells it, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.harness import Portal, Screens

REBECCA = "rebecca.descoteaux-laforce@laforce-comptable.example"
PASSWORD = "Tournesol-Vert-2026!"


def test_first_connection_from_sign_up_to_home(portal: Portal, screens: Screens) -> None:
    """Créer un compte, the emailed code, Se connecter, Liaison d'un profil, profile, Accueil."""
    page = screens.page
    page.goto("/")
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    screens.look("Se connecter")

    page.get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", name="Création du compte")).to_be_visible()
    expect(page.get_by_text("Étape 1 de 2")).to_be_visible()
    screens.look("Création du compte, étape 1")
    page.get_by_label("Adresse courriel").fill(REBECCA)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 de 2")).to_be_visible()
    page.get_by_label("Prénom").fill("Rebecca")
    page.get_by_label(re.compile(r"^Nom")).fill("Descoteaux-Laforce")
    screens.look("Création du compte, étape 2")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=re.compile("Lire les conditions d'utilisation")).click()
    terms = opened.value
    expect(terms.get_by_role("heading", name="Conditions d'utilisation")).to_be_visible()
    expect(terms.get_by_text("renseignements personnels").first).to_be_visible()
    terms.close()
    page.get_by_label(re.compile("J'ai lu et j'accepte les conditions")).check()
    page.get_by_role("button", name="Créer mon compte").click()

    expect(page.get_by_role("heading", name="Valider le code")).to_be_visible()
    screens.look("Valider le code")
    mail = portal.mail_text(REBECCA, 2)  # the courriel explicatif (import), then the code
    code = re.search(r"\b(\d{6})\b", mail)
    assert code, mail
    expect(page.get_by_label("Adresse courriel")).to_have_value(REBECCA)
    page.get_by_label("Code à usage unique").fill(code.group(1))
    page.get_by_role("button", name="Valider le code").click()

    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.get_by_text("Votre adresse courriel est confirmée.")).to_be_visible()
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()

    expect(page.get_by_role("heading", name="Liaison d'un profil")).to_be_visible()
    expect(page.get_by_text("Votre compte n'est lié à aucun profil")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("null")
    expect(page.locator("main")).not_to_contain_text("undefined")
    screens.look("Liaison d'un profil")
    page.get_by_role("link", name="Utiliser des coordonnées de liaison").click()
    expect(page.get_by_text("Conservez le courriel explicatif")).to_be_visible()
    screens.look("Coordonnées de liaison")
    page.get_by_role("link", name="Commencer").click()
    expect(page.get_by_label("Identifiant de liaison")).to_be_visible()
    screens.look("Coordonnées de liaison, formulaire")
    explanatory = portal.mail_text(REBECCA, 1)
    identifier = re.search(r"Identifiant de liaison : (\S+)", explanatory)
    link_code = re.search(r"Code de liaison : (\S+)", explanatory)
    assert identifier and link_code, explanatory
    page.get_by_label("Identifiant de liaison").fill(identifier.group(1))
    page.get_by_label("Code de liaison").fill(link_code.group(1))
    page.get_by_role("button", name="Lier").click()
    expect(page.get_by_text("La liaison est réussie.")).to_be_visible()
    expect(page.get_by_text("LAFORCE COMPTABLE INC (numéro de client 4021587)")).to_be_visible()
    screens.look("Liaison réussie")

    page.get_by_role("link", name="Sélectionnez un profil").click()
    expect(page.get_by_role("heading", name="Sélectionnez un profil")).to_be_visible()
    expect(page.get_by_text("Numéro de client : 4021587")).to_be_visible()
    screens.look("Sélectionnez un profil")
    page.get_by_role("link", name="LAFORCE COMPTABLE INC").click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()
    expect(
        page.get_by_text("Bonjour Rebecca, vous êtes dans le profil de LAFORCE COMPTABLE INC")
    ).to_be_visible()
    screens.look("Accueil")
