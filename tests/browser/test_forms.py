"""Catalogue de services › Autorisations › « Ajouter une relation ou des sujets autorisés »."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import (
    Portal,
    Screens,
    firm_responsable,
    log_in,
    open_firm,
    open_menu_item,
)

ADD = "Ajouter une relation ou des sujets autorisés à un contact"
ATTEST = re.compile("^J'atteste")
RESPONSABLE: list[str] = []


def open_add_form(page) -> None:
    """Catalogue de services › Autorisations › the tile › the form."""
    open_menu_item(page, "Catalogue de services")
    expect(page.get_by_role("heading", name="Catalogue de services", level=1)).to_be_visible()
    page.get_by_role("link", name="Autorisations", exact=True).click()
    expect(page.get_by_role("heading", name="Autorisations", level=1)).to_be_visible()
    page.get_by_role("link", name=ADD).click()
    expect(page.get_by_role("heading", name=ADD, level=1)).to_be_visible()


def fill_new_member(
    page, first: str, last: str, email: str, *, birth: str = "1990-05-17", client: str = ""
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


def attest(page) -> None:
    for box in page.get_by_role("checkbox", name=ATTEST).all():
        box.check()


def test_a_new_member_without_client_number_is_applied_and_gets_credentials(
    portal: Portal, screens: Screens
) -> None:
    """A new member without client number: applied at once, and her linking email arrives."""
    page = screens.page
    RESPONSABLE[:] = [firm_responsable(portal)]
    log_in(page, RESPONSABLE[0])
    open_firm(page)
    open_add_form(page)
    screens.look("Ajouter une relation, formulaire vide")
    fill_new_member(page, "Léa", "Côté", "lea.cote@laforce-comptable.example")
    attest(page)
    screens.look("Ajouter un membre, rempli")
    page.get_by_role("button", name="Soumettre", exact=True).click()
    expect(page.get_by_text("Votre demande a été soumise.")).to_be_visible()
    screens.look("Demande soumise")
    page.get_by_role("link", name="Suivre la demande").click()
    expect(page.get_by_text("Appliquée").first).to_be_visible()
    screens.look("Demande appliquée")
    mail = portal.mail_text("lea.cote@laforce-comptable.example")
    assert re.search(r"Identifiant de liaison : \S+", mail), mail
    assert re.search(r"Code de liaison : \S+", mail), mail
    # Times read alike on the page and in the email, on Montréal's clock (the browser is on UTC).
    applied = portal.mail_text(RESPONSABLE[0])
    when = re.search(r"appliquée le .*? à (\d+) h (\d+)", applied)
    assert when, applied
    expect(page.get_by_text(f"{int(when.group(1)):02d} h {when.group(2)}").first).to_be_visible()
