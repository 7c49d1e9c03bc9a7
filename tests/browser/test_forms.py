"""Catalogue de services › Autorisations › « Ajouter une relation ou des sujets autorisés »."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import journeys as j
from tests.browser.harness import Portal, Screens

RESPONSABLE: list[str] = []


def test_a_new_member_without_client_number_is_applied_and_gets_credentials(
    portal: Portal, screens: Screens
) -> None:
    """A new member without client number: applied at once, and her linking email arrives."""
    page = screens.page
    RESPONSABLE[:] = [j.firm_responsable(portal)]
    j.log_in(page, RESPONSABLE[0])
    j.open_firm(page)
    j.open_add_form(page)
    screens.look("Ajouter une relation, formulaire vide")
    j.fill_new_member(page, "Léa", "Côté", "lea.cote@laforce-comptable.example")
    j.attest(page)
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
